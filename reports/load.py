"""Read a results directory into tidy tables: one row per finished run, one per failed cell.

Everything downstream (figures, tables, index) works from these frames, so what a report says
can always be traced back to a result file (the ``path`` column).

A file that cannot be one row is named, never crashed on (``problem_files``): a damaged file
(gpta/results.py ``damaged_files``), a result of a schema version this build does not know, a
second file holding a run id already read (a stray copy: the file named ``<run_id>.json`` is
kept), and a result whose headline test metric is not a finite number (NaN is not a measurement).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpta.errors import UserError
from gpta.results import damaged_files, load_results
from gpta.schema import COST_KEYS, SCHEMA_VERSION, flatten

# The cell coordinates; everything else in a config is a "setting" of the method.
CELL_KEYS = ("dataset", "fraction", "seed", "method")
# inputs: values taken from another cell's result (a random-prefix cell's length): data, not a knob
_NOT_SETTINGS = {"dataset", "fraction", "seed", "data_seed", "train_seed", "method", "dataset_options", "inputs"}
_RUN_ID = re.compile(r"^(?P<dataset>.+?)__(?P<method>[^_]+(?:[-_][^_]+)*)__f(?P<fraction>[0-9.eE+-]+)__s(?P<seed>-?\d+)__")



@dataclass
class ResultSet:
    """What a results directory holds, ready for the report."""

    results_dir: Path
    runs: pd.DataFrame  # one row per finished run
    failed: pd.DataFrame  # one row per failed cell (no finished result of the same cell)
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # run_id -> full result JSON
    skipped_files: list[str] = field(default_factory=list)  # *.json that are not results
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, why) left out: problem_files
    plan: list[dict[str, Any]] | None = None  # the sweeps' planned cells (gpta/sweep/plan.py), if written
    stage_notes: list[dict[str, Any]] = field(default_factory=list)  # the suite file's notes per stage (plan.py)

    @property
    def empty(self) -> bool:
        return self.runs.empty and self.failed.empty


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = tuple(v) if isinstance(v, list) else v
    return out


def settings_of(config: dict[str, Any]) -> dict[str, Any]:
    """The config minus the cell coordinates and the transferred prefix (which is data, not a knob)."""
    flat = _flatten({k: v for k, v in config.items() if k not in _NOT_SETTINGS})
    return {k: v for k, v in flat.items() if not k.startswith(("options.source", "options.prefix"))}


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def run_row(result: dict[str, Any]) -> dict[str, Any]:
    """The report's columns of one result, named from the one flattener (gpta.schema.flatten)."""
    flat = flatten(result)
    cfg = result.get("config") or {}
    row = {
        "run_id": flat["run_id"],
        "method": flat["method"],
        "dataset": flat["dataset"] if isinstance(result.get("dataset"), dict) and flat["dataset"]
        else Path(str(cfg.get("dataset", "?"))).name,
        "task": flat["task"] or "classification",
        "metric": flat["metric"] or "accuracy",
        "fraction": _num(flat["fraction"]),
        "seed": flat["seed"],
        "data_seed": flat["data_seed"],
        "n_train": flat["n_train"],
        "test": _num(flat["test_metric"]),
        "dev": _num(flat["dev_metric"]),
        "train": _num(flat["train_metric"]),
        "test_macro_f1": _num(flat["test_macro_f1"]),
        "majority": _num(flat["majority"]),
        "source_dataset": flat["source_dataset"],
        "prefix": flat["prefix"],
        "rounds": flat["history_rounds"],
        "revisions": flat["revisions"],
        "improved_rounds": flat["improved_rounds"],
        "fallbacks": flat["fallbacks"],
        "llm_accuracy": _num(flat["llm_accuracy"]),
        "proposals": flat["proposals"] or 0,
        "new_proposals": flat["new_proposals"] or 0,
        "share_new": _num(flat["share_new"]),
        "adopted": flat["adopted"] or 0,
        "share_adopted": _num(flat["share_adopted"]),
        "model": flat["model"],
        "llm": flat["llm"],
        "test_max": flat["test_max"],
        "inputs_from": flat["inputs_from"],
        "git_commit": flat["git_commit"],
        "git_dirty": flat["git_dirty"],
        "device": flat["device"],
        "precision": flat["precision"],
        "finished": flat["finished"],
        "path": result.get("_path"),
    }
    for k in COST_KEYS:
        row[k] = _num(flat[k])
    row["llm_tokens"] = np.nansum([row["prompt_tokens"], row["completion_tokens"]])
    row["settings_key"] = json.dumps(settings_of(cfg), sort_keys=True, default=str)
    return row


