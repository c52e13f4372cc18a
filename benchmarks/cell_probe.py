"""Run one cell in this process and print one JSON line: the result's costs, its wall time and
this process's peak resident memory (downstream model + embedded LLM + data).

    python -m benchmarks.cell_probe --method gpta --out DIR [--set train.epochs=2 ...]

A subprocess per cell, so each peak is that cell's alone (ru_maxrss never goes down).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--method", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="tweets")
    p.add_argument("--fraction", type=float, default=0.002)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--set", action="append", default=[])
    args = p.parse_args(argv)

    import torch

    from gpta.config import RunConfig, apply_overrides, parse_set_args
    try:
        from gpta.cell import execute
    except ImportError:  # the issue-17 base revision (9c91dc5) ran a cell from gpta.runner (renamed in issue 12)
        from gpta.runner import execute

    if args.threads:
        torch.set_num_threads(args.threads)
    timers = _instrument()
    cfg = apply_overrides(RunConfig(dataset=args.dataset, fraction=args.fraction, seed=args.seed, method=args.method),
                          parse_set_args(args.set))
    t0 = time.perf_counter()
    _, result = execute(cfg, args.out, llm_cache="off", progress=False)
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"method": args.method, "costs": result["costs"], "wall_seconds": round(wall, 3),
                      "peak_rss_mib": round(peak_kib / 1024, 1),
                      "test_metric": result["metrics"]["test"][result["metric"]],
                      # what predicting the training sample's majority class scores on the same test
                      # inputs: a tiny cell's test metric means little without it (None: older revisions)
                      "majority_line": (result.get("dataset", {}).get("train_majority") or {}).get("test_accuracy"),
                      "prefix_tokens": result.get("prefix_tokens"),
                      "breakdown": breakdown(result["costs"], wall, timers),
                      "gpta_file": sys.modules["gpta"].__file__}))
    return 0


def _instrument() -> dict[str, float]:
    """Time tokenization and the Trainer's step parts without touching the code under test.

    Wraps the classification task's ``encode`` and ``features`` (tokenize; token-level prefix
    join) and reads the Trainer's step timers when each trainer is garbage (older revisions have
    none: their share stays in forward/backward + optimizer = train_seconds).
    """
    import gpta.tasks as tasks
    import gpta.train as train

    timers = {"tokenize": 0.0, "forward_backward": 0.0, "optimizer": 0.0, "step_timers": 0.0}

    def timed(fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers["tokenize"] += time.perf_counter() - t0
        return wrapper

    for cls in [getattr(tasks, n) for n in dir(tasks) if isinstance(getattr(tasks, n), type)]:
        for name in ("encode", "features"):
            if name in vars(cls):
                setattr(cls, name, timed(vars(cls)[name]))
    original_epoch = train.Trainer.train_epoch

    def train_epoch(self, features):
        fb0, op0 = getattr(self, "forward_backward_seconds", None), getattr(self, "optimizer_seconds", None)
        out = original_epoch(self, features)
        if fb0 is not None:
            timers["forward_backward"] += self.forward_backward_seconds - fb0
            timers["optimizer"] += self.optimizer_seconds - op0
            timers["step_timers"] = 1.0
        return out

    train.Trainer.train_epoch = train_epoch
    return timers


def breakdown(costs: dict, wall: float, timers: dict[str, float]) -> dict[str, float | None]:
    """Where a cell's wall seconds went: tokenize, forward/backward, optimizer, evaluation, LLM."""
    train_s = float(costs.get("train_seconds") or 0.0)
    out = {"tokenize": round(timers["tokenize"], 3),
           "forward_backward": round(timers["forward_backward"], 3) if timers["step_timers"] else None,
           "optimizer": round(timers["optimizer"], 3) if timers["step_timers"] else None,
           "train_total": round(train_s, 3),
           "eval_dev_test": round(float(costs.get("eval_seconds") or 0.0), 3),
           "llm": round(float(costs.get("llm_seconds") or 0.0), 3), "wall": round(wall, 3)}
    out["other"] = round(wall - out["tokenize"] - train_s - out["eval_dev_test"] - out["llm"], 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
