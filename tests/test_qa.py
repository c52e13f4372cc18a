"""SQuAD extractive QA: official answer normalisation, windows, span decoding, and a real
MiniLM train/eval step through the generic Trainer."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from gpta.data.spec import Example
from gpta.qa import (QA_MAX_LENGTH, QA_STRIDE, QATask, exact_match_score, f1_score, normalize_answer,
                     squad_scores)

MODEL = "embedded:all-MiniLM-L6-v2"
DATA_DIR = Path(os.environ.get("GPTA_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_squad = pytest.mark.skipif(not (DATA_DIR / "squad_v1.1" / "dev-v1.1.json").is_file(),
                                 reason=f"SQuAD dev file not found under GPTA_DATA_DIR={DATA_DIR}")


# -- the official SQuAD v1.1 normalisation on known cases ----------------------------------------

@pytest.mark.parametrize("raw, normalised", [
    ("The Denver Broncos", "denver broncos"),  # article and case
    ("  Denver   Broncos!! ", "denver broncos"),  # punctuation and whitespace
    ("an apple a day", "apple day"),  # every article, as whole words only
    ("theatre of the absurd", "theatre of absurd"),  # 'the' inside a word stays
    ("U.S.-based", "usbased"),  # punctuation is deleted, not replaced by a space
    ("1,000", "1000"),
    ("Saint-Étienne", "saintétienne"),  # non-ASCII letters are kept
])
def test_normalize_answer_official_cases(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_exact_match_and_f1_known_values():
    assert exact_match_score("the Eiffel Tower.", "Eiffel Tower") == 1.0
    assert exact_match_score("Eiffel", "Eiffel Tower") == 0.0
    # pred 3 tokens, gold 2, overlap 2: P=2/3, R=1 -> F1=0.8
    assert f1_score("Denver Broncos team", "The Denver Broncos") == pytest.approx(0.8)
    assert f1_score("Carolina Panthers", "Denver Broncos") == 0.0
    assert f1_score("the", "a") == 0.0  # both normalise to nothing: no common token
    # max over the gold answers, then the mean over questions
    scores = squad_scores(["Denver Broncos", "Santa Clara"], [["Broncos", "Denver Broncos"], ["Levi's Stadium"]])
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)


# -- encoding: layout, windows, gold spans --------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    from gpta.model import load_tokenizer

    return load_tokenizer(MODEL)


def _long_example() -> Example:
    filler = " ".join(f"Sentence number {i} talks about nothing in particular." for i in range(60))
    context = filler + " The treaty was signed in Vienna in 1815. " + filler
    start = context.index("Vienna")
    return Example(text="Where was the treaty signed?", context=context, id="long",
                   answers=[{"text": "Vienna", "answer_start": start}])


def test_layout_prefix_on_question_side(tokenizer):
    task = QATask(tokenizer, 64, 32)
    ex = Example(text="Who won?", context="The Broncos won the game.", id="q1",
                 answers=[{"text": "The Broncos", "answer_start": 0}])
    enc = task.encode([ex])
    pids = task.prefix_ids("Answer from the passage.")
    (f,) = task.features(enc, pids)
    q = tokenizer("Who won?", add_special_tokens=False)["input_ids"]
    c = tokenizer("The Broncos won the game.", add_special_tokens=False)["input_ids"]
    assert f["input_ids"] == [tokenizer.cls_token_id] + pids + q + [tokenizer.sep_token_id] + c + [tokenizer.sep_token_id]
    first = 1 + len(pids) + len(q) + 1
    assert f["token_type_ids"] == [0] * first + [1] * (len(c) + 1)
    span = f["input_ids"][f["start_positions"]:f["end_positions"] + 1]
    assert tokenizer.decode(span) == "the broncos"
    # without a prefix the standard SQuAD pair layout
    (g,) = task.features(enc, [])
    assert g["input_ids"][: len(q) + 2] == [tokenizer.cls_token_id] + q + [tokenizer.sep_token_id]


def test_long_context_windows_overlap_by_stride(tokenizer):
    task = QATask(tokenizer, 64, 32)
    enc = task.encode([_long_example()])
    assert len(enc.windows) >= 3
    n_ctx = len(tokenizer(enc.examples[0].context, add_special_tokens=False)["input_ids"])
    for a, b in zip(enc.windows, enc.windows[1:]):
        assert a.ids[-QA_STRIDE:] == b.ids[:QA_STRIDE]  # consecutive windows share QA_STRIDE tokens
    assert sum(len(w.ids) for w in enc.windows) - QA_STRIDE * (len(enc.windows) - 1) == n_ctx
    holding = [w for w in enc.windows if w.start >= 0]
    assert holding, "the answer must be inside at least one window"
    pids = task.prefix_ids("x " * 100)  # prefix truncated to its own budget, windows unchanged
    assert len(pids) == 32
    feats = task.features(enc, pids)
    assert max(len(f["input_ids"]) for f in feats) <= QA_MAX_LENGTH + 32
    for w, f in zip(enc.windows, feats):
        if w.start < 0:
            assert f["start_positions"] == f["end_positions"] == 0  # points at [CLS]
        else:
            assert tokenizer.decode(f["input_ids"][f["start_positions"]:f["end_positions"] + 1]) == "vienna"


def test_best_span_respects_context_and_length(tokenizer):
    task = QATask(tokenizer, 64, 32, max_answer_tokens=3)
    s = np.zeros(20, dtype=np.float32)
    e = np.zeros(20, dtype=np.float32)
    s[2], e[2] = 50, 50  # inside the question: must be ignored
    s[8], e[17] = 10, 10  # 20 but too long a span (10 tokens > 3)
    s[14], e[11] = 8, 8  # 16 but ends before it starts
    s[12], e[13] = 7, 7  # 14: the best allowed span
    score, i, j = task.best_span(s, e, c0=8, n=10)
    assert (i, j) == (12 - 8, 13 - 8) and score == pytest.approx(14)


@needs_squad
def test_oracle_logits_recover_gold_answers_through_unsort(tokenizer):
    """Logits that point at each window's gold span, fed in a shuffled order through unsort,
    must decode to the gold answers: checks windows, offsets, unsort and span decoding together."""
    from gpta.data import REGISTRY

    task = QATask(tokenizer, 64, 32)
    dev = REGISTRY["squad"].load(str(DATA_DIR)).dev[:120]
    enc = task.encode(dev)
    feats = task.features(enc, task.prefix_ids("Find the answer."))
    per_feature = []
    for f in feats:
        n = len(f["input_ids"])
        s, e = np.full(n, -5.0, np.float32), np.full(n, -5.0, np.float32)
        s[f["start_positions"]] += 10 if f["start_positions"] else 0
        e[f["end_positions"]] += 10 if f["end_positions"] else 0
        per_feature.append((s, e))
    order = np.random.default_rng(0).permutation(len(feats)).tolist()
    batches = [[per_feature[i] for i in order[k:k + 7]] for k in range(0, len(order), 7)]
    outputs = task.unsort(batches, order)
    m = task.metrics(outputs, enc, feats)
    assert len(m["predictions"]) == len(dev)
    # the only misses are gold answers that are part of a word piece ("4" inside "49"): the
    # prediction is then the whole token, which contains the gold text
    misses = [(p, ex.answers[0]["text"]) for p, ex in zip(m["predictions"], dev)
              if exact_match_score(p, ex.answers[0]["text"]) < 1]
    assert all(gold.strip(". ") in p for p, gold in misses), misses
    assert len(misses) <= 0.05 * len(dev) and m["exact_match"] >= 1 - len(misses) / len(dev)


# -- a real MiniLM QA head through the generic Trainer --------------------------------------------

@needs_squad
@pytest.mark.slow  # ~15-30 s on 2 shared CPU cores: loads MiniLM and runs 256-token sequences
def test_qa_train_and_eval_step_with_minilm(tokenizer):
    from gpta.config import TrainConfig
    from gpta.data import REGISTRY
    from gpta.model import load_model
    from gpta.train import Trainer

    splits = REGISTRY["squad"].load(str(DATA_DIR))
    task = QATask(tokenizer, 64, 32)
    train_enc, dev_enc = task.encode(splits.pool[:4]), task.encode(splits.dev[:6])
    pids = task.prefix_ids("Find the short span that answers the question.")
    cfg = TrainConfig(batch_size=2, min_steps_per_epoch=2, eval_batch_size=4, precision="fp32")
    model = load_model(MODEL, "qa", seed=0)
    trainer = Trainer(model, task, cfg, total_steps=2, seed=0)
    before = trainer.snapshot()
    loss = trainer.train_epoch(task.features(train_enc, pids)[:4])
    assert math.isfinite(loss) and trainer.steps_done == 2
    after = trainer.model.state_dict()
    assert any(not np.allclose(before[k].numpy(), after[k].numpy()) for k in ("qa_outputs.weight",))
    dev_f = task.features(dev_enc, pids)
    m = trainer.evaluate(dev_f, dev_enc)
    assert set(m) >= {"f1", "exact_match", "loss", "predictions"}
    assert 0.0 <= m["exact_match"] <= m["f1"] <= 1.0 and math.isfinite(m["loss"])
    # evaluation runs length-sorted in batches of 4: unsort must give the same predictions as a
    # plain in-order pass, one feature at a time
    import torch

    from gpta.train import collate

    model.eval()
    plain = []
    with torch.inference_mode():
        for f in dev_f:
            _, out = task.loss_and_outputs(model, collate([f], task.pad_id))
            plain.extend(out)
    assert task.predict(plain, dev_enc, dev_f) == m["predictions"]
