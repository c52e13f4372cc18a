"""Any OpenAI-compatible chat server through the official ``openai`` client.

``--llm openai:MODEL``. Where: ``--llm-base-url`` or ``OPENAI_BASE_URL`` (as the ``openai``
client reads it; default ``https://api.openai.com/v1``); key: ``OPENAI_API_KEY`` (a local server
needs none). That covers llama.cpp's server (``gpta llm serve``), vLLM, LM Studio, Ollama's
``/v1`` and hosted APIs.

Identity (the cache key): the server's model id plus what the server reports about it: the
``/models`` entry's ``meta`` (llama.cpp: parameters, size, quantisation, vocabulary) and the
``system_fingerprint`` of a one-token probe reply, or a revision the user declares
(``--llm-revision`` / ``GPTA_LLM_REVISION``). When nothing identifies the weights (only a name),
caching is refused with one line unless ``--llm-cache-unidentified``
(``GPTA_LLM_CACHE_UNIDENTIFIED=1``) accepts it, or ``--llm-cache off``.

What can go wrong, and what the user sees:
- nothing listening (connection refused), the model not served, a bad key or request: one line
  naming the URL and the model (``LLMUnavailable``: exit 2), no retries;
- a timeout, a dropped connection, HTTP 429 or 5xx: up to ``retries`` more attempts with
  exponential backoff, counted per call (``llm_retries`` in the costs), then one line.

Sent with every request: temperature, top_p, seed, max_tokens, stop (the run's ``generation``
options) and, to a llama.cpp server only, ``cache_prompt: false`` (the embedded backend's
setting: each prompt is evaluated afresh, so replies do not depend on the previous call). The
``llm`` block of a result lists what was sent (``sends``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import urllib.parse
from typing import Any, Callable, TypeVar

import openai

from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable, UserError
from gpta.llm.base import Backend, Message, Reply, RetryableError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Fingerprints that name a server family, not the weights it serves.
GENERIC_FINGERPRINTS = {"fp_ollama"}
PROBE = [{"role": "user", "content": "Hi"}]
T = TypeVar("T")



def check_base_url(url: str) -> str:
    """An http(s) URL with a host (and a valid port), or one line: another scheme or a non-URL
    would fail at every call as if the server were slow."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise UserError(f"--llm-base-url / OPENAI_BASE_URL {url!r}: not a valid URL ({exc}); "
                        f"e.g. http://127.0.0.1:8080/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        why = f"scheme {parts.scheme!r} is not http or https" if parts.scheme else "no http:// or https:// scheme"
        raise UserError(f"--llm-base-url / OPENAI_BASE_URL {url!r}: not an http(s) URL ({why}); "
                        f"e.g. http://127.0.0.1:8080/v1")
    return url.strip()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0, retries: int = 3, backoff_s: float = 1.0,
                 revision: str | None = None, cache_unidentified: bool | None = None):
        self.model = model
        self.base_url = check_base_url((base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"))
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key and self.base_url == DEFAULT_BASE_URL:
            raise UserError(f"--llm openai:{model}: OPENAI_API_KEY is not set (or give --llm-base-url "
                            "for a local OpenAI-compatible server)")
        self.timeout_s = timeout_s
        self.retries = max(0, int(retries))
        self.backoff_s = backoff_s
        self.revision = revision if revision is not None else (os.environ.get("GPTA_LLM_REVISION") or None)
        self.cache_unidentified = (cache_unidentified if cache_unidentified is not None
                                   else _truthy(os.environ.get("GPTA_LLM_CACHE_UNIDENTIFIED")))
        # Our own retries (counted, one message); the client's would be invisible.
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key or "no-key", timeout=timeout_s,
                                    max_retries=0)
        self._identity: dict[str, Any] | None = None
        self._llamacpp = False
        self.attempts = 0  # HTTP attempts for inference, retries included
        self.retried = 0  # retries of the last call

    # -- identity ------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url}

    def identity(self) -> dict[str, Any]:
        """Model id, what the server reports about it, and a digest of that (cached per object)."""
        if self._identity is None:
            listing = self._with_retries("list models", lambda: self.client.models.list())
            data = getattr(listing, "data", None)
            if not isinstance(data, list) or not all(hasattr(m, "model_dump") for m in data):
                raise LLMUnavailable(f"{self._where()}: the model list (GET /models) has 'data' of type "
                                     f"{type(data).__name__}, not a list of models; is this an OpenAI-compatible "
                                     f"server?")
            entries = [m.model_dump() for m in data]
            entry = next((m for m in entries if m.get("id") == self.model
                          or self.model in (m.get("aliases") or [])), None)
            if entry is None:
                served = ", ".join(str(m.get("id")) for m in entries[:10]) or "none"
                raise LLMUnavailable(f"openai-compatible server at {self.base_url}: model {self.model!r} is not "
                                     f"served (served: {served})")
            self._llamacpp = entry.get("owned_by") == "llamacpp"
            probe = self._with_retries("probe", lambda: self.client.chat.completions.create(
                model=self.model, messages=PROBE, max_tokens=1, temperature=0.0, **self._extra()))
            fingerprint = getattr(probe, "system_fingerprint", None)
            reported = {"owned_by": entry.get("owned_by"), "meta": entry.get("meta"),
                        "system_fingerprint": fingerprint, "served_as": getattr(probe, "model", None)}
            identifying = bool(entry.get("meta")) or bool(fingerprint and fingerprint not in GENERIC_FINGERPRINTS)
            ident: dict[str, Any] = {**self.describe(), **{k: v for k, v in reported.items() if v is not None}}
            ident["sends"] = self.sends()
            if self.revision:
                ident.update(revision=self.revision, digest=f"revision:{self.revision}", identified_by="revision")
            elif identifying:
                blob = json.dumps({"model": self.model, **reported}, sort_keys=True, default=str)
                ident.update(digest="sha256:" + hashlib.sha256(blob.encode()).hexdigest(),
                             identified_by="server report (model id, meta, system_fingerprint)")
            elif self.cache_unidentified:
                ident.update(digest=f"unidentified:{self.model}", identified_by="name only (accepted)")
            else:
                ident.update(digest=None, identified_by=None,
                             unidentified=(f"openai-compatible server at {self.base_url} reports only the name "
                                           f"{self.model!r} (no meta, no system_fingerprint)"))
            self._identity = ident
        return self._identity

    def sends(self) -> list[str]:
        base = ["temperature", "top_p", "seed", "max_tokens", "stop"]
        return base + (["cache_prompt=false"] if self._llamacpp else [])

    def _extra(self) -> dict[str, Any]:
        return {"extra_body": {"cache_prompt": False}} if self._llamacpp else {}

    # -- chat ----------------------------------------------------------------------------------
    def complete(self, messages: list[Message], options: LLMConfig) -> Reply:
        self.identity()  # knows whether the server is llama.cpp; says clearly when the model is missing
        t0 = time.perf_counter()
        resp = self._with_retries("chat", lambda: self.client.chat.completions.create(
            model=self.model, messages=messages, temperature=options.temperature, top_p=options.top_p,
            seed=options.seed, max_tokens=options.max_tokens, stop=list(options.stop) or None,
            **self._extra()))
        seconds = time.perf_counter() - t0
        usage = getattr(resp, "usage", None)
        return Reply(text=self._reply_text(resp), prompt_tokens=_count(getattr(usage, "prompt_tokens", 0)),
                     completion_tokens=_count(getattr(usage, "completion_tokens", 0)),
                     seconds=seconds, retries=self.retried)

    def _reply_text(self, resp: Any) -> str:
        """The first choice's text ("" when the server sent no choice or no text); a reply of
        another shape (``choices`` not a list, a choice without a message object) is one line."""
        choices = getattr(resp, "choices", None)
        if choices is None or choices == []:
            return ""
        if not isinstance(choices, list):
            raise self._not_openai(f"'choices' is a {type(choices).__name__} ({_short(choices)}), not a list")
        message = getattr(choices[0], "message", None)
        if message is None:
            return ""
        content = getattr(message, "content", None)
        if content is not None and not isinstance(content, str):
            raise self._not_openai(f"the first choice's message content is a {type(content).__name__} "
                                   f"({_short(content)}), not text")
        return content or ""

    def _not_openai(self, what: str) -> LLMUnavailable:
        return LLMUnavailable(f"{self._where()}, model {self.model!r}: the chat reply is not an OpenAI chat "
                              f"completion: {what}; is --llm-base-url an OpenAI-compatible server?")

    # -- failures ------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"openai-compatible server at {self.base_url}"

    def _classify(self, call: Callable[[], T]) -> T:
        """Run ``call``; turn each failure into a clear error or a retry."""
        where = f"openai-compatible server at {self.base_url}"
        try:
            return call()
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:  # HTTP 200, body not the API's
            why = f"{exc.msg} at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else " ".join(str(exc).split())[:200]
            raise LLMUnavailable(f"{where}, model {self.model!r}: the reply is not valid JSON ({why}); is "
                                 f"--llm-base-url an OpenAI-compatible server?") from None
        except openai.APITimeoutError:
            raise RetryableError(f"no reply within {self.timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            if _refused(exc):
                raise LLMUnavailable(f"{where}: connection refused (is the server running? set --llm-base-url "
                                     f"or OPENAI_BASE_URL) for model {self.model!r}") from None
            raise RetryableError(f"connection lost: {exc.__cause__ or exc}") from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 429 or status >= 500:
                raise RetryableError(f"HTTP {status}: {_message(exc)}") from None
            if status == 404:
                raise LLMUnavailable(f"{where}: model {self.model!r} not found (HTTP 404: {_message(exc)})") from None
            if status in (401, 403):
                raise LLMUnavailable(f"{where}: HTTP {status}: {_message(exc)}; check OPENAI_API_KEY") from None
            raise LLMUnavailable(f"{where}, model {self.model!r}: HTTP {status}: {_message(exc)}") from None

    def close(self) -> None:
        self.client.close()


def _count(value: Any) -> int:
    """A token count as the server sent it; anything but a whole number counts as 0."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return int(value) if ok else 0


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refused(exc: BaseException) -> bool:
    """Nothing listening: a connect error anywhere in the cause chain (the client's HTTP library
    is an implementation detail, so match by kind, not by its class)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or type(seen).__name__ == "ConnectError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _message(exc: openai.APIStatusError) -> str:
    body, msg = exc.body, None
    if isinstance(body, dict):
        err = body.get("error")
        msg = err.get("message") if isinstance(err, dict) else (err or body.get("message"))
    return " ".join(str(msg or exc.message).split())[:200]
