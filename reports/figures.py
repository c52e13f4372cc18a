"""Figure builders. Each returns a ``FigureOut`` holding the matplotlib Figure (before saving,
so tests can count its lines and points), a caption with numbers from the data, or the reason
it was skipped. Missing cells are NaN in a line, i.e. a gap: never interpolated.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import matplotlib.colors as mcolors
import matplotlib.ticker as mticker
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
import numpy as np
import pandas as pd

from reports.analysis import arm_order, cell_summaries
from reports.extract import STAND_IN_MARK, bool_flags, stand_in_flags
from reports.protocol import PREDICTIONS
from reports.roles import BASELINE, UNDER_TEST, reference_methods
from reports.stats import MIN_PAIRS, correlate
from reports.style import (VARIANT_STYLES, dataset_style, display_name, method_color, method_marker, new_figure,
                           paper_style)

__all__ = ["FigureOut", "display_name", "frac_label", "metric_name", "pct"]  # display_name: re-exported


@dataclass
class FigureOut:
    name: str  # file stem under figures/
    section: str
    title: str
    caption: str = ""
    fig: Any = None  # matplotlib Figure, or None when skipped
    skipped: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the numbers drawn, for tests and captions


def pct(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def frac_label(f: float) -> str:
    return f"{100 * f:g}%"


def metric_name(metric: str) -> str:
    return {"accuracy": "accuracy", "f1": "F1"}.get(metric, metric)




def stand_ins(d: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """{arm: (runs tested with our stand-in template, runs)} over ``d``'s runs, for arms with at least one
    (reports/extract.py ``stand_in``: every LLM reply the run could use was unusable)."""
    if "stand_in" not in d or d.empty:
        return {}
    counts = stand_in_flags(d).groupby(d["arm"]).agg(["sum", "size"])
    return {arm: (int(k), int(n)) for arm, (k, n) in counts.iterrows() if k}


def arm_label(arm: str, marks: dict[str, tuple[int, int]] | None = None) -> str:
    """An arm's legend label: its display name, with a trailing double dagger when any of its runs drawn
    here is a stand-in (``marks`` from ``stand_ins``)."""
    return display_name(arm) + (f" {STAND_IN_MARK}" if marks and arm in marks else "")


def stand_in_note(marks: dict[str, tuple[int, int]]) -> str:
    """The caption's sentence for the double dagger; empty when no drawn run is a stand-in."""
    if not marks:
        return ""
    parts = [f"{display_name(arm)}: " + (f"all {n} runs" if k == n else f"{k} of {n} runs")
             for arm, (k, n) in sorted(marks.items())]
    return (f" {STAND_IN_MARK} = these runs trained and were tested with our stand-in template, not the LLM's text: "
            f"every reply of the LLM was unusable; they keep the name of the LLM that was asked ({'; '.join(parts)}).")


def _arm_style(arm: str, arms: list[str]) -> dict[str, Any]:
    method = arm.split(" ")[0]
    same_method = [a for a in arms if a.split(" ")[0] == method]
    ls = VARIANT_STYLES[same_method.index(arm) % len(VARIANT_STYLES)] if arm in same_method else "-"
    return {"color": method_color(method), "marker": method_marker(method), "linestyle": ls,
            "markeredgecolor": "#333333", "markeredgewidth": 0.4}


def _scatter_style(arm: str, arms: list[str]) -> dict[str, Any]:
    """Scatter marks of an arm: its method's colour and marker; a method's second setting (another
    LLM, say) hollow, since a scatter has no line style to tell settings apart."""
    method = arm.split(" ")[0]
    same_method = [a for a in arms if a.split(" ")[0] == method]
    color, marker = method_color(method), method_marker(method)
    second = arm in same_method and same_method.index(arm) % 2 == 1
    if not MarkerStyle(marker).is_filled():  # a line marker ("_", "x") has no face: matplotlib draws it in
        # the face colour and ignores an edge colour, so a "hollow" one would be white, i.e. invisible;
        # its second setting is drawn in a lighter tint of the colour instead
        return {"marker": marker, "color": mcolors.to_hex(0.5 * np.array(mcolors.to_rgb(color)) + 0.5)
                if second else color, "linewidth": 1.2}
    if second:
        return {"marker": marker, "facecolor": "white", "edgecolor": color, "linewidth": 0.9}
    return {"marker": marker, "facecolor": color, "edgecolor": "#333333", "linewidth": 0.4}


