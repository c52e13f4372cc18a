"""RunResult: one JSON per cell that carries its own provenance.

A report or an audit needs nothing but the results directory: the resolved config, dataset
source/protocol/sizes, metrics, curves, prefixes, conversation, costs, versions, git commit,
device and timestamps are all in the file. Files are written atomically (temp + rename), so a
killed process never leaves a half-written result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
PACKAGES = ("torch", "transformers", "datasets", "scikit-learn", "numpy", "ollama", "xllamacpp",
            "peft", "setfit", "sentence-transformers", "gpta-suite")


def cell_id(cfg_dict: dict[str, Any]) -> str:
    """Readable and stable: dataset-method-fraction-seed plus a hash of the full config."""
    blob = json.dumps(cfg_dict, sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:10]
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(cfg_dict["dataset"])).name)[:40]
    return f"{dataset}__{cfg_dict['method']}__f{cfg_dict['fraction']:g}__s{cfg_dict['seed']}__{digest}"


@functools.lru_cache(maxsize=1)
def git_info() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"commit": commit, "dirty": dirty}


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
        "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or platform.machine(),
        "precision": precision, "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
        "hostname": platform.node(),
    }


def build_result(setup: Any, metrics: dict[str, Any], extra: dict[str, Any], costs: dict[str, Any],
                 precision: str) -> dict[str, Any]:
    from gpta.pipeline import dataset_record

    ctx, cfg = setup.ctx, setup.cfg
    wall = time.perf_counter() - setup.t_start
    data = dataset_record(setup.spec, setup.splits, setup.train_examples)
    data["sizes"].update({f"{k}_evaluated": v for k, v in setup.evaluated.items()})
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": ctx.run_id,
        "status": "ok",
        "method": cfg.method,
        "config": cfg.to_dict(),
        "seeds": {"data_seed": cfg.resolved_data_seed, "train_seed": cfg.train_seed, "split_seed": "fixed per dataset"},
        "dataset": data,
        "metric": setup.spec.metric,
        "metrics": metrics,
        "curves": setup.curves,
        **extra,
        "llm": ctx.llm_identity(),
        "costs": {**ctx.llm_costs(), **costs, "wall_seconds": round(wall, 3)},
        "env": environment(setup.device, precision),
        "timestamps": {"finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "wall_seconds": round(wall, 3)},
    }


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
