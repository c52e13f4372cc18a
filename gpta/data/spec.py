"""What a dataset name means: one source, one split protocol, and the text the LLM may see.

A ``DatasetSpec`` is data (no loading code of its own besides a ``load`` callable); the registry
maps names to specs. A name never silently means different data: a loader that cannot follow the
registered protocol refuses with a UserError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gpta.errors import UserError


@dataclass
class Example:
    """One input. ``text`` is the classifier input (or the question, for QA)."""

    text: str
    label: int = -1  # class index; -1 for QA
    context: str | None = None  # QA only
    answers: list[dict[str, Any]] | None = None  # QA only: [{"text": str, "answer_start": int}]
    id: str = ""  # QA only; used to group examples and by evaluation


@dataclass
class Splits:
    """A dataset after the fixed split protocol: the train pool, dev and test."""

    pool: list[Example]
    dev: list[Example]
    test: list[Example]
    source: str  # where the data came from (path, package, Hub id)
    protocol: str  # how the splits were made, in words
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. label mapping, skipped rows
    # Each local file the splits were read from -> its sha256 when read; gpta.data.load_splits
    # checks them again on every load (cheap: hashes are cached per path, size and mtime), so
    # splits kept in memory are never used after their file changed.
    files_read: dict[str, str] = field(default_factory=dict, repr=False)

    def sizes(self) -> dict[str, int]:
        return {"pool": len(self.pool), "dev": len(self.dev), "test": len(self.test)}


@dataclass
class DatasetSpec:
    name: str
    task: str  # "classification" | "qa"
    domain: str  # sentiment | topic | question type | reading comprehension | ...
    label_names: list[str]  # empty for QA
    description: str  # what the LLM is shown: domain, input format, labels; never examples
    manual_prefix: str  # a hand-written prefix (the manual-prefix baseline)
    load: Callable[..., Splits]  # load(data_dir=None) -> Splits
    source_hint: str = ""  # for `gpta list datasets` when the data is not loaded
    text_fields: tuple[str, ...] = ("text",)
    hub_id: str | None = None
    needs_data_dir: bool = False  # True: the local copy lives under GPTA_DATA_DIR

    @property
    def metric(self) -> str:
        """The metric the dev set selects on and the feedback reports."""
        return "f1" if self.task == "qa" else "accuracy"

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


REGISTRY: dict[str, DatasetSpec] = {}

# Resolvers for names with a scheme (``csv:PATH``) or card files; registered by gpta.data.custom.
SCHEME_RESOLVERS: dict[str, Callable[..., DatasetSpec]] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    REGISTRY[spec.name] = spec
    return spec


def get_dataset(name: str, **options: Any) -> DatasetSpec:
    """The spec for a registered name, ``scheme:PATH``, or a dataset card path."""
    import gpta.data  # noqa: F401  (registers every built-in dataset)

    if name in REGISTRY:
        return REGISTRY[name]
    scheme, sep, _ = name.partition(":")
    if sep and scheme in SCHEME_RESOLVERS:
        return SCHEME_RESOLVERS[scheme](name, **options)
    if name.endswith((".yaml", ".yml", ".toml")) and "card" in SCHEME_RESOLVERS:
        return SCHEME_RESOLVERS["card"](name, **options)
    known = ", ".join(sorted(REGISTRY))
    raise UserError(f"unknown dataset {name!r}; known: {known} (or csv:PATH, tsv:PATH, jsonl:PATH)")
