"""setfit: SetFit on the same encoder (contrastive sentence-pair fine-tuning, then a
logistic-regression head), via the ``setfit`` package. The practitioner's few-shot choice.

It does not use the shared Trainer (SetFit's recipe is its own), but it uses the same encoder,
sample, dev/test caps and result schema. SetFit has no per-epoch dev selection: the model after
training is the one evaluated (``selected`` is null).

Options (recorded under ``setfit``):
- ``num_iterations`` (default 20, SetFit's usual value): pairs generated per training example.
- ``max_steps`` (default: the shared budget, ``train.epochs`` x steps per epoch, the number of
  optimiser steps every encoder method takes; 120 at 8 per class, 150 at tweets 2%): cap on
  contrastive steps. A pair step embeds two batches, so it costs about two encoder steps; on
  the 2-core reference machine a step takes ~3-6 s, so tweets 2% takes ~10 min.
- ``body_lr`` (default 2e-5, SetFit's), ``batch_size`` (default ``train.batch_size``).
- ``prefix`` (default none): ``manual`` prepends the dataset's manual prefix to every input,
  any other text prepends that text (joined with a space; SetFit embeds plain sentences).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import torch

from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.methods import method_options
from gpta.model import resolve_model_path
from gpta.pipeline import Setup

def setfit_options(cfg: RunConfig, spec: Any, budget_steps: int) -> dict[str, Any]:
    """The typed options (gpta.methods.SetFitOptions) with the run's defaults filled in."""
    o = method_options(cfg)
    opts = {"num_iterations": o.num_iterations,
            "max_steps": budget_steps if o.max_steps is None else o.max_steps,
            "body_lr": o.body_lr,
            "batch_size": cfg.train.batch_size if o.batch_size is None else o.batch_size}
    if o.prefix in (None, "", "none"):
        opts["prefix"] = None
    elif o.prefix == "manual":
        opts["prefix"] = spec.manual_prefix
    else:
        opts["prefix"] = o.prefix
    return opts


def texts(examples: list, prefix: str | None) -> list[str]:
    return [f"{prefix} {e.text}" if prefix else e.text for e in examples]


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    setup = Setup.build(cfg, ctx)
    spec = setup.spec
    if spec.task != "classification":
        raise UserError("setfit is a sentence classifier: classification datasets only")
    opts = setfit_options(cfg, spec, cfg.train.epochs * setup.steps_per_epoch())
    train = setup.train_examples
    model = SetFitModel.from_pretrained(resolve_model_path(cfg.model), device=str(setup.device))
    prefix_tokens = len(setup.task.prefix_ids(opts["prefix"]))
    model.model_body.max_seq_length = cfg.train.max_text_tokens + prefix_tokens + 3  # [CLS] .. [SEP]

    with tempfile.TemporaryDirectory(prefix="gpta-setfit-") as scratch:
        args = TrainingArguments(
            output_dir=scratch, batch_size=opts["batch_size"], num_epochs=1,
            num_iterations=opts["num_iterations"], max_steps=opts["max_steps"],
            body_learning_rate=opts["body_lr"], seed=cfg.train_seed, show_progress_bar=False,
            report_to="none", save_strategy="no", logging_strategy="no", logging_first_step=False,
        )
        data = Dataset.from_dict({"text": texts(train, opts["prefix"]), "label": [e.label for e in train]})
        trainer = Trainer(model=model, args=args, train_dataset=data)
        t0 = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    metrics: dict[str, Any] = {}
    for split, key in (("train", "train_eval"), ("dev", "dev"), ("test", "test")):
        enc = setup.enc[key]
        preds = torch.as_tensor(model.predict(texts(enc.examples, opts["prefix"]), as_numpy=True)).long()
        m = setup.task.metrics([preds], enc, [])
        predictions = m.pop("predictions")
        if split == "test":
            metrics["test_predictions"] = predictions
        metrics[split] = m
    eval_seconds = time.perf_counter() - t0

    # the contrastive phase runs in a sentence-transformers trainer that setfit keeps as st_trainer
    state = getattr(getattr(trainer, "st_trainer", None), "state", None)
    steps = getattr(state, "global_step", None)
    extra = {"prefix": opts["prefix"], "prefix_tokens": prefix_tokens, "selected": None,
             "setfit": {**opts, "contrastive_steps": steps, "head": "LogisticRegression",
                        "encoder": resolve_model_path(cfg.model)}}
    costs = {"train_seconds": round(train_seconds, 3), "eval_seconds": round(eval_seconds, 3), "train_steps": steps}
    return setup.build_result(metrics, extra, costs, precision="fp32")
