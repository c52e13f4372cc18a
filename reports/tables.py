"""Tables in Markdown and LaTeX (booktabs) from one list-of-rows model, so both say the same.

A ``Table`` is a header, rows of cells and notes; each cell is text plus a ``bold`` flag. The
renderers escape what their format needs (LaTeX specials, Markdown pipes).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports.analysis import arm_order, cell_summaries
from reports.claims import p_text
from reports.extract import STAND_IN_MARK, stand_in_suffix
from reports.figures import display_name, frac_label, metric_name
from reports.protocol import FAMILY_CELLS, MIN_SEEDS, PREDICTIONS
from reports.roles import BASELINE, reference_methods
from reports.stats import HOLM, PAIRED_TEST_NAME, summarize, wilson

SIG_MARK = "†"  # corrected p < 0.05 in the paired test against finetune
LATEX_SIG_MARK = r"$^\dagger$"
WIDE_COLUMNS = 6  # a table with more columns is set across both columns (table*)
INTERVAL = "mean [95% CI]"  # the one uncertainty convention of every table
UNADJUSTED = "not adjusted for multiplicity"  # a per-comparison interval beside a corrected p


@dataclass
class Cell:
    text: str
    bold: bool = False
    sig: bool = False


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    label: str = ""
    align: str = ""  # LaTeX column spec, default l + r...
    wide: bool | None = None  # table* in LaTeX; None = decide by column count
    details_columns: tuple[str, ...] = ()  # headers whose cells the HTML page shows per row below the table


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                   "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "→": r"$\rightarrow$",
                   "≤": r"$\leq$", "ρ": r"$\rho$",
                   "−": r"$-$", "≥": r"$\geq$", "×": r"$\times$", "<": r"$<$", ">": r"$>$", "–": "--",
                   "←": r"$\leftarrow$", "…": r"\ldots{}", "“": "``", "”": "''", "‘": "`", "’": "'"}
_QUOTED = re.compile(r'"([^"\n]*)"')
_P_LT = re.compile(r"\b(p|p_adj|corrected p)\s*<\s*([0-9.]+)")


def latex_escape(text: str) -> str:
    """Escape LaTeX specials; "p < 0.05" becomes math ($p<0.05$), a real minus sign becomes $-$."""
    text = _QUOTED.sub(lambda m: "“" + m.group(1) + "”", str(text))  # TeX quotes, not straight ones
    out, last = [], 0
    for m in _P_LT.finditer(text):
        out.append("".join(_LATEX_SPECIALS.get(ch, ch) for ch in text[last:m.start()]))
        out.append(f"${m.group(1).replace('_', chr(92) + '_')}<{m.group(2)}$" if m.group(1) != "corrected p"
                   else f"corrected $p<{m.group(2)}$")
        last = m.end()
    out.append("".join(_LATEX_SPECIALS.get(ch, ch) for ch in text[last:]))
    return "".join(out)


def minus(s: str) -> str:
    """A real minus sign (U+2212) for negative numbers in text, not a hyphen."""
    return re.sub(r"(?<![\w.])-(?=\d)", "−", s)


def _md_escape(text: str) -> str:
    """Data text in a Markdown cell: no markup may leak (pipes, emphasis, links, HTML)."""
    s = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in "|*_`[]#":
        s = s.replace(ch, "\\" + ch)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(t: Table) -> str:
    lines = [f"**{_md_escape(t.title)}**", ""]  # the title is bold; its text escaped
    lines.append("| " + " | ".join(_md_escape(h) for h in t.header) + " |")
    spec = re.sub(r"\{[^}]*\}", "", t.align) or "l" + "r" * (len(t.header) - 1)
    lines.append("|" + "|".join(":---" if a in "lpX" else "---:" for a in spec) + "|")
    for row in t.rows:
        cells = []
        for c in row:
            s = _md_escape(c.text) + (SIG_MARK if c.sig else "")
            cells.append(f"**{s}**" if c.bold and s.strip() else s)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"{_md_escape(n)}" for n in t.notes]
    return "\n".join(lines).rstrip() + "\n"


def to_latex(t: Table) -> str:
    spec = t.align or "l" + "r" * (len(t.header) - 1)
    wide = t.wide if t.wide is not None else len(t.header) > WIDE_COLUMNS or "p{" in spec or "X" in spec
    env = "table*" if wide else "table"
    out = [rf"\begin{{{env}}}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(t.title)}}}"]
    if t.label:
        out.append(rf"\label{{{re.sub(r'[^A-Za-z0-9:-]+', '-', t.label)}}}")
    x_cols = "X" in spec  # tabularx: the table takes exactly the text width, X columns wrap
    if x_cols:
        out[2] = r"\footnotesize"
        spec = spec.replace("X", r">{\raggedright\arraybackslash}X")
    begin = rf"\begin{{tabularx}}{{\textwidth}}{{{spec}}}" if x_cols else rf"\begin{{tabular}}{{{spec}}}"
    out += [begin, r"\toprule",
            " & ".join(rf"\textbf{{{latex_escape(h)}}}" for h in t.header) + r" \\", r"\midrule"]
    for row in t.rows:
        cells = []
        for c in row:
            s = latex_escape(c.text)
            s = rf"\textbf{{{s}}}" if c.bold and s.strip() else s
            cells.append(s + (LATEX_SIG_MARK if c.sig else ""))
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabularx}" if x_cols else r"\end{tabular}"]
    if t.notes:
        out.append(r"\par\smallskip\footnotesize " + " ".join(latex_escape(n) for n in t.notes))
    out.append(rf"\end{{{env}}}")
    return "\n".join(out) + "\n"


# ---- runs tested with our stand-in template (reports/extract.py ``stand_in``) -------------------------

def stand_in_note(t: Table) -> str:
    """The note for a table whose cells carry the stand-in mark; empty when none does."""
    texts = [c.text for row in t.rows for c in row if STAND_IN_MARK in c.text]
    if not texts:
        return ""
    some = any(f"{STAND_IN_MARK} (" in x for x in texts)
    return (f"{STAND_IN_MARK}: every run of this cell trained and was tested with our stand-in template, because every "
            "reply of the LLM it is labelled with was unusable: the number measures our template, not that LLM's text"
            + (f"; {STAND_IN_MARK} (k of n): k of the cell's n runs did." if some else "."))


def with_stand_in_note(t: Table) -> Table:
    """``t`` with the stand-in note added when any of its cells carries the mark."""
    note = stand_in_note(t)
    if note:
        t.notes.append(note)
    return t


def _fmt(mean: float, lo: float, hi: float, n: int) -> str:
    """The one convention: mean [95% CI] in %; a single run has no interval."""
    if math.isnan(mean):
        return "n/a"
    if math.isnan(lo) or math.isnan(hi):
        return minus(f"{100 * mean:.1f}") + (" (1 seed)" if n == 1 else "")
    return minus(f"{100 * mean:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]")


def _p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else (f"{p:.3g}" if p >= 0.001 else "<0.001")


def imbalanced(d: pd.DataFrame, raw: dict | None = None) -> bool:
    """Classes are imbalanced when the test set's majority class exceeds its uniform share by 10 points."""
    if d["task"].iloc[0] != "classification" or d["majority"].isna().all():
        return False
    k = 0
    for rid in d["run_id"]:
        k = len(((raw or {}).get(rid) or {}).get("dataset", {}).get("label_names") or []) or k
        if k:
            break
    k = k or 2
    return bool(d["majority"].max() > 1 / k + 0.10)