def failed_row(record: dict[str, Any], path: Path) -> dict[str, Any]:
    """A sweep's failure record: its config when present, else what the cell id says."""
    cfg = record.get("config") if isinstance(record.get("config"), dict) else {}
    run_id = str(record.get("run_id") or path.name.removesuffix(".failed.json"))
    parsed = _RUN_ID.match(run_id)
    guess = parsed.groupdict() if parsed else {}
    err = record.get("error")
    if isinstance(err, dict):
        err = f"{err.get('type', 'Error')}: {err.get('message', '')}".strip()
    return {
        "run_id": run_id,
        "method": cfg.get("method") or record.get("method") or guess.get("method"),
        "dataset": Path(str(cfg.get("dataset") or guess.get("dataset") or "?")).name,
        "fraction": _num(cfg.get("fraction", guess.get("fraction"))),
        "seed": cfg.get("seed", int(guess["seed"]) if "seed" in guess else None),
        "llm": cfg.get("llm"),
        "error": " ".join(str(err or "no error message recorded").split())[:300],
        "path": str(path),
    }


def label_variants(runs: pd.DataFrame) -> pd.Series:
    """An ``arm`` name per run: the method, plus the settings that tell its variants apart.

    A directory may hold one method under several settings on the same dataset (an ablation,
    e.g. gpta.weights=restart); pooling them would average different experiments, so each gets
    its own arm, named by the settings that differ within that dataset (so the same ablation has
    the same name on every dataset). Settings that differ only between datasets (a per-dataset
    recipe) do not split a method. Transfer runs are told apart by their source dataset.
    """
    arms = runs["method"].astype(str).copy()
    for (_, method), group in runs.groupby(["dataset", "method"]):
        keys = list(group["settings_key"].unique())
        if len(keys) < 2:
            continue
        dicts = [json.loads(k) for k in keys]
        fields = sorted(f for f in set().union(*dicts)
                        if len({json.dumps(d.get(f), default=str) for d in dicts}) > 1)
        labels = []
        for d in dicts:
            parts = [f"{f.split('.', 1)[-1]}={d.get(f)}" for f in fields[:3]]
            if len(fields) > 3:
                parts.append(f"+{len(fields) - 3} more")
            labels.append(f"{method} [{', '.join(parts)}]")
        if len(set(labels)) < len(labels):  # truncated names collide: number them instead
            labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
        for key, label in zip(keys, labels):
            arms[group.index[group["settings_key"] == key]] = label
    transfer = runs["method"].eq("transfer") & runs["source_dataset"].notna()
    arms[transfer] = arms[transfer] + " from " + runs.loc[transfer, "source_dataset"].astype(str)
    return arms


def _unusable(result: dict[str, Any]) -> str | None:
    """Why a readable result cannot be a row (None: it can)."""
    version = result.get("schema_version", SCHEMA_VERSION)  # results before the field: version 1
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        return f"schema_version {version!r} is not one this build reads (1..{SCHEMA_VERSION}); report it with the build that wrote it"
    metric = result.get("metric") or "accuracy"
    test = (result.get("metrics") or {}).get("test")
    value = test.get(metric) if isinstance(test, dict) else None
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"test {metric} is {value!r}, not a finite number (not a measurement)"
    return None


