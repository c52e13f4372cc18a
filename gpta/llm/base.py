"""The one small LLM interface: chat messages in; reply text, token counts and seconds out.

Backends implement ``complete``; ``LLM.chat`` adds what every backend needs the same way:
the call record (costs), and hooks for the cache and the data-exposure ledger.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable, UserError

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
    # What the call cost when the backend answered it (a cache hit replays the original call's
    # seconds from the cache): the cold cost. ``seconds`` is what this run paid (0 for a hit).
    cold_seconds: float | None = None

    retries: int = 0  # attempts repeated after a timeout, 429 or 5xx before this reply came

    def __post_init__(self) -> None:
        if self.cold_seconds is None:
            self.cold_seconds = self.seconds


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
        cold = round(sum(c.cold_seconds or 0.0 for c in self.calls), 4)
        return {
            "llm_calls": len(self.calls),
            "llm_backend_calls": len(backend),
            # tokens and seconds are the COLD cost: every call as if nothing were cached (a cache
            # hit counts the original call's tokens and seconds, stored in the cache) ...
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "llm_seconds": cold,
            "llm_seconds_cold": cold,
            # ... and what this run paid: only the calls the backend answered
            "llm_seconds_paid": round(secs, 4),
            "prompt_tokens_paid": sum(c.prompt_tokens for c in backend),
            "completion_tokens_paid": completion,
            "cost_basis": "llm_seconds and tokens are cold costs (cache hits count the original call); "
                          "*_paid is what this run spent",
            "cache_hits": len(self.calls) - len(backend),
            "cache_misses": len(backend),
            # backend speed: completion tokens per wall second over calls the backend answered
            "tokens_per_second": round(completion / secs, 2) if secs > 0 else None,
            "empty_replies": sum(c.empty for c in self.calls),
            "llm_retries": sum(c.retries for c in self.calls),
        }


@dataclass
class LabelScores:
    """Label scoring: one log-probability per label for the reply's first token (issue 17).

    ``logprobs[i]`` is log P(the reply's first token is a prefix of label i's name, any case),
    summed over the backend's top tokens that fit (``label_logprobs``); ``None`` when none fits.
    ``top``: the first reply token's top (token, logprob) pairs, the raw evidence behind the scores.
    """

    logprobs: list[float | None]
    prompt_tokens: int
    seconds: float
    top_k: int
    cached: bool = False
    top: list[tuple[str, float]] = field(default_factory=list)

    def best(self) -> int | None:
        """The highest-scoring label (first on ties), or None when no label was among the top tokens."""
        scored = [(lp, -i) for i, lp in enumerate(self.logprobs) if lp is not None]
        return -max(scored)[1] if scored else None


# A one-character token is not evidence for a label it happens to start: "A" and "I" are English
# words of their own. Measured (verdict run, trec, SmolLM2-135M): the top tokens of a reply that
# begins "The" include "A" (-3.93) beside "Ab" (-4.23) and "ab" (-4.38); counting "A" made
# "abbreviation" the best label for 190 of 200 questions (4 of them are abbreviations). Two or
# more characters, or the whole label name, fit.
LABEL_TOKEN_MIN_CHARS = 2
LABEL_FIT_RULE = (f"a first-token candidate fits a label when, without leading space and case, it is a prefix of the "
                  f"label's name of at least {LABEL_TOKEN_MIN_CHARS} characters or the whole name")


def label_logprobs(top: list[tuple[str, float]], labels: list[str]) -> list[float | None]:
    """Per label, log of the summed probability of the top tokens that start its name.

    ``top`` is (token text, logprob) for the first reply token. A token fits a label by
    ``LABEL_FIT_RULE`` ("Pos", " positive" and "POS" all fit "positive"; "A" fits nothing): the
    mass the model puts on starting that answer.
    """
    out: list[float | None] = []
    names = [n.lower() for n in labels]
    for name in names:
        fits = [lp for tok, lp in top if _fits(tok.lstrip().lower(), name)]
        if not fits:
            out.append(None)
            continue
        peak = max(fits)
        out.append(peak + math.log(sum(math.exp(lp - peak) for lp in fits)))
    return out


def _fits(token: str, name: str) -> bool:
    return bool(token.strip()) and name.startswith(token) and (len(token) >= LABEL_TOKEN_MIN_CHARS or token == name)


class RetryableError(Exception):
    """A failure worth another attempt (timeout, dropped connection, HTTP 429 or 5xx)."""


MAX_BACKOFF_S = 30.0  # the longest wait between two attempts


class Backend:
    """A chat model. Subclasses set ``name`` and implement ``complete``, ``identity``, ``describe``.

    HTTP backends set ``retries``, ``backoff_s`` and ``model``, and implement ``_classify`` (run a
    call; raise ``RetryableError`` for a failure worth another attempt, a clear error otherwise)
    and ``_where`` (the server, for messages); ``_with_retries`` is the one retry loop.
    """

    name = "backend"
    # Backends that expose the first reply token's top log-probabilities set this and implement
    # ``score_labels``; the rest are scored by generation + parsing (baselines/llm_zero_shot.py).
    supports_label_scoring = False

    def score_labels(self, messages: list[Message], labels: list[str], options: LLMConfig,
                     fresh: bool = False) -> LabelScores:
        raise NotImplementedError

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

    # -- the one retry loop (HTTP backends) ----------------------------------------------------
    retries = 0
    backoff_s = 1.0
    attempts = 0  # HTTP attempts made for inference, retries included (for tests and checks)
    retried = 0  # retries of the last call

    def _where(self) -> str:
        return self.name

    def _classify(self, call: Callable[[], Any]) -> Any:
        return call()

    def _with_retries(self, what: str, call: Callable[[], Any]) -> Any:
        """``call`` with up to ``retries`` more attempts after a ``RetryableError``, waiting
        ``backoff_s``, doubling, at most ``MAX_BACKOFF_S``; then one clear line."""
        last = ""
        self.retried = 0
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            if what == "chat":
                self.attempts += 1
            try:
                return self._classify(call)
            except RetryableError as exc:
                last = str(exc)
        raise LLMUnavailable(
            f"{self._where()}, model {getattr(self, 'model', '?')!r}: {what} failed {self.retries + 1} times "
            f"(last: {last}); check the server, or raise generation.timeout_s / generation.retries"
        )


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

    def chat(self, messages: list[Message], purpose: str = "", options: LLMConfig | None = None) -> Reply:
        """One call. ``options`` overrides the LLM's generation options for this call only (e.g.
        GPTA's per-candidate seed and temperature); they are part of the cache key as usual."""
        options = options or self.options
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
            key = self.cache.key(identity, messages, options)
            hit = self.cache.get(key)
            if hit is not None:
                self.log.calls.append(
                    CallRecord(hit.prompt_tokens, hit.completion_tokens, 0.0, True, purpose, not hit.text.strip(),
                               cold_seconds=float(hit.seconds or 0.0))
                )
                return hit
        t0 = time.perf_counter()
        reply = self.backend.complete(messages, options)
        reply.seconds = reply.seconds or (time.perf_counter() - t0)
        self.log.calls.append(
            CallRecord(reply.prompt_tokens, reply.completion_tokens, reply.seconds, False, purpose,
                       not reply.text.strip(), retries=reply.retries)
        )
        if self.cache is not None and key is not None:
            self.cache.put(key, reply, self.identity(), messages, options)
        return reply

    def can_score_labels(self) -> bool:
        return bool(getattr(self.backend, "supports_label_scoring", False))

    def score_labels(self, messages: list[Message], labels: list[str], purpose: str = "",
                     fresh: bool = False) -> LabelScores:
        """One prompt evaluation: the label scores for this prompt (see ``LabelScores``).

        Same bookkeeping as ``chat``: hooks (the ledger) see the messages; the cache keys the
        request with the label list and stores the scores as JSON; the call is logged with
        1 completion token. ``fresh``: evaluate the whole prompt, reusing nothing the backend
        kept from an earlier one (the first input of a run; see EmbeddedBackend.score_labels).
        """
        for hook in self.hooks:
            hook(messages, purpose)
        key = None
        if self.cache is not None:
            # the fit rule is part of the key: scores cached under an older rule are not reused
            marker = {"role": "score_labels", "content": json.dumps({"labels": list(labels), "fit": LABEL_FIT_RULE})}
            key = self.cache.key(self.identity(), [*messages, marker], self.options)
            hit = self.cache.get(key)
            if hit is not None:
                stored = json.loads(hit.text)
                # a hit costs this run nothing; its cold cost is the original call's seconds
                self.log.calls.append(CallRecord(hit.prompt_tokens, hit.completion_tokens, 0.0, True, purpose,
                                                 cold_seconds=float(hit.seconds or 0.0)))
                return LabelScores(stored["logprobs"], hit.prompt_tokens, hit.seconds, stored["top_k"], cached=True,
                                   top=[(t, lp) for t, lp in stored.get("top", [])])
        t0 = time.perf_counter()
        scores = self.backend.score_labels(messages, list(labels), self.options, fresh=fresh)
        scores.seconds = scores.seconds or (time.perf_counter() - t0)
        self.log.calls.append(CallRecord(scores.prompt_tokens, 1, scores.seconds, False, purpose))
        if self.cache is not None and key is not None:
            text = json.dumps({"logprobs": scores.logprobs, "top_k": scores.top_k, "top": scores.top})
            self.cache.put(key, Reply(text, scores.prompt_tokens, 1, scores.seconds), self.identity(),
                           [*messages, marker], self.options)
        return scores

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
