"""Token-level prefix joining must give exactly the tokenizer's own pair encoding."""

import pytest

from gpta.data.spec import Example
from gpta.model import load_tokenizer
from gpta.tasks import ClassificationTask
from gpta.train import batch_order, collate

import numpy as np

TEXTS = [
    "I just don't trust my life in google's hands #driverless cars... no thank you",
    "self-driving cars are AMAZING!!! can't wait to ride one to work every single day of the week",
    "meh",
]


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer("embedded:all-MiniLM-L6-v2")


def test_joined_ids_equal_pair_encoding(tok):
    task = ClassificationTask(tok, ["negative", "positive"], max_text_tokens=12, max_prefix_tokens=8)
    enc = task.encode([Example(t, i % 2) for i, t in enumerate(TEXTS)])
    prefix = "Is the sentiment of this tweet negative or positive?"
    pids = task.prefix_ids(prefix)
    assert len(pids) == 8  # the prefix is capped at its own budget
    feats = task.features(enc, pids)
    capped_prefix = tok.decode(pids)
    for text, f in zip(TEXTS, feats):
        text_ids = tok(text, add_special_tokens=False)["input_ids"][:12]
        ref = tok(capped_prefix, tok.decode(text_ids), add_special_tokens=True)
        assert f["input_ids"] == ref["input_ids"]
        assert f["token_type_ids"] == ref["token_type_ids"]
    # the text keeps its own budget: the prefix never truncates it
    assert len(feats[1]["input_ids"]) == 1 + 8 + 1 + 12 + 1


def test_no_prefix_is_single_segment(tok):
    task = ClassificationTask(tok, ["a", "b"], max_text_tokens=64, max_prefix_tokens=8)
    enc = task.encode([Example(TEXTS[0], 0)])
    f = task.features(enc, task.prefix_ids(None))[0]
    assert f["input_ids"] == tok(TEXTS[0])["input_ids"]
    assert set(f["token_type_ids"]) == {0}


def test_empty_prefix_control_has_the_prefix_methods_layout(tok):
    """Issue 13, item 6: the empty-prefix control reads [CLS] [SEP] text [SEP], text in segment B,
    exactly a prefix method's layout with nothing in the prefix slot."""
    task = ClassificationTask(tok, ["a", "b"], max_text_tokens=64, max_prefix_tokens=8)
    task.empty_prefix_pair = True
    enc = task.encode([Example(TEXTS[0], 0)])
    f = task.features(enc, task.prefix_ids(None))[0]
    text_ids = tok(TEXTS[0], add_special_tokens=False)["input_ids"]
    assert f["input_ids"] == [tok.cls_token_id, tok.sep_token_id] + text_ids + [tok.sep_token_id]
    assert f["token_type_ids"] == [0, 0] + [1] * (len(text_ids) + 1)
    with_prefix = task.features(enc, task.prefix_ids("Is it a or b?"))[0]
    assert with_prefix["token_type_ids"][-len(text_ids) - 1:] == f["token_type_ids"][2:]  # same segment


def test_macro_f1_averages_over_the_classes_present_in_the_evaluated_set(tok):
    """Issue 13, item 9: a class absent from the evaluated gold labels does not count as F1 = 0."""
    import torch

    task = ClassificationTask(tok, ["a", "b", "c"], max_text_tokens=8, max_prefix_tokens=8)
    enc = task.encode([Example("x", 0), Example("y", 1), Example("z", 1)])
    m = task.metrics([torch.tensor([0, 1, 1])], enc, [])
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0 and m["macro_f1_classes"] == 2


def test_collate_pads_dynamically_and_batches_cover_every_example():
    feats = [{"input_ids": [1] * n, "token_type_ids": [0] * n, "labels": n % 2} for n in (3, 7, 5)]
    b = collate(feats, pad_id=0)
    assert b["input_ids"].shape == (3, 7)
    assert b["attention_mask"].sum(1).tolist() == [3, 7, 5]
    lengths = list(np.random.default_rng(0).integers(5, 60, size=103))
    batches = batch_order(lengths, 16, 7, np.random.default_rng(1), grouped=True)
    assert sorted(i for b in batches for i in b) == list(range(103))  # one pass = every example once
    more = batch_order(lengths, 16, 20, np.random.default_rng(1), grouped=True)
    assert len(more) == 20  # repeated passes reach the minimum step count
