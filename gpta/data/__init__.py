"""Dataset registry and loading. Importing this package registers every built-in dataset."""

from __future__ import annotations

import functools
import os
from pathlib import Path

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
    """Load once per process (sweeps run many cells on one dataset); every call checks that the
    files the splits were read from still hold what was read (Splits.files_read)."""
    data_dir = data_dir or os.environ.get("GPTA_DATA_DIR") or None
    if spec.name in REGISTRY and REGISTRY[spec.name] is spec:
        splits = _load_cached(spec.name, data_dir, id(spec))
    else:
        splits = spec.load(data_dir)
    check_files_read(spec.name, splits)
    return splits


def check_files_read(name: str, splits: Splits) -> None:
    """One line when a file changed since its splits were read (a run would mix two versions)."""
    from gpta.data.manifest import FOLDERS, files_of, verify_files
    from gpta.errors import UserError
    from gpta.hashing import file_sha256_or_none

    for path, recorded in splits.files_read.items():
        now = file_sha256_or_none(path)
        if now != recorded and name in FOLDERS:  # a benchmark: how it differs from the manifest, how to restore
            for f in files_of(name):
                if Path(path).parts[-len(Path(f.path).parts):] == Path(f.path).parts:
                    verify_files(name, Path(path).parents[len(Path(f.path).parts) - 1])
        if now != recorded:
            state = "is gone" if now is None else f"now has sha256 {now[:12]}..."
            raise UserError(f"dataset {name!r}: {path} changed after it was read (sha256 {recorded[:12]}... "
                            f"then, {state}); run again so every cell reads one version of the file")
