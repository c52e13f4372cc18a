"""Figure builders. Each returns a ``FigureOut`` holding the matplotlib Figure (before saving,
so tests can count its lines and points), a caption with numbers from the data, or the reason
it was skipped. Missing cells are NaN in a line, i.e. a gap: never interpolated.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from reports.analysis import BASELINE, arm_order, cell_summaries
from reports.stats import correlate
from reports.style import (VARIANT_STYLES, method_color, method_marker, new_figure, paper_style)


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


def _arm_style(arm: str, arms: list[str]) -> dict[str, Any]:
    method = arm.split(" ")[0]
    same_method = [a for a in arms if a.split(" ")[0] == method]
    ls = VARIANT_STYLES[same_method.index(arm) % len(VARIANT_STYLES)] if arm in same_method else "-"
    return {"color": method_color(method), "marker": method_marker(method), "linestyle": ls,
            "markeredgecolor": "#333333", "markeredgewidth": 0.4}


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


def _lines_over_fraction(ax, summ: pd.DataFrame, fractions: list[float], scale: float = 100.0,
                         bounds: tuple[float, float] = (0.0, 100.0)) -> dict:
    """One Line2D per arm (label = arm) over every fraction; NaN where the cell is missing.

    The t-interval band (a vertical bar where there is one fraction) is clipped to ``bounds`` (a
    metric in % cannot leave [0, 100]); with two seeds the interval is wide (t = 12.7) and would
    otherwise dwarf the lines.
    """
    drawn = {}
    arms = arm_order(summ["arm"])
    for arm in arms:
        g = summ[summ["arm"] == arm].set_index("fraction")
        y = np.array([g["mean"].get(f, np.nan) for f in fractions], dtype=float) * scale
        lo = np.array([g["ci_low"].get(f, np.nan) for f in fractions], dtype=float) * scale
        hi = np.array([g["ci_high"].get(f, np.nan) for f in fractions], dtype=float) * scale
        st = _arm_style(arm, arms)
        (line,) = ax.plot(fractions, y, label=arm, **st)
        line.set_gid(f"arm:{arm}")
        if np.isfinite(lo).any():
            lo, hi = np.clip(lo, *bounds), np.clip(hi, *bounds)
            if len(fractions) == 1:  # a band over one x has no width: draw a bar
                ax.vlines(fractions, lo, hi, color=st["color"], alpha=0.5, linewidth=2.5)
            else:
                ax.fill_between(fractions, lo, hi, color=st["color"], alpha=0.15, linewidth=0)
        drawn[arm] = {f: v for f, v in zip(fractions, y) if not math.isnan(v)}
    return drawn


def _legend_below(fig, ax, ncol: int = 3) -> None:
    """Legend under the axes; fewer columns when labels are long, so it fits one column width."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        longest = max(len(label) for label in labels)
        ncol = min(ncol, len(handles), max(1, 60 // (longest + 6)))  # ~60 characters fit 3.4 in at 7 pt
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)


def _n_train_by_fraction(summ: pd.DataFrame) -> dict[float, float]:
    return summ.groupby("fraction")["n_train"].median().to_dict()


def _test_cap_note(runs: pd.DataFrame) -> str:
    caps = sorted({int(c) for c in runs["test_max"].dropna() if int(c) > 0})
    if not caps:
        return ""
    return (f" Test metrics are on a capped subset of {', '.join(map(str, caps))} test examples "
            "(train.test_max), not the full test set.")


def accuracy_vs_fraction(runs: pd.DataFrame, dataset: str) -> FigureOut:
    d = runs[runs["dataset"] == dataset]
    metric = d["metric"].iloc[0]
    name = f"accuracy_vs_fraction_{_slug(dataset)}"
    out = FigureOut(name, "accuracy", f"Test {metric_name(metric)} vs training data: {dataset}")
    summ = cell_summaries(d, "test")
    fractions = sorted(summ["fraction"].unique())
    n_train = _n_train_by_fraction(summ)
    with paper_style():
        fig, ax = new_figure(2.9)
        drawn = _lines_over_fraction(ax, summ, fractions)
        maj = d["majority"].dropna()
        if not maj.empty:
            line = ax.axhline(100 * maj.mean(), color="#777777", linestyle=(0, (4, 2)), linewidth=0.9,
                              label="majority class (test)")
            line.set_gid("reference:majority")
        _fraction_axis(ax, fractions, n_train)
        ax.set_ylabel(f"test {metric_name(metric)} (%)")
        _legend_below(fig, ax)
    out.fig = fig
    out.data = {"lines": drawn, "fractions": fractions, "n_train": n_train,
                "majority": float(maj.mean()) if not maj.empty else None}
    ntxt = ", ".join(f"{frac_label(f)} -> {n_train[f]:.0f}" for f in fractions if not math.isnan(n_train[f]))
    maj_txt = ""
    if not maj.empty:
        spread = (f" (it differs across runs, {pct(maj.min(), 2)}-{pct(maj.max(), 2)}%: the runs did not all see "
                  f"the same test split)" if maj.max() - maj.min() > 1e-9 else "")
        maj_txt = f" The dashed grey line is the majority-class rate of the test set, {pct(maj.mean())}%{spread}."
    seeds = summ["n"].max()
    out.caption = (
        f"Test {metric_name(metric)} on {dataset} against the share of the training pool used (log x axis; "
        f"training examples per fraction: {ntxt}; top axis). One line per method: the mean over seeds "
        f"(up to {seeds}); the band (a bar at a single fraction) is the 95% Student-t interval over seeds, drawn where at least two seeds exist "
        f"and clipped to 0-100%. "
        f"A missing cell is a gap in its line, not interpolated.{maj_txt}{_test_cap_note(d)}"
    )
    return out


def gap_vs_fraction(runs: pd.DataFrame, dataset: str) -> FigureOut:
    d = runs[runs["dataset"] == dataset].copy()
    metric = d["metric"].iloc[0]
    d["gap"] = d["train"] - d["test"]
    name = f"overfitting_gap_{_slug(dataset)}"
    out = FigureOut(name, "overfitting", f"Train-minus-test gap: {dataset}")
    if d["gap"].notna().sum() == 0:
        out.skipped = "no run recorded a train-split metric"
        return out
    summ = cell_summaries(d, "gap")
    fractions = sorted(summ["fraction"].unique())
    with paper_style():
        fig, ax = new_figure(2.7)
        drawn = _lines_over_fraction(ax, summ, fractions, bounds=(-100.0, 100.0))
        ax.axhline(0, color="#999999", linewidth=0.6)
        _fraction_axis(ax, fractions, _n_train_by_fraction(summ))
        ax.set_ylabel(f"train - test {metric_name(metric)} (points)")
        _legend_below(fig, ax)
    out.fig, out.data = fig, {"lines": drawn, "fractions": fractions}
    parts = []
    if "gpta" in drawn and BASELINE in drawn:
        common = sorted(set(drawn["gpta"]) & set(drawn[BASELINE]))
        smaller = [f for f in common if drawn["gpta"][f] < drawn[BASELINE][f]]
        parts.append(f" GPTA's gap is smaller than finetune's at {len(smaller)} of {len(common)} fractions"
                     + (f" (not at {', '.join(frac_label(f) for f in common if f not in smaller)})"
                        if len(smaller) < len(common) else "") + ".")
    out.caption = (
        f"Overfitting on {dataset}: {metric_name(metric)} on the training sample minus {metric_name(metric)} on "
        f"test, in points, per method (mean over seeds, 95% t-interval band). Larger means more overfitting. "
        f"The train metric is measured with the selected checkpoint on at most train.eval_train_max training "
        f"examples.{''.join(parts)}"
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
    """Epoch positions (between epochs) where a GPTA run switched to a revised prefix."""
    rows = [r for r in result.get("curves") or [] if r.get("round") is not None]
    return [prev["epoch"] + 0.5 for prev, cur in zip(rows, rows[1:]) if cur["round"] != prev["round"]]


def learning_curves(runs: pd.DataFrame, raw: dict[str, dict], dataset: str) -> FigureOut:
    d = runs[(runs["dataset"] == dataset) & runs["method"].isin(["gpta", BASELINE])]
    name = f"learning_curves_{_slug(dataset)}"
    out = FigureOut(name, "overfitting", f"Learning curves at the lowest fraction: {dataset}")
    both = [f for f, g in d.groupby("fraction") if {"gpta", BASELINE} <= set(g["method"])]
    if not both:
        out.skipped = "no fraction has both a gpta and a finetune run"
        return out
    fraction = min(both)
    arms = {}
    for method in ("gpta", BASELINE):
        candidates = arm_order(d[(d["fraction"] == fraction) & (d["method"] == method)]["arm"])
        arms[method] = method if method in candidates else candidates[0]
    drawn: dict[str, dict] = {}
    with paper_style():
        fig, ax = new_figure(2.7)
        for method, arm in arms.items():
            sel = d[(d["fraction"] == fraction) & (d["arm"] == arm)]
            res = [raw[i] for i in sel["run_id"] if i in raw]
            for key, ls, what in (("train_loss", "-", "train"), ("dev_loss", "--", "dev")):
                epochs, ys = _mean_curve(res, key)
                if not epochs:
                    continue
                (line,) = ax.plot(epochs, ys, color=method_color(method), linestyle=ls,
                                  marker=method_marker(method), label=f"{arm} {what} loss")
                line.set_gid(f"curve:{arm}:{what}")
                drawn[f"{arm} {what}"] = dict(zip(epochs, ys))
        gpta_res = [raw[i] for i in d[(d["fraction"] == fraction) & (d["arm"] == arms["gpta"])]["run_id"] if i in raw]
        bounds = round_boundaries(gpta_res[0]) if gpta_res else []
        for j, b in enumerate(bounds):
            ln = ax.axvline(b, color=method_color("gpta"), linestyle=":", linewidth=0.9,
                            label="GPTA new prefix" if j == 0 else "_nolegend_")
            ln.set_gid("boundary")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        _legend_below(fig, ax, ncol=2)
    n = d[d["fraction"] == fraction].groupby("method")["seed"].nunique().to_dict()
    out.fig = fig
    out.data = {"fraction": fraction, "curves": drawn, "boundaries": bounds}
    out.caption = (
        f"Train loss (solid) and dev loss (dashed) per epoch on {dataset} at the lowest fraction with both methods, "
        f"{frac_label(fraction)}, mean over seeds (gpta: {n.get('gpta', 0)}, finetune: {n.get(BASELINE, 0)}). "
        f"Dotted vertical lines: GPTA's round boundaries, where the LLM's revised prefix takes over "
        f"({len(bounds)} boundar{'y' if len(bounds) == 1 else 'ies'}). Train loss is measured on at most "
        f"train.eval_train_max training examples after each epoch."
    )
    return out


def dialogue_rounds(runs: pd.DataFrame, raw: dict[str, dict], dataset: str) -> FigureOut:
    d = runs[(runs["dataset"] == dataset) & (runs["method"] == "gpta")]
    name = f"dialogue_rounds_{_slug(dataset)}"
    out = FigureOut(name, "dialogue", f"Dev metric per GPTA round: {dataset}")
    if d.empty or d["rounds"].max() < 1:
        out.skipped = "no GPTA run with a prefix history"
        return out
    metric = d["metric"].iloc[0]
    arms = arm_order(d["arm"])
    per_run, means = {}, {}
    with paper_style():
        fig, ax = new_figure(2.5)
        for arm in arms:
            st = _arm_style(arm, arms)
            table: dict[int, list[float]] = {}
            for rid in d[d["arm"] == arm]["run_id"]:
                hist = (raw.get(rid) or {}).get("prefix_history") or []
                xs = [h["round"] for h in hist]
                ys = [100 * h["dev_metric"] for h in hist]
                (line,) = ax.plot(xs, ys, color=st["color"], linestyle=st["linestyle"], alpha=0.3,
                                  linewidth=0.7, label="_nolegend_")
                line.set_gid(f"run:{rid}")
                per_run[rid] = dict(zip(xs, ys))
                for x, y in zip(xs, ys):
                    table.setdefault(x, []).append(y)
            xs = sorted(table)
            ys = [float(np.mean(table[x])) for x in xs]
            (line,) = ax.plot(xs, ys, label=f"{arm} (mean of {len(d[d['arm'] == arm])} runs)", linewidth=1.6,
                              **{k: v for k, v in st.items()})
            line.set_gid(f"mean:{arm}")
            means[arm] = dict(zip(xs, ys))
        ax.set_xlabel("round (0 = LLM's first prefix)")
        ax.set_ylabel(f"dev {metric_name(metric)} at end of round (%)")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        _legend_below(fig, ax, ncol=1)
    revisions, improved = int(d["revisions"].sum()), int(d["improved_rounds"].sum())
    fallbacks = int(d["fallbacks"].sum())
    out.fig = fig
    out.data = {"runs": per_run, "means": means, "revisions": revisions, "improved": improved}
    main = means.get("gpta") or next(iter(means.values()))
    path = ", ".join(f"round {x}: {y:.1f}%" for x, y in main.items())
    share = f"{improved} of {revisions} revisions ({improved / revisions:.0%})" if revisions else "no revisions"
    out.caption = (
        f"The dialogue gradient on {dataset}: dev {metric_name(metric)} at the end of each GPTA round, one thin line "
        f"per run, thick line = mean ({path}). The revised prefix improved dev over the previous round in {share} "
        f"(\"LLM accuracy\"); {fallbacks} round{'s' if fallbacks != 1 else ''} used a fallback prefix because the "
        f"LLM's reply was unusable. With weights continuing across rounds, part of any rise is further training, "
        f"not the new prefix."
    )
    return out


def llm_accuracy_vs_gain(runs: pd.DataFrame) -> FigureOut:
    d = runs[(runs["method"] == "gpta") & runs["llm_accuracy"].notna() & runs["gain"].notna()]
    out = FigureOut("llm_accuracy_vs_gain", "dialogue", "LLM accuracy vs GPTA's gain over finetune")
    if d.empty:
        out.skipped = "no GPTA run with at least one revision and a paired finetune run (same dataset, fraction, seed)"
        return out
    corr = correlate(d["llm_accuracy"], d["gain"])
    with paper_style():
        fig, ax = new_figure(2.5)
        pts = ax.scatter(d["llm_accuracy"], 100 * d["gain"], s=14, color=method_color("gpta"),
                         marker=method_marker("gpta"), alpha=0.7, edgecolor="#333333", linewidth=0.3,
                         label="GPTA run")
        pts.set_gid("points")
        if not math.isnan(corr.pearson):
            slope, icept = np.polyfit(d["llm_accuracy"], 100 * d["gain"], 1)
            xs = np.array([d["llm_accuracy"].min(), d["llm_accuracy"].max()])
            ax.plot(xs, icept + slope * xs, color="#333333", linewidth=0.8, label="least-squares line")
        ax.axhline(0, color="#999999", linewidth=0.6)
        ax.set_xlabel("LLM accuracy (share of revisions that improved dev)")
        ax.set_ylabel("test gain over finetune (points)")
        ax.set_title(corr.text().replace("Spearman", "\nSpearman") if not math.isnan(corr.pearson)
                     else f"correlation undefined (n = {corr.n})")
        ax.set_xlim(-0.05, 1.05)
    out.fig = fig
    out.data = {"n": len(d), "pearson": corr.pearson, "spearman": corr.spearman, "corr": corr}
    out.caption = (
        f"Each point is one GPTA run: x = share of its revised prefixes that improved dev over the previous round, "
        f"y = its test {metric_name(d['metric'].iloc[0])} minus that of finetune on the same dataset, fraction and "
        f"seed. {corr.text()}. The paper reports a correlation between the two; "
        + (f"here it is {'positive' if corr.pearson > 0 else 'not positive'} and "
           f"{'significant' if corr.pearson_p < 0.05 else 'not significant'} at p < 0.05."
           if not math.isnan(corr.pearson) else "here it cannot be computed from these runs.")
        + (" With few rounds per run the x values are coarse (e.g. 0 or 1 with one revision)."
           if d["revisions"].max() <= 2 else "")
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


def cost_vs_accuracy(runs: pd.DataFrame, dataset: str) -> FigureOut:
    d = runs[runs["dataset"] == dataset].copy()
    metric = d["metric"].iloc[0]
    d["compute_s"] = d[["llm_seconds", "train_seconds"]].fillna(0).sum(axis=1)
    name = f"cost_vs_accuracy_{_slug(dataset)}"
    out = FigureOut(name, "cost", f"Cost vs {metric_name(metric)}: {dataset}")
    if (d["compute_s"] <= 0).all():
        out.skipped = "no run recorded LLM or training seconds"
        return out
    g = d.groupby(["arm", "fraction"]).agg(cost=("compute_s", "mean"), score=("test", "mean"),
                                           method=("method", "first")).reset_index()
    g = g[g["cost"] > 0].reset_index(drop=True)
    front = pareto_front(g["cost"].tolist(), g["score"].tolist())
    arms = arm_order(g["arm"])
    with paper_style():
        fig, ax = new_figure(2.7)
        for arm in arms:
            sel = g[g["arm"] == arm]
            st = _arm_style(arm, arms)
            pts = ax.scatter(sel["cost"], 100 * sel["score"], color=st["color"], marker=st["marker"], s=18,
                             edgecolor="#333333", linewidth=0.4, label=arm, zorder=3)
            pts.set_gid(f"arm:{arm}")
        fr = g.loc[front].sort_values("cost")
        (line,) = ax.plot(fr["cost"], 100 * fr["score"], color="#333333", linestyle="--", linewidth=0.8,
                          drawstyle="steps-post", label="Pareto front", zorder=2)
        line.set_gid("pareto")
        ax.scatter(fr["cost"], 100 * fr["score"], s=55, facecolor="none", edgecolor="#333333", linewidth=0.7,
                   zorder=4)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_xlabel("LLM + training seconds per run (log scale)")
        ax.set_ylabel(f"test {metric_name(metric)} (%)")
        _legend_below(fig, ax)
    out.fig = fig
    front_desc = "; ".join(f"{r.arm} at {frac_label(r.fraction)}" for r in fr.itertuples())
    out.data = {"points": g, "front": fr}
    out.caption = (
        f"Cost against test {metric_name(metric)} on {dataset}: each point is one method at one fraction "
        f"(mean over seeds); x = LLM seconds + training seconds per run as measured on the machines that ran it "
        f"(devices differ, so compare within a sweep). Circled points joined by the dashed step line are the "
        f"Pareto front (nothing is both cheaper and better): {front_desc}."
    )
    return out


def transfer_heatmap(runs: pd.DataFrame) -> FigureOut:
    import seaborn as sns

    d = runs[(runs["method"] == "transfer") & runs["source_dataset"].notna() & runs["gain"].notna()]
    out = FigureOut("transfer_heatmap", "transfer", "Transfer: source x target gain over finetune")
    if d.empty:
        n_t = int((runs["method"] == "transfer").sum())
        out.skipped = ("no transfer runs in these results (run `gpta transfer --from RESULT.json --dataset D`)"
                       if n_t == 0 else f"{n_t} transfer run(s) but none has a paired finetune run on its target "
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
                        linewidths=0.5, linecolor="white", cbar_kws={"label": "gain vs finetune (points)"},
                        annot_kws={"fontsize": 7})
        ax.set_xlabel("target dataset (trained, tested)")
        ax.set_ylabel("source of the prefix")
        ax.tick_params(axis="y", rotation=0)
    out.fig = fig
    out.data = {"mean": mean, "count": count}
    cells = [f"{s} -> {t}: {100 * mean.loc[s, t]:+.1f} points (n={int(count.loc[s, t])})"
             for s in sources for t in targets if not math.isnan(mean.loc[s, t])]
    worse = [(s, t) for s in sources for t in targets if mean.loc[s, t] < 0]
    out.caption = (
        "Transfer: test gain, in points, of training on the target dataset with the prefix learned on the source "
        "dataset, over finetune on the target (paired by fraction and seed; mean over pairs; n = pairs). "
        f"{'; '.join(cells)}. Pairs with no runs are marked missing."
        + (f" The transferred prefix does worse than finetune in {len(worse)} of {len(cells)} pairs." if worse else "")
    )
    return out


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)