def results_tables(runs: pd.DataFrame, failed: pd.DataFrame, comp: pd.DataFrame,
                   raw: dict | None = None) -> list[Table]:
    """Per dataset: rows = methods, columns = fractions; test metric mean [95% t-interval] over seeds.

    † = difference from finetune (a gain or a loss) significant in the report's per-cell family (``comp``,
    built once by ``reports.analysis.comparisons``: the same corrected p as every other table). No other test is
    run here, so nothing is bold. Imbalanced datasets get a macro-F1 table beside it (no marks).
    References (llm-zero-shot, the training-majority class) are rows of their own with their own
    intervals and no seed-paired test.
    """
    tables = []
    for dataset, d in runs.groupby("dataset", sort=True):
        metric = d["metric"].iloc[0]
        values = [("test", metric_name(metric))]
        if metric == "accuracy" and imbalanced(d, raw) and d["test_macro_f1"].notna().any():
            values.append(("test_macro_f1", "macro-F1"))
        for value, vname in values:
            tables.append(_results_table(dataset, d, failed, value, vname, raw, comp))
    return tables


def _results_table(dataset: str, d: pd.DataFrame, failed: pd.DataFrame, value: str, vname: str,
                   raw: dict | None, comp: pd.DataFrame) -> Table:
    refs = reference_methods()
    arms_d = d[~d["method"].isin(refs)]
    summ = cell_summaries(arms_d, value)
    fractions = sorted(summ["fraction"].unique())
    arms = arm_order(summ["arm"])
    n_train = summ.groupby("fraction")["n_train"].median()
    max_n = int(summ["n"].max()) if len(summ) else 0
    comp = comp[comp["dataset"] == dataset] if value == "test" else comp.iloc[0:0]
    fails = failed[failed["dataset"] == dataset] if not failed.empty else failed
    dev_n = arms_d.groupby("fraction")["dev_n"].median() if "dev_n" in arms_d else pd.Series(dtype=float)
    header = ["Method"] + [(f"{frac_label(f)} (n={n_train[f]:.0f}" if not math.isnan(n_train[f]) else f"{frac_label(f)} (")
                           + (f", dev {dev_n[f]:.0f})" if f in dev_n and not math.isnan(dev_n[f]) else ")")
                           for f in fractions]
    header = [h.replace(" ()", "") for h in header]
    rows = []
    for arm in arms:
        row = [Cell(display_name(arm))]
        method = arm.split(" ")[0]
        for f in fractions:
            sm = summ[(summ["arm"] == arm) & (summ["fraction"] == f)]
            if sm.empty:
                failed_here = (not fails.empty and ((fails["method"] == method) & np.isclose(fails["fraction"], f)).any())
                row.append(Cell("failed" if failed_here else "missing"))
                continue
            sm = sm.iloc[0]
            here = arms_d[(arms_d["arm"] == arm) & np.isclose(arms_d["fraction"], f) & arms_d[value].notna()]
            text = _fmt(sm["mean"], sm["ci_low"], sm["ci_high"], int(sm["n"])) + (
                f" (n={sm['n']})" if sm["n"] < max_n and sm["n"] > 1 else "") + stand_in_suffix(here)
            c = comp[(comp["arm"] == arm) & (comp["fraction"] == f)]
            sig = bool(not c.empty and c["significant"].iloc[0])  # either sign: † is a corrected p < 0.05
            row.append(Cell(text, sig=sig))
        rows.append(row)
    # references: the training-majority class and seed-independent methods
    if value == "test" and "train_majority" in d and d["train_majority"].notna().any():
        row = [Cell("Training-majority class")]
        for f in fractions:
            v = arms_d[np.isclose(arms_d["fraction"], f)]["train_majority"].dropna()
            row.append(Cell(minus(f"{100 * v.mean():.1f}") if len(v) else "n/a"))
        rows.append(row)
    # a Wilson interval is for a proportion of items: the accuracy, not a macro-F1 (or a QA F1)
    wilson_ok = value == "test" and d["metric"].iloc[0] == "accuracy"
    for m in refs:
        ref = d[d["method"] == m].drop_duplicates(subset=["llm_label", value])
        for r in ref.itertuples():
            n = int(r.test_n) if not math.isnan(r.test_n) else 0
            v = getattr(r, value)
            if wilson_ok:
                lo, hi = wilson(v * n, n)
                txt = minus(f"{100 * v:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] (n={n} items)")
            else:
                txt = minus(f"{100 * v:.1f} (n={n} items)")
            rows.append([Cell(f"{display_name(m)} (reference, {r.llm_label})")] + [Cell(txt)] * len(fractions))
    n_tests = int(comp["n_tests"].iloc[0]) if len(comp) else 0
    marks = (f"{SIG_MARK}: difference from {BASELINE} (a gain or a loss) significant at p < 0.05 in the report's "
             f"{FAMILY_CELLS} ({HOLM} over {n_tests} tests; the Gains table lists each p and its sign)."
             if value == "test" else
             f"No significance marks: the tests are on the test {metric_name(d['metric'].iloc[0])} (main table).")
    notes = [f"Cells: {INTERVAL} of test {vname} (%), 95% Student-t interval over seeds (up to {max_n}); fewer than "
             f"{MIN_SEEDS} seeds: no interval. {marks} n = training examples, dev = labelled dev examples used for "
             "selection (medians over seeds); (n=k) marks a cell with fewer seeds. missing/failed: no result."]
    if any(r[0].text.startswith("Training-majority") for r in rows):
        notes.append("Training-majority class: predicting the majority class of each run's training sample for every "
                     "test item (mean over runs).")
    if any("(reference" in r[0].text for r in rows):
        notes.append("References do not depend on the fraction or the train seed: one value per LLM "
                     + ("with a 95% Wilson interval over the test items it scored" if wilson_ok else
                        f"(its {vname} on the n test items it scored) with no interval: a Wilson interval is for "
                        f"a share of items, such as an accuracy, and a {vname} is not one")
                     + "; they take part in no seed-paired test.")
    return with_stand_in_note(Table(title=f"{dataset}: test {vname} (%), {INTERVAL} over seeds", header=header,
                                    rows=rows, label=f"tab:results-{dataset}" + ("" if value == "test" else "-f1"),
                                    notes=notes))


