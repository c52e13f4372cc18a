"""The six benchmarks on the real files in GPTA_DATA_DIR: sizes, labels, protocols, determinism."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from gpta.data import REGISTRY, get_dataset
from gpta.data.benchmarks import clean_ag_text
from gpta.errors import UserError

DATA_DIR = Path(os.environ.get("GPTA_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA_DIR / "MANIFEST.md").is_file(),
                                reason=f"benchmark files not found: set GPTA_DATA_DIR (tried {DATA_DIR})")
SIX = ["sst2", "twitter", "yelp", "ag_news", "trec", "squad"]

# The protocol's sizes (pool, dev, test) and each split's classes; see gpta/data/benchmarks.py.
EXPECTED = {
    "sst2": ((6917, 872, 1821), 2),  # 3 pool rows that repeat a test sentence removed
    "twitter": ((4478, 1000, 2000), 2),
    "yelp": ((497, 199, 300), 2),  # cross-split duplicates removed: 3 from the pool, 1 from dev
    "ag_news": ((4600, 1000, 2000), 4),
    "trec": ((4928, 499, 500), 6),  # 24 pool rows repeat a dev or test question; 1 dev row a test one
    "squad": ((8632, 500, 1000), 0),
}


@pytest.fixture(scope="module")
def loaded():
    return {name: REGISTRY[name].load(str(DATA_DIR)) for name in SIX}


def test_registry_entries_are_complete():
    for name in SIX:
        spec = get_dataset(name)
        assert spec.needs_data_dir and spec.source_hint and spec.manual_prefix
        assert spec.domain in ("sentiment", "topic", "question type", "reading comprehension")
        # the description names every label in words and shows no example (no quoted text)
        for label in spec.label_names:
            assert label in spec.description, (name, label)
        assert not re.search(r'"[^"]{15,}"', spec.description), name
    assert REGISTRY["trec"].label_names == ["abbreviation", "description", "entity", "human", "location", "number"]
    assert REGISTRY["squad"].task == "qa" and REGISTRY["squad"].metric == "f1"
    domains = {REGISTRY[n].domain for n in SIX}
    assert len(domains) == 4  # three domains of the paper's six plus question type


@needs_data
@pytest.mark.parametrize("name", SIX)
def test_sizes_labels_and_protocol(loaded, name):
    splits = loaded[name]
    (n_pool, n_dev, n_test), n_classes = EXPECTED[name]
    assert (len(splits.pool), len(splits.dev), len(splits.test)) == (n_pool, n_dev, n_test)
    assert str(DATA_DIR.resolve()) in splits.source and splits.protocol
    assert splits.extra.get("skipped_empty_text", 0) == 0
    for part in (splits.pool, splits.dev, splits.test):
        assert all(e.text.strip() for e in part)
        if n_classes:
            assert set(Counter(e.label for e in part)) == set(range(n_classes))
    if name != "sst2":  # sst2 official splits share a few identical sentences; derived ones never overlap
        ids = [{id(e) for e in part} for part in (splits.pool, splits.dev, splits.test)]
        assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


@needs_data
@pytest.mark.parametrize("name", SIX)
def test_no_text_is_in_two_splits_and_the_removed_duplicates_are_counted(loaded, name):
    """Issue 13, item 8: exact duplicates (up to case and whitespace) between the pool and dev/test."""
    from gpta.data.sampling import duplicate_key

    splits = loaded[name]
    keys = [{duplicate_key(e) for e in part} for part in (splits.pool, splits.dev, splits.test)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    counts = splits.extra["cross_split_duplicates"]
    # the texts found on the real files (TREC.train holds 10 TREC.test and 12 dev questions)
    expected = {"trec": (10, 12), "yelp": (2, 1), "sst2": (2, 0)}.get(name, (0, 0))
    assert (counts["test_texts_in_pool"], counts["dev_texts_in_pool"]) == expected


@needs_data
def test_derived_splits_are_stratified_and_deterministic(loaded):
    again = REGISTRY["ag_news"].load(str(DATA_DIR))
    assert [e.text for e in again.dev] == [e.text for e in loaded["ag_news"].dev]
    assert [e.text for e in again.test] == [e.text for e in loaded["ag_news"].test]
    assert Counter(e.label for e in loaded["ag_news"].test) == {0: 500, 1: 500, 2: 500, 3: 500}
    # twitter: val+test merged 1,131 + 6,347 neg/pos -> the ratio carries into every split
    tw = loaded["twitter"]
    assert tw.extra["dropped_neutral"] == 869 + 5937
    total_neg = sum(1 for p in (tw.pool, tw.dev, tw.test) for e in p if e.label == 0)
    assert total_neg == 312 + 3972
    assert abs(sum(e.label == 0 for e in tw.test) / 2000 - total_neg / 7478) < 0.001


@needs_data
def test_trec_reads_latin1_and_coarse_labels(loaded):
    trec = loaded["trec"]
    texts = [e.text for e in trec.pool + trec.dev]
    assert any("sister\u00f0city" in t for t in texts)  # the 0xF0 byte of TREC.train, as ISO-8859-1
    assert Counter(e.label for e in trec.test) == {0: 9, 1: 138, 2: 94, 3: 65, 4: 81, 5: 113}


@needs_data
def test_ag_news_text_is_title_plus_description_without_escapes(loaded):
    texts = [e.text for e in loaded["ag_news"].pool]
    assert not any("\\" in t or re.search(r"#\d+;", t) for t in texts)
    assert not any(re.search(r" (quot|amp);", t) for t in texts)
    # the corpus lost the '&' of entities to a space: "the  #36;10" was "the &#36;10"
    assert clean_ag_text("for the  #36;10 million\\prize") == "for the $10 million prize"
    assert clean_ag_text("It #39;s said: quot;no quot; &lt;b&gt;") == 'It\'s said:"no" <b>'


@needs_data
def test_squad_is_split_by_article_with_consistent_answers(loaded):
    sq = loaded["squad"]
    contexts = [{e.context for e in part} for part in (sq.pool, sq.dev, sq.test)]
    assert not (contexts[0] & contexts[1] or contexts[0] & contexts[2] or contexts[1] & contexts[2])
    arts = sq.extra["articles"]
    assert not (set(arts["pool"]) & set(arts["dev"]) or set(arts["pool"]) & set(arts["test"]))
    assert sum(sq.extra["n_articles"].values()) == 48
    assert len(sq.pool) + sq.extra["questions_dropped_by_caps"] + 1500 == 10570
    for e in sq.dev + sq.test[:200]:
        assert e.id and e.answers and e.label == -1
        a = e.answers[0]
        assert e.context[a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]


def test_missing_data_dir_names_gpta_data_dir(monkeypatch):
    monkeypatch.delenv("GPTA_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match=r"'yelp' is local only .*GPTA_DATA_DIR is not set.*GPTA_DATA_DIR or --data-dir"):
        REGISTRY["yelp"].load(None)


@pytest.mark.skipif(os.environ.get("HF_HUB_OFFLINE") != "1", reason="needs HF_HUB_OFFLINE=1 to fail fast")
def test_no_local_copy_and_hub_offline_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("GPTA_DATA_DIR", raising=False)
    with pytest.raises(UserError) as err:
        REGISTRY["trec"].load(str(tmp_path))  # a data dir without trec/
    msg = str(err.value)
    assert "'trec'" in msg and "trec does not exist" in msg and "Hub failed" in msg and "GPTA_DATA_DIR" in msg
    assert "\n" not in msg


def test_data_dir_that_does_not_exist(tmp_path):
    with pytest.raises(UserError, match=r"is not a directory"):
        REGISTRY["sst2"].load(str(tmp_path / "nope"))


@needs_data
def test_local_files_match_the_manifest_checksums(loaded):
    manifest = (DATA_DIR / "MANIFEST.md").read_text()
    for name in SIX:
        digests = loaded[name].extra["sha256"]
        assert digests and all(d in manifest for d in digests.values()), name


@needs_data
def test_list_datasets_shows_duplicates_removed_and_truncation_rate(capsys):
    """Issue 13, item 8: `gpta list datasets` states both numbers per dataset."""
    from gpta.cli import main

    assert main(["list", "datasets", "--data-dir", str(DATA_DIR)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "duplicates removed" in lines["name"] and "truncated (test)" in lines["name"]
    assert "pool 10+14 (test+dev), dev 1" in lines["trec"]
    assert "10.0% at 64 tok" in lines["ag_news"]  # 200 of AG News' 2,000 test articles are cut
