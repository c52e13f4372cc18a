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
    from gpta.runner import execute

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = apply_overrides(RunConfig(dataset=args.dataset, fraction=args.fraction, seed=args.seed, method=args.method),
                          parse_set_args(args.set))
    t0 = time.perf_counter()
    _, result = execute(cfg, args.out, llm_cache="off", progress=False)
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"method": args.method, "costs": result["costs"], "wall_seconds": round(wall, 3),
                      "peak_rss_mib": round(peak_kib / 1024, 1),
                      "test_metric": result["metrics"]["test"][result["metric"]],
                      "prefix_tokens": result.get("prefix_tokens")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