def _partner(runs: pd.DataFrame, value: str) -> pd.Series:
    if value == "test":
        return runs["ft_test"]
    by_id = runs.set_index("run_id")[value]
    return runs["ft_run_id"].map(by_id)


def comparison_table(comp: pd.DataFrame, runs: pd.DataFrame | None = None) -> Table:
    """Every row of the report's per-cell family, with its raw and corrected p.

    The 95% CI is the paired t-interval of that one comparison, not adjusted for multiplicity (the header
    and note say so): it can exclude 0 where the corrected p is above 0.05. With ``runs`` (the enriched
    frame), a method whose runs in the cell trained with our stand-in template is marked (``stand_in_suffix``).
    """
    rows = []
    order = arm_order(comp["arm"])
    comp = comp.assign(rank=comp["arm"].map(order.index)).sort_values(["dataset", "fraction", "rank"])
    for r in comp.itertuples():
        ci = ("n/a" if math.isnan(r.gain_low) else minus(f"[{100 * r.gain_low:+.1f}, {100 * r.gain_high:+.1f}]"))
        verdict = ("not tested (n < 3)" if math.isnan(r.p) else "significant gain" if r.significant and r.mean_gain > 0
                   else "significant loss" if r.significant and r.mean_gain < 0 else "no significant difference")
        mark = "" if runs is None else stand_in_suffix(_cell_runs(runs, r.dataset, r.fraction, r.arm))
        rows.append([Cell(r.dataset), Cell(frac_label(r.fraction)), Cell(display_name(r.arm) + mark),
                     Cell(str(r.n_pairs)), Cell(minus(f"{100 * r.mean_gain:+.1f}")), Cell(ci), Cell(_p(r.p)),
                     Cell(_p(r.p_adj), sig=bool(r.significant)), Cell(verdict)])
    n_tests = int(comp["n_tests"].iloc[0]) if len(comp) else 0
    return with_stand_in_note(Table(
        title=f"Gain over {BASELINE} (test, points), paired by seed",
        header=["Dataset", "Fraction", "Method", "Pairs", "Gain", "95% CI (unadjusted)", "p", "p (Holm)", "Verdict"],
        rows=rows, label="tab:gains", align="lllrrrrrl",
        notes=[f"95% CI (unadjusted): the paired t-interval of the gain for this one comparison, {UNADJUSTED} "
               f"(the {n_tests} tests of the family): an interval that excludes 0 is not a significant difference "
               "when its p (Holm) is 0.05 or more; read significance from p (Holm). "
               f"p: {PAIRED_TEST_NAME}; not tested below {MIN_SEEDS} pairs. p (Holm): corrected over the "
               f"{n_tests} tests of the report's {FAMILY_CELLS} (every table reads these). {SIG_MARK}: "
               "corrected p < 0.05. Per-example tests pooled over seeds are not used: they ignore the seed's "
               "training variance and reject a true null far above 5%. "
               f"{', '.join(display_name(m) for m in reference_methods())} is a reference and is not "
               "seed-paired."]))


