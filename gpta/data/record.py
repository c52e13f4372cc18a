"""What a result records about its data: the dataset's facts, split protocol and sizes.

Part of the data layer (it reads a spec, its splits and the run's sample, nothing above them);
the task adds its own settings (``Task.settings``: e.g. QA windows) through ``task_settings``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpta.data.spec import DatasetSpec, Splits


def train_majority(spec: DatasetSpec, train: list, test: list) -> dict[str, Any]:
    """The majority-class reference line: the TRAINING sample's most frequent class (ties: the
    lowest class index) predicted for every evaluated test input. TREC: "entity" -> 18.8% of
    TREC.test, where the test set's own majority ("description") would claim 27.6%."""
    from sklearn.metrics import f1_score

    counts = np.bincount([e.label for e in train], minlength=spec.num_labels)
    k = int(counts.argmax())
    gold = np.array([e.label for e in test])
    present = sorted(set(gold.tolist()))
    f1 = f1_score(gold, np.full_like(gold, k), labels=present, average="macro", zero_division=0) if len(gold) else 0.0
    return {"class": spec.label_names[k], "test_accuracy": float((gold == k).mean()) if len(gold) else 0.0,
            "test_macro_f1": float(f1), "n_test": int(len(gold)),
            "rule": "most frequent class of the training sample (ties: lowest index), scored on the evaluated test set"}


def dataset_record(spec: DatasetSpec, splits: Splits, train: list, task_settings: dict[str, Any] | None = None,
                   test: list | None = None) -> dict[str, Any]:
    """``test``: the evaluated test examples (the training-majority line is scored on them)."""
    rec: dict[str, Any] = {
        "name": spec.name, "task": spec.task, "domain": spec.domain, "metric": spec.metric,
        "label_names": spec.label_names, "source": splits.source, "protocol": splits.protocol,
        "sizes": {**splits.sizes(), "train": len(train)}, "description": spec.description,
    }
    if spec.task != "qa":
        counts = np.bincount([e.label for e in train], minlength=spec.num_labels)
        rec["n_train_per_class"] = {n: int(c) for n, c in zip(spec.label_names, counts)}
        from gpta.data.sampling import N_TRAIN_RULE

        rec["n_train_rule"] = N_TRAIN_RULE
        test_counts = np.bincount([e.label for e in splits.test], minlength=spec.num_labels)
        # the test set's own majority share: a property of the test set, NOT a baseline
        rec["test_majority_rate"] = float(test_counts.max() / max(len(splits.test), 1))
        rec["train_majority"] = train_majority(spec, train, test if test is not None else splits.test)
    rec.update({k: v for k, v in splits.extra.items() if k not in rec})
    rec.update({k: v for k, v in (task_settings or {}).items() if k not in rec})
    return rec
