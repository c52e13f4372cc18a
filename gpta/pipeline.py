"""What every encoder method shares: data -> sample -> encodings -> model -> trainer -> result.

A method builds a ``Setup`` once, then trains with whatever prefix schedule defines it
(none, fixed, LLM-revised) through ``Setup.fit_epochs`` and finishes with ``Setup.finish``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.data import load_splits
from gpta.data.record import dataset_record
from gpta.data.spec import DatasetSpec, Splits, get_dataset
from gpta.data.sampling import sample_fraction, sample_qa_fraction, subset
from gpta.model import load_model, load_tokenizer, pick_device
from gpta.train import Trainer, set_seed, steps_per_epoch


def make_task(spec: DatasetSpec, tokenizer: Any, cfg: RunConfig) -> Any:
    if spec.task == "qa":
        from gpta.qa import QATask

        return QATask(tokenizer, cfg.train.max_text_tokens, cfg.train.max_prefix_tokens)
    from gpta.tasks import ClassificationTask

    return ClassificationTask(tokenizer, spec.label_names, cfg.train.max_text_tokens, cfg.train.max_prefix_tokens)


def dev_split(spec: DatasetSpec, splits: Splits, train: list, cfg: RunConfig) -> list:
    """The dev set model selection (and GPTA's feedback) uses: the fixed dev split, or under
    ``train.dev_protocol=true-few-shot`` one as small as the training sample (issue 13)."""
    from gpta.data.sampling import true_few_shot_dev

    if cfg.train.dev_protocol == "fixed":  # (the value was checked at planning: gpta.config.CHOICES)
        return splits.dev
    return true_few_shot_dev(splits.pool, train, cfg.resolved_data_seed, spec.label_names)


def sample_train(spec: DatasetSpec, splits: Splits, cfg: RunConfig) -> list:
    if spec.task == "qa":
        return sample_qa_fraction(splits.pool, cfg.fraction, cfg.resolved_data_seed)
    return sample_fraction(splits.pool, cfg.fraction, cfg.resolved_data_seed, spec.label_names)


def overfitting(metrics: dict[str, Any], curves: list[dict[str, Any]], metric: str,
                best: dict[str, Any]) -> dict[str, Any]:
    """Overfitting measures that do not saturate (train accuracy is 1.000 in most low-resource
    runs, so "train minus test accuracy" only restates test accuracy): the selected checkpoint's
    mean dev loss minus its mean train loss (train = the train-eval sample), and how much the best
    dev epoch beats the last one (0 when the last epoch is the best)."""
    last = curves[-1][f"dev_{metric}"] if curves else None
    return {
        "dev_minus_train_loss": round(metrics["dev"]["loss"] - metrics["train"]["loss"], 6),
        "train_loss": round(metrics["train"]["loss"], 6), "dev_loss": round(metrics["dev"]["loss"], 6),
        f"best_dev_{metric}": round(best["metric"], 6),
        f"last_dev_{metric}": last,
        f"best_minus_last_dev_{metric}": round(best["metric"] - last, 6) if last is not None else None,
        "selected_epoch": best["epoch"], "last_epoch": curves[-1]["epoch"] if curves else None,
        "definition": "mean per-example loss at the selected (best-dev) checkpoint: dev minus train-eval "
                      "sample; best-vs-last: best dev metric over epochs minus the last epoch's",
    }


@dataclass
class Setup:
    cfg: RunConfig
    ctx: RunContext
    spec: DatasetSpec
    splits: Splits
    train_examples: list
    task: Any
    enc: dict[str, Any]  # split -> Encoded (train is the sample; train_eval a capped subset)
    device: Any
    curves: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)  # metric, state, prefix, epoch, round
    trainers: list[Trainer] = field(default_factory=list)  # several when weights restart per round
    _features: dict[tuple[str, tuple[int, ...]], list] = field(default_factory=dict)
    t_start: float = field(default_factory=time.perf_counter)
    _bar: Any = None
    evaluated: dict[str, int] = field(default_factory=dict)
    truncation: dict[str, Any] | None = None  # split -> {n, truncated, rate} at max_text_tokens
    dev_protocol: dict[str, Any] | None = None  # fixed | true-few-shot, with the dev size used

    @classmethod
    def build(cls, cfg: RunConfig, ctx: RunContext) -> "Setup":
        spec = get_dataset(cfg.dataset, **cfg.dataset_options)
        splits = load_splits(spec, ctx.data_dir)
        train = sample_train(spec, splits, cfg)
        tokenizer = load_tokenizer(cfg.model)
        task = make_task(spec, tokenizer, cfg)
        t = cfg.train
        dev_pool = dev_split(spec, splits, train, cfg)
        dev, test = subset(dev_pool, t.dev_max, 0), subset(splits.test, t.test_max, 0)
        enc = {
            "train": task.encode(train),
            "train_eval": task.encode(subset(train, t.eval_train_max, cfg.resolved_data_seed)),
            "dev": task.encode(dev),
            "test": task.encode(test),
        }
        setup = cls(cfg, ctx, spec, splits, train, task, enc, pick_device())
        setup.evaluated = {"dev": len(dev), "test": len(test)}  # < split size only when capped
        setup.dev_protocol = {"protocol": t.dev_protocol, "n_dev": len(dev), "n_train": len(train),
                              "source": ("the dataset's dev split" if t.dev_protocol == "fixed" else
                                         "drawn from the pool minus the training sample, as many as n_train "
                                         "(stratified; seed data_seed + 7919)")}
        if spec.task != "qa":  # texts cut at train.max_text_tokens, per evaluated split (issue 13)
            from gpta.data.truncation import truncation

            setup.truncation = {k: truncation(tokenizer, v, t.max_text_tokens)
                                for k, v in (("train", train), ("dev", dev), ("test", test))}
        return setup

    # -- prefix-joined features, computed once per (split, prefix) ---------------------------
    def features(self, split: str, prefix_ids: list[int]) -> list:
        key = (split, tuple(prefix_ids))
        if key not in self._features:
            self._features[key] = self.task.features(self.enc[split], prefix_ids)
        return self._features[key]

    def steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.enc["train"]), self.cfg.train)

    def new_trainer(self, total_epochs: int) -> Trainer:
        set_seed(self.cfg.train_seed)
        model = load_model(self.cfg.model, self.spec.task, self.spec.num_labels, seed=self.cfg.train_seed)
        trainer = Trainer(model, self.task, self.cfg.train, total_epochs * self.steps_per_epoch(),
                          seed=self.cfg.train_seed, device=self.device)
        self.trainers.append(trainer)
        return trainer

    # -- training with a fixed prefix for some epochs, tracking the best dev checkpoint -------
    def fit_epochs(self, trainer: Trainer, prefix: str | None, epochs: int, round_index: int = 0) -> list[dict]:
        pids = self.task.prefix_ids(prefix)
        train_f = self.features("train", pids)
        rows = []
        self._open_bar()
        for _ in range(epochs):
            train_loss = trainer.train_epoch(train_f)
            tr = trainer.evaluate(self.features("train_eval", pids), self.enc["train_eval"])
            dv = trainer.evaluate(self.features("dev", pids), self.enc["dev"])
            metric = self.spec.metric
            row = {
                "epoch": len(self.curves) + 1, "round": round_index, "step": trainer.steps_done,
                "train_loss_running": round(train_loss, 6),
                "train_loss": round(tr["loss"], 6), f"train_{metric}": round(tr[metric], 6),
                "dev_loss": round(dv["loss"], 6), f"dev_{metric}": round(dv[metric], 6),
                "prefix_tokens": len(pids),
            }
            if "macro_f1" in dv:
                row["dev_macro_f1"] = round(dv["macro_f1"], 6)
            self.curves.append(row)
            self._progress(row, metric)
            rows.append({**row, "dev": dv, "train": tr})
            if not self.best or dv[metric] > self.best["metric"]:
                self.best = {"metric": dv[metric], "state": trainer.snapshot(), "prefix": prefix,
                             "epoch": row["epoch"], "round": round_index,
                             "evaluated": {"train_eval": tr, "dev": dv}}  # reused by finish (issue 17)
        return rows

    def _open_bar(self) -> None:
        """One bar per run (epochs, with ETA) on stderr; sweeps turn it off and show their own."""
        if self.ctx.progress and self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.cfg.train.epochs, desc=f"{self.cfg.method} {self.spec.name}",
                             unit="epoch", leave=False)

    def _progress(self, row: dict[str, Any], metric: str) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        self._bar.set_postfix({f"dev_{metric}": f"{row[f'dev_{metric}']:.3f}", "round": row["round"]})

    def finish(self, trainer: Trainer, extra: dict[str, Any]) -> dict[str, Any]:
        """Restore the best dev checkpoint and its prefix; evaluate train, dev and test once."""

        if self._bar is not None:
            self._bar.close()
        trainer.restore(self.best["state"])
        prefix = self.best["prefix"]
        pids = self.task.prefix_ids(prefix)
        metrics = {}
        for split, enc_key in (("train", "train_eval"), ("dev", "dev"), ("test", "test")):
            # The best checkpoint's train and dev metrics were computed when it was selected, on
            # the same weights, prefix and inputs: only test is evaluated again (issue 17).
            known = self.best.get("evaluated", {}).get(enc_key)
            m = dict(known) if known is not None else trainer.evaluate(self.features(enc_key, pids), self.enc[enc_key])
            preds = m.pop("predictions", None)
            if split == "test" and preds is not None:
                metrics["test_predictions"] = preds
            metrics[split] = m
        extra = {
            "prefix": prefix, "prefix_tokens": len(pids),
            "selected": {"epoch": self.best["epoch"], "round": self.best["round"], "dev_metric": self.best["metric"]},
            "overfitting": overfitting(metrics, self.curves, self.spec.metric, self.best),
            **extra,
        }
        costs = {
            "train_seconds": round(sum(t.train_seconds for t in self.trainers), 3),
            "eval_seconds": round(sum(t.eval_seconds for t in self.trainers), 3),
            "train_steps": sum(t.steps_done for t in self.trainers),
        }
        return self.build_result(metrics, extra, costs, trainer.precision)

    def build_result(self, metrics: dict[str, Any], extra: dict[str, Any], costs: dict[str, Any],
                     precision: str) -> dict[str, Any]:
        """The run's result (gpta/schema.py) from what this Setup knows plus the method's parts:
        ``extra`` holds prefix, prefix_tokens, selected and the method's own keys (METHOD_KEYS)."""
        from gpta.results import environment
        from gpta.schema import build_result

        from gpta.results import cell_identity

        test = self.enc["test"].examples if isinstance(getattr(self, "enc", None), dict) and "test" in self.enc else None
        data = dataset_record(self.spec, self.splits, self.train_examples, self.task.settings(), test=test)
        data["sizes"].update({f"{k}_evaluated": v for k, v in self.evaluated.items()})
        data["truncated_at_max_text_tokens"] = self.truncation  # texts cut at train.max_text_tokens, per split
        data["dev_protocol"] = self.dev_protocol  # fixed | true-few-shot, n_dev beside n_train
        identity = {**cell_identity(self.cfg.to_dict(), self.ctx.data_dir), "precision_used": precision}
        own = dict(extra)
        return build_result(
            run_id=self.ctx.run_id, cfg=self.cfg, dataset=data, metric=self.spec.metric, metrics=metrics,
            curves=self.curves, prefix=own.pop("prefix", None), prefix_tokens=own.pop("prefix_tokens", 0),
            selected=own.pop("selected", None), method_keys=own, llm=self.ctx.llm_identity(), identity=identity,
            costs={**self.ctx.llm_costs(), **costs}, env=environment(self.device, precision),
            wall_seconds=time.perf_counter() - self.t_start)
