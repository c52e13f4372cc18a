"""What a method gets besides its cell config: where to write, and how to reach the LLM.

Methods never build an LLM themselves: ``ctx.llm()`` returns one wired to the run's cache and
data-exposure ledger, so every message any method sends is recorded the same way.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gpta.config import RunConfig
from gpta.errors import LLMUnavailable, UserError
from gpta.llm import LLM, make_llm

PROBE_TIMEOUT_S = 10.0  # the identity call before any work: a host that never answers fails in ~10 s


@dataclass
class RunContext:
    out_dir: Path
    run_id: str
    cfg: RunConfig
    data_dir: str | None = None  # GPTA_DATA_DIR / --data-dir
    llm_cache_mode: str = "readwrite"  # readwrite | read | off
    llm_cache_path: str | None = None  # default: <out_dir>/llm_cache.sqlite
    progress: bool = True
    _llms: list[LLM] = field(default_factory=list)

    @property
    def llm_cache_file(self) -> Path:
        return Path(self.llm_cache_path) if self.llm_cache_path else self.out_dir / "llm_cache.sqlite"

    @property
    def ledger_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.ledger.jsonl"

    def llm(self) -> LLM:
        """The run's LLM, with cache and ledger attached. Created on first use."""
        if self._llms:
            return self._llms[0]
        from gpta.llm.cache import open_cache
        from gpta.llm.ledger import Ledger

        if self.llm_cache_mode == "readwrite":
            cache: Any = LazyCache(self.llm_cache_file)  # the file appears with the first reply
        else:
            cache = open_cache(self.llm_cache_mode, self.llm_cache_file)
        llm = make_llm(self.cfg.llm, self.cfg.generation, cache=cache)
        ledger = Ledger(self.ledger_path, self.run_id, self.cfg.method)
        send, score = llm.chat, llm.score_labels

        # The ledger records a message once an LLM (or the cache) answered it: a run that never
        # reached its LLM leaves no ledger listing messages as sent. Label scoring sends messages
        # too (llm-zero-shot's test inputs), so it is recorded the same way.
        def chat(messages, purpose="", **kwargs):
            reply = send(messages, purpose, **kwargs)
            ledger.record(messages, purpose)
            return reply

        def score_labels(messages, labels, purpose="", **kwargs):
            scores = score(messages, labels, purpose, **kwargs)
            ledger.record(messages, purpose)
            return scores

        llm.chat = chat  # type: ignore[method-assign]
        llm.score_labels = score_labels  # type: ignore[method-assign]
        self._llms.append(llm)
        return llm

    def llm_costs(self) -> dict[str, Any]:
        if not self._llms:
            return {"llm_calls": 0, "llm_backend_calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                    "llm_seconds": 0.0, "llm_seconds_cold": 0.0, "llm_seconds_paid": 0.0, "prompt_tokens_paid": 0,
                    "completion_tokens_paid": 0, "cache_hits": 0, "cache_misses": 0, "tokens_per_second": None, "empty_replies": 0,
                    "llm_retries": 0}
        return self._llms[0].log.summary()

    def llm_identity(self) -> dict[str, Any] | None:
        return self._llms[0].identity() if self._llms else None

    @staticmethod
    def default_data_dir() -> str | None:
        return os.environ.get("GPTA_DATA_DIR") or None


class LazyCache:
    """A read-write LLM cache that creates its SQLite file only when the first reply is stored.

    Before that, lookups miss without touching the disk, so a run that fails before its LLM
    answers leaves no cache file behind.
    """

    mode = "readwrite"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._cache: Any = None

    def _open(self) -> Any:
        if self._cache is None:
            from gpta.llm.cache import open_cache

            self._cache = open_cache("readwrite", self.path)
        return self._cache

    @staticmethod
    def key(*args: Any) -> str:
        from gpta.llm.cache import LLMCache

        return LLMCache.key(*args)

    def get(self, key: str) -> Any:
        if self._cache is None and not self.path.exists():
            return None
        return self._open().get(key)

    def put(self, *args: Any, **kwargs: Any) -> None:
        self._open().put(*args, **kwargs)

    def recorded_identity(self, described: dict[str, Any]) -> dict[str, Any] | None:
        if self._cache is None and not self.path.exists():
            return None
        return self._open().recorded_identity(described)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def __getattr__(self, name: str) -> Any:  # hits, misses, stats ...: the real cache's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._open(), name)


