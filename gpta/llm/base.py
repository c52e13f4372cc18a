"""The one small LLM interface: chat messages in; reply text, token counts and seconds out.

Backends implement ``complete``; ``LLM.chat`` adds what every backend needs the same way:
the call record (costs), and hooks for the cache and the data-exposure ledger.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from gpta.config import LLMConfig
from gpta.errors import UserError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool = False
    retries: int = 0  # attempts repeated after a timeout, 429 or 5xx (HTTP backends)


@dataclass
class CallRecord:
    """One LLM call, as counted in a result's cost block."""

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool
    purpose: str = ""
    empty: bool = False  # the reply had no text: the caller falls back; counted so results show it
    retries: int = 0  # attempts repeated after a timeout, 429 or 5xx before this reply came


@dataclass
class CallLog:
    calls: list[CallRecord] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """Costs per call (prompt/completion tokens, wall seconds, cache hit, purpose, empty)."""
        return [dataclasses.asdict(c) for c in self.calls]

    def summary(self) -> dict[str, Any]:
        backend = [c for c in self.calls if not c.cached]
        secs = sum(c.seconds for c in backend)
        completion = sum(c.completion_tokens for c in backend)
        return {
            "llm_calls": len(self.calls),
            "llm_backend_calls": len(backend),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "llm_seconds": round(sum(c.seconds for c in self.calls), 4),
            "cache_hits": len(self.calls) - len(backend),
            "cache_misses": len(backend),
            # backend speed: completion tokens per wall second over calls the backend answered
            "tokens_per_second": round(completion / secs, 2) if secs > 0 else None,
            "empty_replies": sum(c.empty for c in self.calls),
            "llm_retries": sum(c.retries for c in self.calls),
        }


class Backend:
    """A chat model. Subclasses set ``name`` and implement ``complete``, ``identity``, ``describe``."""

    name = "backend"

    def identity(self) -> dict[str, Any]:
        """What exactly answers: backend, model, and a digest (Ollama digest or GGUF sha256)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Backend and model as named, without contacting anything (for offline cache replay)."""
        return {"backend": self.name}

    def complete(self, messages: list[Message], options: LLMConfig) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        pass


# A hook sees every message list before it is sent (the ledger uses it to record exposure).
SendHook = Callable[[list[Message], str], None]


class LLM:
    """A backend plus the per-run bookkeeping: call log, optional cache, send hooks."""

    def __init__(self, backend: Backend, options: LLMConfig | None = None, cache: Any = None):
        self.backend = backend
        self.options = options or LLMConfig()
        self.cache = cache  # an object with get(key) / put(key, reply); see gpta.llm.cache
        self.log = CallLog()
        self.hooks: list[SendHook] = []

    def chat(self, messages: list[Message], purpose: str = "") -> Reply:
        for hook in self.hooks:
            hook(messages, purpose)
        key = None
        if self.cache is not None:
            identity = self.identity()
            if not identity.get("digest"):
                raise UserError(
                    f"refusing to cache replies of an unidentified model: {identity.get('unidentified') or identity}; "
                    "declare its revision (--llm-revision REV), accept the name alone (--llm-cache-unidentified) "
                    "or run with --llm-cache off"
                )
            key = self.cache.key(identity, messages, self.options)
            hit = self.cache.get(key)
            if hit is not None:
                self.log.calls.append(
                    CallRecord(hit.prompt_tokens, hit.completion_tokens, 0.0, True, purpose, not hit.text.strip())
                )
                return hit
        t0 = time.perf_counter()
        reply = self.backend.complete(messages, self.options)
        reply.seconds = reply.seconds or (time.perf_counter() - t0)
        self.log.calls.append(
            CallRecord(reply.prompt_tokens, reply.completion_tokens, reply.seconds, False, purpose,
                       not reply.text.strip(), reply.retries)
        )
        if self.cache is not None and key is not None:
            self.cache.put(key, reply, self.identity(), messages, self.options)
        return reply

    def identity(self) -> dict[str, Any]:
        """The backend's identity; replaying a cache read-only, the one recorded in the cache.

        ``--llm-cache read`` must re-run a published suite with the server switched off, so when
        the backend cannot be reached the digest recorded with the cached replies stands in.
        """
        from gpta.errors import LLMUnavailable

        try:
            return self.backend.identity()
        except LLMUnavailable:
            if self.cache is not None and getattr(self.cache, "mode", "") == "read":
                recorded = self.cache.recorded_identity(self.backend.describe())
                if recorded is not None:
                    return recorded
            raise
