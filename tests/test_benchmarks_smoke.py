"""The benchmark suite (benchmarks/, run by `tox -e bench`) is not collected by `pytest tests`;
this checks that its modules import and that one tiny benchmark runs and summarizes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["harness", "conftest", "cell_probe", "summarize", "test_training", "test_prefix_update", "test_zero_shot",
           "test_default_cell",
           "test_inference", "test_llm_cost", "test_warm_rerun", "zero_shot_floor", "fit_cost_model"]


@pytest.fixture(scope="module")
def bench():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return {name: importlib.import_module(f"benchmarks.{name}") for name in MODULES}


def test_benchmark_modules_import(bench):
    assert callable(bench["test_training"].test_loop_vs_trainer)
    assert callable(bench["conftest"].comparisons)
    assert bench["harness"].machine()["cores"] >= 1


def test_tiny_prefix_update_benchmark_runs_and_summarizes(bench, benchmark, tmp_path):
    info = benchmark.pedantic(bench["test_prefix_update"].compare_prefix_update, args=(200, 2), rounds=1, iterations=1)
    assert info["ids_identical"] and info["n_examples"] == 200
    assert info["ratio_min"] > 1.0  # joining cached ids beats re-tokenizing even at 200 inputs
    fake = {"machine_info": {"gpta": bench["harness"].machine()},
            "benchmarks": [{"name": "test_prefix_update[tiny]", "extra_info": info}]}
    text = bench["summarize"].summarize(fake)
    assert "test_prefix_update[tiny]" in text and f"{info['ratio_median']:.2f}x" in text


def test_llm_cost_row_shows_the_majority_line_beside_the_test_metric(bench):
    """A tiny cost-probe cell's test accuracy is often just the majority share (2026-11-30: all
    four methods "scored" 0.734 on 64 test tweets): the summary must say so beside it."""
    info = {"llm_calls": 2, "prompt_tokens": 538, "completion_tokens": 79, "llm_seconds": 4.4,
            "test_metric": 0.734375, "majority_line": 0.734375}
    detail = bench["summarize"]._detail("test_llm_cost_per_cell[gpta]", info)
    assert "test 0.734 (majority-class line 0.734 on the same test inputs)" in detail
    older = bench["summarize"]._detail("x", {**info, "majority_line": None})  # a JSON from before the field
    assert "majority" not in older and "test 0.734" in older


def test_summarize_rejects_unreadable_file(bench, tmp_path, capsys):
    bad = tmp_path / "b.json"
    bad.write_text("{not json", encoding="utf-8")
    assert bench["summarize"].main([str(bad)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bench_commands_write_json_and_summary_into_a_fresh_folder(tmp_path):
    """What `tox -e bench` runs, on one small benchmark: the JSON's folder does not exist yet
    (as bench-results/ in a fresh clone), and the summary is built from the JSON."""
    import os
    import subprocess

    out = tmp_path / "bench-results"
    env = {**os.environ, "GPTA_BENCH_REPEATS": "1", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "benchmarks/test_prefix_update.py", "-k", "1k", "-q",
                          "-p", "no:cacheprovider", f"--benchmark-json={out / 'benchmark.json'}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    summ = subprocess.run([sys.executable, "benchmarks/summarize.py", str(out / "benchmark.json"), "--out",
                           str(out / "SUMMARY.md")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert summ.returncode == 0, summ.stderr
    text = (out / "SUMMARY.md").read_text(encoding="utf-8")
    assert "test_prefix_update[1k]" in text


def test_every_benchmark_cell_config_is_valid_for_its_method(bench):
    """The settings a benchmark passes to a cell pass the run's own checks (typed per-method options
    refuse another method's: options.max_eval once made every LLM-cost benchmark error at setup)."""
    from gpta.config import RunConfig, apply_overrides, parse_set_args

    llm_cost = bench["test_llm_cost"]
    for method in llm_cost.METHODS:
        sets = [*llm_cost.TINY, *llm_cost.OPTIONS.get(method, [])]
        apply_overrides(RunConfig(dataset="tweets", fraction=0.002, seed=13, method=method), parse_set_args(sets))
    apply_overrides(RunConfig(dataset="tweets", fraction=0.02, seed=13, method="gpta"),
                    parse_set_args(bench["test_default_cell"].SETS))


def test_cost_model_fit_recovers_known_constants(bench):
    """benchmarks/fit_cost_model.py (how estimate.py's constants were fitted): results generated
    from known per-token and per-example seconds give those constants back."""
    fitter = importlib.import_module("benchmarks.fit_cost_model")
    truth = {"TRAIN_S_PER_TOKEN": 2e-4, "TRAIN_S_PER_EXAMPLE": 0.01, "EVAL_S_PER_TOKEN": 1e-4, "EVAL_S_PER_EXAMPLE": 0.002}
    rows = []
    for name, prefix, steps, dev in (("trec", 0, 60, 500), ("ag_news", 20, 120, 1000), ("tweets", 15, 150, 999),
                                     ("bbc-news", 0, 60, 200)):
        result = {"dataset": {"name": name, "sizes": {"train": 100, "dev": dev, "test": 500}}, "method": "gpta",
                  "prefix_tokens": prefix, "dialogue": {"extra_dev_examples": dev},
                  "config": {"train": {"max_text_tokens": 64, "eval_train_max": 64, "epochs": 6, "batch_size": 16}},
                  "costs": {"train_steps": steps, "train_seconds": 1.0, "eval_seconds": 1.0}}
        r = fitter.cell_terms(result)
        assert r["eval_examples"] == 6 * (64 + dev) + 500 + 2 * dev  # the "before" pass and the A/B pass
        r["train_s"] = r["train_tokens"] * truth["TRAIN_S_PER_TOKEN"] + r["train_examples"] * truth["TRAIN_S_PER_EXAMPLE"]
        r["eval_s"] = r["eval_tokens"] * truth["EVAL_S_PER_TOKEN"] + r["eval_examples"] * truth["EVAL_S_PER_EXAMPLE"]
        rows.append(r)
    fitted = fitter.fit(rows)
    for key, value in truth.items():
        assert fitted[key] == pytest.approx(value, rel=1e-6), key
    assert fitter.cell_terms({"dataset": {"name": "squad"}, "method": "finetune"}) is None  # QA windows: not this model


class _Config:
    """pytest's config as benchmarks/conftest.py reads it: one option (a stand-in: the option's
    type differs between pytest-benchmark releases, and one test environment holds one release)."""

    def __init__(self, json_option):
        self.json_option = json_option

    def getoption(self, name, default=None):
        return self.json_option if name == "benchmark_json" else default


@pytest.mark.parametrize("release", ["5.3: a path", "5.1-5.2: an open file"])
def test_benchmark_json_option_of_either_release_is_accepted(bench, tmp_path, release):
    # pytest-benchmark 5.2.3 (the H200 image's, 2026-12-04) hands --benchmark-json over opened;
    # the conftest took it for a path and the session stopped before any benchmark ran.
    target = tmp_path / "new-folder" / "bench.json"
    if release.startswith("5.3"):
        bench["conftest"].pytest_configure(_Config(target))
        assert target.parent.is_dir()  # made, so the JSON can be written at the end
    else:
        target.parent.mkdir()
        with open(target, "wb") as opened:
            bench["conftest"].pytest_configure(_Config(opened))
