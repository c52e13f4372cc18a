"""Refit the cost model's training and evaluation constants (gpta/sweep/estimate.py) to results.

Run: ``python -m benchmarks.fit_cost_model DIR [DIR ...]`` over folders of finished results
(searched recursively; classification cells, not SetFit, in the precision given by --precision,
fp32 by default). The script prints the four fitted constants and, per cell, measured / fitted
training and evaluation seconds. The shipped constants came from 41 fp32 cells measured on a
quiet 2-core machine (2026-11-30).

Per cell it uses only what the result records: the training steps, the batch size, the train,
dev and test sizes evaluated, the prefix length, GPTA's extra dev passes, and the measured
``train_seconds`` and ``eval_seconds``. Input length is the dataset's ``TEXT_TOKENS_MEAN`` plus
the recorded prefix. The fit is least squares on relative error, so each cell weighs the same:

    train_seconds = steps * batch * (tokens * TRAIN_S_PER_TOKEN + TRAIN_S_PER_EXAMPLE)
    eval_seconds  = examples * (tokens * EVAL_S_PER_TOKEN + EVAL_S_PER_EXAMPLE)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def cell_terms(result: dict[str, Any]) -> dict[str, float] | None:
    """(train tokens, train examples, eval tokens, eval examples, seconds) of one result, or None
    when the model does not describe it (QA windows, SetFit pairs, no training)."""
    from gpta.sweep.estimate import TEXT_TOKENS, evaluated_examples, input_tokens, method_cost

    try:
        name, method = result["dataset"]["name"], result["method"]
        t, sizes, costs = result["config"]["train"], result["dataset"]["sizes"], result["costs"]
        steps = int(costs["train_steps"])
    except (KeyError, TypeError, ValueError):
        return None
    if name in TEXT_TOKENS or method_cost(method).contrastive or steps == 0:
        return None
    seq = input_tokens(name, int(t["max_text_tokens"]), int(result.get("prefix_tokens") or 0))
    n = int(sizes["train"])
    train_eval = min(n, t["eval_train_max"]) if t.get("eval_train_max") else n
    dev, test = int(sizes.get("dev_evaluated", sizes["dev"])), int(sizes.get("test_evaluated", sizes["test"]))
    loop = result.get("dialogue") if isinstance(result.get("dialogue"), dict) else {}
    # the GPTA loop: the first round's "before" pass over dev, then its same-weights passes
    extra = dev + int(loop.get("extra_dev_examples") or 0) if "extra_dev_examples" in loop else 0
    examples = evaluated_examples(int(t["epochs"]), train_eval, dev, test, extra)
    return {"train_tokens": steps * t["batch_size"] * seq, "train_examples": steps * t["batch_size"],
            "eval_tokens": examples * seq, "eval_examples": examples,
            "train_s": float(costs["train_seconds"]), "eval_s": float(costs["eval_seconds"])}


def fit(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per-token and per-example seconds for training and for evaluation (relative least squares)."""
    out = {}
    for part in ("train", "eval"):
        a = np.array([[r[f"{part}_tokens"], r[f"{part}_examples"]] for r in rows], dtype=float)
        y = np.array([r[f"{part}_s"] for r in rows], dtype=float)
        w = 1.0 / np.maximum(y, 1e-9)
        (per_token, per_example), *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
        out[f"{part.upper()}_S_PER_TOKEN"], out[f"{part.upper()}_S_PER_EXAMPLE"] = float(per_token), float(per_example)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fit_cost_model", description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--precision", default="fp32", help="fit only results that ran in this precision (fp32)")
    args = p.parse_args(argv)
    rows, names = [], []
    for d in args.dirs:
        if not d.is_dir():
            print(f"fit_cost_model: {d}: not a folder", file=sys.stderr)
            return 2
        for f in sorted(d.rglob("*.json")):
            try:
                result = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(result, dict) or (result.get("identity") or {}).get("precision_used") != args.precision:
                continue
            terms = cell_terms(result)
            if terms:
                rows.append(terms)
                names.append(f"{f.parent.name}/{f.name[:44]}")
    if len(rows) < 2:
        print(f"fit_cost_model: {len(rows)} usable {args.precision} result(s) under {', '.join(map(str, args.dirs))}; "
              "need at least 2", file=sys.stderr)
        return 2
    k = fit(rows)
    print(f"{len(rows)} {args.precision} cells")
    for key, value in k.items():
        print(f"{key} = {value:.4g}")
    print("\n| cell | train measured / fitted | eval measured / fitted |\n|---|---|---|")
    for name, r in zip(names, rows):
        tr = r["train_tokens"] * k["TRAIN_S_PER_TOKEN"] + r["train_examples"] * k["TRAIN_S_PER_EXAMPLE"]
        ev = r["eval_tokens"] * k["EVAL_S_PER_TOKEN"] + r["eval_examples"] * k["EVAL_S_PER_EXAMPLE"]
        print(f"| {name} | {r['train_s'] / tr:.2f} | {r['eval_s'] / ev:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
