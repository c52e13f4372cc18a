"""Several LLMs in one suite: cells per LLM, --dry-run counts, a failing LLM fails only its cells,
and the report's "LLM quality vs gain" section (reports/llm_quality.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gpta.cli import main
from gpta.errors import UserError
from gpta.sweep.suite import Overrides, check_suite, expand_stage, load_suite
from reports.document import Document
from reports.llm_quality import llm_quality, render_llm_quality


def test_llms_suite_runs_each_llm_method_once_per_llm_and_the_rest_once(capsys):
    suite = load_suite("llms")
    [stage] = suite.stages
    assert stage.llms == ["embedded", "embedded:qwen2.5-coder-1.5b", "openai:smollm2"]
    cells = expand_stage(stage)
    by = {}
    for c in cells:
        by.setdefault((c.cfg.method, c.cfg.llm), []).append(c)
    assert len(by[("gpta", "embedded")]) == len(by[("gpta", "openai:smollm2")]) == 6
    assert len(by[("gpta", "embedded:qwen2.5-coder-1.5b")]) == 6
    assert len(by[("llm-zero-shot", "openai:smollm2")]) == 3  # once per dataset and LLM
    assert [k for k in by if k[0] == "finetune"] == [("finetune", "embedded")]  # no LLM: once
    assert len({c.id for c in cells}) == len(cells) == 12 + (6 + 6 + 3) * 3
    assert main(["sweep", "llms", "--dry-run", "--out", "/nonexistent/llms"]) == 0
    out = capsys.readouterr().out
    assert ("by LLM: no LLM: 12 cells; embedded: 15 cells; embedded:qwen2.5-coder-1.5b: 15 cells; "
            "openai:smollm2: 15 cells") in out
    # --llm replaces the list; a malformed spec fails the whole suite up front
    [one] = load_suite("llms", Overrides(llm="embedded")).stages
    assert one.llms == [] and {c.cfg.llm for c in expand_stage(one)} == {"embedded"}


def test_dialogue_suite_runs_the_same_llm_cells_with_smollm2_and_qwen():
    """Issue 25, Build 5: each LLM gets gpta K=1 (always), llm-prefix and gpta K=4 (if-better) on the
    same cell (dataset, fraction, seed, recipe); SetFit, which reads no LLM, runs once."""
    from gpta.llm import check_spec

    qwen = "embedded:qwen2.5-coder-1.5b"
    cells = [c for s in load_suite("dialogue").stages for c in expand_stage(s)]
    by = {(c.cfg.method, c.cfg.llm, c.cfg.gpta.candidates, c.cfg.gpta.adopt): c for c in cells}
    for llm in ("embedded", qwen):
        check_spec(llm)
        assert {("gpta", llm, 1, "always"), ("llm-prefix", llm, 1, "always"), ("gpta", llm, 4, "if-better")} <= set(by)
    same = {(c.cfg.dataset, c.cfg.fraction, c.cfg.seed, json.dumps(c.cfg.to_dict()["train"], sort_keys=True))
            for c in cells}
    assert len(same) == 1
    assert sorted(m for m, llm, *_ in by if llm == qwen) == ["gpta", "gpta", "llm-prefix"]
    assert sorted(m for m, llm, *_ in by if m.startswith("setfit")) == ["setfit-gpta", "setfit-manual"]
    assert len({c.id for c in cells}) == len(cells) == 8


def test_a_malformed_llm_in_a_suite_is_one_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndatasets: [tweets]\nfractions: [0.02]\nseeds: [1]\nmethods: [gpta]\n"
                    "llms: [embedded, 'gpt4']\n")
    with pytest.raises(UserError, match="unknown LLM 'gpt4'"):
        check_suite(load_suite(str(path)), None, need_data=False)


def _runs(points: dict[str, list[tuple[str, float, float]]]) -> pd.DataFrame:
    """Result rows: per llm, (dataset, zero-shot score, gpta score); manual-prefix scores 0.5."""
    rows = []
    for llm, pts in points.items():
        for ds, zs, g in pts:
            base = {"dataset": ds, "fraction": 0.02, "seed": 13, "data_seed": 13, "metric": "accuracy"}
            rows += [{**base, "method": "llm-zero-shot", "llm": llm, "test": zs},
                     {**base, "method": "gpta", "llm": llm, "test": g},
                     {**base, "method": "manual-prefix", "llm": "embedded", "test": 0.5}]
    return pd.DataFrame(rows).drop_duplicates(subset=["dataset", "method", "llm"])


def test_llm_quality_refuses_a_correlation_from_two_points_and_names_identical_llms():
    runs = _runs({"embedded": [("tweets", 0.4, 0.6)], "openai:smollm2": [("tweets", 0.4, 0.6)]})
    doc = Document("t")
    q = render_llm_quality(doc, runs)
    assert q["n"] == 2 and q["correlation"] is None and q["llms"] == ["embedded", "openai:smollm2"]
    assert q["reading"].startswith("Not measured") and q["same_results"] == [["embedded", "openai:smollm2"]]
    md = doc.to_markdown()
    assert "## LLM quality vs gain" in md and "LLMs in these results: 2" in md and "+10.0" in md
    assert "correlation undefined (n=2" in md


def test_llm_quality_correlates_when_it_can():
    runs = _runs({"a": [("x", 0.3, 0.5), ("y", 0.4, 0.52)], "b": [("x", 0.6, 0.6), ("y", 0.7, 0.61)],
                  "c": [("x", 0.8, 0.7), ("y", 0.9, 0.72)]})
    q = llm_quality(runs)
    assert q["n"] == 6 and q["correlation"]["pearson"] > 0.9
    # described, never decided: the tested analysis is the scorecard's claim 5
    assert q["reading"].startswith("Pearson r = 0.9") and "no test" in q["reading"]
    assert not any(w in q["reading"].lower() for w in ("supported", "verdict", "significant"))
    no_zs = runs[~((runs["llm"] == "c") & (runs["method"] == "llm-zero-shot"))]
    q = llm_quality(no_zs)
    assert q["n"] == 4 and any("c on x: no llm-zero-shot run" in m for m in q["not_points"])


@pytest.mark.slow
def test_tiny_llms_sweep_unreachable_llm_fails_its_cells_and_the_report_groups_by_llm(
        llamacpp_server, openai_env, dead_host, tmp_path):
    from reports.build import build_report

    openai_env.setenv("OLLAMA_HOST", dead_host)
    suite = tmp_path / "llms-tiny.yaml"
    suite.write_text(
        "name: llms-tiny\ndatasets: [tweets]\nfractions: [0.005]\nseeds: [13]\n"
        "methods: [manual-prefix, gpta, llm-zero-shot]\n"
        "llms: [embedded, 'openai:smollm2', 'ollama:nosuch:1b']\n"
        "settings: {train.epochs: 1, train.min_steps_per_epoch: 2, train.max_text_tokens: 32, train.dev_max: 32,\n"
        "           train.test_max: 32, train.eval_train_max: 32, gpta.rounds: 2, generation.max_tokens: 40}\n"
        "per_method: {llm-zero-shot: {settings: {options.max_eval: 8, options.scoring: generate}}}\n")
    out = tmp_path / "out"
    code = main(["sweep", str(suite), "--out", str(out), "--no-progress", "--llm-base-url", llamacpp_server.url])
    assert code == 1  # two cells failed, the rest finished
    results = [json.loads(p.read_text()) for p in out.glob("tweets__*.json") if not p.name.endswith(".failed.json")]
    assert sorted((r["method"], r["config"]["llm"]) for r in results) == [
        ("gpta", "embedded"), ("gpta", "openai:smollm2"), ("llm-zero-shot", "embedded"),
        ("llm-zero-shot", "openai:smollm2"), ("manual-prefix", "embedded")]
    failed = [json.loads(p.read_text()) for p in out.glob("*.failed.json")]
    assert sorted(f["method"] for f in failed) == ["gpta", "llm-zero-shot"]
    assert all(f["config"]["llm"] == "ollama:nosuch:1b" and "connection refused" in f["error"]["message"]
               for f in failed)
    by = {(r["method"], r["config"]["llm"]): r for r in results}
    # the in-process model and the same GGUF behind llama.cpp's server: the same prefixes and scores
    assert by[("gpta", "embedded")]["prefix"] == by[("gpta", "openai:smollm2")]["prefix"]
    assert by[("gpta", "embedded")]["metrics"]["test"] == by[("gpta", "openai:smollm2")]["metrics"]["test"]

    report = build_report(out)
    md = (out / "report" / "index.md").read_text().replace("\\[", "[").replace("\\]", "]")  # Markdown escapes
    assert "gpta [llm=embedded]" in md and "gpta [llm=openai:smollm2]" in md  # one group per LLM
    assert "## LLM quality vs gain" in md and "LLMs in these results: 2" in md
    q = report["summary"]["llm_quality"]
    assert q["n"] == 2 and q["correlation"] is None and q["reading"].startswith("Not measured")
    assert q["same_results"] == [["embedded", "openai:smollm2"]]
