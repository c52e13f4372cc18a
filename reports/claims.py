"""The claims scorecard: one row per qualitative claim of the paper, each with the test used, the
numbers with intervals and corrected p-values, the n behind them and a verdict in words.

Verdicts: "supported", "contradicted", "mixed" (significant both ways), "not significant at this
n", or "not measured in these results" (with the command that would measure it). Every family of
tests is corrected with Holm's step-down method (family-wise error 5%); the row says how many
tests were in its family. A results folder whose cells have fewer than ``SMOKE_SEEDS`` seeds is a
smoke run: the scorecard says so, and its verdicts cannot carry a claim either way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reports import keys as K
from reports.analysis import BASELINE, comparisons, correct
from reports.extract import REFERENCE_METHODS
from reports.stats import ALPHA, HOLM, adjust, correlate, paired_test, summarize, wilson

SMOKE_SEEDS = 3  # fewer seeds per cell than this: a smoke run
PAPER_DATASETS = ("sst2", "ag_news", "trec", "yelp", "twitter", "squad")  # the paper's six benchmarks
LLM_METHODS = ("gpta", "llm-prefix", "textual-gradient", "llm-zero-shot")

SUPPORTED, CONTRADICTED, MIXED = "supported", "contradicted", "mixed"
NOT_SIG, NOT_MEASURED = "not significant at this n", "not measured in these results"


@dataclass
class Claim:
    number: int
    claim: str
    test: str
    numbers: str
    n: str
    verdict: str
    command: str = ""  # what would measure it, when not measured
    details: list[str] = field(default_factory=list)

    @property
    def verdict_text(self) -> str:
        return self.verdict + (f" (measure with: {self.command})" if self.command and self.verdict == NOT_MEASURED
                               else "")


@dataclass
class Scorecard:
    claims: list[Claim]
    context: list[str]  # LLM(s), encoder, seeds, dev protocol, smoke-run notice
    smoke: bool


def _pts(x: float, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:+.1f}".replace("-", "−") if signed else f"{100 * x:.1f}"


def _num(x: float, fmt: str = "+.3f") -> str:
    return "n/a" if x is None or math.isnan(x) else format(x, fmt).replace("-", "−")


def _ci(lo: float, hi: float) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "95% CI n/a (fewer than 2 seeds)"
    return f"95% CI [{_pts(lo)}, {_pts(hi)}]"


def _p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else (f"{p:.2g}" if p >= 0.001 else "<0.001")


def _verdict(n_pos: int, n_neg: int, n_tested: int) -> str:
    if n_tested == 0:
        return NOT_SIG
    if n_pos and n_neg:
        return MIXED
    if n_pos:
        return SUPPORTED
    if n_neg:
        return CONTRADICTED
    return NOT_SIG


def _fr(f: float) -> str:
    return f"{100 * f:g}%"


def context_lines(runs: pd.DataFrame, raw: dict[str, dict]) -> tuple[list[str], bool]:
    main = runs[~runs["method"].isin(REFERENCE_METHODS)]
    per_cell = main.groupby(["dataset", "fraction", "arm"])["seed"].nunique() if not main.empty else pd.Series(dtype=int)
    max_seeds = int(per_cell.max()) if len(per_cell) else 0
    min_seeds = int(per_cell.min()) if len(per_cell) else 0
    smoke = max_seeds < SMOKE_SEEDS
    llms = sorted({x for x in runs.get("llm_label", pd.Series(dtype=object)).dropna()})
    encoders = sorted({str(m) for m in runs["model"].dropna()})
    seeds = sorted({int(s) for s in runs["seed"].dropna()})
    dev_bits = set()
    for rid in main["run_id"]:
        res = raw.get(rid) or {}
        proto = K.get(res, K.DEV_PROTOCOL)
        sizes = (res.get("dataset") or {}).get("sizes") or {}
        dev_n = sizes.get("dev_evaluated", sizes.get("dev"))
        dev_bits.add((f"{proto}, " if proto else "") + f"{(res.get('dataset') or {}).get('name')}: dev {dev_n}"
                     + (f" of {sizes.get('dev')}" if sizes.get("dev") and dev_n != sizes.get("dev") else ""))
    n_train = runs.groupby("dataset")["n_train"].median().to_dict()
    lines = [
        f"LLM{'s' if len(llms) != 1 else ''}: {', '.join(llms) if llms else 'none used by these runs'}"
        + ("; LLM-dependent rows are given per LLM." if len(llms) > 1 else "."),
        f"Encoder{'s' if len(encoders) != 1 else ''}: {', '.join(encoders) or 'unknown'}.",
        f"Seeds: {', '.join(map(str, seeds))} ({min_seeds}-{max_seeds} per cell"
        if min_seeds != max_seeds else f"Seeds: {', '.join(map(str, seeds))} ({max_seeds} per cell",
    ]
    lines[-1] += "; each seed sets both the data sample and the initialisation)."
    lines.append("Dev protocol: checkpoints (and GPTA's prefixes) are selected on a labelled dev set: "
                 + "; ".join(sorted(dev_bits)) + "; training examples (median): "
                 + ", ".join(f"{d} {v:.0f}" for d, v in sorted(n_train.items()) if not math.isnan(v)) + ".")
    lines.append(f"Tests: every family of p-values is corrected with {HOLM}'s step-down method at {ALPHA:.0%} "
                 "family-wise error; \"significant\" always means after correction.")
    if smoke:
        lines.insert(0, f"**Smoke run**: at most {max_seeds} seed{'s' if max_seeds != 1 else ''} per cell "
                        f"(a verdict needs at least {SMOKE_SEEDS}, better 5 or more). These results exercise "
                        "the pipeline; they cannot support or contradict any claim, whatever the rows say.")
    return lines, smoke


def claim_gains(runs: pd.DataFrame, raw: dict) -> Claim:
    comp = comparisons(runs, raw)
    g = correct(comp[comp["method"] == "gpta"])
    title = "GPTA gains over fine-tuning on the six datasets"
    test = (f"paired t-test over seeds per (dataset, fraction), GPTA vs {BASELINE}, {HOLM}-corrected; "
            "per-example exact McNemar pooled over seeds beside it")
    if g.empty:
        return Claim(1, title, test, "no cell has both GPTA and finetune runs with the same seeds", "0 cells",
                     NOT_MEASURED, "gpta sweep paper")
    pos = int(((g["mean_gain"] > 0) & g["significant"]).sum())
    neg = int(((g["mean_gain"] < 0) & g["significant"]).sum())
    tested = int(g["n_tests"].iloc[0])
    datasets = sorted(g["dataset"].unique())
    paper = [d for d in datasets if d in PAPER_DATASETS]
    cells = []
    for r in g.itertuples():
        mc = (f"; McNemar p = {_p(r.mcnemar_p)} ({r.mcnemar_a_only} vs {r.mcnemar_b_only} of {r.mcnemar_items})"
              if not math.isnan(r.mcnemar_p) else "; McNemar not computed (no per-example gold labels)")
        cells.append(f"{r.dataset} {_fr(r.fraction)} [{r.arm}]: {_pts(r.mean_gain)} points, "
                     f"{_ci(r.gain_low, r.gain_high)}, p = {_p(r.p)}, corrected p = {_p(r.p_adj)}{mc}")
    numbers = (f"{pos} significant gain(s), {neg} significant loss(es) of {len(g)} cells ({tested} tests in the "
               f"family); mean gain {_pts(g['mean_gain'].mean())} points. " + "; ".join(cells[:12])
               + (" ..." if len(cells) > 12 else ""))
    verdict = _verdict(pos, neg, tested)
    cover = (f"{len(paper)} of the paper's 6 datasets present ({', '.join(paper) or 'none'}"
             + (f"; also {', '.join(d for d in datasets if d not in PAPER_DATASETS)}" if len(paper) < len(datasets) else "")
             + ")")
    return Claim(1, title, test, numbers, f"{int(g['n_pairs'].sum())} seed pairs in {len(g)} cells; {cover}",
                 verdict, "gpta sweep paper" if not paper else "")


def claim_low_resource(runs: pd.DataFrame) -> Claim:
    title = "Gains are largest at low resource"
    test = ("per dataset: GPTA's gain over finetune at the lowest minus at the highest fraction, paired by seed, "
            f"paired t-test, {HOLM}-corrected over datasets")
    d = runs[(runs["method"] == "gpta") & runs["gain"].notna()]
    rows, ps = [], []
    for (ds, arm), g in d.groupby(["dataset", "arm"]):
        fr = sorted(g["fraction"].unique())
        if len(fr) < 2:
            continue
        lo = g[g["fraction"] == fr[0]].set_index("seed")["gain"]
        hi = g[g["fraction"] == fr[-1]].set_index("seed")["gain"]
        common = sorted(set(lo.index) & set(hi.index))
        if not common:
            continue
        t = paired_test(lo[common], hi[common])
        s = summarize(lo[common].to_numpy() - hi[common].to_numpy())
        rows.append((ds, arm, fr[0], fr[-1], t, s))
        ps.append(t.p)
    if not rows:
        return Claim(2, title, test, "every dataset has one fraction only (or no GPTA/finetune pairs)",
                     "0 datasets", NOT_MEASURED, "gpta sweep paper, several fractions per dataset")
    adj = adjust(ps)
    pos = sum(1 for (_, _, _, _, t, _), a in zip(rows, adj) if a < ALPHA and t.mean_diff > 0)
    neg = sum(1 for (_, _, _, _, t, _), a in zip(rows, adj) if a < ALPHA and t.mean_diff < 0)
    nums = "; ".join(f"{ds} [{arm}] gain at {_fr(f0)} minus at {_fr(f1)}: {_pts(t.mean_diff)} points, "
                     f"{_ci(s.ci_low, s.ci_high)}, corrected p = {_p(a)}"
                     for (ds, arm, f0, f1, t, s), a in zip(rows, adj))
    tested = int(np.sum(~np.isnan(adj)))
    return Claim(2, title, test, nums + f" ({tested} tests in the family)",
                 f"{sum(r[4].n for r in rows)} seed pairs over {len(rows)} dataset(s)", _verdict(pos, neg, tested))


def claim_overfitting(runs: pd.DataFrame) -> Claim:
    title = "GPTA overfits less at low resource"
    test = ("overfitting = dev loss minus train loss of the selected checkpoint; GPTA minus finetune at each "
            f"dataset's lowest fraction, paired by seed, paired t-test, {HOLM}-corrected over datasets "
            "(negative = GPTA overfits less)")
    d = runs[(runs["method"] == "gpta") & runs["ft_run_id"].notna()]
    if d.empty or runs["loss_gap"].isna().all():
        return Claim(3, title, test, "no GPTA run with a paired finetune run and recorded train/dev losses",
                     "0", NOT_MEASURED, "gpta sweep paper")
    gap_by_id = runs.set_index("run_id")["loss_gap"]
    bml_by_id = runs.set_index("run_id")["best_minus_last"]
    rows, ps = [], []
    for (ds, arm), g in d.groupby(["dataset", "arm"]):
        g = g[g["fraction"] == g["fraction"].min()]
        a = g["loss_gap"].to_numpy(float)
        b = g["ft_run_id"].map(gap_by_id).to_numpy(float)
        keep = ~(np.isnan(a) | np.isnan(b))
        if not keep.any():
            continue
        t = paired_test(a[keep], b[keep])
        s = summarize(a[keep] - b[keep])
        bml = g["best_minus_last"].mean() - g["ft_run_id"].map(bml_by_id).mean()
        rows.append((ds, arm, g["fraction"].iloc[0], t, s, bml))
        ps.append(t.p)
    if not rows:
        return Claim(3, title, test, "train/dev losses not recorded in these results", "0", NOT_MEASURED,
                     "gpta sweep paper")
    adj = adjust(ps)
    pos = sum(1 for r, a in zip(rows, adj) if a < ALPHA and r[3].mean_diff < 0)  # smaller gap = claim holds
    neg = sum(1 for r, a in zip(rows, adj) if a < ALPHA and r[3].mean_diff > 0)
    nums = "; ".join(f"{ds} [{arm}] at {_fr(f)}: GPTA minus finetune loss gap {_num(t.mean_diff)} nats, "
                     f"95% CI [{_num(s.ci_low)}, {_num(s.ci_high)}], corrected p = {_p(a)}; best-minus-last dev "
                     f"metric, GPTA minus finetune: {_pts(bml)} points"
                     for (ds, arm, f, t, s, bml), a in zip(rows, adj))
    tested = int(np.sum(~np.isnan(adj)))
    return Claim(3, title, test, nums + f" ({tested} tests in the family)",
                 f"{sum(r[3].n for r in rows)} seed pairs over {len(rows)} dataset(s)", _verdict(pos, neg, tested))


def claim_cost(runs: pd.DataFrame) -> list[Claim]:
    title = "GPTA is cost-efficient against the alternatives that use an LLM"
    test = ("per dataset and LLM: mean cold LLM tokens and calls per run (95% t-interval over runs) of GPTA against "
            "each other LLM-using method, beside test accuracy (95% interval: t over seeds; Wilson over test items "
            "for llm-zero-shot); supported = fewer tokens than every alternative present and accuracy not "
            "significantly lower (intervals)")
    out = []
    d = runs[runs["llm_label"].notna()] if "llm_label" in runs else runs.iloc[0:0]
    llms = sorted(d["llm_label"].unique()) if not d.empty else []
    for llm in llms or [None]:
        sub = d[d["llm_label"] == llm] if llm else d
        gp = sub[sub["method"] == "gpta"]
        alts = sorted(m for m in sub["method"].unique() if m != "gpta")
        label = title + (f" (LLM {llm})" if len(llms) > 1 else "")
        if gp.empty or not alts:
            out.append(Claim(4, label, test, "no GPTA run beside another LLM-using method"
                             + (f" (present: {', '.join(sorted(sub['method'].unique()))})" if not sub.empty else ""),
                             "0", NOT_MEASURED, "gpta sweep cost"))
            continue
        cold = bool(sub["cost_tokens_cold"].all())
        bits, better, worse, tested = [], 0, 0, 0
        for ds in sorted(gp["dataset"].unique()):
            g = gp[gp["dataset"] == ds]
            gt, ga = summarize(g["cost_tokens"]), summarize(g["test"])
            for m in alts:
                a = sub[(sub["method"] == m) & (sub["dataset"] == ds)]
                if a.empty:
                    continue
                if m in REFERENCE_METHODS:
                    a = a.drop_duplicates(subset=["test"])
                at = summarize(a["cost_tokens"])
                if m in REFERENCE_METHODS and len(a) >= 1:
                    r0 = a.iloc[0]
                    n = int(r0["test_n"]) if not math.isnan(r0["test_n"]) else 0
                    lo, hi = wilson(r0["test"] * n, n)
                    acc_txt = f"{_pts(r0['test'], False)}% [{_pts(lo, False)}, {_pts(hi, False)}] (Wilson, n={n})"
                else:
                    sa = summarize(a["test"])
                    lo, hi = sa.ci_low, sa.ci_high
                    acc_txt = f"{_pts(sa.mean, False)}% [{_pts(lo, False)}, {_pts(hi, False)}]"
                tested += 1
                cheaper = (not math.isnan(gt.ci_high) and gt.ci_high < at.mean) or (gt.n == 1 and gt.mean < at.mean) \
                    or (gt.std == 0 and gt.mean < at.mean)
                costlier = gt.mean > at.mean and (math.isnan(gt.ci_low) or gt.ci_low > at.mean or gt.std == 0)
                acc_lower = not math.isnan(ga.ci_high) and not math.isnan(lo) and ga.ci_high < lo
                if cheaper and not acc_lower:
                    better += 1
                elif costlier:
                    worse += 1
                bits.append(f"{ds}: GPTA {gt.mean:.0f} tokens/run "
                            + (f"[{gt.ci_low:.0f}, {gt.ci_high:.0f}]" if not math.isnan(gt.ci_low) else "")
                            + f", {g['cost_calls'].mean():.1f} calls, acc {_pts(ga.mean, False)}% "
                            + (f"[{_pts(ga.ci_low, False)}, {_pts(ga.ci_high, False)}]" if not math.isnan(ga.ci_low) else "")
                            + f" vs {m} {at.mean:.0f} tokens/run, {a['cost_calls'].mean():.1f} calls, acc {acc_txt}")
        if not tested:
            out.append(Claim(4, label, test, "GPTA and the LLM alternatives were run on different datasets", "0",
                             NOT_MEASURED, "gpta sweep cost"))
            continue
        verdict = SUPPORTED if better == tested else CONTRADICTED if worse == tested else MIXED if worse else NOT_SIG
        note = ("Tokens are cold (as if nothing were cached)." if cold else
                "Cold cost (as if nothing were cached) is not recorded in these results: tokens as this run recorded "
                "them (a cache hit may record none).")
        out.append(Claim(4, label, test, "; ".join(bits) + ". " + note,
                         f"{len(gp)} GPTA runs, {len(sub) - len(gp)} alternative runs", verdict))
    return out


LLM_ACCURACY_DEF = ("LLM accuracy = share of a run's genuinely new proposals (text differing from every earlier "
                    "prefix) that beat the incumbent prefix on dev with the same weights")


def claim_llm_accuracy(runs: pd.DataFrame) -> list[Claim]:
    """Per dataset (never pooled across datasets and their metrics), per LLM; unit = one GPTA run."""
    title = "\"LLM accuracy\" correlates with the gain"
    test = (f"{LLM_ACCURACY_DEF}; Spearman rank correlation, per dataset, between it and the run's test gain over "
            f"finetune (same dataset, fraction, seed); unit = one GPTA run; {HOLM}-corrected over datasets and LLMs")
    d = runs[(runs["method"] == "gpta") & runs["llm_acc"].notna() & runs["gain"].notna()]
    if d.empty:
        return [Claim(5, title, test, "no GPTA run with a new proposal and a paired finetune run", "0", NOT_MEASURED,
                      "gpta sweep paper, with gpta.rounds of 2 or more")]
    llms = sorted(d["llm_label"].dropna().unique()) or [None]
    res = []
    for llm in llms:
        for ds, g in (d[d["llm_label"] == llm] if llm else d).groupby("dataset"):
            res.append((llm, ds, g, correlate(g["llm_acc"], g["gain"])))
    adj = adjust([c.spearman_p for *_, c in res])
    out = []
    for llm in llms:
        mine = [(ds, g, c, a) for (l_, ds, g, c), a in zip(res, adj) if l_ == llm]
        hows = sorted({h for _, g, _, _ in mine for h in g["llm_acc_how"].unique()})
        bits, signs = [], []
        for ds, g, c, a in mine:
            if math.isnan(c.spearman):
                bits.append(f"{ds}: undefined ({c.n} runs; needs 3+ with varying values)")
                continue
            bits.append(f"{ds}: Spearman rho = {_num(c.spearman, '.2f')} (p = {_p(c.spearman_p)}, corrected {_p(a)}, "
                        f"n = {c.n} runs)")
            if a < ALPHA:
                signs.append(c.spearman > 0)
        verdict = (SUPPORTED if signs and all(signs) else CONTRADICTED if signs and not any(signs) else NOT_SIG)
        label = title + (f" (LLM {llm})" if len(llms) > 1 else "")
        n_runs = sum(len(g) for _, g, _, _ in mine)
        out.append(Claim(5, label, test, "; ".join(bits) + f". LLM accuracy measured as: {'; '.join(hows)}",
                         f"{n_runs} runs over {len(mine)} dataset(s)", verdict))
    return out


def claim_transfer(runs: pd.DataFrame, raw: dict) -> Claim:
    title = "Prefixes transfer within a domain"
    test = (f"transfer run vs {BASELINE} on the target (same fraction and seed), paired t-test per "
            f"within-domain source -> target pair, {HOLM}-corrected over pairs")
    t = runs[(runs["method"] == "transfer") & runs["gain"].notna() & runs["source_dataset"].notna()]
    if t.empty:
        return Claim(6, title, test, "no transfer run with a paired finetune run", "0", NOT_MEASURED,
                     "gpta sweep transfer")
    domain = {}
    for rid, ds in zip(runs["run_id"], runs["dataset"]):
        dom = ((raw.get(rid) or {}).get("dataset") or {}).get("domain")
        if dom:
            domain[ds] = dom
    rows, ps = [], []
    for (src, tgt), g in t.groupby(["source_dataset", "dataset"]):
        src_dom = domain.get(src) or _registry_domain(src)
        if src_dom is None or src_dom != domain.get(tgt):
            continue
        pt = paired_test(g["test"], g["ft_test"])
        s = summarize(g["gain"])
        rows.append((src, tgt, pt, s))
        ps.append(pt.p)
    if not rows:
        return Claim(6, title, test, "transfer runs exist, but none between two datasets of the same domain", "0",
                     NOT_MEASURED, "gpta sweep transfer")
    adj = adjust(ps)
    pos = sum(1 for r, a in zip(rows, adj) if a < ALPHA and r[2].mean_diff > 0)
    neg = sum(1 for r, a in zip(rows, adj) if a < ALPHA and r[2].mean_diff < 0)
    tested = int(np.sum(~np.isnan(adj)))
    nums = "; ".join(f"{s} -> {tg}: {_pts(pt.mean_diff)} points, {_ci(sm.ci_low, sm.ci_high)}, corrected p = {_p(a)}"
                     for (s, tg, pt, sm), a in zip(rows, adj))
    return Claim(6, title, test, nums + f" ({tested} tests in the family)",
                 f"{sum(r[2].n for r in rows)} pairs over {len(rows)} source -> target pair(s)",
                 _verdict(pos, neg, tested))


def _registry_domain(name: str) -> str | None:
    try:
        from gpta.data.spec import get_dataset

        return get_dataset(name).domain
    except Exception:
        return None


def scorecard(runs: pd.DataFrame, raw: dict[str, dict[str, Any]]) -> Scorecard:
    """The six claims, in the paper's order (LLM-dependent claims split by LLM when there are several)."""
    context, smoke = context_lines(runs, raw)
    claims = [claim_gains(runs, raw), claim_low_resource(runs), claim_overfitting(runs), *claim_cost(runs),
              *claim_llm_accuracy(runs), claim_transfer(runs, raw)]
    if smoke:
        for c in claims:
            if c.verdict != NOT_MEASURED:
                c.details.append("smoke run: not a verdict on the claim")
    return Scorecard(claims, context, smoke)


def summary(card: Scorecard) -> list[dict[str, Any]]:
    return [{"claim": c.number, "title": c.claim, "verdict": c.verdict, "n": c.n, "command": c.command or None}
            for c in card.claims]


def to_json(card: Scorecard) -> str:
    return json.dumps({"smoke": card.smoke, "context": card.context, "claims": summary(card)}, indent=1)
