"""The persistent LLM call cache: keys, replay (0 backend calls), read mode, two writers, CLI."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import sqlite3

import pytest

from gpta.cli import main
from gpta.config import LLMConfig
from gpta.llm import make_llm
from gpta.llm.base import Reply
from gpta.llm.cache import CacheMiss, LLMCache, open_cache

MODEL = "smollm2:135m"
SHORT = LLMConfig(max_tokens=16)
ASK = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name one fruit."}]
IDENT = {"backend": "ollama", "model": MODEL, "digest": "abc"}


def test_key_covers_identity_messages_and_every_generation_option():
    base = LLMCache.key(IDENT, ASK, SHORT)
    assert LLMCache.key(dict(IDENT), [dict(m) for m in ASK], LLMConfig(max_tokens=16)) == base
    assert LLMCache.key({**IDENT, "digest": "abd"}, ASK, SHORT) != base
    assert LLMCache.key({**IDENT, "backend": "embedded"}, ASK, SHORT) != base
    assert LLMCache.key(IDENT, ASK[1:], SHORT) != base
    for name, value in [("temperature", 0.7), ("seed", 1), ("top_p", 0.9), ("max_tokens", 17), ("stop", ("x",))]:
        assert LLMCache.key(IDENT, ASK, dataclasses.replace(SHORT, **{name: value})) != base, name
    # how long we wait is not what the model says
    assert LLMCache.key(IDENT, ASK, dataclasses.replace(SHORT, timeout_s=5, retries=0)) == base


def test_warm_cache_makes_zero_backend_calls_and_identical_replies(ollama_server, tmp_path):
    path = tmp_path / "cache.sqlite"
    cold = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("readwrite", path))
    first = [cold.chat(ASK, "p0").text, cold.chat(ASK[1:], "p1").text]
    assert ollama_server.count("/api/chat") == 2
    assert cold.log.summary()["cache_misses"] == 2

    warm = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("readwrite", path))
    again = [warm.chat(ASK, "p0").text, warm.chat(ASK[1:], "p1").text]
    assert again == first
    assert ollama_server.count("/api/chat") == 2  # the server saw nothing new
    s = warm.log.summary()
    assert (s["llm_calls"], s["llm_backend_calls"], s["cache_hits"], s["cache_misses"]) == (2, 0, 2, 0)
    assert s["llm_seconds_paid"] == 0 and s["tokens_per_second"] is None
    assert s["completion_tokens"] == cold.log.summary()["completion_tokens"] > 0
    assert s["completion_tokens_paid"] == s["prompt_tokens_paid"] == 0


def test_a_cache_hit_records_the_cold_cost_of_the_original_call(ollama_server, tmp_path):
    """Issue 13, item 1: a hit is not free in the results; it costs what the original call cost."""
    path = tmp_path / "cache.sqlite"
    cold = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("readwrite", path))
    cold.chat(ASK, "p0")
    c = cold.log.summary()
    assert c["llm_seconds"] == c["llm_seconds_cold"] == c["llm_seconds_paid"] > 0
    warm = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("readwrite", path))
    warm.chat(ASK, "p0")
    w = warm.log.summary()
    assert w["llm_seconds_paid"] == 0 and w["cache_hits"] == 1
    assert w["llm_seconds"] == w["llm_seconds_cold"] == pytest.approx(c["llm_seconds_cold"], abs=1e-3)
    assert w["llm_seconds_cold"] > 0
    assert w["prompt_tokens"] == c["prompt_tokens"] > 0 and "cold" in w["cost_basis"]


def test_read_mode_on_an_empty_or_missing_cache_fails_with_one_line(tmp_path):
    with pytest.raises(CacheMiss, match="no cache at"):
        open_cache("read", tmp_path / "missing.sqlite")
    LLMCache(tmp_path / "empty.sqlite").close()  # created, no entries
    with pytest.raises(CacheMiss) as err:
        open_cache("read", tmp_path / "empty.sqlite")
    assert "is empty" in str(err.value) and "\n" not in str(err.value)


def test_read_mode_replays_offline_and_fails_on_a_miss(tmp_path, ollama_server_class, monkeypatch):
    path = tmp_path / "cache.sqlite"
    with ollama_server_class() as server:  # a server of its own: it is switched off below
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        live = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("readwrite", path))
        text = live.chat(ASK).text
        digest = live.identity()["digest"]
    monkeypatch.setenv("OLLAMA_HOST", server.url)  # now nothing listens there
    replay = make_llm(f"ollama:{MODEL}", SHORT, cache=open_cache("read", path))
    assert replay.chat(ASK).text == text
    assert replay.identity()["digest"] == digest  # recorded with the cached replies
    assert replay.log.summary()["llm_backend_calls"] == 0
    with pytest.raises(CacheMiss, match="no cached reply for this request"):
        replay.chat(ASK[1:])


def test_two_processes_writing_one_cache_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    LLMCache(path).close()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(path), w, 300, barrier)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with sqlite3.connect(path) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM calls")}
    # each writer: 300 keys of its own + the same 100 shared keys
    expected = {f"w{w}-{i}" for w in range(2) for i in range(300)} | {f"shared-{i}" for i in range(100)}
    assert keys == expected


def _writer(path: str, worker: int, n: int, barrier) -> None:
    cache = LLMCache(path)
    barrier.wait()
    for i in range(n):
        cache.put(f"w{worker}-{i}", Reply(f"reply {worker} {i}", 10, 5, 0.1))
        if i < 100:
            cache.put(f"shared-{i}", Reply(f"shared {i}", 10, 5, 0.1))
            assert cache.get(f"shared-{i}") is not None
    cache.close()


def test_cache_stats_and_clear_commands(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    cache = LLMCache(path)
    cache.put("k1", Reply("a", 3, 2, 0.1), IDENT, ASK, SHORT)
    cache.put("k2", Reply("b", 4, 1, 0.1), IDENT, ASK, SHORT)
    cache.close()
    assert main(["llm", "cache", "stats", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 replies, 7 prompt + 3 completion tokens" in out and f"ollama:{MODEL}" in out
    assert main(["llm", "cache", "clear", "--path", str(path)]) == 0
    assert "cleared 2 cached replies" in capsys.readouterr().out
    assert LLMCache(path).entries() == 0
    assert main(["llm", "cache", "stats", "--path", str(tmp_path / "nope.sqlite")]) == 2
    assert "no LLM cache at" in capsys.readouterr().err
