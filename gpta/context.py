"""What a method gets besides its cell config: where to write, and how to reach the LLM.

Methods never build an LLM themselves: ``ctx.llm()`` returns one wired to the run's cache and
data-exposure ledger, so every message any method sends is recorded the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpta.config import RunConfig
from gpta.llm import LLM, make_llm


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

        cache = open_cache(self.llm_cache_mode, self.llm_cache_file)
        llm = make_llm(self.cfg.llm, self.cfg.generation, cache=cache)
        llm.hooks.append(Ledger(self.ledger_path, self.run_id, self.cfg.method).record)
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
