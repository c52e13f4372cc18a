"""Pinned sources: a Hub encoder written ORG/NAME@REV loads at that revision; a Hub dataset loads
at its stated revision, which enters the cell's identity; a Hub load records the commit it
resolved to. No network: the Hub itself is not reachable here, so the loads are not exercised;
what is checked is the parsing, the identity and the recording around them.
"""

from __future__ import annotations

import pytest

from gpta.data.fingerprint import data_fingerprint
from gpta.data.hub import describe, resolved_sources, revision_of
from gpta.errors import UserError
from gpta.model import model_revision, resolve_model_path


@pytest.mark.parametrize("name, expected", [
    ("sentence-transformers/all-MiniLM-L6-v2@c9745ed1", ("sentence-transformers/all-MiniLM-L6-v2", "c9745ed1")),
    ("sentence-transformers/all-MiniLM-L6-v2", ("sentence-transformers/all-MiniLM-L6-v2", None)),
    ("embedded:all-MiniLM-L6-v2", ("embedded:all-MiniLM-L6-v2", None)),
    ("./models/mine@2", ("./models/mine@2", None)),  # a path is a path, whatever it holds
])
def test_encoder_revision(name, expected):
    assert model_revision(name) == expected


def test_a_pinned_hub_encoder_resolves_to_its_bare_id():
    assert resolve_model_path("org/model@v1.0") == "org/model"
    with pytest.raises(UserError, match="ORG/NAME@REVISION"):
        model_revision("org/model@")


def test_hub_dataset_revision_enters_the_identity(monkeypatch, tmp_path):
    empty = str(tmp_path)  # no local copy here: the identity is the Hub's
    monkeypatch.delenv("GPTA_HUB_REVISION", raising=False)
    unpinned = data_fingerprint("trec", None, empty)
    assert unpinned == {"kind": "hub", "id": "CogComp/trec"} and revision_of("CogComp/trec") is None
    monkeypatch.setenv("GPTA_HUB_REVISION", "SetFit/sst2=aaa, CogComp/trec=0123abc")
    assert revision_of("CogComp/trec") == "0123abc"
    assert data_fingerprint("trec", None, empty) == {"kind": "hub", "id": "CogComp/trec", "revision": "0123abc"}
    assert data_fingerprint("ag_news", None, empty) == {"kind": "hub", "id": "fancyzhx/ag_news"}


def test_resolved_commits_are_described_for_the_source():
    with resolved_sources() as sources:
        sources.append({"id": "CogComp/trec", "revision": None, "sha": "f00d"})
        sources.append({"id": "SetFit/sst2", "revision": "v2", "sha": None})
    assert describe(sources) == "CogComp/trec@f00d, SetFit/sst2@v2"