# -- checks before any work ------------------------------------------------------------------


def check_out_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Refuse an output folder that is a file, read-only or cannot be created; create nothing.

    Runs in well under a second, before any data or model load, so a trained cell is never
    thrown away at its final write. Probes by writing (and removing) a temp file in the folder,
    or in its nearest existing parent, so it also holds for root and read-only file systems.
    """
    try:
        out = Path(path).expanduser()
    except RuntimeError:  # ~name of no user on this machine
        user = str(path).split("/", 1)[0]
        raise UserError(f"{flag} {path}: there is no user {user[1:]!r} on this machine to expand {user}; "
                        f"give the folder's full path") from None
    probe_dir = out
    while not probe_dir.exists():
        if probe_dir.is_symlink():
            raise UserError(f"{flag} {out}: {probe_dir} is a broken link; pass another {flag}")
        parent = probe_dir.parent
        if parent == probe_dir:
            break
        probe_dir = parent
    if not probe_dir.is_dir():
        what = "is a file" if probe_dir == out else f"cannot be created: {probe_dir} is a file"
        raise UserError(f"{flag} {out}: {what}; pass a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gpta-write-check-", dir=probe_dir)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        where = (f"is not writable ({exc.strerror})" if probe_dir == out
                 else f"cannot be created ({probe_dir} is not writable: {exc.strerror})")
        raise UserError(f"{flag} {out}: {where}; make it writable or pass another {flag}") from None
    return out


def check_cache_path(path: str | os.PathLike | None, mode: str) -> None:
    """``--llm-cache-path``: a folder or an unwritable place fails now, not at the first reply."""
    if path is None or mode == "off":
        return
    p = Path(path).expanduser()
    from gpta.llm.cache import check_cache_file

    check_cache_file(p)  # a folder, a device, a file that is not SQLite: named, never removed
    if mode == "readwrite" and not p.exists():
        check_out_dir(p.parent, "--llm-cache-path")


def check_ollama_host(host: str) -> str:
    """A malformed OLLAMA_HOST is refused in one line (the client would guess something else)."""
    text = host.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UserError(f"OLLAMA_HOST {host!r}: not a valid URL ({exc}); e.g. http://127.0.0.1:11434") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not re.fullmatch(
            r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+", parts.hostname) or (parts.path not in ("", "/")):
        raise UserError(f"OLLAMA_HOST {host!r}: not a valid URL (need http://HOST:PORT), "
                        f"e.g. http://127.0.0.1:11434")
    return f"{parts.scheme}://{parts.hostname}:{port or (443 if parts.scheme == 'https' else 11434)}"


def probe_llm(spec: str, timeout_s: float | None = None) -> None:
    """Reach the LLM before any data or model load: every backend answers a 1-token chat.

    embedded: the GGUF file is a GGUF (embedded:NAME: its packages are installed), then the model
    loads and answers (in-process: the run reuses the loaded model). ollama: the host is a
    well-formed URL, answers ``/api/tags`` within ``PROBE_TIMEOUT_S`` with Ollama's JSON and lists
    the model, then answers ``/api/chat`` (1 token) within ``CHAT_PROBE_TIMEOUT_S`` (a host that
    lists the model but never answers a chat fails here, not minutes into the run). openai: the
    server lists the model and answers a 1-token probe within ``PROBE_TIMEOUT_S``. No retries;
    nothing written.
    """
    kind, _, arg = spec.partition(":")
    limit = min(PROBE_TIMEOUT_S, timeout_s) if timeout_s else PROBE_TIMEOUT_S
    chat_limit = min(CHAT_PROBE_TIMEOUT_S, timeout_s) if timeout_s else CHAT_PROBE_TIMEOUT_S
    if kind == "embedded":
        _probe_embedded(spec, arg)
        return
    if kind == "openai" and arg:  # the model list and a 1-token probe, no retries, short timeout
        from gpta.llm.openai_backend import OpenAIBackend

        OpenAIBackend(arg, timeout_s=limit, retries=0).identity()
        return
    if kind != "ollama" or not arg:
        return
    raw = os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"  # (the ollama client reads it at import)
    host = check_ollama_host(raw)
    import httpx

    try:
        resp = httpx.get(f"{host}/api/tags", timeout=httpx.Timeout(limit, connect=min(limit, 5.0)))
    except httpx.ConnectError:
        raise LLMUnavailable(f"ollama at {host}: connection refused (is `ollama serve` running there? "
                             f"set OLLAMA_HOST) for model {arg!r}") from None
    except httpx.TimeoutException:
        raise LLMUnavailable(f"ollama at {host}: no answer within {limit:g} s to the model list "
                             f"(the host accepts connections but does not reply); check OLLAMA_HOST") from None
    except httpx.HTTPError as exc:
        raise LLMUnavailable(f"ollama at {host}: {type(exc).__name__}: {exc}; check OLLAMA_HOST") from None
    listing = _json_or_none(resp) if resp.status_code == 200 else None
    if not isinstance(listing, dict) or not isinstance(listing.get("models"), list):
        raise LLMUnavailable(f"not an Ollama server at {host} (GET /api/tags: HTTP {resp.status_code}, "
                             f"{'no Ollama JSON' if resp.status_code == 200 else 'no model list'}); "
                             f"check OLLAMA_HOST")
    names = {m.get("model") or m.get("name") for m in listing["models"] if isinstance(m, dict)}
    if arg not in names and f"{arg}:latest" not in names:
        raise LLMUnavailable(f"ollama at {host}: model {arg!r} not found; run `ollama pull {arg}`")
    _probe_ollama_chat(host, arg, chat_limit)


CHAT_PROBE_TIMEOUT_S = 30.0  # the 1-token chat: room for Ollama to load a model into memory, no more
PROBE_MESSAGES = [{"role": "user", "content": "Hi"}]


def _json_or_none(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _probe_ollama_chat(host: str, model: str, limit: float) -> None:
    """POST /api/chat, 1 token, no stream: the call every run makes, answered within ``limit``."""
    import httpx

    body = {"model": model, "messages": PROBE_MESSAGES, "stream": False,
            "options": {"num_predict": 1, "temperature": 0.0}}
    try:
        resp = httpx.post(f"{host}/api/chat", json=body, timeout=httpx.Timeout(limit, connect=min(limit, 5.0)))
    except httpx.TimeoutException:
        raise LLMUnavailable(f"ollama at {host}: model {model!r} is listed but did not answer a 1-token chat "
                             f"within {limit:g} s (is the server stuck, or still loading the model? "
                             f"`ollama run {model}` loads it; then try again)") from None
    except httpx.HTTPError as exc:
        raise LLMUnavailable(f"ollama at {host}: a 1-token chat with model {model!r} failed "
                             f"({type(exc).__name__}: {exc})") from None
    reply = _json_or_none(resp)
    if resp.status_code != 200:
        err = reply.get("error") if isinstance(reply, dict) else None
        if resp.status_code == 404:
            raise LLMUnavailable(f"ollama at {host}: model {model!r} not found for chat (HTTP 404: {err}); "
                                 f"run `ollama pull {model}`")
        raise LLMUnavailable(f"ollama at {host}: a 1-token chat with model {model!r} got HTTP "
                             f"{resp.status_code}{f': {err}' if err else ''}")
    if not isinstance(reply, dict) or not isinstance(reply.get("message"), dict):
        raise LLMUnavailable(f"ollama at {host}: the 1-token chat with model {model!r} did not answer with "
                             f"Ollama's chat JSON (no 'message' object); check OLLAMA_HOST")


def _probe_embedded(spec: str, arg: str) -> None:
    """The GGUF is one and the model answers 1 token (loaded in this process, reused by the run)."""
    from gpta.config import LLMConfig
    from gpta.llm import make_backend, models

    if arg and models.is_model_name(arg):  # embedded:NAME: its packages are installed (LLM2, issue 25)
        models.check_installed(arg)
    elif arg:
        path = Path(arg).expanduser()
        if path.is_file():
            with open(path, "rb") as f:
                magic = f.read(4)
            if magic != b"GGUF":
                raise UserError(f"--llm {spec}: {path} is not a GGUF file (it does not start with 'GGUF'); "
                                f"pass a llama.cpp .gguf model")
    backend = make_backend(spec)
    try:
        backend.complete(PROBE_MESSAGES, LLMConfig(max_tokens=1, temperature=0.0))
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - llama.cpp's load or decode failure, whatever its class
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise LLMUnavailable(f"--llm {spec}: the embedded model did not answer a 1-token chat "
                             f"({type(exc).__name__}: {first}); check the GGUF file") from None
