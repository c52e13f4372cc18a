"""setfit: SetFit on the same encoder (contrastive sentence-pair fine-tuning, then a
logistic-regression head), via the ``setfit`` package. The practitioner's few-shot choice.

It does not use the shared Trainer (SetFit's recipe is its own), but it uses the same encoder,
sample, dev/test caps and result schema. It runs at SetFit's own documented defaults
(setfit 1.x ``TrainingArguments``: one epoch over the ``oversampling`` pairs, batch 16, body
learning rate 2e-5, no step cap; about 3,460 steps at sst2 20%), NOT at the shared step budget of
the encoder methods: a baseline at its own best. Model selection is the same as every other
method's: the contrastive phase is scored on dev ``train.epochs`` times (evenly spaced, the last
at the end): at each point a fresh logistic-regression head is fitted on the training sample's
embeddings and dev accuracy measured; the body with the best dev metric is kept (``selected``
records the step), then SetFit's head is fitted on it and train, dev and test are evaluated once.

Options (recorded under ``setfit``; each default is SetFit's):
- ``num_iterations`` (default none: SetFit's ``oversampling`` pair sampling); a number switches
  to SetFit's older ``num_iterations`` pair generation.
- ``max_steps`` (default none: no cap), ``body_lr`` (default 2e-5), ``batch_size`` (default 16).
- ``select`` (default ``dev``): ``last`` keeps the body after training (no dev selection).
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
from gpta.registry import SETFIT_PRECISION, method_options
from gpta.model import model_revision, resolve_model_path
from gpta.pipeline import Setup

# setfit 1.x TrainingArguments defaults (embedding phase): documented at
# https://huggingface.co/docs/setfit/reference/trainer#setfit.TrainingArguments; the typed options
# (gpta.registry.SetFitOptions) default to them.
DEFAULTS = {"num_iterations": None, "max_steps": -1, "body_lr": 2e-5, "batch_size": 16, "num_epochs": 1,
            "sampling_strategy": "oversampling", "select": "dev"}


def setfit_options(cfg: RunConfig, spec: Any) -> dict[str, Any]:
    """The typed options (gpta.registry.SetFitOptions), checked, as setfit's arguments."""
    o = method_options(cfg)
    opts = {"num_iterations": o.num_iterations, "max_steps": o.max_steps, "body_lr": o.body_lr,
            "batch_size": o.batch_size, "num_epochs": DEFAULTS["num_epochs"]}
    opts["sampling_strategy"] = "oversampling" if opts["num_iterations"] is None else "num_iterations"
    opts["select"] = o.select
    if o.prefix in (None, "", "none"):
        opts["prefix"] = None
    elif o.prefix == "manual":
        opts["prefix"] = spec.manual_prefix
    else:
        opts["prefix"] = o.prefix
    return opts


def dev_selection_callback(model: Any, train_texts: list[str], train_labels: list[int], dev_texts: list[str],
                           dev_labels: list[int], n_evals: int) -> Any:
    """A transformers callback for SetFit's contrastive phase: ``n_evals`` evenly spaced dev
    scores (a fresh logistic-regression head on the training embeddings each time); keeps the
    best body's weights (ties: the earlier step)."""
    import copy

    import numpy as np
    from sklearn.base import clone
    from transformers import TrainerCallback

    class DevSelection(TrainerCallback):
        def __init__(self) -> None:
            self.points: list[dict[str, Any]] = []
            self.best: dict[str, Any] | None = None
            self.every = 1

        def score(self, step: int) -> None:
            body = model.model_body
            x_train = body.encode(train_texts, convert_to_numpy=True, show_progress_bar=False)
            x_dev = body.encode(dev_texts, convert_to_numpy=True, show_progress_bar=False)
            head = clone(model.model_head).fit(x_train, train_labels)
            acc = float(np.mean(head.predict(x_dev) == np.asarray(dev_labels)))
            self.points.append({"step": step, "dev_accuracy": round(acc, 6)})
            if self.best is None or acc > self.best["dev_accuracy"]:
                self.best = {"step": step, "dev_accuracy": acc,
                             "state": copy.deepcopy({k: v.detach().cpu() for k, v in body.state_dict().items()})}
            body.train()

        def on_train_begin(self, args, state, control, **kwargs):
            self.every = max(1, state.max_steps // max(1, n_evals))

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % self.every == 0 and state.global_step < state.max_steps:
                self.score(state.global_step)

        def on_train_end(self, args, state, control, **kwargs):
            self.score(state.global_step)

    return DevSelection()


def texts(examples: list, prefix: str | None) -> list[str]:
    return [f"{prefix} {e.text}" if prefix else e.text for e in examples]


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    setup = Setup.build(cfg, ctx)
    spec = setup.spec
    if spec.task != "classification":
        raise UserError("setfit is a sentence classifier: classification datasets only")
    opts = setfit_options(cfg, spec)
    train = setup.train_examples
    model = SetFitModel.from_pretrained(resolve_model_path(cfg.model), device=str(setup.device),
                                        revision=model_revision(cfg.model)[1])  # ORG/NAME@REV pins it
    prefix_tokens = len(setup.task.prefix_ids(opts["prefix"]))
    model.model_body.max_seq_length = cfg.train.max_text_tokens + prefix_tokens + 3  # [CLS] .. [SEP]
    x_train, y_train = texts(train, opts["prefix"]), [e.label for e in train]
    dev_enc = setup.enc["dev"]
    select = None
    if opts["select"] == "dev":
        select = dev_selection_callback(model, x_train, y_train, texts(dev_enc.examples, opts["prefix"]),
                                        dev_enc.labels, cfg.train.epochs)

    with tempfile.TemporaryDirectory(prefix="gpta-setfit-") as scratch:
        kwargs = {"num_iterations": opts["num_iterations"]} if opts["num_iterations"] is not None else {}
        args = TrainingArguments(
            output_dir=scratch, batch_size=opts["batch_size"], num_epochs=opts["num_epochs"],
            sampling_strategy=opts["sampling_strategy"], max_steps=opts["max_steps"],
            body_learning_rate=opts["body_lr"], seed=cfg.train_seed, show_progress_bar=False,
            report_to="none", save_strategy="no", logging_strategy="no", logging_first_step=False, **kwargs,
        )
        data = Dataset.from_dict({"text": x_train, "label": y_train})
        trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[select] if select else None)
        t0 = time.perf_counter()
        trainer.train()
        selected = None
        if select is not None and select.best is not None:
            model.model_body.load_state_dict(select.best["state"])  # the best dev body ...
            trainer.train_classifier(x_train, y_train)  # ... with SetFit's head fitted on it
            selected = {"step": select.best["step"], "dev_metric": select.best["dev_accuracy"],
                        "evaluations": select.points}
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
    extra = {"prefix": opts["prefix"], "prefix_tokens": prefix_tokens, "selected": selected,
             "setfit": {**opts, "contrastive_steps": steps, "head": "LogisticRegression",
                        "defaults": "setfit 1.x TrainingArguments (no shared step cap)",
                        "encoder": resolve_model_path(cfg.model)}}
    costs = {"train_seconds": round(train_seconds, 3), "eval_seconds": round(eval_seconds, 3), "train_steps": steps}
    return setup.build_result(metrics, extra, costs, precision=SETFIT_PRECISION)  # its identity's too