def _cell_runs(runs: pd.DataFrame, dataset: str, fraction: float, arm: str) -> pd.DataFrame:
    """The runs of one (dataset, fraction, arm) cell."""
    return runs[(runs["dataset"] == dataset) & np.isclose(runs["fraction"], fraction) & (runs["arm"] == arm)]


def cost_table(runs: pd.DataFrame) -> Table:
    """Per method (and LLM): mean per run of LLM calls, tokens and seconds (cold where recorded)."""
    rows = []
    cold = bool(runs.get("cost_tokens_cold", pd.Series([False])).all())
    cold_s = bool(runs.get("cost_llm_seconds_cold", pd.Series([False])).all())
    refs = reference_methods()
    for arm in arm_order(runs["arm"]):
        g = runs[runs["arm"] == arm]
        tokens = summarize(g["cost_tokens"])
        secs = summarize(g["cost_llm_seconds"]) if cold_s else None
        train = summarize(g["train_seconds"])
        # a reference (one run per dataset and LLM, its own test items) is in no seed-paired comparison
        paired = arm != BASELINE and not g["method"].isin(refs).all()
        gain = g["gain"].mean() if paired and g["gain"].notna().any() else math.nan

        def iv(sm, fmt=".0f"):
            if sm is None:
                return "not recorded"
            if math.isnan(sm.ci_low):
                return minus(format(sm.mean, fmt))
            return minus(f"{sm.mean:{fmt}} [{sm.ci_low:{fmt}}, {sm.ci_high:{fmt}}]")

        rows.append([Cell(display_name(arm) + stand_in_suffix(g)),
                     Cell(", ".join(sorted(g["llm_label"].dropna().unique())) or "none"),
                     Cell(str(len(g))), Cell(f"{g['cost_calls'].mean():.1f}"), Cell(iv(tokens)),
                     Cell(iv(secs, ".1f")), Cell(iv(train, ".1f")),
                     Cell("–" if math.isnan(gain) else minus(f"{100 * gain:+.2f}"))])
    ref_names = [display_name(m) for m in refs if (runs["method"] == m).any()]
    t = Table(title="Cost per run: LLM calls, tokens and seconds, " + INTERVAL + " over runs",
              header=["Method", "LLM", "Runs", "LLM calls", "LLM tokens", "Cold LLM s", "Train s", "Gain (pts)"],
              rows=rows, label="tab:cost",
              notes=["Means over every run of the method, all datasets and fractions, with 95% t-intervals over "
                        "runs (timing noise included). "
                        + ("LLM calls and tokens are cold: what the run would cost with an empty cache. " if cold else
                           "The cold cost (as if nothing were cached) is not recorded in these results: calls and "
                           "tokens are as each run recorded them. ")
                        + ("" if cold_s else "Cold LLM seconds are not recorded in these results (a cache hit "
                           "records 0 s, so the seconds paid are not shown as a cost). ")
                        + f"Gain: test metric minus {BASELINE}'s on the same dataset, fraction and seed, in points "
                        "(mean; – where there is no paired run"
                        + (f"; – for {', '.join(ref_names)}: a reference, scored on its own test items, in no "
                           "seed-paired comparison" if ref_names else "")
                        + "). Seconds depend on the machine that ran the cell."] + _reference_cost_note(runs))
    return with_stand_in_note(t)


