"""End to end GPTA on the embedded stack: real tokenizer, encoder, LLM and data, tiny budget."""

from __future__ import annotations

import json
import re

import pytest

from gpta.data import get_dataset, load_splits
from gpta.cell import execute
from tests.helpers import tiny_config

pytestmark = pytest.mark.slow


def gpta_cfg():
    # 3 rounds so the conversation holds 3 LLM replies, as in the acceptance run
    return tiny_config("gpta", **{"gpta.rounds": 3, "train.epochs": 3})


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a = execute(gpta_cfg(), tmp_path_factory.mktemp("a"), progress=False)
    b = execute(gpta_cfg(), tmp_path_factory.mktemp("b"), progress=False)
    return a, b


def test_result_has_every_field(two_runs):
    (path, r), _ = two_runs
    on_disk = json.loads(path.read_text())
    assert on_disk["run_id"] == r["run_id"] and path.name == f"{r['run_id']}.json"
    for key in ("config", "dataset", "metrics", "curves", "prefix", "prefix_history", "conversation",
                "costs", "env", "seeds", "llm", "timestamps"):
        assert key in on_disk, key
    assert set(on_disk["metrics"]) >= {"train", "dev", "test"}
    assert {"accuracy", "macro_f1", "loss"} <= set(on_disk["metrics"]["test"])
    per_class = on_disk["dataset"]["n_train_per_class"]
    assert sum(per_class.values()) == on_disk["dataset"]["sizes"]["train"]
    assert per_class["negative"] > per_class["positive"] >= 1  # stratified: tweets are ~70% negative
    assert on_disk["config"]["gpta"]["weights"] == "continue"  # the open choices are recorded
    assert len(on_disk["curves"]) == 3 and {c["round"] for c in on_disk["curves"]} == {0, 1, 2}
    costs = on_disk["costs"]
    assert costs["llm_calls"] == 3 and costs["prompt_tokens"] > 0 and costs["completion_tokens"] > 0
    assert costs["train_seconds"] > 0 and costs["eval_seconds"] > 0 and costs["llm_seconds"] > 0
    env = on_disk["env"]
    assert env["device"] in ("cpu", "cuda") and env["versions"]["torch"].startswith("2.13")
    assert "commit" in env["git"]
    assert on_disk["llm"]["digest"].startswith("sha256:")


def test_prefix_at_test_is_an_llm_reply_or_recorded_fallback(two_runs):
    (_, r), _ = two_runs
    replies = [m["content"] for m in r["conversation"] if m["role"] == "assistant"]
    assert len(replies) >= 3
    history = r["prefix_history"]
    assert [h["round"] for h in history] == [0, 1, 2]
    chosen = [h for h in history if h["prefix"] == r["prefix"]]
    assert chosen, "the test prefix must come from the prefix history"
    for h in chosen:
        if h["source"] == "llm":  # the cleaned prefix is taken from one of the replies
            assert any(h["prefix"].lower()[:20] in re.sub(r"\s+", " ", rep).lower() for rep in replies)
        else:
            assert h["source"] == "fallback" and h["note"]


def test_same_config_same_numbers(two_runs):
    (_, a), (_, b) = two_runs
    assert a["run_id"] == b["run_id"]
    assert a["metrics"] == b["metrics"]
    assert [h["prefix"] for h in a["prefix_history"]] == [h["prefix"] for h in b["prefix_history"]]
    assert a["conversation"] == b["conversation"]
    assert a["curves"] == b["curves"]


def _ngrams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def test_no_dataset_text_reaches_the_llm(two_runs):
    """Scan every message sent (the ledger records each one) against every train/dev/test text."""
    (path, r), _ = two_runs
    ledger = [json.loads(line) for line in (path.parent / f"{r['run_id']}.ledger.jsonl").open()]
    sent = [m["text"] for m in ledger if m["role"] != "assistant"]
    assert len(sent) == 1 + 1 + 2  # system, first request, two feedback messages
    # every user message of the conversation went through the ledger
    assert [m["content"] for m in r["conversation"] if m["role"] != "assistant"] == sent
    sent_grams = set().union(*(_ngrams(t) for t in sent))
    sent_lower = " ".join(sent).lower()
    splits = load_splits(get_dataset("tweets"))
    for ex in splits.pool + splits.dev + splits.test:
        assert not (_ngrams(ex.text) & sent_grams), ex.text
        if len(ex.text) >= 30:
            assert ex.text.lower() not in sent_lower
