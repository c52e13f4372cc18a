"""Cleaning untrusted LLM output into a prefix (replies seen from SmolLM2-135M)."""

import pytest

from gpta.prefix import clean_prefix

LABELS = ["negative", "positive"]


def words(s):
    return len(s.split())


@pytest.mark.parametrize("reply, expected", [
    ('Prefix: "Is this tweet negative or positive?"', "Is this tweet negative or positive?"),
    ("Sure! Here is the revised prefix:\nDecide if the tweet is negative or positive.\nThanks",
     "Decide if the tweet is negative or positive."),
    ("Task: classify tweet data into two categories: negative and positive.\nThe possible labels are: x",
     "Task: classify tweet data into two categories: negative and positive."),
    ("**Read the tweet and judge its overall tone.**", "Read the tweet and judge its overall tone."),
])
def test_takes_first_usable_line(reply, expected):
    v = clean_prefix(reply, LABELS, words, 32)
    assert v.prefix == expected


@pytest.mark.parametrize("reply, reason", [
    ("", "empty"),
    ("!!! ??? ...", "empty"),
    ("Sentiment: negative", "too short"),
    ("The classifier will look for a negative sentiment in the input.", "names some labels"),
    ("To improve the performance, I will train a model on a dataset with a small batch size", "training"),
    ("good good good good good good good good", "degenerate"),
])
def test_rejects_with_reason(reply, reason):
    v = clean_prefix(reply, LABELS, words, 32)
    assert v.prefix is None and reason in v.reason


def test_caps_token_length():
    v = clean_prefix("Decide whether the following short tweet expresses a negative or positive opinion",
                     LABELS, words, 5)
    assert v.prefix == "Decide whether the following short" and "capped" in v.reason
