"""LLM layer: ``make_llm("embedded" | "embedded:NAME" | "embedded:PATH.gguf" | "ollama:MODEL" | "openai:MODEL")``.

``embedded`` is ``embedded:smollm2-135m``; the names are gpta/llm/models.py's (``gpta llm check`` lists them).
"""

from __future__ import annotations

from typing import Any

from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.llm.base import LLM, Backend, CallLog, Message, Reply

__all__ = ["LLM", "Backend", "CallLog", "Message", "Reply", "make_backend", "make_llm"]


KINDS = ("embedded", "ollama", "openai")


USAGE = "use embedded, embedded:NAME, embedded:PATH.gguf, ollama:MODEL or openai:MODEL"


def check_spec(spec: str) -> None:
    """A spec's form only (no file, server or key looked at): for checking a suite up front.
    ``embedded:ARG`` must be a known model name or look like a path (ends .gguf or has a /)."""
    kind, _, arg = spec.partition(":")
    if kind not in KINDS or (kind != "embedded" and not arg):
        raise UserError(f"unknown LLM {spec!r}; {USAGE}")
    if kind == "embedded" and arg:
        from gpta.llm import models

        if not models.is_model_name(arg) and not models.looks_like_path(arg):
            models.get_model(arg)  # raises: the known names


def make_backend(spec: str, options: LLMConfig | None = None) -> Backend:
    options = options or LLMConfig()
    kind, _, arg = spec.partition(":")
    if kind == "embedded":
        from gpta.llm.embedded import EmbeddedBackend

        return EmbeddedBackend(arg or None)
    if kind == "ollama":
        if not arg:
            raise UserError("--llm ollama:MODEL needs a model tag, e.g. ollama:qwen2.5:7b-instruct")
        from gpta.llm.ollama_backend import OllamaBackend

        return OllamaBackend(arg, timeout_s=options.timeout_s, retries=options.retries)
    if kind == "openai":
        if not arg:
            raise UserError("--llm openai:MODEL needs the server's model id, e.g. openai:gpt-4o-mini "
                            "(`gpta llm check --llm openai:ID` lists what a server serves)")
        from gpta.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(arg, timeout_s=options.timeout_s, retries=options.retries)
    raise UserError(f"unknown LLM {spec!r}; {USAGE}")


def make_llm(spec: str, options: LLMConfig | None = None, cache: Any = None) -> LLM:
    return LLM(make_backend(spec, options), options, cache=cache)
