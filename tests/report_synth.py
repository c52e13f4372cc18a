"""Synthetic but schema-valid result folders for fast report tests (no model, no LLM).

Each result carries what a real RunResult carries for the report: config, dataset record,
metrics per split (with per-example test predictions and gold labels), curves, prefix history
for GPTA, LLM identity, costs and env. Accuracies are computed from the predictions, so every
number is internally consistent, and ``gain`` sets how much better GPTA is than finetune.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LABELS = ["negative", "positive"]


def _preds(gold: np.ndarray, acc: float, rng: np.random.Generator) -> np.ndarray:
    pred = gold.copy()
    wrong = rng.choice(len(gold), size=int(round((1 - acc) * len(gold))), replace=False)
    pred[wrong] = 1 - pred[wrong]
    return pred


def result(dataset: str, fraction: float, seed: int, method: str, acc: float, gold: np.ndarray,
           rng: np.random.Generator, llm: str = "SmolLM2-135M", domain: str = "sentiment") -> dict:
    pred = _preds(gold, acc, rng)
    acc = float((pred == gold).mean())
    run_id = f"{dataset}__{method}__f{fraction:g}__s{seed}__{abs(hash((llm, acc))) % 10**10:010d}"
    uses_llm = method in ("gpta", "llm-zero-shot")
    train_loss = 0.05 + 0.02 * rng.random()
    dev_loss = train_loss + (0.9 if method == "finetune" else 0.5) + 0.05 * rng.random()
    hist = []
    if method == "gpta":
        hist = [{"round": 0, "prefix": "Classify the tweet's sentiment as negative or positive.", "source": "llm",
                 "dev_before": 0.5, "dev_metric": 0.70, "dev_loss": dev_loss, "train_loss": train_loss},
                {"round": 1, "prefix": "Decide whether the tweet is negative or positive.", "source": "llm",
                 "dev_before": 0.71 if seed % 2 else 0.69, "dev_metric": 0.72, "improved_over_previous": True,
                 "dev_loss": dev_loss, "train_loss": train_loss},
                {"round": 2, "prefix": "Decide whether the tweet is negative or positive.", "source": "fallback",
                 "dev_before": 0.72, "dev_metric": 0.72, "improved_over_previous": False,
                 "dev_loss": dev_loss, "train_loss": train_loss}]
    # the loop's dialogue record (gpta/gpta_loop.py dialogue_summary): 2 proposals, 1 new; "LLM
    # accuracy" (share of new proposals passing the same-weights adoption test) varies with the seed
    dialogue = None
    if method == "gpta":
        dialogue = {"candidates": 1, "adopt": "always", "candidate_temperature": 0.8, "reply_line": "first",
                    "llm_sampling": {"temperature": 0.0, "seed": seed, "seed_from": "run", "deterministic": True},
                    "llm_deterministic": True, "echo_rule": "gpta.prefix.find_echo",
                    "adopt_test": "exact one-sided sign test on dev items, p < 0.05",
                    "rounds_with_proposals": 2, "proposals": 2, "new": 1, "echo": 1, "fragment": 0, "rejected": 0,
                    "echo_sources": {"prefix": 1, "proposal": 0, "request": 0},
                    "beat_incumbent": seed % 2, "beat_incumbent_raw": seed % 2, "adopted": 2, "refused_by_test": 0,
                    "share_new": 0.5, "share_echo": 0.5, "share_adopted": 1.0,
                    "llm_accuracy": float(seed % 2), "llm_accuracy_raw": float(seed % 2),
                    "adopted_gains": [0.01, 0.0], "extra_dev_passes": 2, "extra_dev_examples": 128}
        from gpta.gpta_loop import DIALOGUE_KEYS  # the writer's keys: the record is complete

        assert tuple(dialogue) == DIALOGUE_KEYS
    n_train = max(2, int(2000 * fraction))
    tokens = {"gpta": (900, 120, 3), "llm-zero-shot": (30000, 600, len(gold))}.get(method, (0, 0, 0))
    llm_s = {"gpta": 3.0, "llm-zero-shot": 0.5 * len(gold)}.get(method, 0.0)  # zero-shot: 0.5 s per item
    return {
        "schema_version": 1, "run_id": run_id, "status": "ok", "method": method,
        "config": {"dataset": dataset, "fraction": fraction, "seed": seed, "method": method,
                   "model": "embedded:all-MiniLM-L6-v2", "llm": f"embedded:{llm}" if uses_llm else "embedded",
                   "data_seed": seed, "dataset_options": {}, "train_seed": seed, "options": {},
                   "train": {"epochs": 3, "test_max": len(gold), "dev_max": 64, "eval_train_max": 32},
                   "gpta": {"rounds": 3, "weights": "continue"}},
        "seeds": {"data_seed": seed, "train_seed": seed},
        "dataset": {"name": dataset, "task": "classification", "domain": domain, "metric": "accuracy",
                    "label_names": LABELS, "sizes": {"pool": 2000, "dev": 500, "test": len(gold), "train": n_train,
                                                     "dev_evaluated": 64, "test_evaluated": len(gold)},
                    "n_train_per_class": {"negative": n_train - n_train // 3, "positive": n_train // 3},
                    "test_majority_rate": float(max(np.mean(gold == 0), np.mean(gold == 1))),
                    "train_majority": {"class": LABELS[0], "test_accuracy": float(np.mean(gold == 0)),
                                       "n_test": len(gold)}},
        "metric": "accuracy",
        "metrics": {"train": {"accuracy": 1.0, "macro_f1": 1.0, "loss": train_loss},
                    "dev": {"accuracy": acc, "macro_f1": acc - 0.1, "loss": dev_loss},
                    "test": {"accuracy": acc, "macro_f1": acc - 0.1, "loss": dev_loss},
                    "test_predictions": pred.tolist(), "test_labels": gold.tolist()},
        "curves": [{"epoch": e, "round": min(e - 1, 2) if method == "gpta" else 0, "train_loss": train_loss,
                    "dev_loss": dev_loss, "dev_accuracy": acc - 0.01 * (3 - e)} for e in (1, 2, 3)],
        "prefix": hist[-1]["prefix"] if hist else None,
        "selected": {"epoch": 3, "round": 0, "dev_metric": acc + 0.01},
        "prefix_history": hist,
        "dialogue": dialogue,
        "zero_shot": {"n_evaluated": len(gold)} if method == "llm-zero-shot" else None,
        "llm": {"backend": "embedded", "model": llm} if uses_llm else None,
        "costs": {"llm_calls": tokens[2], "prompt_tokens": tokens[0], "completion_tokens": tokens[1],
                  "llm_seconds": llm_s, "llm_seconds_cold": llm_s, "llm_seconds_paid": llm_s, "cache_hits": 0, "train_seconds": 10 + rng.random(),
                  "eval_seconds": 1.0, "train_steps": 30, "wall_seconds": 12.0},
        "env": {"versions": {"torch": "2.13.0"}, "git": {"commit": "0" * 40, "dirty": False}, "device": "cpu",
                "device_name": "x86_64", "precision": "fp32"},
        "timestamps": {"finished": "2026-11-29T00:00:00+00:00"},
    }


def write_folder(out: Path, seeds=(1, 2, 3), fractions=(0.01, 0.05), gain: float = 0.10,
                 dataset: str = "sst2", n_test: int = 120, zero_shot: bool = True,
                 extra_llms: tuple[str, ...] = ()) -> Path:
    """finetune, gpta and manual-prefix per (fraction, seed), llm-zero-shot once per seed; with
    ``extra_llms``, gpta and llm-zero-shot again under each further LLM (a several-LLM suite)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    gold = (rng.random(n_test) < 0.3).astype(int)  # imbalanced: 70% negative
    for f in fractions:
        for s in seeds:
            base = 0.70 + 0.01 * s
            for method, acc in (("finetune", base), ("gpta", base + gain * (1.5 if f == min(fractions) else 1.0)),
                                ("manual-prefix", base + 0.005)):
                r = result(dataset, f, s, method, min(acc, 0.99), gold, rng)
                (out / f"{r['run_id']}.json").write_text(json.dumps(r))
            if zero_shot:
                r = result(dataset, f, s, "llm-zero-shot", 0.6, gold, np.random.default_rng(7))
                (out / f"{r['run_id']}.json").write_text(json.dumps(r))
            for k, llm in enumerate(extra_llms):
                r = result(dataset, f, s, "gpta", min(base + gain / 2 + 0.02 * k * s, 0.99), gold, rng, llm=llm)
                (out / f"{r['run_id']}.json").write_text(json.dumps(r))
                if zero_shot:
                    r = result(dataset, f, s, "llm-zero-shot", 0.65, gold, np.random.default_rng(8), llm=llm)
                    (out / f"{r['run_id']}.json").write_text(json.dumps(r))
    return out
