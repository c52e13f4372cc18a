"""Persistent LLM call cache: SQLite in WAL mode, safe for several processes.

The key hashes the backend, the model identity (Ollama digest or GGUF sha256), the messages and
every generation option, so a cached reply is only ever replayed for exactly the same request.
Modes: ``readwrite`` (default), ``read`` (replay only; a miss is an error, so a published suite
re-runs offline with identical prefixes), ``off``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.llm.base import Message, Reply

MODES = ("readwrite", "read", "off")


class CacheMiss(UserError):
    pass


class LLMCache:
    def __init__(self, path: str | Path, mode: str = "readwrite"):
        if mode not in MODES:
            raise UserError(f"--llm-cache {mode!r}: use one of {', '.join(MODES)}")
        self.path = Path(path)
        self.mode = mode
        self.hits = 0
        self.misses = 0
        if mode == "read" and not self.path.exists():
            raise CacheMiss(f"--llm-cache read: no cache at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=60000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, reply TEXT NOT NULL,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, created REAL)"
        )

    @staticmethod
    def key(identity: dict[str, Any], messages: list[Message], options: LLMConfig) -> str:
        opts = dataclasses.asdict(options)
        # timeouts and retries do not change the reply
        opts.pop("timeout_s", None)
        opts.pop("retries", None)
        opts["stop"] = list(opts["stop"])
        ident = {k: identity.get(k) for k in ("backend", "model", "digest")}
        blob = json.dumps({"id": ident, "messages": messages, "options": opts}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Reply | None:
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

    def put(self, key: str, reply: Reply) -> None:
        if self.mode != "readwrite":
            return
        self._conn.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?)",
            (key, reply.text, reply.prompt_tokens, reply.completion_tokens, reply.seconds, time.time()),
        )

    def stats(self) -> dict[str, Any]:
        n, tokens = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM calls"
        ).fetchone()
        return {"path": str(self.path), "entries": n, "tokens": tokens}

    def clear(self) -> int:
        n = self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        self._conn.execute("DELETE FROM calls")
        return n


def open_cache(mode: str, path: str | Path) -> LLMCache | None:
    if mode == "off":
        return None
    return LLMCache(path, mode)
