"""The sweep's plan, written into its results folder: which cells the suite asked for.

``gpta report`` counts coverage against it ("270 planned, 270 finished"), not against the full
dataset x fraction x seed x method crossing of whatever the folder holds, which for a suite with
per-dataset fractions or a stage with its own seeds counts cells nobody planned as "missing".

One JSON object per line in ``<out>/sweep_plan.jsonl`` (not ``*.json``: the folder's ``*.json``
files are results). Each sweep adds its planned cells to the file: a resumed sweep, or a second
one with ``--seeds`` or ``--datasets`` narrowed, leaves the union of what was planned, and a key
the sweep plans again (same suite, stage, dataset, fraction, seed, method and LLM) takes this
sweep's cell ids (a changed config leaves no stale id behind). Transfer stages are not written:
their cells are named only once their source cells have results (the report lists transfer runs
on their own). A stage's ``note:`` (what a reader must know about it, e.g. seeds added after a
look at the data) is one line of its own, ``{"kind": "stage-note", "suite", "stage", "note"}``,
which the report prints beside the scorecard.

A cell is matched to its result by ``run_id`` (the result file is ``<run_id>.json``). A cell
that needs another method's result first (``MethodInfo.needs``) gets its id only once that
result exists; it is written with ``run_id`` null and matched by its key (dataset, fraction,
seed, method, llm).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLAN_FILE = "sweep_plan.jsonl"
KEY = ("suite", "stage", "dataset", "fraction", "seed", "method", "llm", "run_id")
NOTE = "stage-note"  # the ``kind`` of a stage's note line


def plan_rows(suite: Any) -> list[dict[str, Any]]:
    """One row per planned cell of the suite's ordinary stages (``KEY`` fields, in plan order)."""
    from gpta.registry import needs_of
    from gpta.sweep.suite import stage_cells

    rows = []
    for stage in suite.stages:
        if stage.is_transfer:
            continue
        for cell in stage_cells(suite, stage):
            c = cell.cfg
            rows.append({"suite": suite.name, "stage": stage.name, "dataset": Path(str(c.dataset)).name,
                         "fraction": c.fraction, "seed": c.seed, "method": c.method, "llm": c.llm,
                         "run_id": None if needs_of(c.method) else cell.id})
    return rows


def _identity(row: dict[str, Any]) -> str:
    return json.dumps([row.get(k) for k in KEY], default=str)


def _read(out: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """(cell rows, stage-note rows), or None when the folder has no readable plan (a line that is
    neither a cell with the ``KEY`` fields nor a stage note makes the whole file unreadable: a half
    plan would count wrong)."""
    path = Path(out) / PLAN_FILE
    if not path.is_file():
        return None
    cells, notes = [], []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if isinstance(row, dict) and row.get("kind") == NOTE and all(k in row for k in ("suite", "stage", "note")):
                notes.append(row)
            elif isinstance(row, dict) and "kind" not in row and all(k in row for k in KEY):
                cells.append(row)
            else:
                return None
    except (OSError, ValueError):
        return None
    return cells, notes


def read_plan(out: str | Path) -> list[dict[str, Any]] | None:
    """The plan's cell rows (``KEY`` fields), or None when the folder has no readable plan (or one
    that plans no cell: nothing to count coverage against)."""
    got = _read(out)
    return got[0] if got is not None and got[0] else None


def read_stage_notes(out: str | Path) -> list[dict[str, Any]]:
    """The stages' notes (``suite``, ``stage``, ``note``), in the order written; none without a plan."""
    got = _read(out)
    return [] if got is None else got[1]


def write_plan(out: str | Path, suite: Any) -> Path:
    """Add the suite's planned cells to ``<out>/sweep_plan.jsonl`` (atomically; union with what
    is there). Called by the sweep before its first cell runs."""
    from gpta.results import write_text_atomic

    path = Path(out) / PLAN_FILE
    got = _read(out)
    old, old_notes = got if got is not None else (None, [])
    if old is None:
        if path.exists():
            import sys

            print(f"note: {path} is not a plan this version reads; it is written anew from this sweep's plan",
                  file=sys.stderr)
        old = []
    new = plan_rows(suite)
    # A planned key (suite, stage, dataset, fraction, seed, method, llm) takes this sweep's cell
    # ids: a config that changed since (new code, new settings) leaves no stale id to count as
    # missing. Keys this sweep does not plan (a narrower --seeds) keep their rows.
    # Order is kept: a key planned again takes its old place.
    def key(r: dict[str, Any]) -> str:
        return _identity(r | {"run_id": None})

    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in new:
        by_key.setdefault(key(r), []).append(r)
    rows: list[dict[str, Any]] = []
    for r in old:
        k = key(r)
        if k not in by_key:
            rows.append(r)
        elif by_key[k]:
            rows.extend(by_key[k])
            by_key[k] = []  # emitted once, at the first old row of its key
    for r in new:
        if by_key[key(r)]:
            rows.extend(by_key[key(r)])
            by_key[key(r)] = []
    # a stage's note is the suite file's as of this sweep (one it no longer has is dropped)
    this = {(suite.name, st.name) for st in suite.stages}
    notes = [n for n in old_notes if (n["suite"], n["stage"]) not in this]
    notes += [{"kind": NOTE, "suite": suite.name, "stage": st.name, "note": st.note} for st in suite.stages if st.note]
    seen: set[str] = set()
    lines = [json.dumps(n) + "\n" for n in notes]
    for r in rows:  # a cell two stages plan is one row per stage; the same row twice is written once
        if _identity(r) not in seen:
            seen.add(_identity(r))
            lines.append(json.dumps(r, default=str) + "\n")
    return write_text_atomic(path, "".join(lines))
