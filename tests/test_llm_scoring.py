"""Label scoring (issue 17): first-token log-probabilities per label, on the real embedded LLM,
and llm-zero-shot run once per dataset and LLM by the suite expansion."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gpta.llm.base import LabelScores, label_logprobs


def test_label_logprobs_sums_the_tokens_that_start_each_label():
    top = [("The", -1.0), ("Negative", -2.0), ("Pos", -3.0), (" positive", -4.0), ("neg", -5.0), (" ", -0.5)]
    neg, pos = label_logprobs(top, ["negative", "positive"])
    assert neg == pytest.approx(math.log(math.exp(-2.0) + math.exp(-5.0)))
    assert pos == pytest.approx(math.log(math.exp(-3.0) + math.exp(-4.0)))
    # a label no top token starts has no score; "Sci/Tech" matches its own first token
    assert label_logprobs([("Sci", -1.0)], ["Sports", "Sci/Tech", "World"]) == [None, pytest.approx(-1.0), None]


def test_a_one_letter_word_is_not_evidence_for_the_label_it_starts():
    """SmolLM2's first-token candidates for a trec question (measured; verdict run): "A" is the
    article, not the start of "abbreviation"; it no longer adds to that label's mass. ("Ab" and
    "ab" still outweigh "Human" here: SmolLM2 starts the first listed label.)"""
    top = [("The", -2.23), ("Answer", -3.59), ("Which", -3.88), ("A", -3.93), ("Human", -4.05), ("Entity", -4.07),
           ("Ab", -4.23), ("I", -4.26), ("An", -4.27), ("ab", -4.38), ("ex", -4.5), ("Exp", -4.56)]
    labels = ["abbreviation", "description", "entity", "human", "location", "number"]
    abbr, desc, ent, hum, loc, num = label_logprobs(top, labels)
    assert abbr == pytest.approx(math.log(math.exp(-4.23) + math.exp(-4.38)))  # "Ab" and "ab", not "A"
    assert ent == pytest.approx(-4.07) and hum == pytest.approx(-4.05) and desc is loc is num is None
    with_article = math.log(math.exp(-3.93) + math.exp(-4.23) + math.exp(-4.38))  # the old rule's -3.06
    assert abbr < with_article - 0.5
    # where the article is the largest candidate, it no longer decides the label
    assert label_logprobs([("A", -1.0), ("Human", -3.0)], labels)[0] is None
    assert LabelScores(label_logprobs([("A", -1.0), ("Human", -3.0)], labels), 10, 0.1, 50).best() == 3
    # a one-character label is still matched by its whole name
    assert label_logprobs([("A", -1.0), ("B", -2.0)], ["a", "b"]) == [pytest.approx(-1.0), pytest.approx(-2.0)]


def test_best_label_and_no_label():
    assert LabelScores([-3.0, -1.0, None], 10, 0.1, 50).best() == 1
    assert LabelScores([-1.0, -1.0], 10, 0.1, 50).best() == 0  # ties: the first label
    assert LabelScores([None, None], 10, 0.1, 50).best() is None


def _messages(text: str) -> list[dict[str, str]]:
    from baselines.llm_zero_shot import messages_for
    from gpta import prompts
    from gpta.data.spec import get_dataset

    spec = get_dataset("tweets")
    return messages_for(spec, prompts.labels_phrase(spec.label_names), text)


def test_embedded_llm_scores_labels_in_one_call_and_the_cache_replays_them(tmp_path):
    from gpta.llm import make_llm
    from gpta.llm.cache import LLMCache

    cache = LLMCache(tmp_path / "c.sqlite")
    llm = make_llm("embedded", cache=cache)
    assert llm.can_score_labels()
    seen = []
    llm.hooks.append(lambda messages, purpose: seen.append(purpose))
    messages = _messages("I hate mondays, everything went wrong today")
    first = llm.score_labels(messages, ["negative", "positive"], purpose="s1", fresh=True)
    assert len(first.logprobs) == 2 and all(v is not None and v < 0 for v in first.logprobs)
    assert first.best() in (0, 1) and first.prompt_tokens > 20 and not first.cached
    again = llm.score_labels(messages, ["negative", "positive"], purpose="s2")
    assert again.cached and again.logprobs == pytest.approx(first.logprobs)
    assert seen == ["s1", "s2"]  # the ledger hook sees every scored prompt, cached or not
    calls = llm.log.calls
    assert [c.completion_tokens for c in calls] == [1, 1] and [c.cached for c in calls] == [False, True]
    # a different label list is a different request
    other = llm.score_labels(messages, ["positive", "negative"], purpose="s3", fresh=True)
    assert not other.cached and other.logprobs[::-1] == pytest.approx(first.logprobs)
    # the raw candidates come back with the scores, from the backend and from the cache alike
    assert len(first.top) == 50 and again.top == [(t, pytest.approx(lp)) for t, lp in first.top]


def test_scores_repeat_for_the_same_inputs_in_the_same_order():
    from gpta.llm import make_llm

    llm = make_llm("embedded")
    texts = ["what a lovely sunny day with friends", "my phone broke again, worst week ever",
             "@someone thanks for the great show last night!"]

    def run() -> list[list[float | None]]:
        return [llm.score_labels(_messages(t), ["negative", "positive"], fresh=i == 0).logprobs
                for i, t in enumerate(texts)]

    assert run() == run()


def test_backends_without_logprobs_say_so():
    from gpta.llm.base import LLM, Backend

    assert not LLM(Backend()).can_score_labels()


def test_zero_shot_interval_over_test_items():
    from types import SimpleNamespace

    from baselines.llm_zero_shot import test_interval, wilson
    from gpta.data.spec import Example

    lo, hi = wilson(80, 100)
    assert 0.70 < lo < 0.72 and 0.86 < hi < 0.88  # the textbook Wilson interval for 80/100
    setup = SimpleNamespace(spec=SimpleNamespace(label_names=["negative", "positive"]))
    examples = [Example(str(i), i % 2) for i in range(40)]
    predicted = [i % 2 if i < 30 else None for i in range(40)]
    iv = test_interval(setup, examples, predicted, "accuracy", resamples=200)
    assert iv["n"] == 40 and iv["accuracy"]["low"] < 0.75 < iv["accuracy"]["high"]
    assert iv["macro_f1"]["low"] < iv["macro_f1"]["high"]


def test_suite_runs_zero_shot_once_per_dataset_and_llm(tmp_path: Path):
    from gpta.sweep.suite import expand_stage, load_suite

    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndatasets: [tweets, bbc-news]\nfractions: [0.05, 0.02]\nseeds: [21, 13]\n"
                    "methods: [finetune, llm-zero-shot]\n", encoding="utf-8")
    suite = load_suite(str(path))
    notes: list[str] = []
    cells = expand_stage(suite.stages[0], notes)
    zs = [c.cfg for c in cells if c.cfg.method == "llm-zero-shot"]
    assert len([c for c in cells if c.cfg.method == "finetune"]) == 8
    assert [(c.dataset, c.fraction, c.seed) for c in zs] == [("tweets", 0.02, 21), ("bbc-news", 0.02, 21)]
    assert sum("llm-zero-shot" in n and "instead of 4" in n for n in notes) == 2