def _reference_cost_note(runs: pd.DataFrame) -> list[str]:
    """What a reference's (llm-zero-shot) cost per run covers: its LLM labelling its test sample, read from test_n."""
    ref = runs[runs["method"].isin(reference_methods())]
    if ref.empty:
        return []
    sizes = sorted({int(n) for n in ref["test_n"].dropna()}) if "test_n" in ref else []
    items = ("n/a (test sample size not recorded)" if not sizes else f"{sizes[0]:,}" if len(sizes) == 1
             else f"{sizes[0]:,} to {sizes[-1]:,}")
    names = ", ".join(sorted({display_name(m) for m in ref["method"]}))
    return [f"{names}: a run is the LLM labelling the run's test sample ({items} items, the runs' test_n), so its "
            "calls, tokens and seconds are those of that many predictions, while a trained method's seconds are its "
            f"training and its LLM calls, without its own inference. Claim 4 compares costs per {PREDICTIONS:,} "
            "predictions."]


def overfitting_table(runs: pd.DataFrame) -> Table | None:
    """Per dataset, fraction and method: dev-minus-train loss and best-minus-last dev metric, with intervals."""
    d = runs[~runs["method"].isin(reference_methods())]
    if "loss_gap" not in d or d["loss_gap"].isna().all():
        return None
    gap, bml = cell_summaries(d, "loss_gap"), cell_summaries(d, "best_minus_last")
    rows = []
    for r in gap.itertuples():
        b = bml[(bml["arm"] == r.arm) & (bml["fraction"] == r.fraction) & (bml["dataset"] == r.dataset)].iloc[0]
        g_txt = ("n/a" if math.isnan(r.mean) else minus(f"{r.mean:+.3f}" + (
            "" if math.isnan(r.ci_low) else f" [{r.ci_low:+.3f}, {r.ci_high:+.3f}]")))
        b_txt = ("n/a" if math.isnan(b["mean"]) else minus(f"{100 * b['mean']:+.1f}" + (
            "" if math.isnan(b["ci_low"]) else f" [{100 * b['ci_low']:+.1f}, {100 * b['ci_high']:+.1f}]")))
        mark = stand_in_suffix(_cell_runs(d, r.dataset, r.fraction, r.arm))
        rows.append([Cell(r.dataset), Cell(frac_label(r.fraction)), Cell(display_name(r.arm) + mark), Cell(str(r.n)),
                     Cell(g_txt), Cell(b_txt)])
    return with_stand_in_note(Table(
        title="Overfitting: dev loss minus train loss, and best minus last dev metric",
        header=["Dataset", "Fraction", "Method", "Seeds", "Dev − train loss (nats)", "Best − last dev (pts)"],
        rows=rows, label="tab:overfitting", align="lllrrr",
        notes=[f"{INTERVAL} over seeds. Dev − train loss: cross-entropy of the selected checkpoint on dev "
                        "minus on (at most train.eval_train_max) training examples; larger = more overfitting. Best − "
                        "last dev: the selected (best) dev metric minus the last epoch's, in points; larger = more "
                        "was lost by training on. Train accuracy is not used: it saturates at 100%."]))


