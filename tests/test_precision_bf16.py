"""bf16 autocast (train.precision=auto picks it where the CPU or GPU has it) must not cost
accuracy: train the same model on the same tweets in fp32 and in bf16 and compare dev accuracy.
Skipped where bf16 is unsupported (e.g. an AVX2-only CPU without a GPU)."""

from __future__ import annotations

import pytest
import torch

from gpta.config import TrainConfig
from gpta.data import load_splits
from gpta.data.spec import get_dataset
from gpta.model import bf16_supported, load_model, load_tokenizer, pick_device
from gpta.tasks import ClassificationTask
from gpta.train import Trainer, set_seed, steps_per_epoch

N_TRAIN, N_DEV = 128, 256
NOISE = 0.06  # ~2.4 binomial SDs of accuracy at 256 dev examples (sd ~0.025 near 80%)


def train_and_score(precision: str, device: torch.device) -> float:
    spec = get_dataset("tweets")
    splits = load_splits(spec)
    task = ClassificationTask(load_tokenizer("embedded:all-MiniLM-L6-v2"), spec.label_names, 64, 32)
    train, dev = task.encode(splits.pool[:N_TRAIN]), task.encode(splits.dev[:N_DEV])
    cfg = TrainConfig(epochs=2, precision=precision, min_steps_per_epoch=8)
    set_seed(0)
    model = load_model("embedded:all-MiniLM-L6-v2", "classification", 2, seed=0)
    trainer = Trainer(model, task, cfg, cfg.epochs * steps_per_epoch(N_TRAIN, cfg), seed=0, device=device)
    assert trainer.precision == precision
    for _ in range(cfg.epochs):
        trainer.train_epoch(task.features(train, []))
    return trainer.evaluate(task.features(dev, []), dev)["accuracy"]


@pytest.mark.slow
def test_bf16_accuracy_within_noise_of_fp32():
    device = pick_device()
    if not bf16_supported(device):
        pytest.skip(f"bf16 autocast unsupported on {device} (CPU capability {torch.backends.cpu.get_cpu_capability()})")
    fp32, bf16 = train_and_score("fp32", device), train_and_score("bf16", device)
    assert fp32 > 0.6, f"fp32 run did not learn (dev accuracy {fp32})"  # the comparison means something
    assert abs(fp32 - bf16) <= NOISE, f"dev accuracy fp32 {fp32:.3f} vs bf16 {bf16:.3f}"


def test_auto_precision_matches_hardware():
    from gpta.model import resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if bf16_supported(cpu) else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32"
