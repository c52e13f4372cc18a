"""The report's dialogue-gradient numbers (issue 14), from each GPTA result's same-weights A/B record.

Per dataset and GPTA setting (candidates per round, adoption rule): proposals per round, the shares
that were new and echoes (by the loop's one rule, ``gpta.prefix.find_echo``), the share adopted, "LLM
accuracy" (share of new proposals whose same-weights gain over the incumbent passed the paired test,
beside the old count of any positive gain), adoptions the test refused, the mean same-weights dev gain
of adopted proposals with a 95% t-interval (unit: one adopted proposal), LLM accuracy's rank
correlation with GPTA's test gain over finetune (per dataset, unit: one run), and the prefixes
themselves. Keys read are documented in ``gpta/gpta_loop.py`` (``DIALOGUE_KEYS`` and the
``prefix_history`` comment); records from before issue 23 have no echo/test fields and are labelled
so (their "new" may hold echoes and their wins noise).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reports.roles import UNDER_TEST
from reports.stats import summarize
from reports.tables import Cell, Table

MAX_PREFIX_RUNS = 6  # runs whose prefixes are listed per dataset and setting


def _setting(result: dict[str, Any]) -> str:
    d = result.get("dialogue") or {}
    line = d.get("reply_line", "first")  # results from before gpta.reply_line read line 1 only
    old = "" if "echo_rule" in d else ", before the echo rule and adoption test"  # issue 23
    return (f"K={d.get('candidates', 1)}, adopt={d.get('adopt', 'always')}" + ("" if line == "first-new" else f", line={line}")
            + old)


def _echoes(d: dict[str, Any]) -> int:
    """Echoes in a run's record (before issue 23, a "duplicate" was an echo of this round's candidate)."""
    return d.get("echo", 0) + d.get("duplicate", 0)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def dialogue_rows(raw: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, GPTA setting, LLM) over the GPTA results that carry a ``dialogue`` record
    (two LLMs' proposals are not one rate)."""
    from reports.extract import llm_name

    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in raw.values():
        if r.get("method") != UNDER_TEST or not r.get("dialogue"):
            continue
        ds = (r.get("dataset") or {}).get("name", "?")
        llm = llm_name(r, missing="not recorded")
        groups.setdefault((ds, r.get("metric", "accuracy"), _setting(r), llm), []).append(r)
    rows = []
    for (ds, metric, setting, llm), rs in sorted(groups.items()):
        ds_ = [r["dialogue"] for r in rs]
        proposals, new = sum(d["proposals"] for d in ds_), sum(d["new"] for d in ds_)
        echo = sum(_echoes(d) for d in ds_)
        adopted, beat = sum(d["adopted"] for d in ds_), sum(d["beat_incumbent"] for d in ds_)
        beat_raw = sum(d.get("beat_incumbent_raw", d["beat_incumbent"]) for d in ds_)
        refused = sum(d.get("refused_by_test", 0) for d in ds_)
        rounds = sum(d["rounds_with_proposals"] for d in ds_)
        gains = summarize([g for d in ds_ for g in d["adopted_gains"]])
        rows.append({
            "dataset": ds, "metric": metric, "setting": setting, "llm": llm, "runs": len(rs), "rounds": rounds,
            "proposals_per_round": proposals / rounds if rounds else math.nan,
            "share_new": new / proposals if proposals else math.nan,
            "share_echo": echo / proposals if proposals else math.nan,
            "share_adopted": adopted / proposals if proposals else math.nan,
            "llm_accuracy": beat / new if new else math.nan, "new": new, "echo": echo, "beat": beat,
            "beat_raw": beat_raw, "refused": refused, "adopted": adopted, "gain": gains, "results": rs,
        })
    return rows