def dialogue_table(runs: pd.DataFrame) -> Table | None:
    """Per method, dataset and LLM: how the LLM's revisions went (new / echo / fallback / unchanged)."""
    d = runs[runs.get("rev_total", pd.Series(0, index=runs.index)) > 0] if "rev_total" in runs else runs.iloc[0:0]
    if d.empty:
        return None
    rows = []
    for (ds, arm, llm), g in d.groupby(["dataset", "arm", "llm_label"], dropna=False):
        tot = int(g["rev_total"].sum())
        share = lambda k: f"{int(g[k].sum())} ({int(g[k].sum()) / tot:.0%})"  # noqa: E731
        rows.append([Cell(ds), Cell(display_name(arm) + stand_in_suffix(g)), Cell(str(llm)), Cell(str(len(g))),
                     Cell(str(tot)), Cell(share("rev_new")), Cell(share("rev_echo")), Cell(share("rev_fallback")),
                     Cell(share("rev_unchanged")), Cell(llm_accuracy_text(*llm_accuracy_count(g)))])
    hows = sorted(d["llm_acc_how"].dropna().unique())
    return with_stand_in_note(Table(
        title="The LLM's proposals per method and dataset: new text, echo, unusable",
        header=["Dataset", "Method", "LLM", "Runs", "Proposals", "New", "Echo", "Unusable", "Unchanged",
                "LLM accuracy"], rows=rows, label="tab:revisions", align="lllrrrrrrr",
        notes=["Proposals: the LLM's candidate prefixes after each round but the last. Judged by the loop's "
               "one echo rule (gpta/prefix.py): an echo repeats, nearly repeats or is contained in an earlier "
               "prefix, an earlier proposal or a line of our own request, whatever line of the reply it came "
               "from; unusable: a fragment or a rejected reply; new: everything else. Unchanged: rounds whose "
               "prefix text did not change. " + llm_accuracy_note(d, hows)]))


def _accuracy_runs(g: pd.DataFrame) -> pd.DataFrame:
    """The runs whose LLM accuracy counts: a recorded share over at least one new proposal."""
    return g[g["llm_acc"].notna() & (g["rev_new"] > 0)]


def llm_accuracy_count(g: pd.DataFrame) -> tuple[int, int]:
    """(new proposals that passed, new proposals) over ``g``'s runs: each run's recorded share (gpta/gpta_loop.py:
    passed / new) times its count of new proposals, summed."""
    r = _accuracy_runs(g)
    return int(np.round(r["llm_acc"] * r["rev_new"]).sum()), int(r["rev_new"].sum())


def llm_accuracy_text(k: int, n: int) -> str:
    """"0.07 [0.01, 0.31] (1 of 14)": the pooled share with its 95% Wilson interval; n/a with no new proposal."""
    if n == 0:
        return "n/a"
    lo, hi = wilson(k, n)
    return f"{k / n:.2f} [{lo:.2f}, {hi:.2f}] ({k} of {n})"


def llm_accuracy_note(d: pd.DataFrame, hows: list[str]) -> str:
    """What the LLM accuracy column measures and what its interval assumes."""
    counted = _accuracy_runs(d)
    one_each = len(counted) > 0 and bool((counted["rev_new"] == 1).all())
    return ("LLM accuracy: the share of the new proposals whose same-weights dev gain over the incumbent passes the "
            "loop's paired test, pooled over the runs (k of n: the proposals that passed, of the new proposals of "
            "runs that proposed anything new; n/a: nothing new proposed, no credit), with a 95% Wilson interval over "
            "those n proposals. The interval treats the proposals as independent; "
            + ("here every counted run made exactly one new proposal, so they come from different runs and the pooled "
               "share is also the mean of the runs' shares. " if one_each else
               "proposals of one run share its weights and dialogue, so it can be too narrow, and the pooled share "
               "weights a run by its count of new proposals. ")
            + "Measured as: " + "; ".join(hows) + ".")


# The "Source" of a round's prefix, from the round's ``revision`` label (gpta/gpta_loop.py ``decide``):
# its ``source`` field says "llm" for an echo the loop adopted, so it cannot tell new text from an echo.
ROUND_SOURCE = {"first": "llm", "changed": "llm", "echo": "echo", "fallback": "fallback", "kept": "kept"}
ROUND_SOURCE_TEXT = {
    "llm": "llm (new text from the LLM; round 0: its first prefix)",
    "echo": "echo (an earlier prefix returned, or a near copy of one, by the loop's echo rule)",
    "fallback": "fallback (unusable reply: previous prefix or a template kept)",
    "kept": "kept (no new proposal passed the loop's dev test: previous prefix kept)",
}


def round_source(entry: dict) -> str:
    """What a prefix_history round's prefix is: llm, echo, fallback or kept (by its revision label);
    a result without the label: its ``source`` field as recorded."""
    return ROUND_SOURCE.get(str(entry.get("revision")), str(entry.get("source", "?")))


