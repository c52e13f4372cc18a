"""Two results directories side by side (``gpta report A B``): per (dataset, fraction, method, LLM)
group, the mean test metric over seeds in each, the seeds each has, and B minus A on the seeds
both ran (paired, so a seed's sample and initialisation are the same on both sides); mean wall
seconds per cell in each. Reads what ``reports.load.load`` gives; runs nothing.

The typical pair: one suite run on two machines (CPU vs GPU), two commits, or two settings.
The difference is descriptive: no test and no verdict (a verdict is the scorecard's, inside one
report with its own correction family).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.load import ResultSet

GROUP = ["dataset", "fraction", "method", "llm"]
COLUMNS = ["dataset", "fraction", "method", "llm", "metric", "seeds_a", "seeds_b", "test_a", "test_b",
           "paired_seeds", "b_minus_a_paired", "wall_s_a", "wall_s_b"]


def compare(a: ResultSet, b: ResultSet) -> pd.DataFrame:
    """One row per group present in either folder (a group missing on one side has NaN there)."""
    sides = {"a": _per_group(a.runs), "b": _per_group(b.runs)}
    keys = sorted(set(sides["a"]) | set(sides["b"]), key=lambda k: tuple(map(str, k)))
    rows = []
    for key in keys:
        ga, gb = sides["a"].get(key), sides["b"].get(key)
        row: dict[str, Any] = dict(zip(GROUP, key))
        row["metric"] = next(g["metric"].iloc[0] for g in (ga, gb) if g is not None)
        for name, g in (("a", ga), ("b", gb)):
            row[f"seeds_{name}"] = len(g) if g is not None else 0
            row[f"test_{name}"] = float(g["test"].mean()) if g is not None else np.nan
            row[f"wall_s_{name}"] = float(g["wall_seconds"].mean()) if g is not None else np.nan
        common = sorted(set(ga["seed"]) & set(gb["seed"])) if ga is not None and gb is not None else []
        row["paired_seeds"] = len(common)
        row["b_minus_a_paired"] = (float((gb.set_index("seed").loc[common, "test"]
                                          - ga.set_index("seed").loc[common, "test"]).mean()) if common else np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _per_group(runs: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    if runs.empty:
        return {}
    runs = runs.assign(llm=runs["llm"].fillna("-"))
    # one row per seed: a repeated seed (same cell run with other settings) keeps its mean
    return {key: g.groupby("seed", as_index=False).agg(test=("test", "mean"), wall_seconds=("wall_seconds", "mean"),
                                                      metric=("metric", "first"))
            for key, g in runs.groupby(GROUP, dropna=False, sort=True)}


def provenance(rs: ResultSet) -> dict[str, str]:
    """What a side is: its folder, runs, git commits, devices and precisions."""
    runs = rs.runs

    def values(col: str) -> str:
        if runs.empty or col not in runs:
            return "-"
        vals = sorted({str(v)[:12] if col == "git_commit" else str(v) for v in runs[col].dropna()})
        return ", ".join(vals) or "-"

    return {"folder": str(rs.results_dir), "runs": str(len(runs)), "failed": str(len(rs.failed)),
            "git commit": values("git_commit"), "device": values("device"), "precision": values("precision")}


def to_markdown(table: pd.DataFrame, a: ResultSet, b: ResultSet) -> str:
    pa, pb = provenance(a), provenance(b)
    lines = ["# Two result folders side by side", "",
             "| | A | B |", "|---|---|---|"]
    lines += [f"| {k} | {pa[k]} | {pb[k]} |" for k in pa]
    lines += ["", "Test metric: mean over each side's seeds; B - A: mean difference on the seeds both ran "
              "(descriptive, no test). Wall: mean seconds per cell.", "",
              "| dataset | fraction | method | LLM | metric | seeds A | seeds B | test A | test B | B - A (paired seeds) "
              "| wall s A | wall s B |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.dataset} | {r.fraction:g} | {r.method} | {r.llm} | {r.metric} | {r.seeds_a} | {r.seeds_b} "
                     f"| {_num(r.test_a)} | {_num(r.test_b)} | {_diff(r.b_minus_a_paired, r.paired_seeds)} "
                     f"| {_num(r.wall_s_a, 0)} | {_num(r.wall_s_b, 0)} |")
    if table.empty:
        lines.append("| (no finished runs on either side) |||||||||||| ")
    return "\n".join(lines) + "\n"


def _num(x: float, digits: int = 4) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _diff(x: float, n: int) -> str:
    return "-" if not n or not np.isfinite(x) else f"{x:+.4f} (n={n})"


def write_comparison(a_dir: str | Path, b_dir: str | Path, out_dir: Path) -> dict[str, str]:
    """compare.md and compare.csv under ``out_dir`` (the caller makes it whole or not at all)."""
    from reports.load import load

    a, b = load(a_dir), load(b_dir)
    for rs in (a, b):  # as a single report refuses an empty folder: a comparison against nothing is no comparison
        if rs.runs.empty:
            from gpta.errors import UserError

            raise UserError(f"results directory {rs.results_dir}: no usable result JSON in it; nothing to compare")
    table = compare(a, b)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "compare.md"
    md.write_text(to_markdown(table, a, b), encoding="utf-8")
    table.to_csv(out_dir / "compare.csv", index=False)
    return {"md": str(md), "csv": str(out_dir / "compare.csv"), "groups": str(len(table))}
