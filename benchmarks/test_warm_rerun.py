"""Benchmark 4: the ``quick`` suite re-run on a finished results directory with a warm LLM
cache: no LLM call, no training step, and its wall time (target <= 10 s, the whole
``gpta sweep`` process, interpreter start included).

Cold first: the default narrows the quick suite to one dataset, seed and fraction, finetune and gpta, with a tiny recipe
(the same overrides on both runs, so the warm run finds every cell done); set
GPTA_BENCH_QUICK_FULL=1 for the suite as shipped (~12 min cold), or
GPTA_BENCH_QUICK_RESULTS=DIR to re-run on a copy of an existing finished directory.
How "0" is checked: the sweep reports 0 cells run, no result or ledger file changes (every LLM
call appends a ledger line; every trained cell rewrites its result), and the LLM cache file is
untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 10.0
NARROW = ["--datasets", "tweets", "--seeds", "13", "--fractions", "0.005", "--methods", "finetune,gpta",
          "--set", "train.epochs=2", "--set", "gpta.rounds=2", "--set", "train.min_steps_per_epoch=2",
          "--set", "train.dev_max=64", "--set", "train.test_max=64", "--set", "train.eval_train_max=64"]


def sweep(out: Path, extra: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "gpta", "sweep", "quick", "--out", str(out), "--no-progress", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - t0, proc


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    # Results, ledgers and the LLM cache. sweep.jsonl (the sweep's own event log, checked by
    # cell_starts) and results.csv/parquet (tables rebuilt from results) may change on a warm run.
    return {str(p.relative_to(out)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in out.rglob("*") if p.is_file() and (p.suffix in (".json", ".sqlite") or p.name.endswith(".ledger.jsonl"))}


def cell_starts(out: Path) -> int:
    """Cells the sweep started, from its event log."""
    log = out / "sweep.jsonl"
    if not log.is_file():
        return 0
    return sum(json.loads(line).get("event") == "start" for line in log.read_text(encoding="utf-8").splitlines() if line.strip())


def ledger_lines(out: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in out.glob("*.ledger.jsonl"))


def finish_cold(out: Path) -> tuple[list[str], float | None]:
    """A finished results directory: a cold sweep, or a copy of GPTA_BENCH_QUICK_RESULTS."""
    existing = os.environ.get("GPTA_BENCH_QUICK_RESULTS")
    extra = [] if (existing or os.environ.get("GPTA_BENCH_QUICK_FULL") == "1") else NARROW
    if existing:
        shutil.copytree(existing, out, dirs_exist_ok=True)
        return extra, None
    cold_s, cold = sweep(out, extra)
    assert cold.returncode == 0, f"cold sweep failed:\n{cold.stdout[-2000:]}\n{cold.stderr[-3000:]}"
    return extra, cold_s


def warm_rerun(out: Path, extra: list[str], cold_s: float | None) -> dict:
    before, lines_before, starts_before = snapshot(out), ledger_lines(out), cell_starts(out)
    warm_s, warm = sweep(out, extra)
    assert warm.returncode == 0, f"warm sweep failed:\n{warm.stderr[-3000:]}"
    after = snapshot(out)
    ran = re.search(r"(\d+) cells ran ok", warm.stdout)
    done = re.search(r"(\d+) already done", warm.stdout)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    result_files_changed = [k for k in changed if k.endswith(".json")]
    return {"comparison": "quick suite: warm re-run on a finished directory (speed-up = cold / warm)",
            "suite": "quick", "overrides": extra, "cold_seconds": round(cold_s, 2) if cold_s else None,
            "warm_seconds": round(warm_s, 2), "cells_already_done": int(done.group(1)) if done else None,
            "cells_run": int(ran.group(1)) if ran else None, "cells_started": cell_starts(out) - starts_before,
            "llm_calls": ledger_lines(out) - lines_before, "training_steps": 0 if not result_files_changed else None,
            "files_changed": changed, "target_s": TARGET_S, "target_met": warm_s <= TARGET_S,
            "ratio_median": round(cold_s / warm_s, 2) if cold_s else None}


def test_warm_rerun_quick_suite(benchmark, tmp_path):
    out = tmp_path / "quick"
    extra, cold_s = finish_cold(out)
    info = benchmark.pedantic(warm_rerun, args=(out, extra, cold_s), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    assert info["cells_run"] == 0 and info["cells_started"] == 0 and info["cells_already_done"], info
    assert info["llm_calls"] == 0 and info["training_steps"] == 0 and not info["files_changed"], info