def prefix_tables(runs: pd.DataFrame, raw: dict, max_chars: int = 90) -> list[Table]:
    """Per dataset (and LLM): the prefixes written per round, shortened, with source and dev scores."""
    from reports.extract import PATHS, get

    out = []
    d = runs[runs["rounds"] > 0] if "rounds" in runs else runs.iloc[0:0]
    for (ds, llm), g in d.groupby(["dataset", "llm_label"], dropna=False):
        rows = []
        for r in g.sort_values(["arm", "fraction", "seed"]).itertuples():
            res = raw.get(r.run_id) or {}
            hist = get(res, PATHS["history"]) or []
            sel_round = ((res.get("selected") or {}) if isinstance(res.get("selected"), dict) else {}).get("round")
            for e in hist:
                text = " ".join(str(e.get("prefix") or "").split())
                short = text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"
                sw = e.get("dev_before") if e.get("round", 0) > 0 else None  # same weights as the previous prefix
                rows.append([Cell(display_name(r.arm)), Cell(frac_label(r.fraction)), Cell(str(r.seed)),
                             Cell(str(e.get("round", "?")) + (" ←" if e.get("round") == sel_round else ""),
                                  bold=e.get("round") == sel_round),
                             Cell(round_source(e)),
                             Cell("–" if sw is None else f"{100 * float(sw):.1f}"),
                             Cell("–" if e.get("dev_metric") is None else f"{100 * float(e['dev_metric']):.1f}"),
                             Cell(short)])
        if rows:
            shown = {row[4].text for row in rows}
            defined = [t for k, t in ROUND_SOURCE_TEXT.items() if k in shown or k in ("llm", "echo", "fallback")]
            other = sorted(shown - set(ROUND_SOURCE_TEXT))  # a result from before the revision label
            source_note = ("Source: " + ", ".join(defined)
                           + (f"; {', '.join(other)}: the round's recorded source" if other else "") + ".")
            out.append(Table(title=f"Prefixes written per round: {ds}" + (f", LLM {llm}" if isinstance(llm, str) else ""),
                             header=["Method", "Fraction", "Seed", "Round", "Source", "Dev, same weights",
                                     "Dev, end of round", "Prefix (shortened)"],
                             rows=rows, label=f"tab:prefixes-{ds}", align="llrrlrrX", wide=True,
                             notes=[source_note + " Dev, same weights: the prefix scored on dev with the weights at "
                                    "the start of its round, i.e. the same weights that scored the previous prefix at "
                                    "the end of the previous round (%), – for round 0. Dev, end of round: after the "
                                    f"round's training (%). Prefixes are cut at {max_chars} characters (…). ← "
                                    "(bold): the round whose checkpoint was selected on dev and scored on test."]))
    return out


def scorecard_table(card) -> Table:
    """One row per claim: verdict, the evidence behind it (n, family, MDE, protocol, LLMs), rule and test, numbers."""
    rows = []
    for c in card.claims:
        tested = c.measured and c.p_adj == c.p_adj  # NaN: no test
        ps = f"; primary {p_text(c.p)}, Holm-corrected {p_text(c.p_adj)}" if tested else ""
        evidence = (f"n: {c.n or 'none'}; family: {c.family}{ps}; minimum detectable effect: {c.mde}; protocol: "
                    f"{c.protocol}; LLMs: {c.llms}" + (f"; to decide: {c.to_decide}" if c.to_decide else ""))
        rows.append([Cell(str(c.number)), Cell(c.claim), Cell(c.verdict_text, bold=True), Cell(evidence),
                     Cell(f"Rule: {c.rule} Test: {c.test}."), Cell(c.numbers or "none")])
    return Table(title="Claims scorecard: the paper's claims against these results",
                 header=["#", "Claim", "Verdict", "Evidence", "Rule and test", "Numbers"], rows=rows,
                 label="tab:scorecard", align="rXXXXX", wide=True,
                 details_columns=("Evidence", "Rule and test"),
                 notes=[c for c in card.context if not c.startswith("**")]
                 + ([f"No verdict: {card.smoke_reason}."] if card.smoke else []))


