"""Benchmark 8: a default GPTA cell now vs the code at the start of issue 17 (commit 9c91dc5).

Both sides run ``benchmarks/cell_probe.py`` in a subprocess on the same environment: the old
side from a git worktree of the base commit (created under the system temp folder if missing,
``PYTHONPATH`` pointing at it), the new side from this checkout. Cell: gpta on tweets at 2%,
seed 13, the default recipe (gpta/config.py), no LLM cache. Each side is its own benchmark in
group ``default-cell``; the ratio (old median / new) comes from the same run. The new side's
cost breakdown (tokenize, forward/backward, optimizer, dev/test evaluation, LLM) goes to the
summary.

GPTA_BENCH_CELL_SET="train.epochs=2 gpta.rounds=2 ..." and GPTA_BENCH_CELL_FRACTION narrow both
sides alike (smoke runs);
GPTA_BENCH_OLD_REV picks another base; GPTA_BENCH_OLD_TREE an existing checkout of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
OLD_REV = os.environ.get("GPTA_BENCH_OLD_REV", "9c91dc5")
ROUNDS = int(os.environ.get("GPTA_BENCH_CELL_ROUNDS", "2"))
SETS = os.environ.get("GPTA_BENCH_CELL_SET", "").split()
FRACTION = os.environ.get("GPTA_BENCH_CELL_FRACTION", "0.02")
TARGET = 1.5


def old_tree() -> Path:
    given = os.environ.get("GPTA_BENCH_OLD_TREE")
    if given:
        return Path(given)
    tree = Path(tempfile.gettempdir()) / f"gpta-bench-old-{OLD_REV}"
    if not (tree / "gpta").is_dir():
        proc = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), OLD_REV],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot check out {OLD_REV} into {tree}: {proc.stderr.strip()[:300]}")
    return tree


def probe(tree: Path, out: Path) -> dict:
    # This checkout's probe script, importing gpta from ``tree`` (PYTHONPATH): both sides are
    # measured the same way, and the old side gets the breakdown parts it has.
    cmd = [sys.executable, str(ROOT / "benchmarks" / "cell_probe.py"), "--method", "gpta", "--out", str(out),
           "--fraction", FRACTION, "--threads", str(torch.get_num_threads())]
    for s in SETS:
        cmd += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise AssertionError(f"cell in {tree} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    cell = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(cell["gpta_file"]).resolve().is_relative_to(tree.resolve()), (cell["gpta_file"], tree)
    return cell


@pytest.mark.parametrize("side", ["old", "new"])
def test_default_cell(benchmark, side, tmp_path):
    tree = old_tree() if side == "old" else ROOT
    cells: list[dict] = []
    runs = iter(range(1000))

    def run() -> None:
        cells.append(probe(tree, tmp_path / f"r{next(runs)}"))

    benchmark.group = "default-cell"
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    last = cells[-1]
    benchmark.extra_info.update({
        "comparison": f"default GPTA cell (tweets {FRACTION}, seed 13): code at {OLD_REV} vs now (speed-up = old s / new s)",
        "side": "baseline" if side == "old" else "candidate", "tree": str(tree), "settings": SETS or "default recipe",
        "per": "one cell, subprocess wall (interpreter start included)", "target": TARGET,
        "test_metric": [c["test_metric"] for c in cells], "breakdown": last.get("breakdown"),
        "costs": {k: last["costs"].get(k) for k in ("train_seconds", "eval_seconds", "llm_seconds", "train_steps",
                                                    "wall_seconds")}})
