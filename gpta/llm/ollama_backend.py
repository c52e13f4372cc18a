"""Ollama through the official ``ollama`` client; host from ``OLLAMA_HOST``.

What can go wrong, and what the user sees:
- nothing listening (connection refused) or the model is not pulled: one line naming the host
  and the model, with the ``ollama pull MODEL`` hint (``LLMUnavailable``: exit 2), no retries;
- a timeout, a dropped connection or HTTP 5xx: up to ``retries`` more attempts with exponential
  backoff (``backoff_s``, doubling, capped), then one line saying what failed how often.
No call waits forever: ``timeout_s`` bounds every read (default from ``generation.timeout_s``).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, TypeVar

import httpx
import ollama

from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable
from gpta.llm.base import Backend, Message, Reply, RetryableError

DEFAULT_HOST = "http://127.0.0.1:11434"
T = TypeVar("T")



class OllamaBackend(Backend):
    name = "ollama"

    def __init__(self, model: str, host: str | None = None, timeout_s: float = 120.0,
                 retries: int = 3, backoff_s: float = 1.0):
        self.model = model
        self.host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self.timeout_s = timeout_s
        self.retries = max(0, int(retries))
        self.backoff_s = backoff_s
        self.client = ollama.Client(host=self.host, timeout=timeout_s)
        self._identity: dict[str, Any] | None = None
        self.attempts = 0  # HTTP attempts made for inference, retries included (for tests and checks)

    # -- identity ------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "host": self.host}

    def identity(self) -> dict[str, Any]:
        """Backend, model, host and the model's digest from ``/api/tags`` (cached per object)."""
        if self._identity is None:
            listing = self._with_retries("list models", self.client.list)
            wanted = {self.model, f"{self.model}:latest"}
            found = next((m for m in listing.models if m.model in wanted), None)
            if found is None:
                raise self._missing_model()
            details = found.details.model_dump(exclude_none=True) if found.details else {}
            self._identity = {**self.describe(), "digest": found.digest,
                              "size": int(found.size) if found.size is not None else None,
                              "details": details}
        return self._identity

    # -- chat ----------------------------------------------------------------------------------
    def complete(self, messages: list[Message], options: LLMConfig) -> Reply:
        opts = {
            "temperature": options.temperature,
            "seed": options.seed,
            "top_p": options.top_p,
            "num_predict": options.max_tokens,
            "stop": list(options.stop),
        }
        t0 = time.perf_counter()
        resp = self._with_retries(
            "chat", lambda: self.client.chat(model=self.model, messages=messages, options=opts, stream=False)
        )
        return Reply(
            text=(resp.message.content if resp.message else None) or "",
            prompt_tokens=int(resp.prompt_eval_count or 0),
            completion_tokens=int(resp.eval_count or 0),
            seconds=time.perf_counter() - t0,
        )

    # -- failures ------------------------------------------------------------------------------
    def _missing_model(self) -> LLMUnavailable:
        return LLMUnavailable(
            f"ollama at {self.host}: model {self.model!r} not found; run `ollama pull {self.model}`"
        )

    def _where(self) -> str:
        return f"ollama at {self.host}"

    def _classify(self, call: Callable[[], T]) -> T:
        """Run ``call``; turn each failure into a clear error or a retry."""
        try:
            return call()
        except ConnectionError:  # the ollama client's wording for httpx.ConnectError
            raise LLMUnavailable(
                f"ollama at {self.host}: connection refused (is `ollama serve` running there? "
                f"set OLLAMA_HOST) for model {self.model!r}; then `ollama pull {self.model}`"
            ) from None
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise self._missing_model() from None
            if exc.status_code >= 500 or exc.status_code == 429:
                raise RetryableError(f"HTTP {exc.status_code}: {exc.error}") from None
            raise LLMUnavailable(
                f"ollama at {self.host}, model {self.model!r}: HTTP {exc.status_code}: {exc.error}"
            ) from None
        except httpx.TimeoutException:
            raise RetryableError(f"no reply within {self.timeout_s:g} s") from None
        except httpx.TransportError as exc:  # dropped connection, protocol error
            raise RetryableError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.client.close()
