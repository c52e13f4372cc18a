"""The ``openai:MODEL`` backend against llama.cpp's REAL OpenAI-compatible server (xllamacpp, the
embedded GGUF, 127.0.0.1, a free port, one server per session), through the official ``openai``
client. Faults come from a thin proxy in front of that server (tests/fixtures/llamacpp_server.py).
"""

from __future__ import annotations

import pytest

from gpta.cli import main
from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable, UserError
from gpta.llm import make_llm
from gpta.llm.cache import LLMCache
from gpta.llm.embedded import EmbeddedBackend
from gpta.llm.openai_backend import OpenAIBackend
from tests.fixtures.llamacpp_server import FaultProxy

SHORT = LLMConfig(max_tokens=16)
HELLO = [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "Name one colour."}]


def backend(url: str, model: str = "smollm2", **kw) -> OpenAIBackend:
    return OpenAIBackend(model, base_url=url, timeout_s=kw.pop("timeout_s", 60), backoff_s=0.05, **kw)


def test_real_server_reply_identity_and_usage_match_the_in_process_model(llamacpp_server, openai_env):
    b = backend(llamacpp_server.url)
    ident = b.identity()
    assert ident["backend"] == "openai" and ident["model"] == "smollm2"
    assert ident["base_url"] == llamacpp_server.url and ident["owned_by"] == "llamacpp"
    assert ident["meta"]["ftype"] == "Q4_1" and ident["meta"]["n_params"] > 1e8
    assert ident["digest"].startswith("sha256:") and ident["system_fingerprint"]
    assert "seed" in ident["sends"] and "temperature" in ident["sends"] and "cache_prompt=false" in ident["sends"]
    reply = b.complete(HELLO, SHORT)
    local = EmbeddedBackend().complete(HELLO, SHORT)
    # same GGUF, same llama.cpp settings, temperature 0: the HTTP server says what the library says
    assert reply.text == local.text != ""
    assert (reply.prompt_tokens, reply.completion_tokens) == (local.prompt_tokens, local.completion_tokens)
    assert reply.seconds > 0 and reply.retries == 0
    # a different seed or temperature is really sent (temperature 1 samples: the seed then matters)
    hot = LLMConfig(max_tokens=16, temperature=1.0, seed=1)
    assert b.complete(HELLO, hot).text == EmbeddedBackend().complete(HELLO, hot).text


def test_make_llm_caches_on_the_identity_and_replays_with_the_server_gone(llamacpp_server, openai_env, tmp_path,
                                                                           dead_host):
    openai_env.setenv("OPENAI_BASE_URL", llamacpp_server.url)
    cache = LLMCache(tmp_path / "c.sqlite")
    llm = make_llm("openai:smollm2", SHORT, cache=cache)
    first = llm.chat(HELLO, purpose="t")
    assert llm.log.summary()["llm_backend_calls"] == 1 and not first.cached
    cache.close()
    openai_env.setenv("OPENAI_BASE_URL", f"{dead_host}/v1")
    replay = make_llm("openai:smollm2", SHORT, cache=LLMCache(tmp_path / "c.sqlite", "read"))
    again = replay.chat(HELLO, purpose="t")
    assert again.cached and again.text == first.text
    assert replay.identity()["digest"] == llm.identity()["digest"] and replay.identity()["from_cache"]
    # the embedded model's cache entries never answer for the server (different identity)
    assert LLMCache.key(EmbeddedBackend().identity(), HELLO, SHORT) != LLMCache.key(llm.identity(), HELLO, SHORT)
    # `gpta llm compare`: every cached server reply, asked again of the in-process model
    path = str(tmp_path / "c.sqlite")
    assert main(["llm", "compare", "--path", path, "--cached-backend", "openai", "--llm", "embedded"]) == 0
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE calls SET reply = 'tampered'")
    assert main(["llm", "compare", "--path", path, "--llm", "embedded"]) == 1


def test_unidentified_model_is_not_cached_unless_declared_or_accepted(llamacpp_server, openai_env, tmp_path):
    with FaultProxy(llamacpp_server.url, anonymous=True) as proxy:
        ident = backend(proxy.url).identity()
        assert ident["digest"] is None and "system_fingerprint" not in ident and "meta" not in ident
        openai_env.setenv("OPENAI_BASE_URL", proxy.url)
        llm = make_llm("openai:smollm2", SHORT, cache=LLMCache(tmp_path / "c.sqlite"))
        llm.backend = backend(proxy.url)
        with pytest.raises(UserError, match="refusing to cache .*--llm-revision.*--llm-cache-unidentified"):
            llm.chat(HELLO)
        llm.backend = backend(proxy.url, revision="v1")
        assert llm.chat(HELLO).text and llm.identity()["digest"] == "revision:v1"
        llm.backend = backend(proxy.url, cache_unidentified=True)
        assert llm.identity()["digest"] == "unidentified:smollm2"
        # without a cache nothing needs an identity
        assert make_llm("openai:smollm2", SHORT).chat(HELLO).text


