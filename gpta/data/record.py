"""What a result records about its data: the dataset's facts, split protocol and sizes.

Part of the data layer (it reads a spec, its splits and the run's sample, nothing above them);
the task adds its own settings (``Task.settings``: e.g. QA windows) through ``task_settings``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpta.data.spec import DatasetSpec, Splits


def dataset_record(spec: DatasetSpec, splits: Splits, train: list,
                   task_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "name": spec.name, "task": spec.task, "domain": spec.domain, "metric": spec.metric,
        "label_names": spec.label_names, "source": splits.source, "protocol": splits.protocol,
        "sizes": {**splits.sizes(), "train": len(train)}, "description": spec.description,
    }
    if spec.task != "qa":
        counts = np.bincount([e.label for e in train], minlength=spec.num_labels)
        rec["n_train_per_class"] = {n: int(c) for n, c in zip(spec.label_names, counts)}
        test_counts = np.bincount([e.label for e in splits.test], minlength=spec.num_labels)
        rec["test_majority_rate"] = float(test_counts.max() / max(len(splits.test), 1))
    rec.update({k: v for k, v in splits.extra.items() if k not in rec})
    rec.update({k: v for k, v in (task_settings or {}).items() if k not in rec})
    return rec
