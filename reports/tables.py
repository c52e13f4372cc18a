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

from reports.analysis import BASELINE, arm_order, cell_summaries, comparisons
from reports.figures import frac_label, metric_name
from reports.stats import PAIRED_TEST_NAME

SIG_MARK = "†"  # p < 0.05 in the paired test against finetune
LATEX_SIG_MARK = r"$^\dagger$"


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


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                   "±": r"$\pm$", "†": r"$^\dagger$", "→": r"$\rightarrow$", "≤": r"$\leq$", "ρ": r"$\rho$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(t: Table) -> str:
    lines = [f"**{_md_escape(t.title)}**", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in t.header) + " |")
    spec = re.sub(r"\{[^}]*\}", "", t.align) or "l" + "r" * (len(t.header) - 1)
    lines.append("|" + "|".join(":---" if a in "lp" else "---:" for a in spec) + "|")
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
    out = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(t.title)}}}"]
    if t.label:
        out.append(rf"\label{{{re.sub(r'[^A-Za-z0-9:-]+', '-', t.label)}}}")
    out += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
            " & ".join(rf"\textbf{{{latex_escape(h)}}}" for h in t.header) + r" \\", r"\midrule"]
    for row in t.rows:
        cells = []
        for c in row:
            s = latex_escape(c.text)
            s = rf"\textbf{{{s}}}" if c.bold and s.strip() else s
            cells.append(s + (LATEX_SIG_MARK if c.sig else ""))
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    if t.notes:
        out.append(r"\par\smallskip\footnotesize " + " ".join(latex_escape(n) for n in t.notes))
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def to_html(t: Table) -> str:
    import html

    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = []
    for row in t.rows:
        tds = []
        for c in row:
            s = html.escape(c.text) + (SIG_MARK if c.sig else "")
            tds.append(f"<td><b>{s}</b></td>" if c.bold and c.text.strip() else f"<td>{s}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in t.notes)
    return (f"<p><b>{html.escape(t.title)}</b></p><table><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + f"</tbody></table>{notes}")


def _fmt(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if not math.isnan(std) else f"{100 * mean:.1f}"


def results_tables(runs: pd.DataFrame, failed: pd.DataFrame) -> list[Table]:
    """Per dataset: rows = methods, columns = fractions; mean ± std of the test metric over seeds.

    Bold = best mean in the column (ties all bold). † = the paired t-test over seeds against finetune
    gives p < 0.05. A cell with fewer seeds than the most any cell of the table has says "(n=k)".
    """
    tables = []
    comp = comparisons(runs)
    for dataset, d in runs.groupby("dataset", sort=True):
        metric = d["metric"].iloc[0]
        summ = cell_summaries(d, "test")
        fractions = sorted(summ["fraction"].unique())
        arms = arm_order(summ["arm"])
        n_train = summ.groupby("fraction")["n_train"].median()
        max_n = int(summ["n"].max())
        best = summ.groupby("fraction")["mean"].max()
        fails = failed[failed["dataset"] == dataset] if not failed.empty else failed
        header = ["Method"] + [f"{frac_label(f)} (n={n_train[f]:.0f})" if not math.isnan(n_train[f])
                               else frac_label(f) for f in fractions]
        rows = []
        for arm in arms:
            row = [Cell(arm)]
            method = arm.split(" ")[0]
            for f in fractions:
                s = summ[(summ["arm"] == arm) & (summ["fraction"] == f)]
                if s.empty:
                    failed_here = (not fails.empty and ((fails["method"] == method) & np.isclose(fails["fraction"], f)).any())
                    row.append(Cell("failed" if failed_here else "missing"))
                    continue
                s = s.iloc[0]
                text = _fmt(s["mean"], s["std"]) + (f" (n={s['n']})" if s["n"] < max_n else "")
                c = comp[(comp["arm"] == arm) & (comp["fraction"] == f) & (comp["dataset"] == dataset)]
                sig = bool(not c.empty and c["significant"].iloc[0])
                row.append(Cell(text, bold=bool(np.isclose(s["mean"], best[f])), sig=sig))
            rows.append(row)
        tables.append(Table(
            title=f"{dataset}: test {metric_name(metric)} (%), mean ± std over seeds",
            header=header, rows=rows, label=f"tab:results-{dataset}",
            notes=[f"Bold: best mean in the column. {SIG_MARK}: p < 0.05 against {BASELINE} in a "
                   f"{PAIRED_TEST_NAME}, pairing runs of the same fraction and seed. n = training examples "
                   f"(median over seeds); (n=k) marks a cell with fewer seeds. missing/failed: no result."]))
    return tables


def comparison_table(runs: pd.DataFrame) -> Table:
    comp = comparisons(runs)
    rows = []
    order = arm_order(comp["arm"])
    comp = comp.assign(rank=comp["arm"].map(order.index)).sort_values(["dataset", "fraction", "rank"])
    for r in comp.itertuples():
        rows.append([Cell(r.dataset), Cell(frac_label(r.fraction)), Cell(r.arm), Cell(str(r.n_pairs)),
                     Cell(f"{100 * r.mean_gain:+.1f}"), Cell("n/a" if math.isnan(r.p) else f"{r.p:.3g}",
                                                            sig=bool(r.significant))])
    return Table(title=f"Gain over {BASELINE} (test, points), paired by seed",
                 header=["Dataset", "Fraction", "Method", "Pairs", "Mean gain", "p"], rows=rows,
                 label="tab:gains", align="lllrrr",
                 notes=[f"p: {PAIRED_TEST_NAME}; n/a with fewer than 2 pairs or identical differences. "
                        f"{SIG_MARK}: p < 0.05."])


def cost_table(runs: pd.DataFrame) -> Table:
    """Per method, mean per run: LLM calls, tokens, seconds; gain over finetune per 1k LLM tokens."""
    rows = []
    for arm in arm_order(runs["arm"]):
        g = runs[runs["arm"] == arm]
        tokens = g["llm_tokens"].mean()
        gain = g["gain"].mean() if g["gain"].notna().any() else math.nan
        per_k = 100 * gain / (tokens / 1000) if tokens and tokens > 0 and not math.isnan(gain) else math.nan
        rows.append([Cell(arm), Cell(str(len(g))), Cell(f"{g['llm_calls'].mean():.1f}"),
                     Cell(f"{g['prompt_tokens'].mean():.0f}"), Cell(f"{g['completion_tokens'].mean():.0f}"),
                     Cell(f"{g['llm_seconds'].mean():.1f}"), Cell(f"{g['train_seconds'].mean():.1f}"),
                     Cell(f"{g['cache_hits'].mean():.1f}"),
                     Cell("–" if arm == BASELINE or math.isnan(gain) else f"{100 * gain:+.2f}"),
                     Cell("–" if math.isnan(per_k) else f"{per_k:+.3f}")])
    return Table(title="Cost per run (mean over runs) and gain per 1k LLM tokens",
                 header=["Method", "Runs", "LLM calls", "Prompt tok.", "Compl. tok.", "LLM s", "Train s",
                         "Cache hits", "Gain (pts)", "Gain/1k tok."],
                 rows=rows, label="tab:cost",
                 notes=["Means over every run of the method, all datasets and fractions. Gain: test metric minus "
                        f"{BASELINE}'s on the same dataset, fraction and seed, in points; Gain/1k tok. = mean gain "
                        "divided by mean (prompt + completion) tokens / 1000; – where the method uses no LLM "
                        "tokens or has no paired finetune run. Tokens and seconds are as recorded by each run "
                        "(a cache hit costs no LLM seconds). Seconds depend on the machine that ran the cell."])


def appendix_tables(runs: pd.DataFrame, raw: dict[str, dict]) -> list[Table]:
    """The settings every run shares, what each method changes, and the software that ran them."""
    settings = {rid: json.loads(k) for rid, k in zip(runs["run_id"], runs["settings_key"])}
    all_keys = sorted({k for s in settings.values() for k in s})
    common = {k: settings[runs["run_id"].iloc[0]].get(k) for k in all_keys
              if len({json.dumps(s.get(k), default=str) for s in settings.values()}) == 1}
    t1 = Table(title="Appendix: settings shared by every run",
               header=["Setting", "Value"], rows=[[Cell(k), Cell(_short(v))] for k, v in common.items()],
               label="tab:settings", align="ll")
    rows = []
    for arm in arm_order(runs["arm"]):
        g = runs[runs["arm"] == arm]
        diffs = {}
        for rid in g["run_id"]:
            for k, v in settings[rid].items():
                if k not in common:
                    diffs.setdefault(k, set()).add(_short(v))
        diff_txt = "; ".join(f"{k}={'/'.join(sorted(v))}" for k, v in sorted(diffs.items())) or "none"
        rows.append([Cell(arm), Cell(str(len(g))), Cell(", ".join(sorted(g["dataset"].unique()))),
                     Cell(", ".join(frac_label(f) for f in sorted(g["fraction"].unique()))),
                     Cell(", ".join(str(s) for s in sorted(g["seed"].unique()))), Cell(diff_txt)])
    t2 = Table(title="Appendix: runs per method and the settings in which they differ from the shared ones",
               header=["Method", "Runs", "Datasets", "Fractions", "Seeds", "Other settings"], rows=rows,
               label="tab:runs", align="lrlllp{5cm}")
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