def test_5xx_and_429_are_retried_with_backoff_and_counted(llamacpp_server, openai_env):
    with FaultProxy(llamacpp_server.url) as proxy:
        openai_env.setenv("OPENAI_BASE_URL", proxy.url)
        llm = make_llm("openai:smollm2", SHORT)
        llm.backend = backend(proxy.url)
        llm.backend.identity()
        proxy.set(fail_next=2, fail_status=503)
        reply = llm.chat(HELLO)
        assert reply.text and reply.retries == 2 and llm.log.summary()["llm_retries"] == 2
        proxy.set(fail_next=1, fail_status=429)
        assert llm.chat(HELLO).retries == 1
        proxy.set(fail_next=9, fail_status=500)
        with pytest.raises(LLMUnavailable, match=r"chat failed 4 times \(last: HTTP 500"):
            llm.chat(HELLO)


def test_a_stall_past_the_timeout_is_retried_then_reported(llamacpp_server, openai_env):
    with FaultProxy(llamacpp_server.url) as proxy:
        # generous timeout: a real reply on a busy CI machine must fit in it; the stall must not
        b = backend(proxy.url, timeout_s=6.0, retries=1)
        b.identity()
        proxy.set(stall_next=1, stall_s=12.0)
        assert b.complete(HELLO, SHORT).retries == 1  # the second attempt is not stalled
        proxy.set(stall_next=2, stall_s=12.0)
        with pytest.raises(LLMUnavailable, match=r"failed 2 times \(last: no reply within 6 s\)"):
            b.complete(HELLO, SHORT)


def test_server_stopped_mid_run_gives_one_clear_line(llamacpp_server, openai_env):
    with FaultProxy(llamacpp_server.url, die_after=2) as proxy:  # the identity probe + one chat
        b = backend(proxy.url)
        assert b.complete(HELLO, SHORT).text
        with pytest.raises(LLMUnavailable, match="connection refused"):
            b.complete(HELLO, SHORT)


