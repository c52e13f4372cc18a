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
from reports.analysis import attach_baseline, comparisons, grid_status, plan_status
from reports.claims import scorecard, summary as claims_summary
from reports.protocol import FAMILY_CELLS, MIN_SEEDS
from reports.roles import BASELINE, UNDER_TEST, uses_llm
from reports.document import Document, summary_json
from reports.extract import enrich
from reports.llm_quality import llm_quality, render_llm_quality
from reports.load import ResultSet, load
from reports.stats import HOLM, PAIRED_TEST_NAME
from reports.tables import (Table, appendix_tables, comparison_table, controls_table, cost_table, dialogue_table,
                            overfitting_table, prefix_tables, results_tables, scorecard_table, to_latex, to_markdown)

LOW_FRACTION = 0.02  # "low resource" in the headline: at most 2% of the pool
MAX_LISTED = 60  # cells listed inline in the index; the full list is in missing_cells.csv


def make_figures(rs: ResultSet) -> list[F.FigureOut]:
    """Every figure the results allow, in index order (skipped ones carry their reason)."""
    runs = rs.runs
    out: list[F.FigureOut] = []
    datasets = sorted(runs["dataset"].unique()) if not runs.empty else []
    for ds in datasets:
        out.append(F.accuracy_vs_fraction(runs, ds, rs.raw))
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


def headline(comp: pd.DataFrame) -> dict[str, Any]:
    """GPTA vs finetune per (dataset, fraction) cell, read from the report's per-cell family (``comp``)."""
    if comp.empty:
        return {"cells": 0, "wins": 0, "positive_means": 0, "significant_wins": 0, "significant_losses": 0,
                "tested": 0, "family_tests": 0, "low_cells": 0, "gpta_arms": [], "low_wins": 0, "mean_gain": math.nan,
                "not_winning": [], "losses": [], "other_arms": {}}
    g = comp[comp["method"] == UNDER_TEST]
    low = g[g["fraction"] <= LOW_FRACTION]
    sig_win = g["significant"].astype(bool) & (g["mean_gain"] > 0)
    sig_loss = g["significant"].astype(bool) & (g["mean_gain"] < 0)
    other = comp[comp["method"] != UNDER_TEST]
    return {
        "cells": len(g), "wins": int(sig_win.sum()), "positive_means": int((g["mean_gain"] > 0).sum()),
        "significant_wins": int(sig_win.sum()), "significant_losses": int(sig_loss.sum()),
        "tested": int(g["p"].notna().sum()), "family_tests": int(comp["n_tests"].iloc[0]),
        "low_cells": len(low), "gpta_arms": sorted(g["arm"].unique()),
        "low_wins": int((sig_win[g["fraction"] <= LOW_FRACTION]).sum()) if len(g) else 0,
        "mean_gain": float(g["mean_gain"].mean()) if len(g) else math.nan,
        # cells without a significant difference either way; a significant loss is listed on its own
        "not_winning": [(r.dataset, r.fraction, r.mean_gain, r.p_adj, r.arm)
                        for r in g[~g["significant"].astype(bool)].itertuples()],
        "losses": [(r.dataset, r.fraction, r.mean_gain, r.p_adj, r.arm) for r in g[sig_loss].itertuples()],
        "other_arms": {arm: (int((c["significant"].astype(bool) & (c["mean_gain"] > 0)).sum()), len(c))
                       for arm, c in other.groupby("arm")},
    }