def dialogue_table(rows: list[dict[str, Any]]) -> Table:
    def g(s) -> str:
        if s.n == 0:
            return "no adoption"
        if s.n == 1 or math.isnan(s.ci_low):  # reports.stats gives no interval below n = 3
            return f"{100 * s.mean:+.1f} (n = {s.n})"
        return f"{100 * s.mean:+.1f} [{100 * s.ci_low:+.1f}, {100 * s.ci_high:+.1f}] (n = {s.n})"

    body = [[Cell(r["dataset"]), Cell(r["setting"]), Cell(r["llm"]), Cell(str(r["runs"])), Cell(f"{r['proposals_per_round']:.1f}"),
             Cell(_pct(r["share_new"])), Cell(_pct(r["share_echo"])), Cell(_pct(r["share_adopted"])),
             Cell(f"{_pct(r['llm_accuracy'])} ({r['beat']}/{r['new']})"), Cell(f"{r['beat_raw']}, {r['refused']}"),
             Cell(g(r["gain"]))] for r in rows]
    return Table(
        "Dialogue gradient: proposals scored on the same weights as the incumbent",
        ["dataset", "GPTA setting", "LLM", "runs", "proposals / round", "new", "echo", "adopted", "LLM accuracy",
         "raw wins, refused", "gain of adopted (dev points)"], body,
        notes=["new / echo: shares of proposals judged by one rule (gpta.prefix.find_echo): an echo repeats, nearly "
               "repeats (the same content words) or is a verbatim piece of an earlier prefix, an earlier proposal or "
               "a line of our own request; fragments and otherwise unusable replies are neither. adopted: share of "
               "proposals that became the next prefix. LLM accuracy: share of new proposals that beat the incumbent "
               "on the same weights by a gain that passed the paired test (exact one-sided sign test on the dev items "
               "whose correctness differs, p < 0.05), n/a when nothing new was proposed. raw wins: new proposals with "
               "any positive gain (the rule before the test); refused: adoptions that rule would have made under "
               "adopt=if-better that the test refused. gain of adopted: adopted proposal's dev metric minus the "
               "incumbent's on the same weights, mean and 95% t-interval over adopted proposals (unit: one adopted "
               "proposal)."],
        label="tab:dialogue",
    )


def correlation_lines(runs: pd.DataFrame) -> list[str]:
    """LLM accuracy vs test gain over finetune, per dataset (never pooled across metrics)."""
    if runs.empty or "gain" not in runs or "llm_accuracy" not in runs:
        return []
    d = runs[(runs["method"] == UNDER_TEST) & runs["llm_accuracy"].notna() & runs["gain"].notna()]
    out = []
    for ds, g in d.groupby("dataset"):
        n = len(g)
        if n < 3 or np.ptp(g["llm_accuracy"]) == 0 or np.ptp(g["gain"]) == 0:
            out.append(f"{ds}: LLM accuracy vs test gain over finetune: too few or constant values to correlate "
                       f"(n = {n} GPTA runs with a new proposal and a paired finetune run; unit = one run).")
            continue
        rho = stats.spearmanr(g["llm_accuracy"], g["gain"]).statistic
        out.append(f"{ds}: LLM accuracy vs test gain over finetune: Spearman ρ = {rho:+.2f} (n = {n} GPTA runs; "
                   f"unit = one run, paired with finetune at the same fraction and seed).")
    return out


def prefix_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        for res in sorted(r["results"], key=lambda x: (x["config"]["fraction"], x["config"]["seed"]))[:MAX_PREFIX_RUNS]:
            c = res["config"]
            steps = []
            for h in res.get("prefix_history") or []:
                props = h.get("proposals") or []
                new = sum(p["status"] == "new" for p in props)
                echo = sum(p["status"] in ("echo", "duplicate") for p in props)
                tail = f" → {len(props)} proposals, {new} new, {echo} echo" if props else ""
                steps.append(f"round {h['round']} [{h.get('revision', h.get('source'))}] “{h['prefix']}”{tail}")
            out.append(f"{r['dataset']} {r['setting']} fraction {c['fraction']:g} seed {c['seed']}: " + "; ".join(steps))
        if len(r["results"]) > MAX_PREFIX_RUNS:
            out.append(f"... {len(r['results']) - MAX_PREFIX_RUNS} more runs of {r['dataset']} {r['setting']} "
                       f"(all prefixes are in the result files, prefix_history)")
    return out


def render(doc: Any, raw: dict[str, dict[str, Any]], runs: pd.DataFrame) -> Table | None:
    """Add the dialogue numbers to the report's dialogue section; returns the table (None: no record)."""
    rows = dialogue_rows(raw)
    if not rows:
        doc.text("No GPTA result carries a same-weights A/B record (results from before issue 14).")
        return None
    table = dialogue_table(rows)
    doc.table(table)
    doc.bullets(correlation_lines(runs))
    doc.text("Prefixes per run (revision: first, changed, echo, kept or fallback; proposals made at the end of "
             "the round, with how many were new and how many echoes):")
    doc.bullets(prefix_lines(rows))
    return table
