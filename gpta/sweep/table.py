"""The consolidated results table: one row per result (and per failure record) in a directory.

Written as ``results.parquet`` and ``results.csv`` (temp file + rename, like every result), after
each finished cell and at the end of a sweep. The JSON files stay the source of truth; the table
is for analysis in pandas, R or a spreadsheet, and is always rebuilt from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpta.schema import atomic_write, flatten

COLUMNS = [
    "run_id", "status", "dataset", "domain", "task", "fraction", "n_train", "seed", "data_seed", "method",
    "model", "llm", "metric", "train_metric", "dev_metric", "test_metric", "test_macro_f1", "test_em", "test_f1",
    "llm_calls", "prompt_tokens", "completion_tokens", "tokens", "cache_hits", "llm_seconds", "train_seconds",
    "eval_seconds", "wall_seconds", "epochs", "rounds", "prefix", "source_dataset", "inputs_from", "error",
]
TIMING_COLUMNS = ["llm_seconds", "train_seconds", "eval_seconds", "wall_seconds"]  # differ run to run


def result_row(result: dict[str, Any]) -> dict[str, Any]:
    """The table's columns of one result or failure record, from the one flattener (gpta.schema)."""
    flat = flatten(result)
    return {c: flat[c] for c in COLUMNS}


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
        atomic_write(parquet, lambda tmp: df.to_parquet(tmp, index=False))
        atomic_write(csv, lambda tmp: df.to_csv(tmp, index=False))
        return parquet, csv
