"""The LLM wrapper's bookkeeping with the real embedded model: ledger, costs, cache counters."""

from __future__ import annotations

import json

from gpta.config import LLMConfig
from gpta.llm import make_llm
from gpta.llm.cache import open_cache
from gpta.llm.ledger import Ledger

TINY = LLMConfig(max_tokens=8)


def test_every_sent_message_is_in_the_ledger_once_and_costs_are_counted(tmp_path):
    llm = make_llm("embedded", TINY, cache=open_cache("readwrite", tmp_path / "c.sqlite"))
    ledger_path = tmp_path / "run.ledger.jsonl"
    llm.hooks.append(Ledger(ledger_path, "run", "gpta").record)
    conv = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say yes."}]
    first = llm.chat(conv, purpose="p0")
    conv += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "Say no."}]
    llm.chat(conv, purpose="revise-1")
    llm.chat(conv[:2], purpose="again")  # a new conversation that repeats a cached request

    rows = [json.loads(line) for line in ledger_path.read_text().splitlines()]
    assert [(r["role"], r["purpose"]) for r in rows] == [
        ("system", "p0"), ("user", "p0"), ("assistant", "revise-1"), ("user", "revise-1"),
        ("system", "again"), ("user", "again")]
    assert all(r["run_id"] == "run" and r["method"] == "gpta" and r["time"] > 0 for r in rows)

    s = llm.log.summary()
    assert (s["llm_calls"], s["llm_backend_calls"], s["cache_hits"], s["cache_misses"]) == (3, 2, 1, 2)
    assert s["tokens_per_second"] > 0 and s["prompt_tokens"] > 0 and s["empty_replies"] == 0
    per_call = llm.log.records()
    assert [c["cached"] for c in per_call] == [False, False, True]
    assert per_call[2]["seconds"] == 0.0 and per_call[0]["seconds"] > 0
    assert llm.identity()["digest"].startswith("sha256:")
