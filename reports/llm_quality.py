"""Report section "LLM quality vs gain": does a better LLM give GPTA a larger gain?

The paper claims the LLM's quality drives GPTA's gain. Per (LLM, dataset) point:
- x = the LLM's zero-shot score on the dataset (``llm-zero-shot`` runs with that LLM: the LLM
  labels test inputs itself), a measure of how good the LLM is at the task;
- y = GPTA's gain over the prefix-layout control: GPTA's test score minus the control's on the
  same dataset, fraction, seed and data seed, averaged over the pairs. The control has GPTA's
  ``[CLS] prefix [SEP] text [SEP]`` layout and no LLM: ``manual-prefix`` (a hand-written prefix),
  else ``empty-prefix`` (the same layout with an empty prefix: the controls table's layout
  control), else ``random-prefix``. Each is the same for every LLM, so within a dataset the LLMs'
  y differ by the same amounts whichever is used; across datasets it shifts y by the control's own
  effect (``CONTROL_TEXT`` says what y then measures).
A point whose GPTA runs trained with our stand-in template (reports/extract.py ``stand_in``) says
nothing about that LLM's quality: the table marks it.
Then the correlation across points and n, described, never a verdict (claim 5 of the scorecard is
the tested analysis). With fewer than 3 points, or
no spread in x or y, no correlation is computed and the section says so (it still renders).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from reports.extract import STAND_IN_MARK, stand_in_count, stand_in_mark
from reports.roles import UNDER_TEST
from reports.stats import correlate
from reports.tables import Cell, Table, minus, with_stand_in_note

ZERO_SHOT = "llm-zero-shot"
GPTA = UNDER_TEST
CONTROLS = ("manual-prefix", "empty-prefix", "random-prefix")  # the prefix-layout controls, preferred first
CONTROL_TEXT = {  # what the control is, and so what y measures
    "manual-prefix": "same layout, a hand-written prefix: y is the LLM's prefix and revisions against a human's",
    "empty-prefix": "same layout with an empty prefix, the controls table's layout control: y is what the LLM's "
                    "prefix and its revisions add to the layout",
    "random-prefix": "same layout, random tokens as many as GPTA's selected prefix: y is the LLM's words against "
                     "random ones of that length",
}
PAIR = ["dataset", "fraction", "seed", "data_seed"]
HEADING = "LLM quality vs gain"


def _control(runs: pd.DataFrame) -> str | None:
    return next((c for c in CONTROLS if (runs["method"] == c).any()), None)


def llm_quality(runs: pd.DataFrame) -> dict[str, Any]:
    """Points, correlation and its reading (also the report summary's ``llm_quality``)."""
    if runs.empty or "llm" not in runs:
        return {"llms": [], "points": [], "n": 0, "control": None, "not_points": [], "correlation": None,
                "correlation_text": "not computable (no finished runs)", "same_results": [],
                "reading": "Not measured: no finished runs."}
    control = _control(runs)
    llms = sorted({str(x) for x in runs.loc[runs["method"].isin([GPTA, ZERO_SHOT]), "llm"].dropna()})
    ctrl = runs[runs["method"] == control] if control else runs.iloc[0:0]
    ctrl_by_key = {k: float(g["test"].mean()) for k, g in ctrl.groupby(PAIR, dropna=False)}
    points, missing = [], []
    for llm in llms:
        for dataset in sorted(runs.loc[runs["llm"] == llm, "dataset"].unique()):
            zs = runs[(runs["method"] == ZERO_SHOT) & (runs["llm"] == llm) & (runs["dataset"] == dataset)]
            g = runs[(runs["method"] == GPTA) & (runs["llm"] == llm) & (runs["dataset"] == dataset)]
            gains = [r.test - ctrl_by_key[k] for r in g.itertuples()
                     if (k := tuple(getattr(r, c) for c in PAIR)) in ctrl_by_key and not math.isnan(r.test)]
            if zs.empty or not gains:
                why = [w for w, miss in ((f"no {ZERO_SHOT} run", zs.empty),
                                         (f"no {GPTA} run paired with a {control or 'prefix-layout control'} run",
                                          not gains)) if miss]
                missing.append(f"{llm} on {dataset}: {' and '.join(why)}")
                continue
            k, n = stand_in_count(g)
            points.append({"llm": llm, "dataset": dataset, "metric": str(g["metric"].iloc[0]),
                           "zero_shot": float(zs["test"].mean()), "zero_shot_runs": len(zs),
                           "gain": float(np.mean(gains)), "pairs": len(gains), "stand_in_runs": k, "gpta_runs": n,
                           "llm_label": _label(g, llm)})
    corr = correlate([p["zero_shot"] for p in points], [p["gain"] for p in points])
    computable = not math.isnan(corr.pearson)
    return {"llms": llms, "control": control, "points": points, "n": len(points), "not_points": missing,
            "correlation": vars(corr) if computable else None, "correlation_text": corr.text(),
            "same_results": _same(points), "reading": _reading(corr, points)}


def _label(g: pd.DataFrame, llm: str) -> str:
    """The LLM as the runs identify it (reports/extract.py ``llm_label``: backend and model), else as configured."""
    labels = g["llm_label"].dropna() if "llm_label" in g else pd.Series(dtype=object)
    return str(labels.mode().iloc[0]) if len(labels) else llm


def _same(points: list[dict[str, Any]]) -> list[list[str]]:
    """Groups of LLMs whose every point is identical (e.g. one model in-process and behind a server)."""
    by_llm: dict[str, tuple] = {}
    for llm in sorted({p["llm"] for p in points}):
        by_llm[llm] = tuple(sorted((p["dataset"], p["zero_shot"], p["gain"]) for p in points if p["llm"] == llm))
    groups: dict[tuple, list[str]] = {}
    for llm, key in by_llm.items():
        groups.setdefault(key, []).append(llm)
    return [g for g in groups.values() if len(g) > 1]


def _reading(corr, points: list[dict[str, Any]]) -> str:
    """What the section says: exploratory, no test and no verdict word. The points pool datasets
    and LLMs (a dataset's difficulty moves both axes), and the one tested analysis of this claim is
    claim 5 in the scorecard, inside the claims' Holm family."""
    n_llms = len({p["llm"] for p in points})
    scope = ("Exploratory, no test: points pool datasets and LLMs, so a dataset's difficulty moves both axes; the "
             "tested analysis is claim 5 of the scorecard.")
    marked = sum(p.get("stand_in_runs", 0) > 0 for p in points)
    scope += (f" {marked} of the {len(points)} points {'rests' if marked == 1 else 'rest'} on GPTA runs that trained "
              f"with our stand-in template (all of them or k of n: {STAND_IN_MARK} in the table): in those runs y "
              "measures our template, not the LLM's text." if marked else "")
    if math.isnan(corr.pearson):
        return (f"Not measured: a correlation needs at least 3 (LLM, dataset) points with differing zero-shot "
                f"scores and gains; these results give {len(points)} point{'' if len(points) == 1 else 's'} from "
                f"{n_llms} LLM{'' if n_llms == 1 else 's'}. Add LLMs of different quality to the suite's `llms`. "
                + scope)
    return (f"Pearson r = {corr.pearson:.2f} over {corr.n} (LLM, dataset) points from {n_llms} "
            f"LLM{'' if n_llms == 1 else 's'}. " + scope)


def control_text(control: str | None) -> str:
    """The sentence part naming the control and what y then measures."""
    if control is None:
        return f"none found: no {', '.join(CONTROLS)} run"
    return f"{control}: {CONTROL_TEXT.get(control, 'same layout, prefix written without an LLM')}"


def render_llm_quality(doc, runs: pd.DataFrame) -> dict[str, Any]:
    """Append the section to a ``reports.document.Document``; returns the numbers it shows."""
    q = llm_quality(runs)
    doc.heading(HEADING)
    n = len(q["llms"])
    doc.text(f"The paper's claim: a better LLM gives a larger gain. Per (LLM, dataset): x = the LLM's zero-shot "
             f"test score ({ZERO_SHOT}: the LLM labels the test inputs itself), y = GPTA's test score with that LLM "
             f"minus the prefix-layout control's ({control_text(q['control'])}) on the same dataset, fraction and "
             f"seed, averaged over seeds. LLMs in these results: {n}" + (f" ({', '.join(q['llms'])})" if n else "")
             + ".")
    if q["points"]:
        rows = [[Cell(p["llm_label"]), Cell(p["dataset"]), Cell(f"{p['zero_shot']:.3f}"),
                 Cell(str(p["zero_shot_runs"])),
                 Cell(minus(f"{100 * p['gain']:+.1f}") + stand_in_mark(p["stand_in_runs"], p["gpta_runs"])),
                 Cell(str(p["pairs"]))] for p in q["points"]]
        doc.table(with_stand_in_note(Table(
            "LLM quality vs GPTA's gain, one row per (LLM, dataset)",
            ["LLM", "dataset", "zero-shot score", "zero-shot runs", "GPTA gain (points)", "pairs"],
            rows, notes=[f"gain = GPTA test minus {q['control']} test, same dataset, fraction and seed"],
            label="tab:llm-quality")))
    doc.bullets([f"no point for {m}" for m in q["not_points"]])
    for group in q["same_results"]:
        doc.text(f"{' and '.join(group)} gave identical scores and gains on every dataset (the same model "
                 f"reached two ways?).")
    doc.text(f"Correlation across the {q['n']} points (uncorrected, outside the claims' family): "
             f"{q['correlation_text']}.")
    doc.text(q["reading"])
    return q