def _headline_text(h: dict[str, Any]) -> list[str]:
    if h["cells"] == 0:
        return ["No (dataset, fraction) cell has both GPTA and finetune runs with the same seeds, so no "
                "GPTA-vs-finetune comparison can be made from these results."]
    variants = (f" (each of the {len(h['gpta_arms'])} GPTA settings counted separately: "
                f"{', '.join(h['gpta_arms'])})" if len(h["gpta_arms"]) > 1 else "")
    lines = [
        f"GPTA beats finetune significantly in {h['wins']} of {h['cells']} (dataset, fraction) cells{variants}: a win "
        f"is a gain significant at p < 0.05 in the report's {FAMILY_CELLS} ({HOLM} over its {h['family_tests']} "
        f"tests; {PAIRED_TEST_NAME}); {h['cells'] - h['tested']} cell(s) have fewer than {MIN_SEEDS} seed pairs and "
        f"are not tested. GPTA is significantly worse in {h['significant_losses']}. Mean gain over all cells "
        f"{F.pct(h['mean_gain']).replace('-', '−')} points (the mean is positive in {h['positive_means']}); at "
        f"≤{LOW_FRACTION:.0%} of the pool, {h['low_wins']} significant win(s) of {h['low_cells']} cells. These are "
        "per-cell comparisons; the claims' verdicts are in the scorecard.",
    ]
    def listed(cells_: list) -> str:
        return "; ".join(f"{d} at {F.frac_label(f)}" + (f" ({F.display_name(arm)})" if arm != UNDER_TEST else "")
                         + f" ({100 * g:+.1f} points".replace("-", "−")
                         + (f", corrected p = {p:.2g})" if not math.isnan(p) else ", not tested)")
                         for d, f, g, p, arm in cells_[:MAX_LISTED]) + (" ..." if len(cells_) > MAX_LISTED else "")

    if h["losses"]:
        lines.append(f"Significantly worse in {len(h['losses'])} cell(s): {listed(h['losses'])}.")
    if h["not_winning"]:
        lines.append(f"No significant difference in {len(h['not_winning'])} cells: {listed(h['not_winning'])}.")
    for arm, (w, n) in sorted(h["other_arms"].items()):
        lines.append(f"{F.display_name(arm)} beats finetune significantly in {w} of {n} cells (same family).")
    return lines


def _save(fig_out: F.FigureOut, fig_dir: Path) -> dict[str, str]:
    png, pdf = fig_dir / f"{fig_out.name}.png", fig_dir / f"{fig_out.name}.pdf"
    # Fonts are chosen at save time: TrueType (Type 42) embedding, never Type 3, which venues reject.
    # bbox_inches="tight": the saved page grows to whatever is drawn (a long legend entry, a tick label),
    # so nothing is cut off at the figure's edge; it is computed from the drawing, so the bytes stay the same
    # from build to build. The pad keeps ink off the page's edge.
    tight = {"bbox_inches": "tight", "pad_inches": 0.03}
    with plt.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}):
        fig_out.fig.savefig(png, dpi=300, **tight)
        fig_out.fig.savefig(pdf, metadata={"CreationDate": None}, **tight)  # no timestamp: same figure, same bytes
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
        rs.runs = enrich(attach_baseline(rs.runs), rs.raw)
    runs, failed = rs.runs, rs.failed
    # coverage: against the sweeps' plan when the folder has one, else the full crossing
    grid, outside = plan_status(runs, failed, rs.plan) if rs.plan is not None else (grid_status(runs, failed), None)
    written: dict[str, Any] = {"figures": {}, "tables": {}}

    figs = make_figures(rs)
    for f in figs:
        if f.fig is not None:
            written["figures"][f.name] = _save(f, fig_dir)

    comp = comparisons(runs) if not runs.empty else pd.DataFrame()  # the one per-cell family of this report
    card = scorecard(runs, rs.raw, comp) if not runs.empty else None
    t_card = [scorecard_table(card)] if card else []
    for t in t_card:  # the suite's stage notes travel with the scorecard into scorecard.md/.tex
        t.notes = t.notes + stage_note_lines(rs.stage_notes)
    tables_main = results_tables(runs, failed, comp, rs.raw) if not runs.empty else []
    extra = [comparison_table(comp, runs), cost_table(runs)] if not runs.empty else []
    ctrl = [t for t in [controls_table(runs)] if t is not None] if not runs.empty else []
    tables_main = tables_main + ctrl  # the accuracy section: after the per-cell tables
    over = [t for t in [overfitting_table(runs)] if t is not None] if not runs.empty else []
    dialog = ([t for t in [dialogue_table(runs)] if t is not None] + prefix_tables(runs, rs.raw)) if not runs.empty else []
    appendix = appendix_tables(runs, rs.raw) if not runs.empty else []
    all_tables: list[Table] = t_card + tables_main + extra + over + dialog + appendix
    written["tables"]["md"] = _write(out_dir / "tables.md", "\n".join(to_markdown(t) for t in all_tables)
                                     or "No finished runs.\n")
    # The scorecard has its own file (scorecard.tex): tables.tex leaves it out, so \label{tab:scorecard}
    # exists once when a paper inputs both.
    written["tables"]["tex"] = _write(out_dir / "tables.tex", _latex_file(all_tables[len(t_card):]))
    if card:
        written["tables"]["scorecard_md"] = _write(out_dir / "scorecard.md", to_markdown(t_card[0]))
        written["tables"]["scorecard_tex"] = _write(out_dir / "scorecard.tex", _latex_file(t_card))
    if not runs.empty:
        csv = runs.drop(columns=["settings_key"]).copy()
        csv["path"] = [_relative(p_, results_dir) for p_ in csv["path"]]
        csv.to_csv(out_dir / "runs.csv", index=False)
        written["tables"]["runs_csv"] = str(out_dir / "runs.csv")
    missing = grid[grid["status"] != "ok"]
    missing.to_csv(out_dir / "missing_cells.csv", index=False)
    written["tables"]["missing_csv"] = str(out_dir / "missing_cells.csv")

    h = headline(comp)
    doc = _document(rs, figs, grid, outside, h, card, t_card, tables_main, extra, over, dialog, appendix)
    written["index_md"] = _write(out_dir / "index.md", doc.to_markdown())
    written["index_html"] = _write(out_dir / "index.html", doc.to_html())

    corr_fig = next((f for f in figs if f.name == "llm_accuracy_vs_gain"), None)
    summary = {
        "runs": len(runs), "failed": len(failed), "expected_cells": len(grid),
        "missing": int((grid["status"] == "missing").sum()) if len(grid) else 0,
        # what expected_cells counts: "plan" (the sweeps' planned cells, sweep_plan.jsonl) or
        # "crossing" (every dataset x fraction x seed x method seen, planned or not)
        "coverage_basis": "crossing" if outside is None else "plan",
        "stage_notes": stage_note_lines(rs.stage_notes),
        "outside_plan": outside,
        "smoke_run": card.smoke if card else None,
        "claims": claims_summary(card) if card else [],
        "gpta_vs_finetune": {k: v for k, v in h.items() if k not in ("not_winning", "losses", "other_arms", "gpta_arms")},
        "llm_accuracy_correlation": (vars(corr_fig.data["corr"]) if corr_fig and corr_fig.data else None),
        "skipped_figures": {f.name: f.skipped for f in figs if f.skipped},
        "llm_quality": llm_quality(runs),  # reports/llm_quality.py (issue 16)
    }
    result: dict[str, Any] = {"out_dir": str(out_dir), **written, "summary": summary_json(summary),
                              "missing_cells": missing.to_dict("records"), "failed_cells": failed.to_dict("records")}
    if keep_figures:
        result["figure_objects"] = figs
        result["scorecard"] = card
    else:
        for f in figs:
            if f.fig is not None:
                plt.close(f.fig)
    return result


