"""``build_report(results_dir, out_dir)``: read results, draw every figure, write every table and
both index files. Reads results only: never runs a model or an LLM.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

import reports.style  # noqa: F401  (selects the headless Agg backend before pyplot loads)
import matplotlib.pyplot as plt  # noqa: E402

from gpta.errors import UserError
from reports import figures as F
from reports.analysis import BASELINE, attach_baseline, comparisons, grid_status
from reports.document import Document, summary_json
from reports.llm_quality import llm_quality, render_llm_quality
from reports.load import ResultSet, load
from reports.stats import PAIRED_TEST_NAME
from reports.tables import (Table, appendix_tables, comparison_table, cost_table, results_tables, to_latex,
                            to_markdown)

LOW_FRACTION = 0.02  # "low resource" in the headline: at most 2% of the pool
MAX_LISTED = 60  # cells listed inline in the index; the full list is in missing_cells.csv


def make_figures(rs: ResultSet) -> list[F.FigureOut]:
    """Every figure the results allow, in index order (skipped ones carry their reason)."""
    runs = rs.runs
    out: list[F.FigureOut] = []
    datasets = sorted(runs["dataset"].unique()) if not runs.empty else []
    for ds in datasets:
        out.append(F.accuracy_vs_fraction(runs, ds))
    for ds in datasets:
        out.append(F.gap_vs_fraction(runs, ds))
        out.append(F.learning_curves(runs, rs.raw, ds))
    for ds in datasets:
        out.append(F.dialogue_rounds(runs, rs.raw, ds))
    out.append(F.llm_accuracy_vs_gain(runs) if not runs.empty else _skip("llm_accuracy_vs_gain", "dialogue"))
    for ds in datasets:
        out.append(F.cost_vs_accuracy(runs, ds))
    out.append(F.transfer_heatmap(runs) if not runs.empty else _skip("transfer_heatmap", "transfer"))
    return out


def _skip(name: str, section: str) -> F.FigureOut:
    return F.FigureOut(name, section, name.replace("_", " "), skipped="no finished runs")


def headline(runs: pd.DataFrame) -> dict[str, Any]:
    """GPTA vs finetune per (dataset, fraction) cell, by the mean paired gain over seeds."""
    comp = comparisons(runs)
    g = comp[comp["method"] == "gpta"]  # every GPTA arm (variants included), each against its finetune pair
    low = g[g["fraction"] <= LOW_FRACTION]
    losses = g[g["mean_gain"] <= 0]
    return {
        "cells": len(g), "wins": int((g["mean_gain"] > 0).sum()), "significant_wins": int(((g["mean_gain"] > 0) & g["significant"]).sum()),
        "significant_losses": int(((g["mean_gain"] < 0) & g["significant"]).sum()),
        "tested": int(g["p"].notna().sum()), "low_cells": len(low), "gpta_arms": sorted(g["arm"].unique()), "low_wins": int((low["mean_gain"] > 0).sum()),
        "mean_gain": float(g["mean_gain"].mean()) if len(g) else math.nan,
        "not_winning": [(r.dataset, r.fraction, r.mean_gain, r.p, r.arm) for r in losses.itertuples()],
        "other_arms": {arm: (int((c["mean_gain"] > 0).sum()), len(c))
                       for arm, c in comp[comp["method"] != "gpta"].groupby("arm")},
    }


def _headline_text(h: dict[str, Any]) -> list[str]:
    if h["cells"] == 0:
        return ["No (dataset, fraction) cell has both GPTA and finetune runs with the same seeds, so no "
                "GPTA-vs-finetune comparison can be made from these results."]
    variants = (f" (each of the {len(h['gpta_arms'])} GPTA settings counted separately: "
                f"{', '.join(h['gpta_arms'])})" if len(h["gpta_arms"]) > 1 else "")
    lines = [
        f"GPTA beats finetune in {h['wins']} of {h['cells']} (dataset, fraction) cells{variants} (mean paired gain over seeds "
        f"> 0; mean gain {100 * h['mean_gain']:+.1f} points); at ≤{LOW_FRACTION:.0%} of the pool in {h['low_wins']} of "
        f"{h['low_cells']}. Of the {h['tested']} cells with a testable paired difference ({PAIRED_TEST_NAME}), the win "
        f"is significant (p < 0.05) in {h['significant_wins']} and GPTA is significantly worse in "
        f"{h['significant_losses']}.",
    ]
    if h["not_winning"]:
        shown = h["not_winning"][:MAX_LISTED]
        cells = "; ".join(f"{d} at {F.frac_label(f)}" + (f" ({arm})" if arm != "gpta" else "")
                          + f" ({100 * g:+.1f} points" + (f", p = {p:.2g})" if not math.isnan(p) else ")")
                          for d, f, g, p, arm in shown)
        lines.append(f"GPTA does not win (gain ≤ 0) in {len(h['not_winning'])} cells: {cells}"
                     + (" ..." if len(h["not_winning"]) > MAX_LISTED else "") + ".")
    else:
        lines.append("GPTA's mean gain is positive in every compared cell.")
    for arm, (w, n) in sorted(h["other_arms"].items()):
        lines.append(f"{arm} beats finetune in {w} of {n} cells.")
    return lines


def _save(fig_out: F.FigureOut, fig_dir: Path) -> dict[str, str]:
    png, pdf = fig_dir / f"{fig_out.name}.png", fig_dir / f"{fig_out.name}.pdf"
    fig_out.fig.savefig(png, dpi=300)
    fig_out.fig.savefig(pdf)
    return {"png": str(png), "pdf": str(pdf)}


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


SECTIONS = [
    ("accuracy", "1. Accuracy vs training data"),
    ("overfitting", "2. Overfitting"),
    ("dialogue", "3. Dialogue gradient"),
    ("cost", "4. Cost"),
    ("transfer", "5. Transfer"),
]


def build_report(results_dir: str | Path, out_dir: str | Path | None = None,
                 keep_figures: bool = False) -> dict[str, Any]:
    """Write figures/, tables.{md,tex}, index.{md,html} (and CSVs) under ``out_dir``.

    Returns the written paths and the summary numbers; with ``keep_figures`` also the FigureOut
    objects (their matplotlib Figures left open, for inspection), otherwise figures are closed.
    """
    results_dir = Path(results_dir)
    rs = load(results_dir)
    if rs.empty:
        raise UserError(f"results directory {results_dir}: no result JSON and no *.failed.json in it")
    out_dir = Path(out_dir) if out_dir else results_dir / "report"
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    if not rs.runs.empty:
        rs.runs = attach_baseline(rs.runs)
    runs, failed = rs.runs, rs.failed
    grid = grid_status(runs, failed)
    written: dict[str, Any] = {"figures": {}, "tables": {}}

    figs = make_figures(rs)
    for f in figs:
        if f.fig is not None:
            written["figures"][f.name] = _save(f, fig_dir)

    tables_main = results_tables(runs, failed) if not runs.empty else []
    extra = [comparison_table(runs), cost_table(runs)] if not runs.empty else []
    appendix = appendix_tables(runs, rs.raw) if not runs.empty else []
    all_tables: list[Table] = tables_main + extra + appendix
    written["tables"]["md"] = _write(out_dir / "tables.md", "\n".join(to_markdown(t) for t in all_tables)
                                     or "No finished runs.\n")
    written["tables"]["tex"] = _write(out_dir / "tables.tex", _latex_file(all_tables))
    if not runs.empty:
        runs.drop(columns=["settings_key"]).to_csv(out_dir / "runs.csv", index=False)
        written["tables"]["runs_csv"] = str(out_dir / "runs.csv")
    missing = grid[grid["status"] != "ok"]
    missing.to_csv(out_dir / "missing_cells.csv", index=False)
    written["tables"]["missing_csv"] = str(out_dir / "missing_cells.csv")

    h = headline(runs) if not runs.empty else headline(pd.DataFrame(columns=["dataset"]))  # type: ignore[arg-type]
    doc = _document(rs, figs, grid, h, tables_main, extra, appendix, out_dir)
    written["index_md"] = _write(out_dir / "index.md", doc.to_markdown())
    written["index_html"] = _write(out_dir / "index.html", doc.to_html())

    corr_fig = next((f for f in figs if f.name == "llm_accuracy_vs_gain"), None)
    summary = {
        "runs": len(runs), "failed": len(failed), "expected_cells": len(grid),
        "missing": int((grid["status"] == "missing").sum()) if len(grid) else 0,
        "gpta_vs_finetune": {k: v for k, v in h.items() if k not in ("not_winning", "other_arms", "gpta_arms")},
        "llm_accuracy_correlation": (vars(corr_fig.data["corr"]) if corr_fig and corr_fig.data else None),
        "skipped_figures": {f.name: f.skipped for f in figs if f.skipped},
        "llm_quality": llm_quality(runs),  # reports/llm_quality.py (issue 16)
    }
    result: dict[str, Any] = {"out_dir": str(out_dir), **written, "summary": summary_json(summary),
                              "missing_cells": missing.to_dict("records"), "failed_cells": failed.to_dict("records")}
    if keep_figures:
        result["figure_objects"] = figs
    else:
        for f in figs:
            if f.fig is not None:
                plt.close(f.fig)
    return result


def _latex_file(tables: list[Table]) -> str:
    head = ("% Tables written by `gpta report`. Needs \\usepackage{booktabs}.\n"
            "% Each table is a float; \\input{} this file or copy one table.\n\n")
    return head + "\n".join(to_latex(t) for t in tables) if tables else head + "% No finished runs.\n"


def _document(rs: ResultSet, figs, grid, h, tables_main, extra, appendix, out_dir: Path) -> Document:
    runs, failed = rs.runs, rs.failed
    doc = Document(f"GPTA report: {rs.results_dir.name}")
    n_ds = runs["dataset"].nunique() if not runs.empty else 0
    doc.text(f"Built by `gpta report` from {len(runs)} finished runs and {len(failed)} failed cells in "
             f"`{rs.results_dir}` ({n_ds} dataset{'' if n_ds == 1 else 's'}; methods: "
             f"{', '.join(sorted(runs['arm'].unique())) if not runs.empty else 'none'}). Every number below is "
             f"computed from those result files; per-run values are in [runs.csv](runs.csv), the tables in "
             f"[tables.md](tables.md) and [tables.tex](tables.tex) (LaTeX, booktabs).")
    doc.heading("Summary")
    doc.bullets(_headline_text(h))

    doc.heading("Coverage: missing and failed cells")
    n_missing = int((grid["status"] == "missing").sum()) if len(grid) else 0
    n_failed_grid = int((grid["status"] == "failed").sum()) if len(grid) else 0
    doc.text(f"Expected grid = every dataset x fraction x seed x method seen anywhere in these results (transfer "
             f"runs excluded: they exist only for chosen source/target pairs): {len(grid)} cells; "
             f"{int((grid['status'] == 'ok').sum()) if len(grid) else 0} finished, {n_failed_grid} failed, "
             f"{n_missing} missing. Missing cells are shown as missing (gaps, 'missing' in tables), never "
             f"interpolated. Full list: [missing_cells.csv](missing_cells.csv).")
    miss = grid[grid["status"] == "missing"]
    doc.bullets([f"missing: {r.dataset}, fraction {F.frac_label(r.fraction)}, seed {r.seed}, {r.method}"
                 for r in miss.head(MAX_LISTED).itertuples()]
                + ([f"... and {len(miss) - MAX_LISTED} more"] if len(miss) > MAX_LISTED else []))
    doc.bullets([f"failed: {r.dataset}, fraction {F.frac_label(r.fraction)}, seed {r.seed}, {r.method}: {r.error} "
                 f"(`{Path(r.path).name}`)" for r in failed.head(MAX_LISTED).itertuples()])
    if rs.skipped_files:
        doc.text(f"Not results, ignored: {', '.join(rs.skipped_files[:20])}"
                 + (" ..." if len(rs.skipped_files) > 20 else "") + ".")

    for section, heading in SECTIONS:
        doc.heading(heading)
        if section == "cost" and extra:
            doc.table(extra[1])
        for f in figs:
            if f.section != section:
                continue
            if f.fig is None:
                doc.text(f"Figure skipped, *{f.title}*: {f.skipped}.")
            else:
                doc.figure(f.caption, f"figures/{f.name}.png", f"figures/{f.name}.pdf", f.title)
    render_llm_quality(doc, runs)  # reports/llm_quality.py (issue 16)
    doc.heading("6. Tables")
    doc.text(f"Significance: {PAIRED_TEST_NAME} against {BASELINE}, pairing the runs of the same dataset, fraction and "
             f"seed; † marks p < 0.05. Best mean per column in bold. LaTeX versions: [tables.tex](tables.tex).")
    for t in tables_main + extra[:1]:
        doc.table(t)
    doc.heading("Appendix: configurations and versions")
    for t in appendix:
        doc.table(t)
    return doc
