"""Data-exposure ledger: every message sent to an LLM, appended as one JSON line."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gpta.llm.base import Message


class Ledger:
    def __init__(self, path: str | Path, run_id: str, method: str):
        self.path = Path(path)
        self.run_id = run_id
        self.method = method
        self._last: list[Message] = []  # messages of a running conversation are recorded once

    def record(self, messages: list[Message], purpose: str = "") -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        n = len(self._last)
        new = messages[n:] if messages[:n] == self._last else messages
        with open(self.path, "a", encoding="utf-8") as f:
            for m in new:
                f.write(json.dumps({
                    "run_id": self.run_id, "method": self.method, "role": m["role"],
                    "text": m["content"], "purpose": purpose, "time": time.time(),
                }) + "\n")
        self._last = list(messages)