def test_cli_server_down_unknown_model_and_check(llamacpp_server, openai_env, dead_host, capsys):
    code = main(["llm", "check", "--llm", "openai:nosuch", "--llm-base-url", llamacpp_server.url])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "'nosuch' is not served (served: smollm2)" in err

    code = main(["llm", "check", "--llm", "openai:smollm2", "--llm-base-url", f"{dead_host}/v1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "connection refused" in err

    assert main(["llm", "check", "--llm", "openai:smollm2", "--llm-base-url", llamacpp_server.url]) == 0
    out = capsys.readouterr().out
    assert f"backend: openai at {llamacpp_server.url}" in out and "model:   smollm2" in out
    assert "fingerprint: system_fingerprint=" in out and '"ftype": "Q4_1"' in out
    assert "tokens/s" in out and "digest:  sha256:" in out

    assert main(["llm", "check", "--llm", "openai:"]) == 2
    assert "needs the server's model id" in capsys.readouterr().err


def test_hosted_default_needs_a_key(openai_env):
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        OpenAIBackend("gpt-4o-mini")


@pytest.mark.slow
def test_gpta_cell_through_the_server_equals_the_in_process_cell_then_replays_offline(
        llamacpp_server, openai_env, dead_host, tmp_path):
    import json

    from tests.helpers import TINY_ARGS

    cell = ["run", "--dataset", "tweets", "--fraction", "0.005", "--seed", "13", "--method", "gpta", *TINY_ARGS]
    assert main([*cell, "--llm", "openai:smollm2", "--llm-base-url", llamacpp_server.url,
                 "--out", str(tmp_path / "server")]) == 0
    assert main([*cell, "--llm", "embedded", "--out", str(tmp_path / "local")]) == 0
    [server_path] = (tmp_path / "server").glob("tweets__*.json")
    [local] = [json.loads(p.read_text()) for p in (tmp_path / "local").glob("tweets__*.json")]
    server = json.loads(server_path.read_text())
    assert server["llm"]["backend"] == "openai" and server["llm"]["model"] == "smollm2"
    assert server["llm"]["base_url"] == llamacpp_server.url and server["llm"]["digest"].startswith("sha256:")
    assert server["costs"]["llm_backend_calls"] == server["costs"]["llm_calls"] >= 2
    # the same model behind HTTP and in-process: same prefixes, same conversation, same numbers
    assert [h["prefix"] for h in server["prefix_history"]] == [h["prefix"] for h in local["prefix_history"]]
    assert server["conversation"] == local["conversation"]
    assert server["metrics"]["test"] == local["metrics"]["test"]

    # the server gone, the cache read-only: the same cell replays
    assert main([*cell, "--llm", "openai:smollm2", "--llm-base-url", f"{dead_host}/v1", "--llm-cache", "read",
                 "--out", str(tmp_path / "server")]) == 0
    replay = json.loads(server_path.read_text())
    assert replay["costs"]["llm_backend_calls"] == 0 and replay["costs"]["cache_hits"] == server["costs"]["llm_calls"]
    assert replay["llm"]["digest"] == server["llm"]["digest"]
    assert [h["prefix"] for h in replay["prefix_history"]] == [h["prefix"] for h in server["prefix_history"]]
    assert replay["metrics"]["test"] == server["metrics"]["test"]
    assert main(["audit", str(tmp_path / "server")]) == 0

    # server down without a cache to replay: one line, exit 2, nothing written
    code = main([*cell, "--seed", "21", "--llm", "openai:smollm2", "--llm-base-url", f"{dead_host}/v1",
                 "--out", str(tmp_path / "down")])
    assert code == 2 and not list((tmp_path / "down").glob("tweets__*.json"))


def test_ollama_through_either_protocol_is_the_same_model(ollama_server, openai_env, tmp_path):
    """`ollama:MODEL` (native API, the default for Ollama users) and `openai:MODEL` at Ollama's /v1
    reach the same model; only the native API reports the digest that identifies it."""
    tag = "smollm2:135m"
    native = make_llm(f"ollama:{tag}", SHORT)
    via_v1 = backend(f"{ollama_server.url}/v1", model=tag)
    assert via_v1.complete(HELLO, SHORT).text == native.chat(HELLO).text != ""
    ident = via_v1.identity()
    assert ident["owned_by"] == "library" and ident["system_fingerprint"] == "fp_ollama"
    assert ident["digest"] is None and "cache_prompt=false" not in ident["sends"]
    assert len(native.identity()["digest"]) == 64
    openai_env.setenv("OPENAI_BASE_URL", f"{ollama_server.url}/v1")
    with pytest.raises(UserError, match="refusing to cache"):
        make_llm(f"openai:{tag}", SHORT, cache=LLMCache(tmp_path / "c.sqlite")).chat(HELLO)
    with pytest.raises(LLMUnavailable, match="'nosuch' is not served"):
        backend(f"{ollama_server.url}/v1", model="nosuch").identity()


def test_gpta_llm_serve_starts_the_server_the_readme_names(openai_env, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "gpta", "llm", "serve", "--alias", "served", "--port", "0"],
                            cwd=repo, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("serving served at http://127.0.0.1:"), first + proc.stderr.read()
        url = first.split(" at ", 1)[1].split()[0]
        b = backend(url, model="served")
        assert b.identity()["meta"]["ftype"] == "Q4_1"
        assert b.complete(HELLO, SHORT).text == EmbeddedBackend().complete(HELLO, SHORT).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("garble, words", [("invalid-json", "not valid JSON"),
                                            ("choices-nope", "'choices' is a str ('nope')")])
def test_a_reply_that_is_not_openai_json_is_one_clear_line(llamacpp_server, openai_env, garble, words):
    """Issue 27 item 5: a server answering HTTP 200 with cut JSON, or with ``choices: "nope"``:
    one LLMUnavailable line naming the server and what is wrong, not JSONDecodeError/AttributeError."""
    with FaultProxy(llamacpp_server.url) as proxy:
        b = backend(proxy.url, retries=0)
        b.identity()
        proxy.set(garble_next=1, garble=garble)
        with pytest.raises(LLMUnavailable) as exc:
            b.complete(HELLO, SHORT)
        msg = str(exc.value)
        assert "\n" not in msg and proxy.url in msg and words in msg, msg
        assert b.complete(HELLO, SHORT).text  # the next, unbroken reply is used as usual