def appendix_tables(runs: pd.DataFrame, raw: dict[str, dict]) -> list[Table]:
    """The settings every run shares, what each method changes, and the software that ran them."""
    settings = {rid: json.loads(k) for rid, k in zip(runs["run_id"], runs["settings_key"])}
    all_keys = sorted({k for s in settings.values() for k in s})
    common = {k: settings[runs["run_id"].iloc[0]].get(k) for k in all_keys
              if len({json.dumps(s.get(k), default=str) for s in settings.values()}) == 1}
    t1 = Table(title="Appendix: settings shared by every run",
               header=["Setting", "Value"], rows=[[Cell(k), Cell(_short(v))] for k, v in common.items()],
               label="tab:settings", align="ll")
    from reports.roles import uses_llm

    rows = []
    for arm in arm_order(runs["arm"]):
        g = runs[runs["arm"] == arm]
        diffs = {}
        calls_llm = any(uses_llm(m) for m in g["method"].unique())
        for rid in g["run_id"]:
            for k, v in settings[rid].items():
                if k not in common and (calls_llm or k != "llm"):  # a method that calls no LLM: its llm is unused
                    diffs.setdefault(k, set()).add(_short(v))
        diff_txt = "; ".join(f"{k}={'/'.join(sorted(v))}" for k, v in sorted(diffs.items())) or "none"
        rows.append([Cell(arm), Cell(str(len(g))), Cell(", ".join(sorted(g["dataset"].unique()))),
                     Cell(", ".join(frac_label(f) for f in sorted(g["fraction"].unique()))),
                     Cell(", ".join(str(s) for s in sorted(g["seed"].unique()))), Cell(diff_txt)])
    t2 = Table(title="Appendix: runs per method and the settings in which they differ from the shared ones",
               header=["Method", "Runs", "Datasets", "Fractions", "Seeds", "Other settings"], rows=rows,
               label="tab:runs", align="lrlllX")
    versions: dict[str, set] = {}
    for rid in runs["run_id"]:
        env = (raw.get(rid) or {}).get("env") or {}
        for pkg, v in (env.get("versions") or {}).items():
            versions.setdefault(pkg, set()).add(str(v))
        git = env.get("git") or {}
        versions.setdefault("git commit", set()).add(f"{(git.get('commit') or 'unknown')[:10]}"
                                                     + (" (dirty)" if git.get("dirty") else ""))
        versions.setdefault("device", set()).add(f"{env.get('device', '?')} {env.get('device_name', '')}".strip())
        versions.setdefault("precision", set()).add(str(env.get("precision")))
        llm = (raw.get(rid) or {}).get("llm") or {}
        if llm.get("model"):
            versions.setdefault("LLM", set()).add(f"{llm.get('backend')}:{llm.get('model')}")
    t3 = Table(title="Appendix: software, commit, device and LLM of the runs",
               header=["Component", "Version(s)"],
               rows=[[Cell(k), Cell(", ".join(sorted(v)))] for k, v in versions.items()], label="tab:versions",
               align="ll", notes=["Several values mean the runs were made with different versions."])
    return [t1, t2, t3]


def _short(v) -> str:
    s = json.dumps(v, default=str) if not isinstance(v, str) else v
    return s if len(s) <= 60 else s[:57] + "..."


def _bare_p(p: float) -> str:
    """p_text without its "p = ": "0.012", "< 0.001", "n/a" (a table whose header says p)."""
    return p_text(p).removeprefix("p ").lstrip("= ")


def controls_table(runs: pd.DataFrame) -> Table | None:
    """GPTA minus finetune in three steps (layout, text, dialogue), pooled over the paper's datasets,
    Holm-corrected in their own family (reports/controls.py)."""
    from reports.controls import family_text, steps

    found = steps(runs)
    if not found:
        return None
    n = sum(not s.missing for s in found)
    rows = []
    for s in found:
        if s.missing:
            nums = [Cell(f"not measured: {s.missing}"), Cell("–"), Cell("–"), Cell("–")]
        else:
            nums = [Cell(minus(f"{100 * s.estimate:+.1f} [{100 * s.ci_low:+.1f}, {100 * s.ci_high:+.1f}]")),
                    Cell(f"{s.n_pairs} / {s.n_datasets}"), Cell(_bare_p(s.p)),
                    Cell(_bare_p(s.p_adj) + (" †" if s.p_adj < 0.05 else ""))]
        rows.append([Cell(s.step), Cell(f"{display_name(s.test_arm)} − {display_name(s.control_arm)}"),
                     Cell(s.isolates), Cell(s.llm), Cell(s.protocol), *nums])
    return Table(title="What GPTA's difference from finetune is due to: layout, text and dialogue, pooled",
                 header=["Step", "Contrast", "What it isolates", "LLM", "Protocol", "Pooled difference (pts)",
                         "Pairs / datasets", "p", "Holm p"],
                 rows=rows, label="tab:controls", align="lllllrrrr", wide=True,
                 notes=[f"The paper's datasets only; each step's difference is paired by (dataset, fraction, seed), "
                        "averaged per dataset, then over datasets (as claim 1); sign-flip permutation test, 95% "
                        f"interval per step, {UNADJUSTED} (the Holm p is). The three steps add up to GPTA minus "
                        f"finetune on the cells where all four arms ran. Family: {family_text(n)}, read by no claim: "
                        "they say what a difference is due to, they do not decide a claim. † marks a corrected "
                        "p < 0.05. GPTA is the paper's arm; its round-0 prefix is llm-prefix's prefix, so the "
                        "dialogue step isolates the revisions."])
