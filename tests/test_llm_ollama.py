"""The Ollama backend over real HTTP, against the Ollama-protocol test fixture server.

The fixture fronts the embedded SmolLM2 GGUF; the product reaches it only through the official
``ollama`` client. Fault injection covers: unknown model, server down, stall (timeout fires),
HTTP 500 then success (retry), retries exhausted, empty reply.
"""

from __future__ import annotations

import time

import httpx
import ollama
import pytest

from gpta.cli import main
from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable
from gpta.llm import make_llm
from gpta.llm.embedded import EmbeddedBackend
from gpta.llm.ollama_backend import OllamaBackend
from gpta.prefix import clean_prefix

MODEL = "smollm2:135m"
SHORT = LLMConfig(max_tokens=16)
HELLO = [{"role": "user", "content": "Name one colour."}]


def test_fixture_speaks_the_ollama_protocol(ollama_server):
    client = ollama.Client(host=ollama_server.url, timeout=60)
    assert httpx.get(f"{ollama_server.url}/api/version").json()["version"]
    [tag] = client.list().models
    assert tag.model == MODEL
    assert tag.digest == EmbeddedBackend().identity()["digest"].removeprefix("sha256:")
    assert client.show(MODEL).details.quantization_level == "Q4_1"

    options = {"temperature": 0, "num_predict": 16, "seed": 0}
    whole = client.chat(model=MODEL, messages=HELLO, options=options, stream=False)
    parts = list(client.chat(model=MODEL, messages=HELLO, options=options, stream=True))
    assert len(parts) > 2 and parts[-1].done and not any(p.done for p in parts[:-1])
    assert "".join(p.message.content for p in parts) == whole.message.content != ""
    assert whole.eval_count == parts[-1].eval_count > 0
    assert whole.prompt_eval_count == parts[-1].prompt_eval_count > 0

    gen = client.generate(model=MODEL, prompt="Name one colour.", options=options, stream=False)
    gen_parts = list(client.generate(model=MODEL, prompt="Name one colour.", options=options, stream=True))
    assert "".join(p.response for p in gen_parts) == gen.response != ""
    assert gen.eval_count > 0


def test_make_llm_ollama_matches_the_embedded_model(ollama_server):
    llm = make_llm(f"ollama:{MODEL}", SHORT)
    reply = llm.chat(HELLO, purpose="test")
    assert reply.text.strip() and reply.prompt_tokens > 0 and 0 < reply.completion_tokens <= 16
    ident = llm.identity()
    assert ident["backend"] == "ollama" and ident["model"] == MODEL and ident["host"] == ollama_server.url
    assert ident["digest"] == EmbeddedBackend().identity()["digest"].removeprefix("sha256:")
    # the same GGUF, prompt and options in-process: the fixture really serves that model
    assert EmbeddedBackend().complete(HELLO, SHORT).text == reply.text
    summary = llm.log.summary()
    assert summary["llm_backend_calls"] == 1 and summary["tokens_per_second"] > 0


def test_unknown_model_names_host_model_and_pull_hint(ollama_server):
    llm = make_llm("ollama:no-such-model:7b", SHORT)
    with pytest.raises(LLMUnavailable) as err:
        llm.chat(HELLO)
    msg = str(err.value)
    assert ollama_server.url in msg and "`ollama pull no-such-model:7b`" in msg and "\n" not in msg
    # the chat endpoint itself also answers 404 for it (not only the listing)
    backend = OllamaBackend("no-such-model:7b")
    with pytest.raises(LLMUnavailable, match="ollama pull"):
        backend.complete(HELLO, SHORT)


