"""The ``gpu`` group: one epoch of the default training recipe on the CPU (baseline) and on CUDA
(candidate), same model, data and batch, so the pair says what a GPU buys per training epoch.

Runs only where torch sees a CUDA device (``pytest benchmarks -m gpu``, or ``tox -e bench-gpu``);
skips cleanly elsewhere. The CPU side uses the session's torch threads (benchmarks/conftest.py).
Measured twice on one NVIDIA H200 with 16 CPU cores (2026-12-04): medians 0.68 and 0.74 s on
CUDA against 6.71 and 4.67 s on the CPU (16 threads), 9.9x and 6.3x (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import os

import pytest
import torch

from benchmarks.harness import Recipe, fresh_model, train_ours, tweets

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

N_TRAIN = int(os.environ.get("GPTA_BENCH_GPU_TRAIN_N", "512"))
ROUNDS = int(os.environ.get("GPTA_BENCH_REPEATS", "3"))


@pytest.mark.parametrize("device_name", ["cpu", "cuda"])
def test_epoch_cpu_vs_cuda(benchmark, device_name):
    device = torch.device(device_name)
    recipe, data = Recipe(), tweets(N_TRAIN)
    benchmark.group = "gpu-epoch"
    benchmark.pedantic(lambda model: train_ours(data, recipe, device, model=model),
                       setup=lambda: ((fresh_model(recipe.seed),), {}), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update({
        "comparison": "one training epoch, CPU vs CUDA (speed-up = CPU seconds / CUDA seconds)",
        "n_examples": N_TRAIN, "epochs": recipe.epochs, "batch_size": recipe.batch_size,
        "device": torch.cuda.get_device_name(0) if device_name == "cuda" else "cpu",
        "precision": recipe.precision, "torch_threads": torch.get_num_threads(),
        "side": "candidate" if device_name == "cuda" else "baseline"})
