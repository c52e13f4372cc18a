"""RunResult: one JSON per cell that carries its own provenance.

A report or an audit needs nothing but the results directory: the resolved config, dataset
source/protocol/sizes, metrics, curves, prefixes, conversation, costs, versions, git commit,
device and timestamps are all in the file. Files are written atomically (temp + rename), so a
killed process never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from gpta.config import TrainConfig
from gpta.schema import SCHEMA_VERSION, atomic_write, build_result, flatten, write_text_atomic  # noqa: F401

# The result schema (every key, documented), its builder, the flattener and the atomic writer
# live in gpta/schema.py; this module adds provenance (ids, versions, git, device) and reading.
PACKAGES = ("torch", "transformers", "datasets", "scikit-learn", "numpy", "ollama", "xllamacpp",
            "peft", "setfit", "sentence-transformers", "gpta-suite")


# Bumped whenever the protocol changes what a config means (splits, sampling, selection, metrics),
# so old results are never silently reused. 2: cross-split duplicates removed, macro-F1 over the
# classes present, cold LLM costs, data fingerprint and resolved precision in the identity (issue 13).
PROTOCOL_VERSION = 2


def _auto_precision() -> str:
    """What ``train.precision=auto`` resolves to on this machine's device (``--device``; imports
    torch: only for auto)."""
    import os

    return _auto_precision_on(os.environ.get("GPTA_DEVICE") or "auto")


@functools.lru_cache(maxsize=4)
def _auto_precision_on(device: str) -> str:
    from gpta.model import resolve_device, resolve_precision

    return resolve_precision("auto", resolve_device(device))


# Within ``planning()``, each data fingerprint is computed once: a plan
# names up to 100,000 cells on a handful of data files, and hashing (a stat and a path
# resolution per file, package metadata for embedded data) took ~0.5 ms a cell.
_PLAN_MEMO: dict[Any, Any] | None = None


@contextlib.contextmanager
def planning():
    """Memoize the data fingerprint of cell identities while planning a sweep (files do not
    change between naming two cells of one plan); nests; off outside, so a changed file gives a
    new id at once."""
    global _PLAN_MEMO
    outer = _PLAN_MEMO
    if outer is None:
        _PLAN_MEMO = {}
    try:
        yield
    finally:
        if outer is None:
            _PLAN_MEMO = None


def _memo(key: Any, compute: Any) -> Any:
    if _PLAN_MEMO is None:
        return compute()
    if key not in _PLAN_MEMO:
        _PLAN_MEMO[key] = compute()
    return _PLAN_MEMO[key]


def identity_config(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    """The part of a cell's config (``RunConfig.to_dict()``) its method reads: the cell itself
    (``gpta.registry.CELL_KEYS``) and the sections or settings in the method's ``reads``. The
    training precision is left out here: the identity holds it resolved (``cell_precision``)."""
    from gpta.registry import CELL_KEYS, METHODS

    info = METHODS.get(cfg_dict.get("method"))
    if info is None:  # not a registered method: everything counts
        reads: tuple[str, ...] = tuple(k for k in cfg_dict if k not in CELL_KEYS)
    else:
        reads = info.reads
    out = {k: cfg_dict[k] for k in CELL_KEYS if k in cfg_dict}
    if info is not None and info.revision > 1:  # a method whose computation changed: not its old results
        out["method_revision"] = info.revision
    for item in reads:
        section, _, name = item.partition(".")
        if section not in cfg_dict:
            continue
        if not name:
            value = cfg_dict[section]
            out[section] = {k: v for k, v in value.items() if k != "precision"} if section == "train" else value
        elif name != "precision":
            out.setdefault(section, {})[name] = cfg_dict[section].get(name)
    return _by_content(out)


# What a path-named encoder or GGUF stands as in the hashed config: its files are hashed instead
# (cell_identity), so the same files in another folder keep the cell's id, as data files do.
LOCAL_MODEL = "local folder: files hashed in identity.model"
GGUF_PATH = "embedded:GGUF file hashed in identity.llm"


def _is_file(path: str) -> bool:
    return Path(path).expanduser().is_file()


def _by_content(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with a local encoder folder and a GGUF path replaced by a mark (their content is
    in ``cell_identity``); embedded names and Hub ids stay as given, so their ids do not change."""
    from gpta.data.fingerprint import is_gguf_path, is_local_model

    if isinstance(out.get("model"), str) and is_local_model(out["model"]):
        out["model"] = LOCAL_MODEL
    if isinstance(out.get("llm"), str) and is_gguf_path(out["llm"]) and _is_file(out["llm"].partition(":")[2]):
        out["llm"] = GGUF_PATH  # an unreadable path keeps its text: two different typos are two cells
    return out


