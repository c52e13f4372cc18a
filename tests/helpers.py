"""Small shared helpers for tests (not fixtures): tiny but real run settings."""

from __future__ import annotations

from gpta.config import RunConfig, apply_overrides

# Real model, real LLM, real data; only the budget is tiny so a cell takes seconds.
TINY = {
    "train.epochs": 2,
    "train.min_steps_per_epoch": 2,
    "train.max_text_tokens": 32,
    "train.dev_max": 64,
    "train.test_max": 64,
    "train.eval_train_max": 64,
    "gpta.rounds": 2,
    "generation.max_tokens": 40,
}
TINY_ARGS = [arg for k, v in TINY.items() for arg in ("--set", f"{k}={v}")]


def tiny_config(method: str, dataset: str = "tweets", fraction: float = 0.005, seed: int = 13,
                **overrides) -> RunConfig:
    cfg = RunConfig(dataset=dataset, fraction=fraction, seed=seed, method=method)
    return apply_overrides(cfg, {**TINY, **overrides})
