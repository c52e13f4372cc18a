"""The consolidated results table: one row per result (and per failure record) in a directory.

Written as ``results.parquet`` and ``results.csv`` (temp file + rename, like every result), after
each finished cell and at the end of a sweep. The JSON files stay the source of truth; the table
is for analysis in pandas, R or a spreadsheet, and is always rebuilt from them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

COLUMNS = [
    "run_id", "status", "dataset", "domain", "task", "fraction", "n_train", "seed", "data_seed", "method",
    "model", "llm", "metric", "train_metric", "dev_metric", "test_metric", "test_macro_f1", "test_em", "test_f1",
    "llm_calls", "prompt_tokens", "completion_tokens", "tokens", "cache_hits", "llm_seconds", "train_seconds",
    "eval_seconds", "wall_seconds", "epochs", "rounds", "prefix", "source_dataset", "error",
]
TIMING_COLUMNS = ["llm_seconds", "train_seconds", "eval_seconds", "wall_seconds"]  # differ run to run


def result_row(result: dict[str, Any]) -> dict[str, Any]:
    cfg = result.get("config") or {}
    data = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
    metrics = result.get("metrics") or {}
    costs = result.get("costs") or {}
    metric = result.get("metric") or data.get("metric")

    def split_metric(split: str, name: str | None) -> float | None:
        value = (metrics.get(split) or {}).get(name) if name else None
        return float(value) if isinstance(value, (int, float)) else None

    source = (cfg.get("options") or {}).get("source")
    prompt, completion = costs.get("prompt_tokens"), costs.get("completion_tokens")
    return {
        "run_id": result.get("run_id"),
        "status": result.get("status", "ok"),
        "dataset": data.get("name") or cfg.get("dataset"),
        "domain": data.get("domain"),
        "task": data.get("task"),
        "fraction": cfg.get("fraction"),
        "n_train": (data.get("sizes") or {}).get("train"),
        "seed": cfg.get("seed"),
        "data_seed": cfg.get("data_seed"),
        "method": result.get("method") or cfg.get("method"),
        "model": cfg.get("model"),
        "llm": cfg.get("llm"),
        "metric": metric,
        "train_metric": split_metric("train", metric),
        "dev_metric": split_metric("dev", metric),
        "test_metric": split_metric("test", metric),
        "test_macro_f1": split_metric("test", "macro_f1"),
        "test_em": split_metric("test", "exact_match"),
        "test_f1": split_metric("test", "f1"),
        "llm_calls": costs.get("llm_calls"),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": (prompt or 0) + (completion or 0) if prompt is not None or completion is not None else None,
        "cache_hits": costs.get("cache_hits"),
        "llm_seconds": costs.get("llm_seconds"),
        "train_seconds": costs.get("train_seconds"),
        "eval_seconds": costs.get("eval_seconds"),
        "wall_seconds": costs.get("wall_seconds"),
        "epochs": (cfg.get("train") or {}).get("epochs"),
        "rounds": (cfg.get("gpta") or {}).get("rounds"),
        "prefix": result.get("prefix"),
        "source_dataset": source.get("dataset") if isinstance(source, dict) else None,
        "error": (result.get("error") or {}).get("message") if isinstance(result.get("error"), dict) else None,
    }


def read_records(results_dir: str | Path) -> dict[str, dict[str, Any]]:
    """run_id -> result or failure record; a result wins over a stale failure record of the same cell."""
    from gpta.results import load_results

    records: dict[str, dict[str, Any]] = {}
    for p in sorted(Path(results_dir).glob("*.failed.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(rec, dict) and rec.get("run_id"):
            records[rec["run_id"]] = rec
    for result in load_results(results_dir):
        records[result["run_id"]] = result
    return records


class ResultsTable:
    """The rows of one results directory, kept in memory and written out on demand."""

    def __init__(self, results_dir: str | Path, records: dict[str, dict[str, Any]] | None = None):
        self.dir = Path(results_dir)
        records = read_records(self.dir) if records is None else records
        self.rows = {run_id: result_row(rec) for run_id, rec in records.items()}

    def status(self, run_id: str) -> str | None:
        """"ok", "failed", or None (no record of this cell)."""
        row = self.rows.get(run_id)
        return row["status"] if row else None

    def add(self, record: dict[str, Any]) -> None:
        self.rows[record["run_id"]] = result_row(record)

    def frame(self):
        import pandas as pd

        rows = [self.rows[k] for k in sorted(self.rows)]
        return pd.DataFrame(rows, columns=COLUMNS)

    def write(self) -> tuple[Path, Path]:
        df = self.frame()
        parquet, csv = self.dir / "results.parquet", self.dir / "results.csv"
        _atomic(parquet, lambda tmp: df.to_parquet(tmp, index=False))
        _atomic(csv, lambda tmp: df.to_csv(tmp, index=False))
        return parquet, csv


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a table is for everyone who may read results
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