def cell_precision(cfg_dict: dict[str, Any]) -> str:
    """The precision the cell trains in: the method's own (``MethodInfo.precision``: SetFit's
    fp32) or ``train.precision`` resolved on this machine (``auto``: bf16 where the device has it)."""
    from gpta.registry import METHODS

    info = METHODS.get(cfg_dict.get("method"))
    if info is not None and info.precision is not None:
        return info.precision
    precision = (cfg_dict.get("train") or {}).get("precision") or TrainConfig.precision
    return _auto_precision() if precision == "auto" else precision


def cell_identity(cfg_dict: dict[str, Any], data_dir: str | None = None) -> dict[str, Any]:
    """What a cell's id hashes besides the config its method reads: the protocol version, the
    data it reads (file hashes, gpta/data/fingerprint.py), the precision it trains in and, for a
    method that trains the encoder, the device kind where it is not the CPU (``device``); and,
    only when given by path, the encoder folder's files and the GGUF's hash (``model``, ``llm``:
    absent for embedded names and Hub ids, so their ids are unchanged)."""
    from gpta.data.fingerprint import data_fingerprint

    dataset, options = str(cfg_dict["dataset"]), cfg_dict.get("dataset_options")
    key = ("data", dataset, repr(sorted(options.items())) if options else "", data_dir,
           os.environ.get("GPTA_DATA_DIR"))
    out = {"protocol_version": PROTOCOL_VERSION,
           "data": _memo(key, lambda: data_fingerprint(dataset, options, data_dir)),
           "precision": cell_precision(cfg_dict)}
    if _runs_encoder(cfg_dict) and _device_kind() != "cpu":
        out["device"] = _device_kind()
    out.update(_path_fingerprints(cfg_dict))
    return out


def _runs_encoder(cfg_dict: dict[str, Any]) -> bool:
    """Whether the cell's method trains the encoder (it reads the whole ``train`` section;
    llm-zero-shot reads only ``train.test_max``). An unregistered method counts as one."""
    from gpta.registry import METHODS

    info = METHODS.get(cfg_dict.get("method"))
    return info is None or "train" in info.reads


# The device the cells of this process's sweep run on, where that is not $GPTA_DEVICE: a Ray
# driver plans for its tasks' device, not its own (set_identity_device).
_IDENTITY_DEVICE: str | None = None


def set_identity_device(device: str | None) -> None:
    """Plan cell ids for ``device`` (``cpu``, ``cuda``, ``cuda:N``; None: ``$GPTA_DEVICE``). The
    sweep sets it from its executor (Ray resolves ``auto`` from the cluster's GPUs), so the ids it
    plans are the ones its workers compute from the device they are handed."""
    global _IDENTITY_DEVICE
    _IDENTITY_DEVICE = device


def _device_kind() -> str:
    """``cpu`` or ``cuda``: where a cell in this process runs its encoder (``--device``, resolved
    here as precision is). A cell on CUDA is not the same cell as on the CPU: their kernels give
    different numbers for one config (quick, tweets, finetune, seed 13: test accuracy 0.837 on an
    H200, 0.844 on the CPU), so neither may stand for the other when a sweep resumes. Only a
    non-CPU device enters the id, so every CPU cell keeps the id it had."""
    return _device_kind_of(device_spec())


def device_spec() -> str:
    """The device cell ids are planned for now (``set_identity_device``, else ``$GPTA_DEVICE``,
    else ``auto``): part of a memoised id's key (gpta.sweep.suite.Cell.id)."""
    return _IDENTITY_DEVICE or os.environ.get("GPTA_DEVICE") or "auto"


@functools.lru_cache(maxsize=4)
def _device_kind_of(spec: str) -> str:
    if spec == "cpu":
        return "cpu"
    if spec.startswith("cuda"):
        return "cuda"  # cuda:N is a place, not another kind of kernel
    from gpta.model import resolve_device

    return resolve_device(spec).type


