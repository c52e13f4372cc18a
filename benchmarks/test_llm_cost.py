"""Benchmark 3: LLM cost per cell, GPTA vs llm-prefix vs textual-gradient vs llm-zero-shot on
the same cell (tweets, 0.2% of the pool, seed 13, embedded LLM, no LLM cache), with tiny
training settings since this measures LLM cost. Benchmark 6: peak memory of the GPTA cell.

Each method runs in its own subprocess (benchmarks/cell_probe.py); its result JSON's costs
(LLM calls, prompt/completion tokens, LLM seconds) go to ``extra_info``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
TOKEN_BUDGET = 4000  # per cell, for GPTA
TINY = ["train.epochs=2", "gpta.rounds=2", "train.min_steps_per_epoch=2", "train.dev_max=64",
        "train.test_max=64", "train.eval_train_max=64"]
# Method options are typed per method (gpta/registry.py): a method refuses another's options.
OPTIONS = {"llm-zero-shot": ["options.max_eval=64"]}
METHODS = ["gpta", "llm-prefix", "textual-gradient", "llm-zero-shot"]
COST_KEYS = ("llm_calls", "llm_backend_calls", "prompt_tokens", "completion_tokens", "llm_seconds",
             "train_steps", "train_seconds", "eval_seconds")


def registered(method: str) -> bool:
    from gpta.registry import all_methods

    return method in all_methods()


def run_cell(method: str, out: Path, extra_sets: list[str] = ()) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.cell_probe", "--method", method, "--out", str(out),
           "--threads", str(torch.get_num_threads())]
    for s in [*TINY, *OPTIONS.get(method, []), *extra_sets]:
        cmd += ["--set", s]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise AssertionError(f"{method} cell failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def gpta_cell(tmp_path_factory) -> dict:
    """The GPTA cell, run once for both benchmark 3 and benchmark 6."""
    return run_cell("gpta", tmp_path_factory.mktemp("gpta"))


@pytest.mark.parametrize("method", METHODS)
def test_llm_cost_per_cell(benchmark, method, gpta_cell, tmp_path):
    if not registered(method):
        pytest.skip(f"method {method!r} is not registered yet (baselines/ is being written)")
    probe = gpta_cell if method == "gpta" else None

    def run() -> dict:
        return probe or run_cell(method, tmp_path)

    cell = benchmark.pedantic(run, rounds=1, iterations=1)
    costs = cell["costs"]
    tokens = costs.get("prompt_tokens", 0) + costs.get("completion_tokens", 0)
    info = {"comparison": "LLM cost of one cell (tweets, fraction 0.002, seed 13, tiny training)",
            "method": method, "settings": TINY, **{k: costs.get(k) for k in COST_KEYS},
            "total_tokens": tokens, "test_metric": cell["test_metric"], "majority_line": cell.get("majority_line"),
            "cell_wall_seconds": cell["wall_seconds"]}
    if method == "gpta":
        info.update({"token_budget": TOKEN_BUDGET, "budget_share": round(tokens / TOKEN_BUDGET, 3),
                     "target_met": tokens <= TOKEN_BUDGET})
    benchmark.extra_info.update(info)
    assert costs["llm_calls"] >= 1, costs
    if method == "gpta":
        assert tokens <= TOKEN_BUDGET, info


def test_peak_memory_gpta_cell(benchmark, gpta_cell):
    cell = benchmark.pedantic(lambda: gpta_cell, rounds=1, iterations=1)
    benchmark.extra_info.update({
        "comparison": "peak resident memory of one GPTA cell (MiniLM-L6 + embedded SmolLM2-135M + data)",
        "peak_rss_mib": cell["peak_rss_mib"], "settings": TINY, "measured_with": "getrusage(RUSAGE_SELF).ru_maxrss"})
    assert cell["peak_rss_mib"] > 0