def test_server_down_is_one_clear_line(dead_host, monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", dead_host)
    t0 = time.perf_counter()
    with pytest.raises(LLMUnavailable) as err:
        make_llm(f"ollama:{MODEL}", SHORT).chat(HELLO)
    assert time.perf_counter() - t0 < 5  # refused is not retried
    assert dead_host in str(err.value) and MODEL in str(err.value) and "ollama pull" in str(err.value)
    assert main(["llm", "check", "--llm", f"ollama:{MODEL}"]) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1 and dead_host in err_lines[0]


def test_stall_fires_the_timeout_then_a_retry_succeeds(ollama_server):
    ollama_server.set_faults(stall_next=1, stall_s=4)
    backend = OllamaBackend(MODEL, timeout_s=0.5, retries=0)
    t0 = time.perf_counter()
    with pytest.raises(LLMUnavailable, match=r"no reply within 0.5 s"):
        backend.complete(HELLO, SHORT)
    assert time.perf_counter() - t0 < 3

    ollama_server.set_faults(stall_next=1, stall_s=4)
    backend = OllamaBackend(MODEL, timeout_s=1.5, retries=1, backoff_s=0.01)
    assert backend.complete(HELLO, SHORT).text.strip()
    assert backend.attempts == 2


def test_http_500_twice_then_success(ollama_server):
    ollama_server.set_faults(fail_next=2, fail_status=500)
    backend = OllamaBackend(MODEL, retries=3, backoff_s=0.01)
    reply = backend.complete(HELLO, SHORT)
    assert reply.text.strip()
    assert backend.attempts == 3 and ollama_server.count("/api/chat") == 3


def test_http_500_exhausts_retries_with_a_clear_error(ollama_server):
    ollama_server.set_faults(fail_next=10, fail_status=503)
    backend = OllamaBackend(MODEL, retries=2, backoff_s=0.01)
    with pytest.raises(LLMUnavailable, match=r"chat failed 3 times \(last: HTTP 503"):
        backend.complete(HELLO, SHORT)
    assert ollama_server.count("/api/chat") == 3


def test_empty_reply_is_returned_cleanly_and_recorded(ollama_server):
    ollama_server.set_faults(empty_next=1)
    llm = make_llm(f"ollama:{MODEL}", SHORT)
    reply = llm.chat(HELLO, purpose="p0")
    assert reply.text == "" and reply.completion_tokens == 0
    assert llm.log.summary()["empty_replies"] == 1
    # what GPTA does with it: the cleaner rejects it with a reason, so the method falls back
    verdict = clean_prefix(reply.text, ["negative", "positive"], lambda s: len(s.split()), 32)
    assert verdict.prefix is None and "empty" in verdict.reason
    assert llm.chat(HELLO).text.strip()  # the next call is normal again


def test_llm_check_reports_backend_identity_and_speed(ollama_server, capsys):
    assert main(["llm", "check", "--llm", f"ollama:{MODEL}", "--max-tokens", "16"]) == 0
    out = capsys.readouterr().out
    assert f"backend: ollama at {ollama_server.url}" in out
    assert EmbeddedBackend().identity()["digest"].removeprefix("sha256:") in out
    assert "tokens/s" in out


def test_preflight_chats_one_token_and_refuses_a_host_that_lists_but_never_chats(ollama_server, tmp_path,
                                                                                 capsys):
    """Issue 27 item 4: /api/tags lists the model, /api/chat never answers (held past the probe's
    limit): `gpta run` stops in one line within seconds, before any data or model loads."""
    from gpta.context import probe_llm

    probe_llm(f"ollama:{MODEL}")
    assert ollama_server.count("/api/chat") == 1  # the preflight chats, not only lists
    ollama_server.set_faults(stall_next=1, stall_s=8)
    t0 = time.monotonic()
    code = main(["run", "--dataset", "tweets", "--method", "gpta", "--llm", f"ollama:{MODEL}",
                 "--set", "generation.timeout_s=2", "--out", str(tmp_path / "out")])
    seconds = time.monotonic() - t0
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "listed but did not answer a 1-token chat within 2 s" in err[0] and MODEL in err[0]
    assert seconds < 8, f"took {seconds:.1f} s"
    assert not (tmp_path / "out").exists()
    ollama_server.set_faults(fail_next=1, fail_status=500)
    with pytest.raises(LLMUnavailable, match="1-token chat .* HTTP 500"):
        probe_llm(f"ollama:{MODEL}")