def usable_results(results_dir: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """(results that can be rows, (file, why) for each readable result left out).

    Of several files holding one run id, the one named ``<run_id>.json`` is kept (else the first by
    name); each other one is named as a copy."""
    kept: dict[str, dict[str, Any]] = {}
    left_out: list[tuple[str, str]] = []
    results = [r for r in load_results(results_dir) if isinstance(r.get("metrics"), dict)]
    results.sort(key=lambda r: (Path(r["_path"]).stem != str(r["run_id"]), r["_path"]))
    for r in results:
        name = Path(r["_path"]).name
        why = _unusable(r)
        if why:
            left_out.append((name, why))
        elif str(r["run_id"]) in kept:
            first = Path(kept[str(r["run_id"])]["_path"]).name
            left_out.append((name, f"run_id {r['run_id']!r} is also in {first} (a copy?); only {first} is read"))
        else:
            kept[str(r["run_id"])] = r
    left_out += _superseded(kept, results_dir)
    return sorted(kept.values(), key=lambda r: r["_path"]), sorted(left_out)


def _cell_and_settings(result: dict[str, Any]) -> str:
    """What makes two results the same measurement for the report: their whole recorded config
    (cell, method, LLM, every setting, options, dataset options and inputs such as a transfer's
    source). Two results that share it differ only in what the id adds (protocol version, data
    fingerprint, resolved precision, model or LLM file hashes): the same experiment under another
    version, which must not be pooled with it as a second seed. Anything else that differs (a
    transfer from another source method, another text column) is another experiment, kept."""
    return json.dumps(result.get("config") or {}, sort_keys=True, default=str)


def _superseded(kept: dict[str, dict[str, Any]], results_dir: Path) -> list[tuple[str, str]]:
    """Leave out (and name) every result that another one of the same cell and settings
    supersedes: the one the sweep's plan names, else the newest protocol, else the one finished
    last. Without this, an older version's result joined the planned one's arm: a cell counted
    twice its seeds, and which one became GPTA's finetune partner depended on file-name order
    (audit 4: 70 protocol-1 copies turned claim 1 from "contradicted" to "supported")."""
    from gpta.sweep.plan import read_plan

    planned = {str(row["run_id"]) for row in read_plan(results_dir) or [] if row.get("run_id")}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in kept.values():
        groups.setdefault(_cell_and_settings(r), []).append(r)
    def rank(r: dict[str, Any]) -> tuple:  # planned, then newest protocol, then finished last, then file name
        version = (r.get("identity") or {}).get("protocol_version")
        finished = str((r.get("timestamps") or {}).get("finished") or "")
        return (str(r["run_id"]) in planned, version if isinstance(version, int) else -1, finished, r["_path"])

    out = []
    for rs in groups.values():
        if len(rs) < 2:
            continue
        rs.sort(key=rank, reverse=True)
        winner, why = rs[0], ("the sweep's plan names it" if str(rs[0]["run_id"]) in planned else
                              "newer protocol or finished later")
        for r in rs[1:]:
            del kept[str(r["run_id"])]
            differs = sorted(k for k in set(r.get("identity") or {}) | set(winner.get("identity") or {})
                             if (r.get("identity") or {}).get(k) != (winner.get("identity") or {}).get(k))
            out.append((Path(r["_path"]).name,
                        f"the same cell and settings as {Path(winner['_path']).name} ({why}), which supersedes it"
                        f" (they differ in: {', '.join(differs) or 'nothing the result records but its id'});"
                        " only that one is read"))
    return out


def problem_files(results_dir: str | Path) -> list[tuple[str, str]]:
    """(file, why) for every *.json of the folder that is not a row of the report: damaged files
    (gpta.results.damaged_files), unknown schema versions, copies of a run id, NaN metrics."""
    results_dir = Path(results_dir)
    return sorted(damaged_files(results_dir) + usable_results(results_dir)[1])


def load(results_dir: str | Path) -> ResultSet:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise UserError(f"results directory {results_dir}: not a directory")
    results, left_out = usable_results(results_dir)
    rows = [run_row(r) for r in results]
    runs = pd.DataFrame(rows)
    if not runs.empty:
        runs["arm"] = label_variants(runs)
        runs = runs.sort_values(["dataset", "fraction", "seed", "method", "arm"], kind="stable").reset_index(drop=True)
    done = set(runs["run_id"]) if not runs.empty else set()
    fails = []
    for p in sorted(results_dir.glob("*.failed.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            rec = {"error": f"unreadable failure record {p.name}"}
        if not isinstance(rec, dict):
            continue
        row = failed_row(rec, p)
        if row["run_id"] not in done:  # a later successful rerun supersedes the failure
            fails.append(row)
    failed = pd.DataFrame(fails, columns=["run_id", "method", "dataset", "fraction", "seed", "llm", "error", "path"])
    if runs.empty and failed.empty and left_out:
        name, why = left_out[0]
        raise UserError(f"results directory {results_dir}: no usable result; {len(left_out)} left out "
                        f"(first: {name}: {why})")
    known = {r.get("_path") for r in results}
    skipped = [p.name for p in sorted(results_dir.glob("*.json"))
               if str(p) not in known and not p.name.endswith(".failed.json")]
    from gpta.sweep.plan import read_plan, read_stage_notes

    plan, notes = read_plan(results_dir), read_stage_notes(results_dir)
    if not runs.empty:
        runs["noted_stage"] = noted_stages(runs["run_id"], plan, notes)
    return ResultSet(results_dir, runs, failed, {r["run_id"]: r for r in results}, skipped, left_out, plan, notes)


def noted_stages(run_ids: pd.Series, plan: list[dict[str, Any]] | None, notes: list[dict[str, Any]]) -> list[Any]:
    """Per run: the stage(s) that alone planned it when every one of them carries a note (a
    stage of seeds added after a look at the results, say), else None. A claim that reads such
    runs says so beside its verdict (reports.claims.qualifier)."""
    noted = {(n["suite"], n["stage"]) for n in notes}
    by_id: dict[str, set[tuple[str, str]]] = {}
    for row in plan or []:
        if row.get("run_id"):
            by_id.setdefault(str(row["run_id"]), set()).add((row["suite"], row["stage"]))
    out: list[Any] = []
    for rid in run_ids.astype(str):
        stages = by_id.get(rid, set())
        out.append(", ".join(sorted(st for _, st in stages)) if stages and stages <= noted else None)
    return out
