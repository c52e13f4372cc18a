"""``gpta audit``: passes a real GPTA conversation's ledger, catches a constructed leak.

The GPTA-like run sends GPTA's real prompts (system, task, a feedback message) to the real
embedded SmolLM2 through ``RunContext.llm()``, so its ledger is written by the product's own
hook. The leak quotes 8 words of a real example from the tweets training pool.
"""

from __future__ import annotations

import json

import pytest

from gpta import prompts
from gpta.audit import audit_dir, ngrams, words
from gpta.cli import main
from gpta.config import LLMConfig, RunConfig
from gpta.context import RunContext
from gpta.data import get_dataset, load_splits
from gpta.data.sampling import sample_fraction
from gpta.errors import UserError
from gpta.llm.ledger import Ledger


def write_run(out_dir, method: str, messages_per_call: list[list[dict]], llm: str = "embedded",
              run_id: str | None = None) -> dict:
    """One run as the product writes it: ledger via RunContext.llm(), then a result JSON."""
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method=method, llm=llm,
                    generation=LLMConfig(max_tokens=16))
    # a shared cache: runs that start the same conversation ask the LLM once
    ctx = RunContext(out_dir=out_dir, run_id=run_id or f"tweets__{method}__t", cfg=cfg)
    llm_ = ctx.llm()
    conversation: list[dict] = []
    for new in messages_per_call:
        conversation += new
        conversation.append({"role": "assistant", "content": llm_.chat(conversation).text})
    result = {"run_id": ctx.run_id, "method": method, "config": cfg.to_dict(), "costs": ctx.llm_costs(),
              "conversation": conversation}
    (out_dir / f"{ctx.run_id}.json").write_text(json.dumps(result))
    return result


def gpta_messages() -> list[list[dict]]:
    spec = get_dataset("tweets")
    before = {"accuracy": 0.52, "loss": 0.69}
    after = {"accuracy": 0.61, "loss": 0.64, "per_class_recall": {"negative": 0.5, "positive": 0.7}}
    return [
        [{"role": "system", "content": prompts.SYSTEM},
         {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)}],
        [{"role": "user", "content": prompts.feedback_message(
            0, 2, "Is this tweet negative or positive?", 9, "accuracy", before, after,
            {"accuracy": 0.8, "loss": 0.4}, 1000,
            [{"prefix": "Is this tweet negative or positive?", "dev_metric": 0.61}], True)}],
    ]


@pytest.fixture(scope="module")
def train_example() -> str:
    """A real example from the run's low-resource training sample, with at least 12 words."""
    spec = get_dataset("tweets")
    splits = load_splits(spec)
    sample = sample_fraction(splits.pool, 0.005, 13, spec.label_names)
    return next(e.text for e in sample if len(words(e.text)) >= 12)


def quote(text: str, n: int) -> str:
    return " ".join(words(text)[2:2 + n])


def test_gpta_run_passes_and_a_quoted_training_example_is_caught(tmp_path, train_example, capsys):
    write_run(tmp_path, "gpta", gpta_messages())
    [clean] = audit_dir(tmp_path)
    assert (clean.verdict, clean.messages, clean.leaked_examples) == ("ok", 3, 0)
    assert main(["audit", str(tmp_path)]) == 0
    assert "ok" in capsys.readouterr().out

    leaky = gpta_messages()
    leaky[1][0]["content"] += f' For example, "{quote(train_example, 8)}" was misclassified.'
    write_run(tmp_path, "gpta", leaky, run_id="tweets__gpta__leaky")
    by_id = {a.run_id: a for a in audit_dir(tmp_path)}
    leak = by_id["tweets__gpta__leaky"]
    assert leak.verdict == "LEAK" and leak.leaked_examples >= 1
    assert any(lk.quote == quote(train_example, 8) and lk.split == "pool" for lk in leak.leaks)
    assert by_id["tweets__gpta__t"].verdict == "ok"
    assert main(["audit", str(tmp_path), "-v"]) == 1
    out = capsys.readouterr().out
    assert "LEAK" in out and "tweets__gpta__leaky" in out and quote(train_example, 8) in out


def test_seven_shared_words_are_not_a_leak_and_replies_are_not_exposure(tmp_path, train_example):
    ledger = Ledger(tmp_path / "r7.ledger.jsonl", "r7", "gpta")
    ledger.record([{"role": "user", "content": f"Consider: {quote(train_example, 7)}."}])
    ledger.record([{"role": "user", "content": f"Consider: {quote(train_example, 7)}."},
                   {"role": "assistant", "content": train_example}])  # the LLM's own words
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method="gpta").to_dict()
    (tmp_path / "r7.json").write_text(json.dumps({"run_id": "r7", "method": "gpta", "config": cfg}))
    [a] = audit_dir(tmp_path)
    assert (a.verdict, a.messages) == ("ok", 1)
    # the same messages with an 8-word window shorter than the quote would match
    assert audit_dir(tmp_path, n=7)[0].verdict == "LEAK"


