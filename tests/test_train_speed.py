"""Speed changes in gpta/train.py (issue 17) change no number: frozen word embeddings stay put
while the rest trains, and cached evaluation batches give the same metrics as fresh ones."""

from __future__ import annotations

import torch

from gpta.config import TrainConfig


def _data(n: int = 24):
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.harness import fresh_model, tweets

    return tweets(n), fresh_model


def test_frozen_word_embeddings_do_not_move_and_the_encoder_trains():
    from gpta.train import Trainer, collate

    data, fresh_model = _data()
    feats = data.task.features(data.enc, [])
    model = fresh_model(0)
    words = model.get_input_embeddings().weight.detach().clone()
    query = next(p for n, p in model.named_parameters() if "layer.0.attention.self.query.weight" in n).detach().clone()
    cfg = TrainConfig(min_steps_per_epoch=2, precision="fp32", word_embeddings="frozen", threads=1)
    trainer = Trainer(model, data.task, cfg, total_steps=2, seed=0, device=torch.device("cpu"))
    trainer.train_epoch(feats)
    assert torch.equal(model.get_input_embeddings().weight, words)
    moved = next(p for n, p in model.named_parameters() if "layer.0.attention.self.query.weight" in n)
    assert not torch.equal(moved, query)
    assert trainer.optimizer_seconds > 0 and trainer.forward_backward_seconds > 0
    # the one-array collate pads exactly as before: ids, mask and types per row
    batch = collate(feats[:3], data.task.pad_id)
    for i, f in enumerate(feats[:3]):
        n = len(f["input_ids"])
        assert batch["input_ids"][i, :n].tolist() == f["input_ids"] and int(batch["attention_mask"][i].sum()) == n
        assert bool((batch["input_ids"][i, n:] == data.task.pad_id).all())
    assert batch["input_ids"].dtype == torch.long and batch["labels"].tolist() == [f["labels"] for f in feats[:3]]


def test_cached_evaluation_batches_give_the_same_metrics():
    from gpta.train import Trainer

    data, fresh_model = _data(40)
    feats = data.task.features(data.enc, data.task.prefix_ids("Is this tweet negative or positive?"))
    cfg = TrainConfig(precision="fp32", eval_batch_size=16, threads=1)
    trainer = Trainer(fresh_model(0), data.task, cfg, total_steps=1, seed=0, device=torch.device("cpu"))
    first = trainer.evaluate(feats, data.enc)
    second = trainer.evaluate(feats, data.enc)  # from the cached batches
    copy = trainer.evaluate([dict(f) for f in feats], data.enc)  # a new list: batches built again
    assert first == second == copy
    assert len(first["predictions"]) == 40


def test_unknown_word_embeddings_setting_is_one_line():
    """The setting is checked at planning (gpta.config's SETTINGS table), before any model loads:
    the Trainer trusts it."""
    import pytest

    from gpta.config import RunConfig, apply_overrides
    from gpta.errors import UserError

    cfg = RunConfig(dataset="tweets", fraction=0.01, seed=0, method="finetune")
    with pytest.raises(UserError, match=r"train.word_embeddings='sparse': allowed values: train, frozen"):
        apply_overrides(cfg, {"train.word_embeddings": "sparse"})
