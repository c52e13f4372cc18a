"""Ollama through the official ``ollama`` client; host from OLLAMA_HOST."""

from __future__ import annotations

import os
import time
from typing import Any

from gpta.config import LLMConfig
from gpta.errors import LLMUnavailable
from gpta.llm.base import Backend, Message, Reply

DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaBackend(Backend):
    name = "ollama"

    def __init__(self, model: str, host: str | None = None, timeout_s: float = 120.0):
        import ollama

        self.model = model
        self.host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self.client = ollama.Client(host=self.host, timeout=timeout_s)
        self._identity: dict[str, Any] | None = None

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            digest = None
            try:
                for m in self.client.list().models:
                    if m.model == self.model or m.model == f"{self.model}:latest":
                        digest = m.digest
            except Exception as exc:  # noqa: BLE001 - reported as one clear line
                raise LLMUnavailable(
                    f"ollama at {self.host}: cannot list models for {self.model!r} ({exc})"
                ) from None
            if digest is None:
                raise LLMUnavailable(
                    f"ollama at {self.host}: model {self.model!r} not found; run `ollama pull {self.model}`"
                )
            self._identity = {"backend": self.name, "model": self.model, "digest": digest, "host": self.host}
        return self._identity

    def complete(self, messages: list[Message], options: LLMConfig) -> Reply:
        t0 = time.perf_counter()
        resp = self.client.chat(
            model=self.model,
            messages=messages,
            options={
                "temperature": options.temperature,
                "seed": options.seed,
                "top_p": options.top_p,
                "num_predict": options.max_tokens,
                "stop": list(options.stop),
            },
        )
        return Reply(
            text=resp.message.content or "",
            prompt_tokens=int(resp.prompt_eval_count or 0),
            completion_tokens=int(resp.eval_count or 0),
            seconds=time.perf_counter() - t0,
        )
