"""The split protocol and the low-resource sampler, on the real embedded datasets."""

from collections import Counter

import pytest

from gpta.data import get_dataset, load_splits
from gpta.data.sampling import sample_fraction
from gpta.errors import UserError


@pytest.fixture(scope="module")
def tweets():
    spec = get_dataset("tweets")
    return spec, load_splits(spec)


def test_tweets_sizes_and_labels(tweets):
    spec, s = tweets
    assert s.extra["rows_raw"] == 23140  # negative + positive rows
    # duplicates kept once, conflicting labels dropped: no text can sit in two splits
    dupes = s.extra["cross_split_duplicates"]  # case/whitespace variants across splits
    removed = dupes["pool_removed_in_test"] + dupes["pool_removed_in_dev"] + dupes["dev_removed_in_test"]
    assert len(s.pool) + len(s.dev) + len(s.test) == 23140 - s.extra["rows_deduplicated_away"] - removed
    texts = [e.text for e in s.pool + s.dev + s.test]
    assert len(texts) == len(set(texts))
    assert (len(s.dev), len(s.test)) == (1000 - dupes["dev_removed_in_test"], 2000)
    assert set(e.label for e in s.test) == {0, 1}
    # stratified: the test split keeps the corpus's class balance (about 70% negative)
    share = Counter(e.label for e in s.test)[0] / len(s.test)
    assert 0.69 < share < 0.71


def test_bbc_labels_from_folders():
    spec = get_dataset("bbc-news")
    s = load_splits(spec)
    assert spec.label_names == ["business", "entertainment", "politics", "sport", "tech"]
    assert s.extra["rows_raw"] == 2225
    assert len(s.pool) + len(s.dev) + len(s.test) == 2225 - s.extra["rows_deduplicated_away"]
    counts = Counter(spec.label_names[e.label] for e in s.pool + s.dev + s.test)
    raw = {"business": 510, "entertainment": 386, "politics": 417, "sport": 511, "tech": 401}
    assert set(counts) == set(raw) and all(raw[k] - 60 <= counts[k] <= raw[k] for k in raw)


def test_dev_and_test_do_not_depend_on_fraction_or_seed(tweets):
    spec, s = tweets
    again = spec.load(None)  # a fresh load, bypassing the process cache
    assert [e.text for e in again.dev] == [e.text for e in s.dev]
    assert [e.text for e in again.test] == [e.text for e in s.test]
    a = sample_fraction(s.pool, 0.01, 13, spec.label_names)
    b = sample_fraction(s.pool, 0.05, 21, spec.label_names)
    dev_test = {e.text for e in s.dev} | {e.text for e in s.test}
    assert not ({e.text for e in a} | {e.text for e in b}) & dev_test


def test_sampler_is_seeded_stratified_and_sized(tweets):
    spec, s = tweets
    a = sample_fraction(s.pool, 0.02, 13, spec.label_names)
    assert [e.text for e in a] == [e.text for e in sample_fraction(s.pool, 0.02, 13, spec.label_names)]
    assert [e.text for e in a] != [e.text for e in sample_fraction(s.pool, 0.02, 14, spec.label_names)]
    assert len(a) == round(0.02 * len(s.pool))
    pool_share = Counter(e.label for e in s.pool)[0] / len(s.pool)
    assert abs(Counter(e.label for e in a)[0] / len(a) - pool_share) < 0.01


def test_at_least_one_per_class_and_clear_error():
    spec = get_dataset("bbc-news")
    s = load_splits(spec)
    tiny = sample_fraction(s.pool, 5 / len(s.pool), 0, spec.label_names)
    assert sorted(e.label for e in tiny) == [0, 1, 2, 3, 4]
    with pytest.raises(UserError, match="need at least one per class"):
        sample_fraction(s.pool, 0.001, 0, spec.label_names)
    with pytest.raises(UserError, match="no example of class"):
        sample_fraction([e for e in s.pool if e.label != 4], 0.5, 0, spec.label_names)
    with pytest.raises(UserError, match="must be in"):
        sample_fraction(s.pool, 1.5, 0, spec.label_names)
