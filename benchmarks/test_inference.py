"""Benchmark 5: test-set inference with vs without a GPTA-like prefix (the prefix stays at
inference, so every input is longer): tokens per input and the time ratio, same model."""

from __future__ import annotations

import os
import time

import torch

from benchmarks.harness import PREFIX, fresh_model, interleaved, ratio_stats, tweets

N_TEST = int(os.environ.get("GPTA_BENCH_TEST_N", "512"))
REPEATS = int(os.environ.get("GPTA_BENCH_REPEATS", "3"))


def compare_inference(n: int, repeats: int, device: torch.device) -> dict:
    from gpta.config import TrainConfig
    from gpta.train import Trainer

    data = tweets(n, split="test")
    pids = data.task.prefix_ids(PREFIX)
    trainer = Trainer(fresh_model(), data.task, TrainConfig(precision="fp32"), total_steps=1, seed=0, device=device)
    feats = {"plain": data.task.features(data.enc, []), "prefix": data.task.features(data.enc, pids)}

    def infer(which: str) -> float:
        t0 = time.perf_counter()
        trainer.evaluate(feats[which], data.enc)
        return time.perf_counter() - t0

    times = interleaved({"prefix": lambda: infer("prefix"), "plain": lambda: infer("plain")}, repeats)
    tokens = {k: sum(len(f["input_ids"]) for f in v) / len(v) for k, v in feats.items()}
    return {"comparison": "test inference with the prefix vs without (cost ratio = with / without)",
            "n_examples": n, "device": str(device), "prefix_tokens": len(pids),
            "mean_tokens_plain": round(tokens["plain"], 2), "mean_tokens_prefix": round(tokens["prefix"], 2),
            "token_ratio": round(tokens["prefix"] / tokens["plain"], 3),
            "plain_seconds": [round(t, 3) for t in times["plain"]],
            "prefix_seconds": [round(t, 3) for t in times["prefix"]],
            **ratio_stats(times["prefix"], times["plain"])}


def test_inference_prefix_cost(benchmark, device):
    info = benchmark.pedantic(compare_inference, args=(N_TEST, REPEATS, device), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    assert info["token_ratio"] > 1.0