def _fraction_axis(ax, fractions: list[float], n_train: dict[float, float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(fractions)
    ax.xaxis.set_major_formatter(mticker.FixedFormatter([frac_label(f) for f in fractions]))
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    if len(fractions) > 1:
        lo, hi = min(fractions), max(fractions)
        pad = (hi / lo) ** 0.08
        ax.set_xlim(lo / pad, hi * pad)
    else:
        ax.set_xlim(fractions[0] / 1.5, fractions[0] * 1.5)
    ax.set_xlabel("training fraction of the pool (log scale)")
    top = ax.secondary_xaxis("top")
    top.set_xticks(fractions)
    top.xaxis.set_major_formatter(mticker.FixedFormatter(
        [f"{n_train[f]:.0f}" if not math.isnan(n_train.get(f, math.nan)) else "?" for f in fractions]))
    top.xaxis.set_minor_locator(mticker.NullLocator())
    top.set_xlabel("n_train (median over seeds)")


MIN_SEEDS_FOR_INTERVAL = MIN_PAIRS  # below this, draw the individual seeds, not a t-interval


def _lines_over_fraction(ax, summ: pd.DataFrame, fractions: list[float], scale: float = 100.0,
                         bounds: tuple[float, float] = (0.0, 100.0), runs: pd.DataFrame | None = None,
                         value: str = "test", marks: dict[str, tuple[int, int]] | None = None) -> dict:
    """One mean marker/line per arm (gid ``arm:<arm>``, label = ``arm_label``: its readable name, marked
    when ``marks`` (from ``stand_ins``) holds it).

    Several fractions: a line over the (log) fraction axis, NaN where a cell is missing (a gap).
    One fraction: a dodged dot-and-whisker plot, one x position per method. The whisker is the
    95% t-interval over seeds where a cell has at least ``MIN_SEEDS_FOR_INTERVAL`` seeds; with
    fewer, the individual seeds are drawn instead (gid ``seeds:<arm>``), since a 2-seed t-interval
    (t = 12.7) says nothing a reader can use.
    """
    drawn = {}
    arms = arm_order(summ["arm"])
    single = len(fractions) == 1
    for k, arm in enumerate(arms):
        g = summ[summ["arm"] == arm].set_index("fraction")
        y = np.array([g["mean"].get(f, np.nan) for f in fractions], dtype=float) * scale
        lo = np.array([g["ci_low"].get(f, np.nan) for f in fractions], dtype=float) * scale
        hi = np.array([g["ci_high"].get(f, np.nan) for f in fractions], dtype=float) * scale
        n = np.array([g["n"].get(f, 0) for f in fractions], dtype=float)
        st = _arm_style(arm, arms)
        xs = np.array([float(k)]) if single else np.asarray(fractions, dtype=float)
        (line,) = ax.plot(xs, y, label=arm_label(arm, marks), **({**st, "linestyle": "none"} if single else st))
        line.set_gid(f"arm:{arm}")
        few = n < MIN_SEEDS_FOR_INTERVAL
        ok = np.isfinite(lo) & ~few
        if ok.any():
            lo_c, hi_c = np.clip(lo, *bounds), np.clip(hi, *bounds)
            ax.vlines(xs[ok], lo_c[ok], hi_c[ok], color=st["color"], linewidth=1.6 if single else 1.0,
                      alpha=0.8).set_gid(f"interval:{arm}")
        if runs is not None and few.any():
            sel = runs[(runs["arm"] == arm) & runs[value].notna()]
            px, py = [], []
            for j, f in enumerate(fractions):
                if not few[j]:
                    continue
                vals = sel[np.isclose(sel["fraction"], f)][value].to_numpy(float) * scale
                offs = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(len(vals))
                px += list(xs[j] + offs) if single else list(xs[j] * (1.06 ** (offs / 0.12)))
                py += list(vals)
            if px:
                ax.scatter(px, py, s=9, facecolor="none", edgecolor=st["color"], linewidth=0.7,
                           zorder=3).set_gid(f"seeds:{arm}")
        drawn[arm] = {f: v for f, v in zip(fractions, y) if not math.isnan(v)}
    if single:
        _method_ticks(ax, [arm_label(a, marks) for a in arms])
        ax.set_xlim(-0.6, len(arms) - 0.4)
        ax.set_xlabel(f"method (training fraction {frac_label(fractions[0])})")
    return drawn


def _wrap(name: str, width: int) -> str:
    """``name`` on lines of at most ``width`` characters, broken after a space, "=", ":" or "-" where it
    can be (``GPTA [llm=`` / ``embedded:`` / ``Qwen-0.5B]``), inside a word only where it must."""
    lines, line = [], ""
    for token in re.split(r"(?<=[ =:-])", name):
        while len(token) > width:  # a token longer than a line: cut it
            if line:
                lines.append(line)
                line = ""
            lines.append(token[:width])
            token = token[width:]
        if len(line) + len(token.rstrip()) > width and line:
            lines.append(line)
            line = ""
        line += token
    lines.append(line)
    return "\n".join(part.strip() for part in lines if part.strip())


def _method_ticks(ax, names: list[str]) -> None:
    """One x tick per method, named under it: a few methods get their names wrapped on up to three
    lines, level (about 36 characters fit across one column at 7 pt with room between); more get
    them turned upright, and the figure grows by the longest name so the plot keeps its height."""
    ax.set_xticks(range(len(names)))
    width = 36 // max(1, len(names))
    if width >= 8:
        ax.set_xticklabels([_wrap(n, width) for n in names], rotation=0, ha="center")
        return
    ax.set_xticklabels(names, rotation=90, ha="center")
    w, h = ax.figure.get_size_inches()
    ax.figure.set_size_inches(w, h + 0.055 * max(len(n) for n in names))


def _interval_note(summ: pd.DataFrame, clipped: bool = False) -> str:
    """What the marks mean; says "no interval: n < 3" wherever a cell has too few seeds for one."""
    n = summ["n"] if len(summ) else pd.Series([0])
    n_min, n_max = int(n.min()), int(n.max())
    if n_min >= MIN_SEEDS_FOR_INTERVAL:
        return ("marker = mean over seeds, whisker = 95% Student-t interval over seeds (n = "
                f"{n_min if n_min == n_max else f'{n_min}-{n_max}'} seeds per cell)"
                + ("; intervals clipped to 0-100%" if clipped else ""))
    if n_max >= MIN_SEEDS_FOR_INTERVAL:
        return ("marker = mean over seeds, whisker = 95% Student-t interval over seeds where a cell has at least "
                f"{MIN_SEEDS_FOR_INTERVAL} seeds" + (" (clipped to 0-100%)" if clipped else "")
                + "; open circles = the individual seeds where it has fewer "
                f"(no interval: n < {MIN_SEEDS_FOR_INTERVAL})")
    return ("marker = mean over seeds, open circles = the individual seeds "
            f"(no interval: n < {MIN_SEEDS_FOR_INTERVAL}; "
            f"at most {n_max} per cell)")


def _intervals_separate(summ: pd.DataFrame, a: str, b: str, f: float) -> bool | None:
    """True if a's 95% interval lies entirely below b's at fraction f; None if either has no drawn
    interval (missing, or fewer than ``MIN_SEEDS_FOR_INTERVAL`` seeds: the figure draws none)."""
    ra = summ[(summ["arm"] == a) & np.isclose(summ["fraction"], f)]
    rb = summ[(summ["arm"] == b) & np.isclose(summ["fraction"], f)]
    if ra.empty or rb.empty or ra["ci_high"].isna().any() or rb["ci_low"].isna().any():
        return None
    if min(int(ra["n"].iloc[0]), int(rb["n"].iloc[0])) < MIN_SEEDS_FOR_INTERVAL:
        return None
    return bool(ra["ci_high"].iloc[0] < rb["ci_low"].iloc[0])


def _legend_below(fig, ax, ncol: int = 3, named_on_axis: bool = False) -> None:
    """Legend under the axes; fewer columns when labels are long, so it fits one column width.
    ``named_on_axis``: the methods are named by the x ticks already, so only other lines are listed."""
    handles, labels = ax.get_legend_handles_labels()
    if named_on_axis:
        keep = [i for i, h in enumerate(handles) if not str(h.get_gid() or "").startswith("arm:")]
        handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    if handles:
        # a label wider than the figure would be cut off at both sides: wrap it to fit one column
        labels = [_wrap(label, LEGEND_CHARS) for label in labels]
        longest = max(len(line) for label in labels for line in label.split("\n"))
        ncol = min(ncol, len(handles), max(1, 60 // (longest + 6)))  # ~60 characters fit 3.4 in at 7 pt
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)
        # rows of text: a column is as tall as its entries' lines (filled column by column)
        per_col = -(-len(handles) // ncol)
        lines = [label.count("\n") + 1 for label in labels]
        grow_for_legend(fig, max(sum(lines[c * per_col:(c + 1) * per_col]) for c in range(ncol)))


LEGEND_ROW_IN = 0.14  # one legend row at 7 pt, in inches
LEGEND_CHARS = 50  # a legend line of at most this many characters fits 3.4 in beside its handle


def grow_for_legend(fig, rows: int, free_rows: int = 2) -> None:
    """Make the figure taller by the legend rows beyond ``free_rows``, so a long legend below the
    plot takes its own room instead of squeezing the axes (constrained layout shrinks them)."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + LEGEND_ROW_IN * max(0, rows - free_rows))


def _n_train_by_fraction(summ: pd.DataFrame) -> dict[float, float]:
    return summ.groupby("fraction")["n_train"].median().to_dict()


def _test_cap_note(runs: pd.DataFrame, raw: dict | None = None) -> str:
    """What each run recorded as evaluated on test, against the test split's size."""
    if "test_n" not in runs:
        return ""
    parts = []
    for arm, g in runs.groupby("arm"):
        n = sorted({int(x) for x in g["test_n"].dropna()})
        full = sorted({int(((raw or {}).get(r) or {}).get("dataset", {}).get("sizes", {}).get("test", 0) or 0)
                       for r in g["run_id"]}) if raw else []
        if n and full and n != full:
            parts.append(f"{display_name(arm)} {'/'.join(map(str, n))} of {'/'.join(map(str, full))}")
    if not parts:
        full = sorted({int(x) for x in runs["test_n"].dropna()})
        return f" Every run scored the full test set ({'/'.join(map(str, full))} examples)." if full else ""
    return (" Test examples scored (as each run recorded): " + "; ".join(parts)
            + "; the other methods the full test set.")


REFERENCE_DASHES = [":", (0, (4, 1, 1, 1)), (0, (1, 3))]  # one per reference line of a method


def _reference_name(r, several: bool) -> tuple[str, str]:
    """(legend name, caption name) of a reference: its arm's display name, which names the LLM's model
    (never the raw GGUF file name, ~75 characters, wider than a figure). Where the arm does not name
    its LLM, several references get it in the legend, and the caption always names it."""
    name = display_name(r.arm)
    llm = getattr(r, "llm_label", None)
    if "llm=" in name or not (isinstance(llm, str) and llm):
        return name, name
    if several:
        name = display_name(f"{r.arm} [llm={llm}]")
        return name, name
    return name, f"{name} ({llm})"


def _reference_lines(ax, d: pd.DataFrame, scale: float = 100.0) -> tuple[str, dict]:
    """The training-majority line and the seed-independent references (llm-zero-shot) with intervals."""
    from reports.stats import wilson

    texts, data = [], {}
    maj = (d[~d["method"].isin(reference_methods())]["train_majority"].dropna() if "train_majority" in d
           else pd.Series(dtype=float))
    if not maj.empty:
        line = ax.axhline(scale * maj.mean(), color="#777777", linestyle=(0, (4, 2)), linewidth=0.9,
                          label="training-majority class")
        line.set_gid("reference:majority")
        data["majority"] = float(maj.mean())
        spread = (f", {pct(maj.min())}-{pct(maj.max())}% across samples" if maj.max() - maj.min() > 1e-9 else "")
        texts.append(f"The dashed grey line predicts the training sample's majority class for every test item: "
                     f"{pct(maj.mean())}% (mean over runs{spread}).")
    else:
        texts.append("No majority-class line: the training-majority rate on test is not recorded in these results "
                     "and could not be re-derived.")
    for m in reference_methods():
        ref = d[d["method"] == m].drop_duplicates(subset=["llm_label", "test"]) if "llm_label" in d else d.iloc[0:0]
        for k, r in enumerate(ref.itertuples()):
            n = int(r.test_n) if not math.isnan(r.test_n) else 0
            lo, hi = wilson(r.test * n, n)
            # several LLMs: one line each, told apart by dash pattern and named in the legend
            name, named = _reference_name(r, several=len(ref) > 1)
            line = ax.axhline(scale * r.test, color=method_color(m), linewidth=1.0,
                              linestyle=REFERENCE_DASHES[k % len(REFERENCE_DASHES)], label=f"{name} (reference)")
            line.set_gid(f"reference:{m}")
            if n:
                ax.axhspan(scale * lo, scale * hi, color=method_color(m), alpha=0.12, linewidth=0)
            data[m] = (float(r.test), lo, hi, n)
            texts.append(f"{named} is a reference, not a seed-paired arm (it depends on "
                         f"neither fraction nor seed): {pct(r.test)}% on {n} test items, "
                         f"{'dotted' if k == 0 else 'dash-dotted' if k == 1 else 'sparsely dotted'} line, shaded = 95% "
                         f"Wilson interval over test items [{pct(lo)}, {pct(hi)}].")
    return " ".join(texts), data


def accuracy_vs_fraction(runs: pd.DataFrame, dataset: str, raw: dict | None = None) -> FigureOut:
    d = runs[runs["dataset"] == dataset]
    metric = d["metric"].iloc[0]
    name = f"accuracy_vs_fraction_{_slug(dataset)}"
    out = FigureOut(name, "accuracy", f"Test {metric_name(metric)} vs training data: {dataset}")
    arms_d = d[~d["method"].isin(reference_methods())]
    summ = cell_summaries(arms_d, "test")
    fractions = sorted(summ["fraction"].unique())
    if not fractions:
        out.skipped = "no seed-dependent method on this dataset"
        return out
    n_train = _n_train_by_fraction(summ)
    with paper_style():
        fig, ax = new_figure(2.9)
        marks = stand_ins(arms_d)
        drawn = _lines_over_fraction(ax, summ, fractions, runs=arms_d, marks=marks)
        ref_txt, ref = _reference_lines(ax, d)
        if len(fractions) > 1:
            _fraction_axis(ax, fractions, n_train)
        ax.set_ylabel(f"test {metric_name(metric)} (%)")
        _legend_below(fig, ax, named_on_axis=len(fractions) == 1)
    out.fig = fig
    out.data = {"lines": drawn, "fractions": fractions, "n_train": n_train, "majority": ref.get("majority"),
                "references": ref}
    ntxt = ", ".join(f"{frac_label(f)} -> {n_train[f]:.0f}" for f in fractions if not math.isnan(n_train[f]))
    layout = ("against the share of the training pool used (log x axis; training examples per fraction: "
              f"{ntxt}; top axis). One line per method" if len(fractions) > 1 else
              f"at one training fraction ({ntxt} training examples), one position per method")
    out.caption = (
        f"Test {metric_name(metric)} on {dataset} {layout}: {_interval_note(summ, clipped=True)}. "
        f"A missing cell is a gap, not interpolated. {ref_txt}{_test_cap_note(d, raw)}{stand_in_note(marks)}"
    )
    return out


def gap_vs_fraction(runs: pd.DataFrame, dataset: str) -> FigureOut:
    """Overfitting as dev loss minus train loss of the selected checkpoint (does not saturate)."""
    d = runs[(runs["dataset"] == dataset) & ~runs["method"].isin(reference_methods())].copy()
    name = f"overfitting_gap_{_slug(dataset)}"
    out = FigureOut(name, "overfitting", f"Overfitting (dev loss minus train loss): {dataset}")
    if "loss_gap" not in d or d["loss_gap"].notna().sum() == 0:
        out.skipped = "no run recorded both a train and a dev loss"
        return out
    summ = cell_summaries(d, "loss_gap")
    fractions = sorted(summ["fraction"].unique())
    with paper_style():
        fig, ax = new_figure(2.7)
        marks = stand_ins(d[d["loss_gap"].notna()])
        drawn = _lines_over_fraction(ax, summ, fractions, scale=1.0, bounds=(-1e9, 1e9), runs=d, value="loss_gap",
                                     marks=marks)
        ax.axhline(0, color="#999999", linewidth=0.6)
        if len(fractions) > 1:
            _fraction_axis(ax, fractions, _n_train_by_fraction(summ))
        ax.set_ylabel("dev loss - train loss (nats)".replace("-", "−"))
        _legend_below(fig, ax, named_on_axis=len(fractions) == 1)
    out.fig, out.data = fig, {"lines": drawn, "fractions": fractions}
    parts = []
    if UNDER_TEST in drawn and BASELINE in drawn:
        ut, bl = display_name(UNDER_TEST), display_name(BASELINE)
        common = sorted(set(drawn[UNDER_TEST]) & set(drawn[BASELINE]))
        n_at = summ.groupby(["arm", "fraction"])["n"].max()
        few = [f for f in common if min(n_at.get((UNDER_TEST, f), 0), n_at.get((BASELINE, f), 0))
               < MIN_SEEDS_FOR_INTERVAL]
        smaller = [f for f in common if _intervals_separate(summ, UNDER_TEST, BASELINE, f)]
        larger = [f for f in common if _intervals_separate(summ, BASELINE, UNDER_TEST, f)]
        overlap = [f for f in common if f not in smaller + larger + few]
        if smaller:
            parts.append(f" {ut}'s gap is below {bl}'s, with non-overlapping 95% intervals, at "
                         f"{', '.join(frac_label(f) for f in smaller)}.")
        if larger:
            parts.append(f" {ut}'s gap is above {bl}'s, with non-overlapping 95% intervals, at "
                         f"{', '.join(frac_label(f) for f in larger)}.")
        if overlap:
            parts.append(f" The intervals of {ut} and {bl} overlap at {', '.join(frac_label(f) for f in overlap)}, "
                         "so the figure shows no difference there.")
        if few:
            parts.append(f" No interval at {', '.join(frac_label(f) for f in few)}: n < {MIN_SEEDS_FOR_INTERVAL} "
                         "seeds, so the figure claims nothing there.")
    out.caption = (
        f"Overfitting on {dataset}, measured as dev cross-entropy loss minus train loss of the selected checkpoint "
        f"(not train minus test accuracy, which saturates at 100% train accuracy), per method: {_interval_note(summ)}. "
        f"Larger means more overfitting. Train loss is measured on at most train.eval_train_max training examples."
        f"{''.join(parts)}"
        + (" Dev loss is where the checkpoint was selected (dev also drove the prefix search), so this gap may favour "
           "methods that searched more; the overfitting claim is judged on test loss minus train loss (test is "
           "never used for selection): see the scorecard." if "test_gap" in d else "")
        + stand_in_note(marks)
    )
    return out


def _mean_curve(results: list[dict], key: str) -> tuple[list[int], list[float]]:
    by_epoch: dict[int, list[float]] = {}
    for r in results:
        for row in r.get("curves") or []:
            v = row.get(key)
            if v is not None and row.get("epoch") is not None:
                by_epoch.setdefault(int(row["epoch"]), []).append(float(v))
    epochs = sorted(by_epoch)
    return epochs, [float(np.mean(by_epoch[e])) for e in epochs]


def round_boundaries(result: dict) -> list[float]:
    """Epoch positions (between epochs) where a GPTA run switched to a prefix with different text.

    A round whose revision fell back to, or echoed, the same text is not a boundary: the prefix
    did not change there.
    """
    from reports.extract import prefix_changes

    changed = set(prefix_changes(result))
    rows = [r for r in result.get("curves") or [] if r.get("round") is not None]
    has_history = bool(result.get("prefix_history"))
    return [prev["epoch"] + 0.5 for prev, cur in zip(rows, rows[1:])
            if cur["round"] != prev["round"] and (not has_history or cur["round"] in changed)]


def _most_seeded_arm(sel: pd.DataFrame, prefer: str) -> str:
    """The arm of ``sel`` to draw: ``prefer`` when it is one, else the one with the most seeds (the first
    in arm order on a tie)."""
    seeds = sel.groupby("arm")["seed"].nunique()
    if prefer in seeds.index:
        return prefer
    return max(arm_order(seeds.index), key=lambda a: seeds[a])  # max keeps the first of equals


def _learning_arm(sel: pd.DataFrame) -> str:
    """The GPTA arm a learning-curve figure draws: the paper's arm (K = 1, always adopt) with the most
    seeds; any GPTA arm where no run is the paper's. One arm, not all: its two curves and its round
    boundaries beside the baseline's two curves are what one column can show legibly."""
    paper = sel[bool_flags(sel["paper_arm"])] if "paper_arm" in sel else sel.iloc[0:0]
    return _most_seeded_arm(paper if not paper.empty else sel, prefer=UNDER_TEST)


def _boundary_counts(results: list[dict]) -> dict[float, int]:
    """{boundary position: how many of the runs changed their prefix text there}, by position."""
    counts: dict[float, int] = {}
    for r in results:
        for b in set(round_boundaries(r)):
            counts[b] = counts.get(b, 0) + 1
    return dict(sorted(counts.items()))


def learning_curves(runs: pd.DataFrame, raw: dict[str, dict], dataset: str) -> FigureOut:
    d = runs[(runs["dataset"] == dataset) & runs["method"].isin([UNDER_TEST, BASELINE])]
    name = f"learning_curves_{_slug(dataset)}"
    out = FigureOut(name, "overfitting", f"Learning curves at the lowest fraction: {dataset}")
    both = [f for f, g in d.groupby("fraction") if {UNDER_TEST, BASELINE} <= set(g["method"])]
    if not both:
        out.skipped = f"no fraction has both a {UNDER_TEST} and a {BASELINE} run"
        return out
    fraction = min(both)
    at = d[d["fraction"] == fraction]
    arms = {UNDER_TEST: _learning_arm(at[at["method"] == UNDER_TEST]),
            BASELINE: _most_seeded_arm(at[at["method"] == BASELINE], prefer=BASELINE)}
    sel = {m: at[at["arm"] == a] for m, a in arms.items()}
    # seed-matched: both curves are means over the same seeds where the two arms share any
    common = set(sel[UNDER_TEST]["seed"]) & set(sel[BASELINE]["seed"])
    if common:
        sel = {m: g[g["seed"].isin(common)] for m, g in sel.items()}
    marks = stand_ins(pd.concat(sel.values()))
    drawn: dict[str, dict] = {}
    with paper_style():
        fig, ax = new_figure(2.7)
        for method, arm in arms.items():
            res = [raw[i] for i in sel[method]["run_id"] if i in raw]
            for key, ls, what in (("train_loss", "-", "train"), ("dev_loss", "--", "dev")):
                epochs, ys = _mean_curve(res, key)
                if not epochs:
                    continue
                (line,) = ax.plot(epochs, ys, color=method_color(method), linestyle=ls,
                                  marker=method_marker(method), label=f"{arm_label(arm, marks)} {what} loss")
                line.set_gid(f"curve:{arm}:{what}")
                drawn[f"{arm} {what}"] = dict(zip(epochs, ys))
        tested = [raw[i] for i in sel[UNDER_TEST]["run_id"] if i in raw]
        counts = _boundary_counts(tested)  # every drawn GPTA run's boundaries, not one run's
        for j, b in enumerate(counts):
            ln = ax.axvline(b, color=method_color(UNDER_TEST), linestyle=":", linewidth=0.9,
                            label=f"{display_name(UNDER_TEST)} prefix text changed" if j == 0 else "_nolegend_")
            ln.set_gid("boundary")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        _legend_below(fig, ax, ncol=2)
    n = {m: int(g["seed"].nunique()) for m, g in sel.items()}  # per drawn arm, not per method
    out.fig = fig
    out.data = {"fraction": fraction, "curves": drawn, "boundaries": list(counts), "boundary_runs": counts,
                "arms": arms, "n": n}
    out.caption = (
        f"Train loss (solid) and dev loss (dashed) per epoch on {dataset} at the lowest fraction with both methods, "
        f"{frac_label(fraction)}, mean over seeds ({_seed_counts(arms, n, marks, common)}; no interval is drawn). "
        + _learning_arm_note(at[at["method"] == UNDER_TEST], arms[UNDER_TEST])
        + _boundary_note(arms[UNDER_TEST], counts, tested)
        + "Train loss is measured on at most train.eval_train_max training examples after each epoch."
        + stand_in_note(marks)
    )
    return out


def _seed_counts(arms: dict[str, str], n: dict[str, int], marks: dict, common: set) -> str:
    """"GPTA [..]: 7 seeds, Fine-tune: 7 seeds, the same seeds": each drawn arm named by its legend label."""
    text = ", ".join(f"{arm_label(a, marks)}: {n[m]} seed{'s' if n[m] != 1 else ''}" for m, a in arms.items())
    return text + (", the same seeds" if common else ", no seed in common")


def _learning_arm_note(gpta: pd.DataFrame, arm: str) -> str:
    """Which GPTA arm is drawn, and why, when there are several."""
    others = [a for a in arm_order(gpta["arm"]) if a != arm]
    if not others:
        return ""
    paper = "paper_arm" in gpta and bool(bool_flags(gpta.loc[gpta["arm"] == arm, "paper_arm"]).all())
    kind = "the paper's arm" if paper else "the arm"
    return (f"Of the {len(others) + 1} {display_name(UNDER_TEST)} arms, the figure draws {display_name(arm)}, {kind} "
            f"with the most seeds here; {'the other is' if len(others) == 1 else 'the others are'} in the tables. ")


def _boundary_note(arm: str, counts: dict[float, int], tested: list[dict]) -> str:
    """The round boundaries drawn, each with how many of the drawn arm's runs changed their prefix there."""
    name, n = display_name(arm), len(tested)
    changed = sum(bool(round_boundaries(r)) for r in tested)
    if not counts:
        return (f"In none of the {n} {name} runs drawn did a round change the prefix text, so no boundary is "
                "drawn. ")
    where = "; ".join(f"after epoch {b - 0.5:g}: {k} of {n} runs" for b, k in counts.items())
    return (f"Dotted vertical lines: round boundaries where the prefix text changed in at least one of the {n} "
            f"{name} runs drawn ({where}); in {changed} of {n} runs some round changed it (a revision that fell "
            "back to or echoed the same text draws none). ")


def dialogue_rounds(runs: pd.DataFrame, raw: dict[str, dict], dataset: str) -> FigureOut:
    d = runs[(runs["dataset"] == dataset) & (runs["method"] == UNDER_TEST)]
    ut = display_name(UNDER_TEST)
    name = f"dialogue_rounds_{_slug(dataset)}"
    out = FigureOut(name, "dialogue", f"Dev metric per {ut} round: {dataset}")
    if d.empty or d["rounds"].max() < 1:
        out.skipped = f"no {ut} run with a prefix history"
        return out
    metric = d["metric"].iloc[0]
    arms = arm_order(d["arm"])
    marks = stand_ins(d)
    per_run, means, arm_runs = {}, {}, {}
    with paper_style():
        fig, ax = new_figure(2.5)
        for arm in arms:
            st = _arm_style(arm, arms)
            table: dict[int, list[float]] = {}
            arm_runs[arm] = {}
            for rid in d[d["arm"] == arm]["run_id"]:
                hist = (raw.get(rid) or {}).get("prefix_history") or []
                xs = [h["round"] for h in hist]
                ys = [100 * h["dev_metric"] for h in hist]
                (line,) = ax.plot(xs, ys, color=st["color"], linestyle=st["linestyle"], alpha=0.3,
                                  linewidth=0.7, label="_nolegend_")
                line.set_gid(f"run:{rid}")
                per_run[rid] = arm_runs[arm][rid] = dict(zip(xs, ys))
                for x, y in zip(xs, ys):
                    table.setdefault(x, []).append(y)
            xs = sorted(table)
            ys = [float(np.mean(table[x])) for x in xs]
            (line,) = ax.plot(xs, ys, label=f"{arm_label(arm, marks)} (mean of {len(d[d['arm'] == arm])} runs)",
                              linewidth=1.6, **st)
            line.set_gid(f"mean:{arm}")
            means[arm] = dict(zip(xs, ys))
        ax.set_xlabel("round (0 = LLM's first prefix); dev at its end")
        ax.set_ylabel(f"dev {metric_name(metric)} (%)")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        _legend_below(fig, ax, ncol=1)
    revisions, improved = int(d["revisions"].sum()), int(d["improved_rounds"].sum())
    rises = _steps(per_run.values())
    out.fig = fig
    out.data = {"runs": per_run, "means": means, "revisions": revisions, "improved": improved, "rises": rises,
                "per_arm": {arm: {"rises": _steps(arm_runs[arm].values()), "mean_steps": _steps([means[arm]])}
                            for arm in arms}}
    # "improved" is the loop's own A/B, not a rise in this plot: it needs the proposals' records
    ab_recorded = any(isinstance((raw.get(rid) or {}).get("dialogue"), dict)
                      or any(h.get("proposals") for h in (raw.get(rid) or {}).get("prefix_history") or []
                             if isinstance(h, dict)) for rid in d["run_id"])
    ab = ("A revision counts as improved when, in the same-weights A/B on dev (its prefix and the incumbent scored "
          "on dev with the same weights, at the end of the round that produced it), it beat the incumbent and was "
          "adopted. " if revisions and ab_recorded
          else "These results do not record the same-weights A/B of each revision, so no revision is counted as "
               "improved. " if revisions else "No run revised its prefix. ")
    out.caption = (
        f"The dialogue gradient on {dataset}: dev {metric_name(metric)} at the end of each {ut} round, one thin line "
        f"per run ({len(per_run)} runs; no interval is drawn), one thick line per arm = the mean of its runs. {ab}"
        + "".join(_dialogue_arm_text(arm_label(arm, marks), d[d["arm"] == arm], arm_runs[arm], means[arm], metric,
                                     ab_recorded) for arm in arms)
        + "With weights continuing across rounds a rise mixes further training with the new prefix, so it is "
        "not evidence for the prefix." + stand_in_note(marks)
    )
    return out


def _dialogue_arm_text(label: str, g: pd.DataFrame, lines: dict, mean: dict, metric: str, ab_recorded: bool) -> str:
    """One arm's numbers in the dialogue caption, named by its legend label: its mean path, the steps of its
    runs and of its mean, its A/B count, fallbacks and kinds of revision."""
    rises, mean_steps = _steps(lines.values()), _steps([mean])
    path = ", ".join(f"round {x}: {y:.1f}%" for x, y in mean.items())
    revisions, improved = int(g["revisions"].sum()), int(g["improved_rounds"].sum())
    fallbacks = int(g["fallbacks"].sum())
    text = (f"{label} ({len(g)} runs): mean {path}. In the plot, a run's dev {metric_name(metric)} rose from one round "
            f"to the next in {rises['up']} of {rises['steps']} steps (fell in {rises['down']}, unchanged in "
            f"{rises['flat']}); the mean rose in {mean_steps['up']} of {mean_steps['steps']}. ")
    if revisions and ab_recorded:
        text += f"Improved (A/B) in {improved} of {revisions} revisions ({improved / revisions:.0%}). "
    text += (f"{fallbacks} round{'s' if fallbacks != 1 else ''} used a fallback prefix because the LLM's reply was "
             "unusable. ")
    if "rev_total" in g:
        k = {c: int(g[f"rev_{c}"].sum()) for c in ("total", "new", "echo", "fallback", "unchanged")}
        text += (f"Of {k['total']} revisions, {k['new']} were new text, {k['echo']} echoed an earlier prefix and "
                 f"{k['fallback']} fell back; {k['unchanged']} left the prefix text unchanged. ")
    return text


def _steps(lines) -> dict[str, int]:
    """Round-to-round steps of plotted lines ({round: value}): how many rose, fell or stayed."""
    out = {"steps": 0, "up": 0, "down": 0, "flat": 0}
    for line in lines:
        ys = [line[x] for x in sorted(line)]
        for prev, cur in zip(ys, ys[1:]):
            out["steps"] += 1
            out["up" if cur > prev + 1e-9 else "down" if cur < prev - 1e-9 else "flat"] += 1
    return out


def llm_accuracy_vs_gain(runs: pd.DataFrame) -> FigureOut:
    """One point per GPTA run; the correlations are per dataset (a dataset has one metric), never pooled."""
    x = "llm_acc" if "llm_acc" in runs else "llm_accuracy"
    d = runs[(runs["method"] == UNDER_TEST) & runs[x].notna() & runs["gain"].notna()]
    ut, bl = display_name(UNDER_TEST), display_name(BASELINE)
    out = FigureOut("llm_accuracy_vs_gain", "dialogue", f"LLM accuracy vs {ut}'s gain over {bl}")
    if d.empty:
        out.skipped = (f"no {ut} run with an LLM accuracy (a run whose LLM proposed nothing new gets no credit: n/a) "
                       f"and a paired {bl} run (same dataset, fraction, seed)")
        return out
    corr = correlate(d[x], d["gain"])  # pooled: kept in the data for the summary, never drawn or claimed
    datasets = sorted(d["dataset"].unique())
    per_dataset = {ds: correlate(g[x], g["gain"]) for ds, g in d.groupby("dataset")}
    llms = sorted(d["llm_label"].dropna().unique()) if "llm_label" in d else []
    # several LLMs: a fill per LLM (filled, hollow, hatched), and a correlation per LLM in the caption
    per_llm = {llm: correlate(g[x], g["gain"]) for llm, g in d.groupby("llm_label")} if len(llms) > 1 else {}
    fills = [{}, {"facecolor": "none"}, {"facecolor": "none", "hatch": "//////"}]
    with paper_style():
        fig, ax = new_figure(3.0)
        handles = []
        for i, ds in enumerate(datasets):  # colour and marker = dataset, from a palette no method uses
            color, marker = dataset_style(i)
            g = d[d["dataset"] == ds]
            groups = [(llm, g[g["llm_label"] == llm]) for llm in llms] if per_llm else [(None, g)]
            for llm, sel in groups:
                if sel.empty:
                    continue
                fill = fills[llms.index(llm) % len(fills)] if llm is not None else {}
                pts = ax.scatter(sel[x], 100 * sel["gain"], s=18, marker=marker, alpha=0.7, linewidth=0.8,
                                 **{"color": color, **fill, "edgecolor": color})
                pts.set_gid(f"points:{ds}" + (f":{llm}" if llm is not None else ""))
            handles.append(Line2D([], [], linestyle="none", marker=marker, color=color, markersize=5,
                                  label=f"dataset {ds} (n = {len(g)})"))
        for k, llm in enumerate(llms if per_llm else []):  # fill = LLM, shown in neutral grey
            hollow = "facecolor" in fills[k % len(fills)]
            handles.append(Line2D([], [], linestyle="none", marker="o", color="#555555", markersize=5,
                                  markerfacecolor="none" if hollow else "#555555",
                                  label=f"LLM {llm}: " + ("filled" if k == 0 else "hollow" if k == 1 else "hatched")))
        ax.axhline(0, color="#999999", linewidth=0.6)
        ax.set_xlabel("LLM accuracy: share of new proposals beating\nthe incumbent on dev (same weights)")
        ax.set_ylabel(f"test gain over {bl} (points)")
        ax.set_title(f"{len(d)} {ut} runs, {len(datasets)} dataset{'s' if len(datasets) != 1 else ''}")
        ax.set_xlim(-0.05, 1.05)
        fig.legend(handles=handles, loc="outside lower center", ncol=1, frameon=False)
        grow_for_legend(fig, len(handles))
    out.fig = fig
    out.data = {"n": len(d), "pearson": corr.pearson, "spearman": corr.spearman, "corr": corr, "per_llm": per_llm,
                "per_dataset": per_dataset}
    how = "; ".join(sorted(d["llm_acc_how"].unique())) if "llm_acc_how" in d else "recorded"
    out.caption = (
        f"Each point is one {ut} run (the unit): x = its LLM accuracy, the share of its genuinely new proposals "
        f"that beat the incumbent prefix on dev with the same weights (measured as: {how}); y = its test metric "
        f"minus that of {bl} on the same dataset, fraction and seed, in points. Colour and marker = dataset, from a "
        f"palette no method uses (every point is a {ut} run)" + ("; fill = LLM" if per_llm else "")
        + ". Points at the same place overlap (darker); no interval is drawn. A dataset has "
        "one metric, so correlations are per dataset and never pooled (described, no test): "
        + "; ".join(f"{ds}: {_rho_text(c)}" for ds, c in per_dataset.items())
        + ". The paper reports a correlation between the two; these per-dataset numbers describe the plot, and the "
        "scorecard states the claim's own test and verdict."
        + ("".join(f" LLM {llm}: {_rho_text(c)}." for llm, c in per_llm.items()) if per_llm else "")
        + (" With few rounds per run the x values are coarse (e.g. 0 or 1 with one revision)."
           if "revisions" in d and d["revisions"].max() <= 2 else "")
    )
    return out


def pareto_front(xs, ys) -> list[int]:
    """Indices of points no other point beats on both cost (lower) and metric (higher)."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], -math.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def log_axis(axis, values) -> None:
    """A log axis a reader can read: a labelled tick at every power of ten in range (1,000 or 10^3).

    The limits are widened to at least one decade, so at least two labelled ticks show. Under two
    decades the labels are plain numbers and 2x and 5x a power of ten are labelled too; over that,
    powers of ten are written 10^k and the ticks between are unlabelled.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    axis.axes.set_xscale("log") if axis is axis.axes.xaxis else axis.axes.set_yscale("log")
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (1.0, 10.0)
    span = math.log10(hi / lo)
    pad = 10 ** (max(0.0, 1.0 - span) / 2 + 0.08 * max(span, 1.0))  # at least a decade shown, some margin
    lo, hi = lo / pad, hi * pad
    (axis.axes.set_xlim if axis is axis.axes.xaxis else axis.axes.set_ylim)(lo, hi)
    axis.set_major_locator(mticker.LogLocator(base=10, numticks=30))
    if math.log10(hi / lo) < 2:  # few decades: plain numbers, and the 2x and 5x ticks carry labels too
        plain = mticker.FuncFormatter(lambda x, _: f"{x:,.0f}" if 1 <= x < 1e6 else f"{x:g}")
        axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=30))  # all thinned: none
        axis.set_major_formatter(plain)
        axis.set_minor_locator(mticker.NullLocator())
    else:  # many decades: 10^k at every power of ten, unlabelled minor ticks between
        axis.set_major_formatter(mticker.LogFormatterSciNotation(base=10))
        axis.set_minor_locator(mticker.LogLocator(base=10, subs=tuple(range(2, 10)), numticks=30))
        axis.set_minor_formatter(mticker.NullFormatter())


def cost_vs_accuracy(runs: pd.DataFrame, dataset: str) -> FigureOut:
    d = runs[runs["dataset"] == dataset].copy()
    metric = d["metric"].iloc[0]
    llm_s = d["cost_llm_seconds"] if "cost_llm_seconds" in d else d["llm_seconds"]
    d["compute_s"] = pd.concat([llm_s.fillna(0), d["train_seconds"].fillna(0)], axis=1).sum(axis=1)
    cold = bool(d.get("cost_llm_seconds_cold", pd.Series([False])).all())
    name = f"cost_vs_accuracy_{_slug(dataset)}"
    out = FigureOut(name, "cost", f"Cost vs {metric_name(metric)}: {dataset}")
    if (d["compute_s"] <= 0).all():
        out.skipped = "no run recorded LLM or training seconds"
        return out
    d = d[d["compute_s"] > 0]
    g = d.groupby(["arm", "fraction"]).agg(cost=("compute_s", "mean"), score=("test", "mean"),
                                           method=("method", "first"), runs=("test", "size")).reset_index()
    front = pareto_front(g["cost"].tolist(), g["score"].tolist())
    arms = arm_order(g["arm"])
    marks = stand_ins(d)
    tok_col = "cost_tokens" if "cost_tokens" in d else "llm_tokens"
    with paper_style():
        # one column wide, panels stacked: readable at the width a report shows it (34em, 3.4 in on paper)
        fig, (ax, ax_t) = new_figure(4.6, nrows=2)
        for arm in arms:  # bottom panel: LLM tokens per run (0 for methods without an LLM: symlog axis)
            one = d[d["arm"] == arm]
            ax_t.scatter(one[tok_col], 100 * one["test"], s=14, alpha=0.8, zorder=3,
                         **_scatter_style(arm, arms)).set_gid(f"tokens:{arm}")
        ax_t.set_xscale("symlog", linthresh=100)
        ax_t.set_xlim(left=-10)
        tok_cold = bool(d.get("cost_tokens_cold", pd.Series([False])).all())
        ax_t.set_xlabel(("cold " if tok_cold else "") + "LLM tokens per run (prompt + completion; symlog)")
        ax_t.set_ylabel(f"test {metric_name(metric)} (%)")
        for arm in arms:
            st = _arm_style(arm, arms)
            one = d[d["arm"] == arm]
            ax.scatter(one["compute_s"], 100 * one["test"], color=st["color"], marker=st["marker"], s=7,
                       alpha=0.45, linewidth=0, zorder=2).set_gid(f"runs:{arm}")
            sel = g[g["arm"] == arm]
            pts = ax.scatter(sel["cost"], 100 * sel["score"], s=24, label=arm_label(arm, marks), zorder=3,
                             **_scatter_style(arm, arms))
            pts.set_gid(f"arm:{arm}")
        fr = g.loc[front].sort_values("cost")
        if len(fr) >= 2:  # a one-point front is a point, not a line
            (line,) = ax.plot(fr["cost"], 100 * fr["score"], color="#333333", linestyle="--", linewidth=0.8,
                              drawstyle="steps-post", label="Pareto front", zorder=2)
            line.set_gid("pareto")
        ax.scatter(fr["cost"], 100 * fr["score"], s=60, facecolor="none", edgecolor="#333333", linewidth=0.7,
                   zorder=4).set_gid("pareto-points")
        log_axis(ax.xaxis, d["compute_s"])
        ax.set_xlabel(("cold LLM" if cold else "LLM") + " + training seconds per run (log scale)")
        ax.set_ylabel(f"test {metric_name(metric)} (%)")
        _legend_below(fig, ax)
    out.fig = fig
    # a reference runs once per dataset, whatever fraction its record carries: named without one
    front_desc = "; ".join(display_name(r.arm) if r.method in reference_methods()
                           else f"{display_name(r.arm)} at {frac_label(r.fraction)}" for r in fr.itertuples())
    out.data = {"points": g, "front": fr, "runs": d[["arm", "compute_s", "test"]]}
    out.caption = (
        f"Cost against test {metric_name(metric)} on {dataset}: small faint marks are single runs, large marks the "
        f"mean per method and fraction (no interval is drawn), so the spread of the seconds (timing noise) is "
        "visible" + ("; a method's second setting (e.g. another LLM) is drawn hollow"
                     if any(_scatter_style(a, arms)["facecolor"] == "white" for a in arms) else "")
        + ". Top: x = "
        + ("cold LLM seconds (as if nothing were cached) "
           if cold else "LLM seconds as each run paid them (a cache hit records 0 s; the cold cost is not recorded "
                        "in these results) ")
        + "+ training seconds, as measured on the machines that ran each cell (compare within a sweep). "
        + _cost_units_note(d)
        + (f"Circled points joined by the dashed step line are the Pareto front (nothing is both cheaper and "
           f"better): {front_desc}." if len(fr) >= 2 else
           f"One point is undominated ({front_desc}), circled; with one point there is no front to draw.")
        + " Bottom: the same runs against the LLM tokens each recorded (prompt + completion"
        + (", cold: as if nothing were cached" if bool(d.get("cost_tokens_cold", pd.Series([False])).all())
           else "; the cold cost is not recorded in these results, so a cache hit may count none")
        + "); methods without an LLM sit at 0. Calls per method are in the cost table."
        + stand_in_note(marks)
    )
    return out


def _cost_units_note(d: pd.DataFrame) -> str:
    """What one run's seconds buy, per kind of method: a reference's are its LLM predicting its test sample,
    a trained method's are training (plus, for GPTA, its LLM calls) without its own inference on test."""
    parts = []
    for m in reference_methods():
        n = sorted({int(x) for x in d.loc[d["method"] == m, "test_n"].dropna()}) if "test_n" in d else []
        if (d["method"] == m).any():
            size = f"{'/'.join(f'{x:,}' for x in n)} predictions per run" if n else "its test sample"
            parts.append(f"{display_name(m)}'s seconds are the LLM labelling its test sample ({size})")
    if not parts:
        return ""
    return ("The units differ: " + "; ".join(parts) + f", while {display_name(UNDER_TEST)}'s are training plus its "
            "LLM calls, and no trained method's inference on test is counted; so the axis compares one run of each, "
            f"not the cost of the same number of predictions (claim 4 normalises both to {PREDICTIONS:,} "
            "predictions, in the scorecard). ")


def _rho_text(c) -> str:
    """A correlation described without a p: the claim's one test lives in the scorecard (claim 5)."""
    if math.isnan(c.spearman):
        return f"undefined (n = {c.n})"
    return f"Spearman rho = {c.spearman:.2f}, Pearson r = {c.pearson:.2f}, n = {c.n}"


def transfer_heatmap(runs: pd.DataFrame) -> FigureOut:
    import seaborn as sns

    d = runs[(runs["method"] == "transfer") & runs["source_dataset"].notna() & runs["gain"].notna()]
    out = FigureOut("transfer_heatmap", "transfer", f"Transfer: source x target gain over {display_name(BASELINE)}")
    if d.empty:
        n_t = int((runs["method"] == "transfer").sum())
        out.skipped = ("no transfer runs in these results (run `gpta transfer --from RESULT.json --dataset D`)"
                       if n_t == 0 else f"{n_t} transfer run(s) but none has a paired {BASELINE} run on its target "
                       "(same fraction and seed)")
        return out
    agg = d.groupby(["source_dataset", "dataset"])["gain"].agg(["mean", "count"]).reset_index()
    sources = sorted(agg["source_dataset"].unique())
    targets = sorted(agg["dataset"].unique())
    mean = agg.pivot(index="source_dataset", columns="dataset", values="mean").reindex(index=sources, columns=targets)
    count = agg.pivot(index="source_dataset", columns="dataset", values="count").reindex(index=sources, columns=targets)
    annot = np.vectorize(lambda m, c: "missing" if math.isnan(m) else f"{100 * m:+.1f}\n(n={int(c)})")(
        mean.to_numpy(dtype=float), count.to_numpy(dtype=float))
    lim = max(1e-9, float(np.nanmax(np.abs(mean.to_numpy(dtype=float)))) * 100)
    with paper_style():
        fig, ax = new_figure(max(1.9, 1.1 + 0.4 * len(sources)))
        # PuOr is a ColorBrewer diverging map that stays readable with colour-blindness; 0 = white.
        with warnings.catch_warnings():  # seaborn 0.13 calls a colormap method matplotlib plans to rename
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(100 * mean, ax=ax, annot=annot, fmt="", cmap="PuOr", center=0, vmin=-lim, vmax=lim,
                        linewidths=0.5, linecolor="white",
                        cbar_kws={"label": f"gain vs {display_name(BASELINE)} (points)"},
                        annot_kws={"fontsize": 7})
        ax.set_xlabel("target dataset (trained, tested)")
        ax.set_ylabel("source of the prefix")
        ax.tick_params(axis="y", rotation=0)
    out.fig = fig
    out.data = {"mean": mean, "count": count}
    cells = [f"{s} -> {t}: {100 * mean.loc[s, t]:+.1f} points (n={int(count.loc[s, t])})"
             for s in sources for t in targets if not math.isnan(mean.loc[s, t])]
    bl = display_name(BASELINE)
    # Descriptive only: the tests of these cells live in one declared family each (the per-cell
    # family of the results tables; claim 6 in the scorecard, against the random- and empty-prefix
    # controls). A figure never runs a family of its own.
    out.caption = (
        "Transfer: test gain, in points, of training on the target dataset with the prefix learned on the source "
        f"dataset, over {bl} on the target (paired by fraction and seed; mean over pairs; n = pairs). "
        f"{'; '.join(cells)}. Pairs with no runs are marked missing. Descriptive: no test is run here; the "
        "transfer claim is tested in the scorecard (claim 6) against the target's random- and empty-prefix "
        f"controls, and each cell against {bl} in the results tables."
    )
    return out


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)
