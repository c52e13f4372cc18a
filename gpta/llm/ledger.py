"""Data-exposure ledger: every message sent to an LLM, appended as one JSON line.

While a cell runs (gpta.cell.execute), its ledger is *staged*: the lines go to a temporary file
beside it (``.<run_id>.ledger.jsonl.tmp``, the pattern a sweep removes at start, like every
other temp file: gpta/sweep/driver.py ``remove_stale_temp_files``), renamed over
``<run_id>.ledger.jsonl`` just before the result is written. So a rerun of a finished cell that
is killed mid-run leaves the old result beside its own old ledger, never beside a truncated new
one (audit 4, finding 6). A Ledger made outside a staged run writes to its path directly.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from gpta.llm.base import Message

_STAGED: dict[str, Path] = {}  # absolute final path -> the temp file its lines go to meanwhile
_LOCK = threading.Lock()


def temp_ledger_path(path: str | Path) -> Path:
    """Where a staged ledger's lines go until the run finishes: hidden, ``.tmp``, same folder (so
    the rename is atomic and a sweep's start removes what a killed run left)."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


def _key(path: Path) -> str:
    return os.path.abspath(path)


class StagedLedger:
    """``with StagedLedger(path) as staged: ... staged.commit()``: Ledgers of ``path`` write to
    ``temp_ledger_path(path)`` inside the block; ``commit`` makes that file the ledger."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.temp = temp_ledger_path(self.path)

    def __enter__(self) -> StagedLedger:
        self.temp.unlink(missing_ok=True)  # a killed earlier attempt's lines are not this run's
        with _LOCK:
            _STAGED[_key(self.path)] = self.temp
        return self

    def commit(self) -> None:
        """The run's ledger replaces the old one (atomically); a run that sent nothing leaves none
        (an older run's ledger would otherwise stand beside this run's result)."""
        if self.temp.is_file():
            os.replace(self.temp, self.path)
        else:
            self.path.unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        with _LOCK:
            _STAGED.pop(_key(self.path), None)


class Ledger:
    def __init__(self, path: str | Path, run_id: str, method: str):
        self.path = Path(path)
        self.run_id = run_id
        self.method = method
        self._last: list[Message] = []  # messages of a running conversation are recorded once

    def target(self) -> Path:
        """The file lines go to now: the staged temp file while the run is staged, else ``path``."""
        with _LOCK:
            return _STAGED.get(_key(self.path), self.path)

    def record(self, messages: list[Message], purpose: str = "") -> None:
        target = self.target()
        target.parent.mkdir(parents=True, exist_ok=True)
        n = len(self._last)
        new = messages[n:] if messages[:n] == self._last else messages
        with open(target, "a", encoding="utf-8") as f:
            for m in new:
                f.write(json.dumps({
                    "run_id": self.run_id, "method": self.method, "role": m["role"],
                    "text": m["content"], "purpose": purpose, "time": time.time(),
                }) + "\n")
        self._last = list(messages)