def _path_fingerprints(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    """{"model": ..., "llm": ...}, each only where the cell names that file by path (a relative
    path is memoised with the working folder it resolves against)."""
    from gpta.data.fingerprint import llm_fingerprint, model_fingerprint

    out = {}
    model = cfg_dict.get("model")
    if isinstance(model, str):
        found = _memo(("model", model, os.getcwd()), lambda: model_fingerprint(model))
        if found is not None:
            out["model"] = found
    llm = cfg_dict.get("llm")
    if isinstance(llm, str) and "llm" in identity_config(cfg_dict):  # only a method that asks the LLM
        found = _memo(("llm", llm, os.getcwd()), lambda: llm_fingerprint(llm))
        if found is not None:
            out["llm"] = found
    return out


def cell_id(cfg_dict: dict[str, Any], data_dir: str | None = None) -> str:
    """Readable and stable: dataset-method-fraction-seed plus a hash of what the cell's method
    reads of its config (``identity_config``) and the cell's identity (protocol version, data
    fingerprint, training precision). A setting the method does not read changes no id."""
    blob = json.dumps({"config": identity_config(cfg_dict), "identity": cell_identity(cfg_dict, data_dir)},
                      sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:10]
    return f"{_readable(str(cfg_dict['dataset']))}__{cfg_dict['method']}__f{cfg_dict['fraction']:g}__s{cfg_dict['seed']}__{digest}"


@functools.lru_cache(maxsize=1024)
def _readable(dataset: str) -> str:
    """The dataset part of a cell id: the name (or a file's name), safe in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(dataset).name)[:40]


@functools.lru_cache(maxsize=1)
def git_info() -> dict[str, Any]:
    """Commit and dirty flag, read without writing under .git (gpta/provenance.py)."""
    from gpta.provenance import git_info as read

    return read()


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def environment(device: Any, precision: str) -> dict[str, Any]:
    import torch

    return {
        "versions": versions(), "git": git_info(), "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if str(device).startswith("cuda")
                        else platform.processor() or platform.machine()),
        "precision": precision, "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
        "hostname": platform.node(),
    }


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """A JSON file written whole or not at all (gpta.schema.atomic_write)."""
    return write_text_atomic(path, json.dumps(obj, indent=1, default=str))


def read_result(path: str | Path) -> dict[str, Any] | None:
    """A finished result at ``path``, or None (missing, unreadable, failed or not a result)."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(obj, dict) and "run_id" in obj and obj.get("status", "ok") == "ok"
    return obj if ok else None


def load_results(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every result JSON in a directory (not recursive into hidden/tmp files)."""
    out = []
    for p in sorted(Path(results_dir).glob("*.json")):
        if p.name.endswith(".failed.json"):  # a sweep's failure record (gpta/sweep), not a result
            continue
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):  # damaged: `gpta report` names it
            continue
        if isinstance(obj, dict) and "run_id" in obj and "config" in obj and obj.get("status") != "failed":
            obj["_path"] = str(p)
            out.append(obj)
    return out


# -- damaged files: what a results folder holds that cannot be read as a result -------------------

RESULT_TYPES = {"run_id": str, "config": dict, "metrics": dict, "method": str}


def damaged_files(results_dir: Path) -> list[tuple[str, str]]:
    """(file, why) for every *.json that cannot be a result or failure record: unreadable, not
    UTF-8, truncated or invalid JSON, or a result whose fields have the wrong types."""
    out = []
    for p in sorted(results_dir.glob("*.json")):
        try:
            obj: Any = json.loads(p.read_bytes().decode("utf-8"))
        except OSError as exc:
            out.append((p.name, f"unreadable ({exc.strerror})"))
            continue
        except UnicodeDecodeError as exc:
            out.append((p.name, f"not UTF-8 (byte at offset {exc.start})"))
            continue
        except json.JSONDecodeError as exc:
            truncated = exc.pos >= len(exc.doc.rstrip()) - 1
            out.append((p.name, "truncated JSON" if truncated else f"not JSON ({exc.msg}, line {exc.lineno})"))
            continue
        if not isinstance(obj, dict):
            out.append((p.name, f"top level is a {type(obj).__name__}, not an object"))
            continue
        if p.name.endswith(".failed.json") or obj.get("status") == "failed":
            continue
        bad = [f"{k} is {type(obj.get(k)).__name__}, not {t.__name__}" for k, t in RESULT_TYPES.items()
               if k in obj and not isinstance(obj[k], t)]
        if bad:
            out.append((p.name, "wrong types: " + "; ".join(bad)))
    return out