def test_exposing_method_is_declared_not_failed(tmp_path, train_example):
    ledger = Ledger(tmp_path / "tg.ledger.jsonl", "tg", "textual-gradient")
    ledger.record([{"role": "user", "content": f"Misclassified: {train_example}"}])
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method="textual-gradient").to_dict()
    (tmp_path / "tg.json").write_text(json.dumps({"run_id": "tg", "method": "textual-gradient", "config": cfg}))
    [a] = audit_dir(tmp_path)
    assert a.verdict == "EXPOSED-as-declared" and not a.failed
    assert main(["audit", str(tmp_path)]) == 0


def test_missing_ledger_and_bad_dirs(tmp_path, capsys):
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method="gpta").to_dict()
    (tmp_path / "nl.json").write_text(json.dumps({"run_id": "nl", "method": "gpta", "config": cfg,
                                                  "costs": {"llm_calls": 3}}))
    [a] = audit_dir(tmp_path)
    assert a.verdict == "NO-LEDGER" and a.failed
    assert main(["audit", str(tmp_path)]) == 1
    capsys.readouterr()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no result JSON"):
        audit_dir(empty)
    assert main(["audit", str(tmp_path / "nope")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_ngrams_are_lowercased_word_runs():
    assert ngrams(words("The QUICK brown fox, jumps!"), 3) == {
        ("the", "quick", "brown"), ("quick", "brown", "fox"), ("brown", "fox", "jumps")}


# -- nothing is skipped in silence: damaged files are named failures, their ledgers still checked --


@pytest.fixture(scope="module")
def test_tweet() -> str:
    """A verbatim tweet of the test split, at least 12 words long."""
    splits = load_splits(get_dataset("tweets"))
    return next(e.text for e in splits.test if len(words(e.text)) >= 12)


def leaky_gpta_run(out_dir, run_id: str, quoted: str) -> str:
    """A GPTA run (promises no exposure) whose ledger quotes ``quoted``; returns the result's JSON text."""
    Ledger(out_dir / f"{run_id}.ledger.jsonl", run_id, "gpta").record(
        [{"role": "system", "content": prompts.SYSTEM},
         {"role": "user", "content": f"Consider this tweet: {quoted}"}])
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method="gpta").to_dict()
    return json.dumps({"schema_version": 1, "run_id": run_id, "status": "ok", "method": "gpta", "config": cfg,
                       "metrics": {"test": {"accuracy": 0.5}}, "costs": {"llm_calls": 1}}, indent=1)


@pytest.mark.parametrize("damage", ["truncated", "json-list", "schema-99"])
def test_a_damaged_result_fails_the_audit_and_its_leaking_ledger_is_still_caught(tmp_path, test_tweet, damage,
                                                                                capsys):
    run_id = "tweets__gpta__f0.005__s13__abcdef0123"
    text = leaky_gpta_run(tmp_path, run_id, test_tweet)
    if damage == "truncated":
        text = text[: len(text) // 2]  # cut mid-file, as a full disk or a copy would
    elif damage == "json-list":
        text = json.dumps([json.loads(text)])
    else:
        text = text.replace('"schema_version": 1', '"schema_version": 99')
    (tmp_path / f"{run_id}.json").write_text(text)
    audit = audit_dir(tmp_path)
    assert not audit.passed
    [problem] = audit.problems
    assert problem.path == f"{run_id}.json"
    assert problem.kind == ("UNREADABLE" if damage == "truncated" else "NOT-A-RESULT")
    [run] = audit.runs  # the ledger, audited without its result
    assert run.verdict == "LEAK" and run.failed and run.source.startswith("ledger only")
    assert any(leak.split == "test" for leak in run.leaks)
    assert main(["audit", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{run_id}.json" in out and "LEAK" in out and "FAILED" in out
    assert {"truncated": "truncated JSON", "json-list": "JSON list", "schema-99": "schema_version 99"}[damage] in out


def test_unknown_json_damaged_ledger_and_an_unattributable_ledger_are_named(tmp_path, capsys):
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method="gpta").to_dict()
    (tmp_path / "ok.json").write_text(json.dumps({"run_id": "ok", "method": "gpta", "config": cfg}))
    ledger = tmp_path / "ok.ledger.jsonl"
    Ledger(ledger, "ok", "gpta").record([{"role": "user", "content": "Is this tweet negative or positive?"}])
    with open(ledger, "a", encoding="utf-8") as f:
        f.write('{"run_id": "ok", "role": "user", "text": "cut')  # a write killed mid-line
        f.write("\n" + json.dumps({"run_id": "someone-else", "role": "user", "text": "x"}) + "\n")
    (tmp_path / "suite_summary.json").write_text(json.dumps({"cells": 3}))
    Ledger(tmp_path / "mystery.ledger.jsonl", "mystery", "gpta").record([{"role": "user", "content": "hello"}])
    audit = audit_dir(tmp_path)
    kinds = {p.path: (p.kind, p.why) for p in audit.problems}
    assert kinds["suite_summary.json"][0] == "NOT-A-RESULT"
    assert kinds["ok.ledger.jsonl"][0] == "DAMAGED-LEDGER"
    assert "line 2" in kinds["ok.ledger.jsonl"][1] and "another run id" in kinds["ok.ledger.jsonl"][1]
    by_id = {a.run_id: a for a in audit.runs}
    assert by_id["ok"].verdict == "ok" and by_id["ok"].messages == 1
    assert by_id["mystery"].verdict == "UNCHECKED" and by_id["mystery"].failed
    assert main(["audit", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and len(report["problems"]) == 2