def _relative(path: Any, results_dir: Path) -> Any:
    """A result file's path relative to the results folder: no machine paths in what the report writes."""
    if not isinstance(path, str) or not path:
        return path
    try:
        return str(Path(path).resolve().relative_to(results_dir.resolve()))
    except ValueError:
        return Path(path).name


def _latex_file(tables: list[Table]) -> str:
    head = ("% Tables written by `gpta report`. Needs \\usepackage{booktabs,tabularx}.\n"
            "% Each table is a float; \\input{} this file or copy one table.\n\n")
    return head + "\n".join(to_latex(t) for t in tables) if tables else head + "% No finished runs.\n"


def stage_note_lines(notes: list[dict[str, Any]]) -> list[str]:
    """A suite's notes on its stages (``note:`` in the suite file, carried by sweep_plan.jsonl):
    what a reader of the verdicts must know that the results cannot say, e.g. seeds added after a look."""
    return [f"Note on stage {n['stage']} (suite {n['suite']}, from its suite file): {n['note']}" for n in notes]


def _document(rs: ResultSet, figs, grid, outside, h, card, t_card, tables_main, extra, over, dialog, appendix) -> Document:
    runs, failed = rs.runs, rs.failed
    doc = Document(f"GPTA report: {rs.results_dir.name}")
    n_ds = runs["dataset"].nunique() if not runs.empty else 0
    doc.text(f"Built by `gpta report` from {len(runs)} finished runs and {len(failed)} failed cells in the results "
             f"folder `{rs.results_dir.name}` ({n_ds} dataset{'' if n_ds == 1 else 's'}; methods: "
             f"{', '.join(F.display_name(a) for a in sorted(runs['arm'].unique())) if not runs.empty else 'none'}). "
             f"Every number below is computed from those result files; per-run values are in [runs.csv](runs.csv) "
             f"(paths relative to the results folder), the tables in [tables.md](tables.md) and "
             f"[tables.tex](tables.tex) (LaTeX, booktabs).")
    if card:
        doc.heading("Claims scorecard")
        doc.bullets(card.context)  # the stage notes: under the scorecard table
        doc.table(t_card[0])
        doc.text("The same table: [scorecard.md](scorecard.md), [scorecard.tex](scorecard.tex) (LaTeX).")
    doc.heading("Summary")
    doc.bullets(_headline_text(h))

    doc.heading("Coverage: missing and failed cells")
    n_missing = int((grid["status"] == "missing").sum()) if len(grid) else 0
    n_failed_grid = int((grid["status"] == "failed").sum()) if len(grid) else 0
    n_ok = int((grid["status"] == "ok").sum()) if len(grid) else 0
    if outside is None:
        doc.text(f"No sweep plan in this folder (`sweep_plan.jsonl`, written by `gpta sweep`), so the expected "
                 f"grid here is every dataset x fraction x seed x method seen anywhere in these results (transfer "
                 f"runs excluded: they exist only for chosen source/target pairs): {len(grid)} cells; {n_ok} "
                 f"finished, {n_failed_grid} failed, {n_missing} missing. This grid is a full crossing, not a "
                 f"suite's plan: a suite that gives a dataset its own fractions, a stage its own seeds, or a method "
                 f"one cell per dataset never plans some of these cells, and they count as missing here; `gpta "
                 f"sweep SUITE --dry-run --out DIR` says what the suite itself has left to run.")
    else:
        suites = sorted({r["suite"] for r in rs.plan})
        stages = list(dict.fromkeys(grid["stage"]))
        doc.text(f"Planned grid = the cells the sweeps into this folder planned (`sweep_plan.jsonl`: suite"
                 f"{'s' if len(suites) > 1 else ''} {', '.join(suites)}; stages {', '.join(stages)}; a cell two "
                 f"stages plan counts once; transfer cells are not planned ahead): {len(grid)} cells; {n_ok} "
                 f"finished, {n_failed_grid} failed, {n_missing} missing."
                 + (f" {outside} finished run{'s are' if outside != 1 else ' is'} outside the plan (run by hand or "
                    f"under another configuration): shown in the tables, not counted here." if outside else ""))
    doc.text("Missing cells are shown as missing (gaps, 'missing' in tables), never interpolated. Full list: "
             "[missing_cells.csv](missing_cells.csv).")
    miss = grid[grid["status"] == "missing"]

    def llm_of(r: Any) -> str:  # the planned cell's LLM, for the methods that call one
        return f" [llm={r.llm}]" if outside is not None and uses_llm(r.method) else ""

    doc.bullets([f"missing: {r.dataset}, fraction {F.frac_label(r.fraction)}, seed {r.seed}, {r.method}{llm_of(r)}"
                 for r in miss.head(MAX_LISTED).itertuples()]
                + ([f"... and {len(miss) - MAX_LISTED} more"] if len(miss) > MAX_LISTED else []))
    doc.bullets([f"failed: {r.dataset}, fraction {F.frac_label(r.fraction)}, seed {r.seed}, {r.method}: {r.error} "
                 f"(`{Path(r.path).name}`)" for r in failed.head(MAX_LISTED).itertuples()])
    if rs.skipped_files:
        doc.text(f"Not results, ignored: {', '.join(rs.skipped_files[:20])}"
                 + (" ..." if len(rs.skipped_files) > 20 else "") + ".")

    for section, heading in SECTIONS:
        doc.heading(heading)
        if section == "accuracy":
            for t in tables_main:
                doc.table(t)
        if section == "overfitting":
            for t in over:
                doc.table(t)
        if section == "dialogue":
            for t in dialog:
                doc.table(t)
        if section == "cost" and extra:
            doc.table(extra[1])
        for f in figs:
            if f.section != section:
                continue
            if f.fig is None:
                doc.text(f"Figure skipped ({f.title}): {f.skipped}.")
            else:
                doc.figure(f.caption, f"figures/{f.name}.png", f"figures/{f.name}.pdf", f.title)
        if section == "dialogue":  # issue 14: the same-weights A/B record (reports/dialogue.py)
            from reports import dialogue

            dialogue.render(doc, rs.raw, runs)
    render_llm_quality(doc, runs)  # reports/llm_quality.py (issue 16)
    doc.heading("6. Tables")
    doc.text(f"Significance: {PAIRED_TEST_NAME} against {BASELINE}, pairing the runs of the same dataset, fraction and "
             f"seed, {HOLM}-corrected once over the report's {FAMILY_CELLS}: every table shows the same corrected p "
             f"for the same comparison; † marks a corrected p < 0.05. Intervals are 95% everywhere, and none is shown "
             f"from fewer than {MIN_SEEDS} seeds. LaTeX versions: [tables.tex](tables.tex).")
    for t in extra[:1]:
        doc.table(t)
    doc.heading("Appendix: configurations and versions")
    for t in appendix:
        doc.table(t)
    return doc
