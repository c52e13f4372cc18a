"""One cell, in whatever process an executor gives it. Never raises for a failing cell.

``run_job`` executes a cell into the results directory (the result JSON is written atomically by
``gpta.cell.execute``) and returns an *outcome*: a small dict the driver turns into a journal
line, a progress tick and, for a failure, a failure record. ``run_job_detached`` is the Ray
variant: it runs into a scratch directory on the worker node and returns the result JSON and the
run's ledger, so the driver writes them into the results directory (no shared filesystem needed
for results; the LLM cache path is still shared, see gpta/sweep/executors.py).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpta.config import RunConfig

JOURNAL = "sweep.jsonl"


@dataclass
class Job:
    cfg: RunConfig
    run_id: str
    stage: str
    out_dir: str
    data_dir: str | None
    llm_cache: str
    llm_cache_path: str  # absolute; one SQLite file shared by every cell of the sweep
    threads: int  # torch intra-op threads for this cell (the executor divides the cores)
    device: str = "auto"  # cpu | cuda | cuda:N | auto; the executor assigns a GPU share (executors.py)


def journal(out_dir: str | Path, event: str, **fields: Any) -> None:
    """Append one line to the sweep journal. One short write with O_APPEND: lines never interleave."""
    line = json.dumps({"time": round(time.time(), 3), "event": event, "pid": os.getpid(), **fields}) + "\n"
    fd = os.open(Path(out_dir) / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def set_threads(threads: int) -> None:
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-cell weight-loading bars would break the sweep's bar

    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def run_job(job: Job, out_dir: str | None = None, log: bool = True) -> dict[str, Any]:
    """Run one cell into ``out_dir`` (default: the job's). Returns its outcome."""
    from gpta.cell import execute

    out = out_dir or job.out_dir
    if log:
        journal(job.out_dir, "start", run_id=job.run_id, stage=job.stage)
    set_threads(job.threads)
    t0 = time.perf_counter()
    previous_device = os.environ.get("GPTA_DEVICE")
    os.environ["GPTA_DEVICE"] = job.device  # gpta.model.pick_device reads it, for this cell only
    try:
        from gpta.model import resolve_device

        resolve_device(job.device)  # CUDA asked for and not seen: this cell fails now, naming why
        path, result = execute(job.cfg, out, data_dir=job.data_dir, llm_cache=job.llm_cache,
                               llm_cache_path=job.llm_cache_path, progress=False, expected_id=job.run_id)
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded; the sweep goes on
        return {"run_id": job.run_id, "status": "failed", "seconds": round(time.perf_counter() - t0, 3),
                "host": platform.node(), "device": job.device, "cuda_visible_devices": _visible(),
                "error": {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}}
    finally:
        if previous_device is None:
            os.environ.pop("GPTA_DEVICE", None)
        else:
            os.environ["GPTA_DEVICE"] = previous_device
    return {"run_id": job.run_id, "status": "ok", "seconds": round(time.perf_counter() - t0, 3),
            "host": platform.node(), "device": job.device, "cuda_visible_devices": _visible(),
            "path": str(path), "result": result}


def _visible() -> str | None:
    """The GPUs this process may use, as Ray (or the user) set them; None when unset."""
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def run_job_detached(job: Job) -> dict[str, Any]:
    """Run one cell in a scratch directory and return its files' contents (for Ray workers)."""
    with tempfile.TemporaryDirectory(prefix="gpta-cell-") as scratch:
        outcome = run_job(job, out_dir=scratch, log=False)
        import ray

        outcome["ray_gpu_ids"] = [str(i) for i in ray.get_gpu_ids()]  # the GPUs Ray gave this task
        ledger = Path(scratch) / f"{job.run_id}.ledger.jsonl"
        outcome["ledger"] = ledger.read_text(encoding="utf-8") if ledger.is_file() else None
        outcome.pop("path", None)
    return outcome
