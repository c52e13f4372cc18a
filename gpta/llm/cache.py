"""Persistent LLM call cache: SQLite in WAL mode, safe for several processes.

The key hashes the backend, the model identity (Ollama digest or GGUF sha256), the messages and
every generation option, so a cached reply is only ever replayed for exactly the same request.
Modes: ``readwrite`` (default), ``read`` (replay only; a miss is an error, so a published suite
re-runs offline with identical prefixes), ``off``.

Several processes (parallel cells, a sweep) may share one file: every write is one autocommitted
statement, WAL lets readers run beside the writer, and ``busy_timeout`` makes a writer wait for
the lock instead of failing. ``INSERT OR IGNORE`` keeps the first reply for a key, so two workers
racing on the same request cannot swap a reply a run has already used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.llm.base import Message, Reply

MODES = ("readwrite", "read", "off")
CACHE_FILE = "llm_cache.sqlite"
# Options that change how long we wait, never what the model says: not part of the key.
_NOT_IN_KEY = ("timeout_s", "retries")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    reply TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    seconds REAL,
    created REAL,
    backend TEXT,
    model TEXT,
    digest TEXT,
    request TEXT
)"""
_COLUMNS = ("backend", "model", "digest", "request")  # added after the first schema


class CacheMiss(UserError):
    pass


def default_cache_path(results_dir: str | os.PathLike | None = None) -> Path:
    """``$GPTA_LLM_CACHE``, else ``<results_dir>/llm_cache.sqlite`` (``results/`` by default)."""
    env = os.environ.get("GPTA_LLM_CACHE")
    if env:
        return Path(env)
    return Path(results_dir or "results") / CACHE_FILE


def _options_for_key(options: LLMConfig) -> dict[str, Any]:
    opts = dataclasses.asdict(options)
    for name in _NOT_IN_KEY:
        opts.pop(name, None)
    opts["stop"] = list(opts["stop"])
    return opts


SQLITE_MAGIC = b"SQLite format 3\x00"


def check_cache_file(path: Path, option: str = "--llm-cache-path") -> None:
    """An existing cache path must be an SQLite file; never advise removing a file that is not ours.

    A device (/dev/null), a folder or a file of other content (a CSV given by mistake) is named as
    what it is and left alone; only a file named like our cache (CACHE_FILE) that is not SQLite is
    called damaged, with the note that it holds nothing but cached replies. ``option`` is the flag
    that gave the path, named in the advice (``--path`` for ``gpta llm cache``/``compare``); the
    advice ``--llm-cache off`` is given only where that option exists (with ``--llm-cache-path``)."""
    if not path.exists():
        return
    off = ", or --llm-cache off for no cache" if option == "--llm-cache-path" else ""
    if path.is_dir():
        raise UserError(f"LLM cache {path}: is a folder; pass a file path with {option} "
                        f"(e.g. {path / CACHE_FILE})")
    if not path.is_file():
        raise UserError(f"LLM cache {path}: not a regular file (a device such as /dev/null cannot hold a cache); "
                        f"pass a file path with {option}{off}")
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != SQLITE_MAGIC:
        if path.name == CACHE_FILE:
            raise UserError(f"LLM cache {path}: not an SQLite file (damaged?); it holds only cached LLM replies: "
                            f"delete it to start a new cache, or pass another cache path ({option})")
        raise UserError(f"LLM cache {path}: not an SQLite file (it starts with {head[:12]!r}), so not an LLM cache; "
                        f"it is left as it is: pass another {option}{off}")


def require_cache_file(path: Path) -> None:
    """``--llm-cache read`` replays a cache: refuse at once when there is none to replay."""
    if not path.is_file():
        raise CacheMiss(f"--llm-cache read: no cache at {path}; run once with --llm-cache readwrite")


class LLMCache:
    def __init__(self, path: str | os.PathLike, mode: str = "readwrite", option: str = "--llm-cache-path"):
        if mode not in MODES or mode == "off":
            raise UserError(f"--llm-cache {mode!r}: use readwrite or read here (off = no cache object)")
        self.path = Path(path)
        self.mode = mode
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # one connection, possibly used from several threads
        if mode == "read":
            require_cache_file(self.path)
        check_cache_file(self.path, option)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=60000")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(calls)")}
        for col in _COLUMNS:
            if col not in have:
                self._conn.execute(f"ALTER TABLE calls ADD COLUMN {col} TEXT")
        if mode == "read" and self.entries() == 0:
            raise CacheMiss(f"--llm-cache read: the cache {self.path} is empty; run once with --llm-cache readwrite")

    @staticmethod
    def key(identity: dict[str, Any], messages: list[Message], options: LLMConfig) -> str:
        ident = {k: identity.get(k) for k in ("backend", "model", "digest")}
        blob = json.dumps({"id": ident, "messages": messages, "options": _options_for_key(options)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT reply, prompt_tokens, completion_tokens, seconds FROM calls WHERE key=?", (key,)
            ).fetchone()
        if row is None:
            self.misses += 1
            if self.mode == "read":
                raise CacheMiss(
                    f"--llm-cache read: no cached reply for this request in {self.path} "
                    f"(key {key[:12]}); run once with --llm-cache readwrite"
                )
            return None
        self.hits += 1
        return Reply(text=row[0], prompt_tokens=row[1], completion_tokens=row[2], seconds=row[3], cached=True)

    def put(self, key: str, reply: Reply, identity: dict[str, Any] | None = None,
            messages: list[Message] | None = None, options: LLMConfig | None = None) -> None:
        if self.mode != "readwrite":
            return
        identity = identity or {}
        request = json.dumps({"messages": messages, "options": _options_for_key(options)}) if options else None
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO calls (key, reply, prompt_tokens, completion_tokens, seconds, created,"
                " backend, model, digest, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, reply.text, reply.prompt_tokens, reply.completion_tokens, reply.seconds, time.time(),
                 identity.get("backend"), identity.get("model"), identity.get("digest"), request),
            )

    def recorded_identity(self, described: dict[str, Any]) -> dict[str, Any] | None:
        """The one digest cached for this backend and model, if exactly one was recorded."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT digest FROM calls WHERE backend=? AND model=? AND digest IS NOT NULL",
                (described.get("backend"), described.get("model")),
            ).fetchall()
        if len(rows) != 1:
            return None
        return {**described, "digest": rows[0][0], "from_cache": True}

    def entries(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            n, prompt, completion, secs = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
                " COALESCE(SUM(seconds), 0) FROM calls"
            ).fetchone()
            models = self._conn.execute(
                "SELECT COALESCE(backend, '?'), COALESCE(model, '?'), COALESCE(digest, '?'), COUNT(*)"
                " FROM calls GROUP BY 1, 2, 3 ORDER BY 4 DESC"
            ).fetchall()
        return {
            "path": str(self.path), "bytes": self.path.stat().st_size, "entries": n,
            "prompt_tokens": prompt, "completion_tokens": completion, "tokens": prompt + completion,
            "backend_seconds_saved_per_replay": round(secs, 2),
            "models": [{"backend": b, "model": m, "digest": d, "entries": c} for b, m, d, c in models],
        }

    def clear(self) -> int:
        with self._lock:
            n = self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            self._conn.execute("DELETE FROM calls")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
        return n

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_cache(mode: str, path: str | os.PathLike) -> LLMCache | None:
    if mode not in MODES:
        raise UserError(f"--llm-cache {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        return None
    return LLMCache(path, mode)
