"""Benchmark 1: training throughput, gpta.train.Trainer vs transformers.Trainer, and fp32 vs bf16.

Same model (fresh MiniLM-L6 + head for every round, loaded outside the clock), same tokenized
tweets, batch size, one epoch, AdamW (lr 1e-4, weight decay 0.01 off biases/LayerNorm), 10%
linear warm-up then linear decay, grad-norm clipping at 1.0 (the HF default, kept in ours for
parity), same torch threads, fp32. The HF side gets dynamic padding and length-grouped batches
(see harness.hf_arguments_dict). Timed: trainer construction + the epoch.

Each side is its own benchmark in group ``loop-vs-trainer[DEVICE]`` (``--benchmark-compare``
works on each); conftest computes the ratio (HF median / ours) from the same run. Ours runs
with the suite's default recipe (``TrainConfig``: word embeddings as the default says).
"""

from __future__ import annotations

import os

import pytest
import torch

from benchmarks.harness import Recipe, fresh_model, hf_arguments_dict, train_hf, train_ours, tweets

N_TRAIN = int(os.environ.get("GPTA_BENCH_TRAIN_N", "192"))
ROUNDS = int(os.environ.get("GPTA_BENCH_REPEATS", "3"))
TARGET = 1.5


def _n(device: torch.device) -> int:
    return N_TRAIN if device.type == "cpu" else 512


def _info(device: torch.device, recipe: Recipe, n: int) -> dict:
    return {"comparison": "gpta.train.Trainer vs transformers.Trainer (speed-up = HF seconds / ours)",
            "n_examples": n, "epochs": recipe.epochs, "batch_size": recipe.batch_size, "max_text_tokens": 64,
            "device": str(device), "precision": recipe.precision, "torch_threads": torch.get_num_threads(),
            "per": f"one epoch over {n} tweets", "target": TARGET}


@pytest.mark.parametrize("side", ["hf", "ours"])
def test_loop_vs_trainer(benchmark, device, side):
    recipe, n = Recipe(), _n(device)
    data = tweets(n)
    benchmark.group = f"loop-vs-trainer[{device.type}]"
    run = train_ours if side == "ours" else train_hf
    benchmark.pedantic(lambda model: run(data, recipe, device, model=model),
                       setup=lambda: ((fresh_model(recipe.seed),), {}), rounds=ROUNDS, iterations=1)
    info = _info(device, recipe, n)
    info["side"] = "candidate" if side == "ours" else "baseline"
    if side == "hf":
        info["hf_training_arguments"] = {k: v for k, v in hf_arguments_dict(recipe, "TMP", device).items()
                                         if k != "output_dir"}
    benchmark.extra_info.update(info)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fp32_vs_bf16(benchmark, device, precision):
    from gpta.model import bf16_supported

    if not bf16_supported(device):
        pytest.skip(f"bf16 autocast not supported natively on {device} (CPU capability "
                    f"{torch.backends.cpu.get_cpu_capability()}; needs AVX-512 bf16 or AMX)")
    n = _n(device)
    data = tweets(n)
    benchmark.group = f"fp32-vs-bf16[{device.type}]"
    benchmark.pedantic(lambda model: train_ours(data, Recipe(precision=precision), device, model=model),
                       setup=lambda: ((fresh_model(0),), {}), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update({"comparison": "gpta Trainer fp32 vs bf16 autocast (speed-up = fp32 seconds / bf16)",
                                 "side": "candidate" if precision == "bf16" else "baseline", "device": str(device),
                                 "n_examples": n, "per": f"one epoch over {n} tweets"})


@pytest.mark.parametrize("embeddings", ["train", "frozen"])
def test_word_embeddings_train_vs_frozen(benchmark, device, embeddings):
    """Our loop with the word-embedding matrix trained vs frozen (train.word_embeddings)."""
    n = _n(device)
    data = tweets(n)
    benchmark.group = f"word-embeddings[{device.type}]"
    recipe = Recipe(precision="fp32")
    benchmark.pedantic(lambda model: train_ours(data, recipe, device, model=model, word_embeddings=embeddings),
                       setup=lambda: ((fresh_model(0),), {}), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update({"comparison": "our loop, word embeddings trained vs frozen (speed-up = trained s / frozen s)",
                                 "side": "candidate" if embeddings == "frozen" else "baseline", "device": str(device),
                                 "n_examples": n, "per": f"one epoch over {n} tweets"})
