"""Hub sources at a stated revision, and the commit each load resolved to.

The six benchmarks' canonical copies are the local files (gpta/data/manifest.py, sha256-checked);
the Hub is the fallback for a user without them. A Hub dataset is loaded at
``HUB_REVISIONS[hub_id]`` (a commit sha or tag; None: the default branch), overridable per dataset
with ``GPTA_HUB_REVISION="SetFit/sst2=<sha>,CogComp/trec=<sha>"``. Every Hub load records the
commit it resolved to in the split's ``source`` (``hf:SetFit/sst2@<sha>``), so each result names
the exact data, and a pinned revision enters the cell's identity (gpta/data/fingerprint.py).

No revision is pinned in this table yet: pinning needs the commit each of today's copies came
from, read on a machine that reaches the Hub (the suite's reference machine does not).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

HUB_REVISIONS: dict[str, str | None] = {
    "SetFit/sst2": None,
    "cardiffnlp/tweet_eval": None,
    "fancyzhx/ag_news": None,
    "CogComp/trec": None,
    "rajpurkar/squad": None,
}
ENV = "GPTA_HUB_REVISION"
_resolved: list[dict[str, Any]] | None = None


def revision_of(hub_id: str) -> str | None:
    """The revision to load ``hub_id`` at: ``$GPTA_HUB_REVISION``'s entry, else the table's."""
    for item in os.environ.get(ENV, "").split(","):
        name, sep, rev = item.strip().partition("=")
        if sep and name.strip() == hub_id and rev.strip():
            return rev.strip()
    return HUB_REVISIONS.get(hub_id)


def load_hub(hub_id: str, config: str | None = None) -> Any:
    """``datasets.load_dataset`` at the stated revision; the resolved commit is noted for the split."""
    from datasets import load_dataset

    revision = revision_of(hub_id)
    args = (hub_id, config) if config else (hub_id,)
    ds = load_dataset(*args, revision=revision)
    if _resolved is not None:
        _resolved.append({"id": hub_id, "revision": revision, "sha": _commit(hub_id, revision)})
    return ds


def _commit(hub_id: str, revision: str | None) -> str | None:
    """The commit sha ``revision`` (default branch if None) points to; None if the Hub does not say."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision).sha
    except Exception:  # noqa: BLE001 - the data loaded; a missing sha is recorded as unknown
        return None


@contextmanager
def resolved_sources() -> Iterator[list[dict[str, Any]]]:
    """Collect what every Hub load inside the block resolved to."""
    global _resolved
    previous, _resolved = _resolved, []
    try:
        yield _resolved
    finally:
        _resolved = previous


def describe(sources: list[dict[str, Any]]) -> str:
    """``@<sha>`` (or ``@<revision>`` / ``@unresolved``) per source, for a split's source text."""
    return ", ".join(f"{s['id']}@{s['sha'] or s['revision'] or 'unresolved'}" for s in sources)
