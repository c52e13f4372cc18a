"""Dataset registry and loading. Importing this package registers every built-in dataset."""

from __future__ import annotations

import functools
import os

from gpta.data import embedded  # noqa: F401  (registers tweets, bbc-news)
from gpta.data.spec import REGISTRY, DatasetSpec, Example, Splits, get_dataset, register

from gpta.data import benchmarks  # noqa: F401  (registers the six benchmarks)
from gpta.data import custom  # noqa: F401  (csv:/tsv:/jsonl:/card resolvers)

__all__ = ["REGISTRY", "DatasetSpec", "Example", "Splits", "get_dataset", "load_splits", "register"]


@functools.lru_cache(maxsize=16)
def _load_cached(name: str, data_dir: str | None, spec_id: int) -> Splits:
    # spec_id is part of the key so a name registered again (a dataset card) is never served stale
    return REGISTRY[name].load(data_dir)


def load_splits(spec: DatasetSpec, data_dir: str | None = None) -> Splits:
    """Load once per process (sweeps run many cells on one dataset)."""
    data_dir = data_dir or os.environ.get("GPTA_DATA_DIR") or None
    if spec.name in REGISTRY and REGISTRY[spec.name] is spec:
        return _load_cached(spec.name, data_dir, id(spec))
    return spec.load(data_dir)
