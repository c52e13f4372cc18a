"""The claims scorecard: one row per claim of the paper (per protocol and LLM), each with its
written decision rule, its test, the numbers, n, the family its p-value is corrected in, the
minimum detectable effect at this n, the protocol and the LLMs.

How a verdict is reached (``reports/protocol.py`` declares the analysis):

1. Each claim computes its **primary test** on the paper's arm (K = 1, always adopt) and, for
   claims 1-3, on the paper's datasets only. Below the claim's minimum evidence it is
   "not measured: <what is missing>" and has no test.
2. All primary p-values of the report form **one Holm family** (``FAMILY_CLAIMS``).
3. The claim's rule turns (corrected p, direction, side conditions) into a verdict word.
4. A **smoke run** (fewer than ``MIN_SEEDS`` seeds in some cell of the paper's arm, the cells
   claims 1-5 read) gets no verdict word anywhere: "no verdict (smoke run: ...)". Cells no claim
   reads (the llm-prefix and empty-prefix controls, ablations) do not make a run a smoke run: a
   powered run published while its control stage is still filling keeps its verdicts.

Verdict words: supported (the rule holds), contradicted (it fails), mixed (both ways), not
significant at this n, not measured: ..., no verdict (smoke run: ...). The rules are written with
"holds" / "fails" / "both ways", so a verdict word appears only where a verdict is given.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reports.extract import STAND_IN_MARK, stand_in_suffix
from reports.protocol import (FAMILY_CLAIMS, FAMILY_CELLS, HIGH_OVER_LOW, MIN_CORR_RUNS, MIN_PAPER_DATASETS,
                              MIN_RUNS_A_SIDE, MIN_SEEDS, NONINFERIORITY_MARGIN, PAPER_DATASETS, PREDICTIONS,
                              TARGET_NATS, TARGET_POINTS, TARGET_RHO, paper_arm_text)
from reports.roles import BASELINE, UNDER_TEST, reference_methods, uses_llm
from reports.stats import (ALPHA, HOLM, MAX_SEEDS, MC_DRAWS, MIN_PAIRS, POWER, SIM_REPS_SEEDS, adjust, mde_pooled,
                           mde_signflip, pooled_signflip, runs_for_correlation, seeds_for_signflip, signflip_p_floor,
                           signflip_power, stratified_correlation, welch_df, wilson)

SUPPORTED, CONTRADICTED, MIXED = "supported", "contradicted", "mixed"
NOT_SIG = "not significant at this n"
NOT_MEASURED = "not measured"
NO_VERDICT = "no verdict"
VERDICT_WORDS = (SUPPORTED, CONTRADICTED, MIXED, NOT_SIG)
MEASURE_WITH = "gpta sweep suites/verdict.yaml"
INCUMBENT_BIAS = ("the same-weights A/B scores a new prefix on weights trained under the incumbent prefix, "
                  "which favours the incumbent: LLM accuracy is biased low")


@dataclass
class Claim:
    number: int
    claim: str  # the claim's title (with its protocol and LLM when there are several)
    rule: str  # the decision rule, in words
    test: str  # the primary test
    numbers: str = ""
    n: str = ""
    protocol: str = "n/a"
    llms: str = "n/a"
    mde: str = "n/a"  # minimum detectable effect at this n
    missing: str = ""  # what is missing for a test (not measured)
    p: float = math.nan  # primary p (raw)
    p_adj: float = math.nan  # Holm-corrected in FAMILY_CLAIMS
    family_size: int = 0
    estimate: float = math.nan  # signed: positive = in the claim's direction
    blockers: int = 0  # claim 1: paper cells significantly negative (a significant pooled gain is then "mixed")
    verdict: str = ""
    command: str = ""
    to_decide: str = ""  # undecided claims: the grid that would decide it, and its cost
    # what a verdict word means here where the word alone would mislead (``qualifier``): claim 2
    # "supported" where GPTA's gain is negative at the low end too (it loses less; it gains nothing)
    qualifier: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return not self.missing

    @property
    def family(self) -> str:
        if not self.measured:
            return "none (no test)"
        return f"{FAMILY_CLAIMS}: {HOLM} over {self.family_size} tests"

    @property
    def verdict_text(self) -> str:
        return (self.verdict + (f" {self.qualifier}" if self.qualifier else "")
                + (f" (measure with: {self.command})" if self.command and not self.measured else ""))


@dataclass
class Scorecard:
    claims: list[Claim]
    context: list[str]  # LLM(s), encoder, seeds, protocol, smoke-run notice
    smoke: bool
    smoke_reason: str = ""


# -- formatting ------------------------------------------------------------------------------

def _pts(x: float, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:+.1f}".replace("-", "−") if signed else f"{100 * x:.1f}"


def _num(x: float, fmt: str = "+.3f") -> str:
    return "n/a" if x is None or math.isnan(x) else format(x, fmt).replace("-", "−")


def _ci(lo: float, hi: float, scale: float = 100.0) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return f"no interval (fewer than {MIN_PAIRS} pairs)"
    return f"95% CI [{lo * scale:+.1f}, {hi * scale:+.1f}]".replace("-", "−")


def p_text(p: float) -> str:
    """A p-value as text: "p = 0.012" / "p < 0.001" (never "p = <0.001")."""
    if p is None or math.isnan(p):
        return "p n/a"
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def _fr(f: float) -> str:
    return f"{100 * f:g}%"


def _mde_pts(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f} points"


# -- context and smoke -------------------------------------------------------------------------

def _compared_cells(runs: pd.DataFrame) -> pd.Series:
    """Seeds per cell of the paper's arm (what claims 1-5 read); without such runs, per cell of
    every compared (non-reference) arm."""
    main = runs[runs["paper_arm"].astype(bool)] if "paper_arm" in runs else runs.iloc[0:0]
    if main.empty:
        main = runs[~runs["method"].isin(reference_methods())]
    if main.empty:
        return pd.Series(dtype=int)
    return main.groupby(["dataset", "fraction", "arm", "llm_label"], dropna=False)["seed"].nunique()


def context_lines(runs: pd.DataFrame, raw: dict[str, dict]) -> tuple[list[str], bool, str]:
    per_cell = _compared_cells(runs)
    min_seeds = int(per_cell.min()) if len(per_cell) else 0
    max_seeds = int(per_cell.max()) if len(per_cell) else 0
    smoke = min_seeds < MIN_SEEDS
    reason = (f"smoke run: {min_seeds} seed{'s' if min_seeds != 1 else ''} in its smallest cell of the paper's "
              f"arm; a verdict needs {MIN_SEEDS} in every such cell") if smoke else ""
    llms = sorted({x for x in runs.get("llm_label", pd.Series(dtype=object)).dropna()})
    encoders = sorted({str(m) for m in runs["model"].dropna()})
    seeds = sorted({int(s) for s in runs["seed"].dropna()})
    protocols = sorted(set(runs["protocol"].dropna())) if "protocol" in runs else ["fixed"]
    lines = [
        f"LLM{'s' if len(llms) != 1 else ''}: {', '.join(llms) if llms else 'none used by these runs'}"
        + ("; LLM-dependent claims are decided per LLM." if len(llms) > 1 else "."),
        f"Encoder{'s' if len(encoders) != 1 else ''}: {', '.join(encoders) or 'unknown'}.",
        f"Seeds: {', '.join(map(str, seeds))} ({min_seeds}-{max_seeds} per cell of the paper's arm; each seed sets both the "
        "data sample and the initialisation).",
        f"Protocol{'s' if len(protocols) != 1 else ''}: {', '.join(protocols)} (co-primary: fixed = the dataset's "
        "labelled dev split selects checkpoints and prefixes; true-few-shot = a dev set drawn from the pool, no "
        "larger than train). Each claim names its protocol.",
        f"The paper's arm: {paper_arm_text()}; other GPTA settings are ablations, shown, never counted in a claim. "
        f"Claims 1-3 count the paper's datasets only ({', '.join(PAPER_DATASETS)}).",
        f"Tests: the claims' primary tests form one {HOLM} family ({FAMILY_CLAIMS}); the per-cell comparisons with "
        f"{BASELINE} form a second ({FAMILY_CELLS}), read by every table. \"Significant\" means after correction "
        f"at {ALPHA:.0%}. Minimum detectable effects are at {POWER:.0%} power and the family's strictest Holm level "
        f"(claims 1-4 and 6: their pooled sign-flip test simulated at each stratum's own seed spread). A pooled "
        "95% interval is for the mean over these datasets (or comparisons), taken as fixed, from seed sampling; the "
        "sign-flip test's null also carries the spread between their means, so where they disagree an interval can "
        "exclude 0 while the test does not reject: the corrected test decides. Per-cell intervals are not adjusted "
        "for multiplicity.",
    ]
    sampling = _llm_sampling(runs, raw)
    if sampling:
        lines.append(sampling)
    if smoke:
        lines.insert(0, f"**Smoke run: no verdict.** {reason[0].upper() + reason[1:]}. These results exercise the "
                        "pipeline; they cannot support or contradict any claim.")
    return lines, smoke, reason


def _llm_sampling(runs: pd.DataFrame, raw: dict[str, dict]) -> str:
    """Whether the paper arm's LLM calls varied with the run seed (gpta/gpta_loop.py records it)."""
    ids = runs.loc[runs["paper_arm"].astype(bool), "run_id"] if "paper_arm" in runs else []
    det, sampled = set(), set()
    for rid in ids:
        s = ((raw.get(rid) or {}).get("dialogue") or {}).get("llm_sampling")
        if not isinstance(s, dict):
            continue
        (det if s.get("deterministic") else sampled).add(f"temperature {s.get('temperature')}")
    if det and not sampled:
        return ("LLM variability: the paper arm's LLM calls are deterministic (" + ", ".join(sorted(det)) + "): every "
                "seed gets the same LLM replies to the same request, so the intervals exclude LLM variability.")
    if sampled:
        return ("LLM variability: the paper arm samples its LLM calls (" + ", ".join(sorted(sampled)) + ") with the "
                "run seed as the LLM seed, so the seeds' spread, and every interval, includes LLM variability"
                + (" (some runs were deterministic)." if det else "."))
    return ""


# -- the claims --------------------------------------------------------------------------------

def _paper_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The paper arm's GPTA runs with a paired finetune run."""
    if "paper_arm" not in runs:
        return runs.iloc[0:0]
    d = runs[runs["paper_arm"].astype(bool) & runs["gain"].notna()]
    # one run per cell and seed: two results of the same cell (under two run ids) are not two seed pairs
    keys = [k for k in ("dataset", "fraction", "seed", "arm", "protocol", "llm_label") if k in d]
    return d.drop_duplicates(subset=keys, keep="first")


def _groups(d: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(protocol, llm, runs) groups of the paper arm: each claim is decided per protocol and LLM."""
    if d.empty:
        return []
    d = d.assign(_llm=d["llm_label"].fillna("?"), _proto=d["protocol"].fillna("fixed"))
    return [(proto, llm, g) for (proto, llm), g in d.groupby(["_proto", "_llm"], sort=True)]


def _label(title: str, proto: str, llm: str, n_groups: int) -> str:
    return title + (f" ({proto}; {llm})" if n_groups > 1 else "")


def _resolution(g: pd.DataFrame) -> float | None:
    n = g["test_n"].max() if "test_n" in g else math.nan
    return 1.0 / float(n) if n and not math.isnan(n) else None


def _enough_pairs(g: pd.DataFrame, keys=("dataset", "fraction")) -> pd.DataFrame:
    """Rows of cells with at least MIN_SEEDS seed pairs."""
    counts = g.groupby(list(keys))["seed"].transform("nunique")
    return g[counts >= MIN_SEEDS]




def _stand_in_marks(g: pd.DataFrame) -> dict[tuple[str, float], str]:
    """{(dataset, fraction): mark} for the cells of ``g`` with runs tested with our stand-in template."""
    marks = {key: stand_in_suffix(c) for key, c in g.groupby(["dataset", "fraction"])}
    return {key: m for key, m in marks.items() if m}


def _not_measured(number: int, title: str, rule: str, test: str, missing: str, command: str = MEASURE_WITH,
                  **kw) -> Claim:
    return Claim(number, title, rule, test, missing=missing, command=command, **kw)


RULE_1 = ("holds when the pooled gain over the paper's datasets is positive and significant and no paper cell is "
          "significantly negative; fails when the pooled gain is negative and significant; both ways when it is "
          f"positive and significant but a paper cell is significantly negative. A cell's significance is read in "
          f"the {FAMILY_CELLS}, which holds every method compared with {BASELINE} in these results (controls "
          "included): more methods correct each cell more strictly, so a folder with more arms can turn 'both "
          f"ways' into 'holds'. Minimum: {MIN_PAPER_DATASETS} paper datasets with >= {MIN_SEEDS} seed pairs per cell.")


def claim_gains(runs: pd.DataFrame, comp: pd.DataFrame) -> list[Claim]:
    title = "GPTA gains over fine-tuning on the paper's datasets"
    test = (f"pooled: sign-flip permutation test of the mean over paper datasets of GPTA-minus-{BASELINE} test "
            f"gains, paired by seed; per cell: {comp['test'].iloc[0] if len(comp) else 'paired t-test'} "
            f"({FAMILY_CELLS})")
    d = _paper_runs(runs)
    groups = _groups(d)
    if not groups:
        return [_not_measured(1, title, RULE_1, test, f"no run of the paper's arm ({paper_arm_text()}) with a "
                              f"paired {BASELINE} run")]
    out = []
    for proto, llm, g in groups:
        label = _label(title, proto, llm, len(groups))
        kw = dict(protocol=proto, llms=llm)
        other = sorted(set(g["dataset"]) - set(PAPER_DATASETS))
        paper = _enough_pairs(g[g["dataset"].isin(PAPER_DATASETS)])
        n_ds = paper["dataset"].nunique()
        shown = f"; also shown, not counted: {', '.join(other)}" if other else ""
        if n_ds < MIN_PAPER_DATASETS:
            out.append(_not_measured(1, label, RULE_1, test, f"{n_ds} of the paper's datasets with >= {MIN_SEEDS} "
                                     f"seed pairs of the paper's arm (needs {MIN_PAPER_DATASETS}){shown}", **kw))
            continue
        pt = pooled_signflip(paper["gain"], paper["dataset"], _resolution(paper))
        cells = comp[comp["paper_arm"].astype(bool) & comp["dataset"].isin(PAPER_DATASETS)
                     & comp["protocol"].eq(proto) & comp["arm"].isin(set(g["arm"]))]
        neg = cells[cells["significant"].astype(bool) & (cells["mean_gain"] < 0)]
        stand = _stand_in_marks(g)
        lines = [f"{r.dataset} {_fr(r.fraction)}{stand.get((r.dataset, r.fraction), '')}: "
                 f"{_pts(r.mean_gain)} points, {_ci(r.gain_low, r.gain_high)}, corrected {p_text(r.p_adj)}"
                 for r in cells.itertuples()]
        numbers = (f"pooled gain {_pts(pt.estimate)} points, {_ci(pt.ci_low, pt.ci_high)}, {p_text(pt.p)}"
                   f"{' (exact)' if pt.exact else ''}; {len(neg)} paper cell(s) significantly negative. Per cell "
                   "(95% CIs per comparison, not adjusted for multiplicity; the corrected p decides): "
                   + "; ".join(lines) + shown
                   + (f". {STAND_IN_MARK}: every GPTA run of this cell (k of its n where so marked) trained with our "
                      "stand-in template (the LLM's replies were unusable), not the LLM's words" if stand else ""))
        out.append(Claim(1, label, RULE_1, test, numbers, f"{pt.n_pairs} seed pairs over {pt.n_strata} paper datasets",
                         p=pt.p, estimate=pt.estimate, blockers=len(neg), details=[f"se {pt.se:.4f}"], **kw))
        out[-1]._se = pt.se  # type: ignore[attr-defined]
        out[-1]._pooled = pt  # type: ignore[attr-defined]  # its strata's SDs and sizes size the MDE (_mde)
        out[-1]._grid = paper  # type: ignore[attr-defined]
    return out


RULE_2 = ("holds when GPTA's gain at each paper dataset's lowest fraction minus its gain at the highest (paired by "
          "seed), pooled over datasets, is positive and significant; fails when negative and significant. "
          f"Minimum: {MIN_PAPER_DATASETS} paper datasets whose highest fraction is >= {HIGH_OVER_LOW:g}x the lowest, "
          f">= {MIN_SEEDS} common seeds.")


def claim_low_resource(runs: pd.DataFrame) -> list[Claim]:
    title = "Gains are largest at low resource"
    test = ("sign-flip permutation test of the mean over paper datasets of (gain at lowest fraction - gain at highest "
            "fraction), paired by seed; relative error reduction beside it")
    groups = _groups(_paper_runs(runs))
    if not groups:
        return [_not_measured(2, title, RULE_2, test, "no run of the paper's arm with a paired finetune run")]
    out = []
    for proto, llm, g in groups:
        label = _label(title, proto, llm, len(groups))
        kw = dict(protocol=proto, llms=llm)
        diffs, strata, bits, rer, ends = [], [], [], [], []
        for ds, gd in g[g["dataset"].isin(PAPER_DATASETS)].groupby("dataset"):
            fr = sorted(gd["fraction"].unique())
            if len(fr) < 2 or fr[-1] < HIGH_OVER_LOW * fr[0]:
                continue
            lo = gd[gd["fraction"] == fr[0]].drop_duplicates("seed").set_index("seed")
            hi = gd[gd["fraction"] == fr[-1]].drop_duplicates("seed").set_index("seed")
            common = sorted(set(lo.index) & set(hi.index))
            if len(common) < MIN_SEEDS:
                continue
            x = lo.loc[common, "gain"].to_numpy() - hi.loc[common, "gain"].to_numpy()
            ends.append((float(lo.loc[common, "gain"].mean()), float(hi.loc[common, "gain"].mean())))
            diffs += list(x)
            strata += [ds] * len(x)
            err = {f: (1 - s["ft_test"].mean(), 1 - s["test"].mean()) for f, s in ((fr[0], lo), (fr[-1], hi))}
            red = {f: (e_ft - e_g) / e_ft if e_ft > 0 else math.nan for f, (e_ft, e_g) in err.items()}
            rer.append((red[fr[0]], red[fr[-1]]))
            bits.append(f"{ds}: gain at {_fr(fr[0])} minus at {_fr(fr[-1])} {_pts(float(np.mean(x)))} points "
                        f"(n = {len(x)}); relative error reduction {100 * red[fr[0]]:+.0f}% vs "
                        f"{100 * red[fr[-1]]:+.0f}%".replace("-", "−"))
        n_ds = len(set(strata))
        if n_ds < MIN_PAPER_DATASETS:
            out.append(_not_measured(2, label, RULE_2, test, f"{n_ds} paper dataset(s) with a low and a >= "
                                     f"{HIGH_OVER_LOW:g}x higher fraction and >= {MIN_SEEDS} common seeds (needs "
                                     f"{MIN_PAPER_DATASETS})", **kw))
            continue
        pt = pooled_signflip(diffs, strata, _resolution(g))
        low, high = (float(np.mean([e[i] for e in ends])) for i in (0, 1))  # mean over datasets, as the estimate
        out.append(Claim(2, label, RULE_2, test, f"pooled {_pts(pt.estimate)} points, {_ci(pt.ci_low, pt.ci_high)}, "
                         f"{p_text(pt.p)}; GPTA's gain over {BASELINE}, mean over these datasets: {_pts(low)} points "
                         f"at the lowest fraction, {_pts(high)} at the highest. " + "; ".join(bits),
                         f"{pt.n_pairs} seed pairs over {pt.n_strata} paper datasets", p=pt.p, estimate=pt.estimate,
                         **kw))
        out[-1]._se = pt.se  # type: ignore[attr-defined]
        out[-1]._pooled = pt  # type: ignore[attr-defined]
        out[-1]._low_gain = low  # type: ignore[attr-defined]
        paper = g[g["dataset"].isin(set(strata))]
        out[-1]._grid = paper[paper.groupby("dataset")["fraction"].transform(lambda f: f.eq(f.min()) | f.eq(f.max()))]  # type: ignore[attr-defined]
    return out


RULE_3 = ("overfitting = test loss minus train loss at the selected checkpoint (test never selects); holds when GPTA "
          f"minus {BASELINE}, at each paper dataset's lowest fraction, pooled, is negative and significant; fails "
          f"when positive and significant. Minimum: {MIN_PAPER_DATASETS} paper datasets with >= {MIN_SEEDS} "
          "pairs recording test and train loss.")


def claim_overfitting(runs: pd.DataFrame) -> list[Claim]:
    title = "GPTA overfits less at low resource"
    test = (f"sign-flip permutation test of the mean over paper datasets of GPTA-minus-{BASELINE} (test loss - train "
            "loss) at the lowest fraction, paired by seed; dev loss gap shown beside it")
    groups = _groups(_paper_runs(runs))
    if not groups:
        return [_not_measured(3, title, RULE_3, test, "no run of the paper's arm with a paired finetune run")]
    by_id = runs.set_index("run_id")
    out = []
    for proto, llm, g in groups:
        label = _label(title, proto, llm, len(groups))
        kw = dict(protocol=proto, llms=llm)
        diffs, strata, bits, used = [], [], [], []
        for ds, gd in g[g["dataset"].isin(PAPER_DATASETS)].groupby("dataset"):
            gd = gd[gd["fraction"] == gd["fraction"].min()]
            ft = gd["ft_run_id"].map(lambda r: by_id["test_gap"].get(r, math.nan) if r else math.nan).astype(float)
            ft_dev = gd["ft_run_id"].map(lambda r: by_id["loss_gap"].get(r, math.nan) if r else math.nan).astype(float)
            x = (gd["test_gap"].astype(float) - ft).to_numpy()
            x = x[~np.isnan(x)]
            if len(x) < MIN_SEEDS:
                continue
            dev = float(np.nanmean(gd["loss_gap"].astype(float) - ft_dev))
            used.append(gd)
            diffs += list(x)
            strata += [ds] * len(x)
            bits.append(f"{ds} at {_fr(gd['fraction'].iloc[0])}: test-minus-train loss, GPTA minus {BASELINE} "
                        f"{_num(float(np.mean(x)))} nats (n = {len(x)}); dev-minus-train {_num(dev)} nats")
        n_ds = len(set(strata))
        if n_ds < MIN_PAPER_DATASETS:
            out.append(_not_measured(3, label, RULE_3, test, f"{n_ds} paper dataset(s) with >= {MIN_SEEDS} pairs "
                                     f"recording test and train loss (needs {MIN_PAPER_DATASETS})", **kw))
            continue
        pt = pooled_signflip(diffs, strata, 1e-3)
        c = Claim(3, label, RULE_3, test, f"pooled {_num(pt.estimate)} nats, 95% CI [{_num(pt.ci_low)}, "
                  f"{_num(pt.ci_high)}], {p_text(pt.p)}. " + "; ".join(bits),
                  f"{pt.n_pairs} seed pairs over {pt.n_strata} paper datasets", p=pt.p, estimate=-pt.estimate, **kw)
        c._se = pt.se  # type: ignore[attr-defined]
        c._pooled = pt  # type: ignore[attr-defined]
        c._unit = "nats"  # type: ignore[attr-defined]
        c._grid = pd.concat(used)  # type: ignore[attr-defined]
        out.append(c)
    return out


RULE_4 = (f"per (dataset, fraction) and each method that calls an LLM at inference: GPTA's seconds for "
          f"{PREDICTIONS:,} predictions (one-time LLM + encoder training, plus encoder inference) against the "
          "method's; holds when GPTA is cheaper in every comparison and its accuracy, pooled over the comparisons, is "
          f"shown non-inferior (one-sided test that it is at most {100 * NONINFERIORITY_MARGIN:g} points lower); fails "
          f"when it is costlier in every comparison or its pooled accuracy is shown inferior (the opposite one-sided "
          f"test: more than {100 * NONINFERIORITY_MARGIN:g} points lower); both ways when non-inferior but cheaper in "
          f"only some comparisons. The two one-sided tests are of complementary hypotheses and share the claim's "
          f"one place in the family: its p is twice the smaller of the two (a two-sided test against the margin: at "
          f"the margin both nulls hold, and the smaller p alone would reject at twice the level), and the corrected "
          f"p decides in that test's direction. A comparison whose seconds either side did not record counts neither way. Minimum: a "
          f"(dataset, fraction) with >= {MIN_RUNS_A_SIDE} GPTA runs beside such a method on the same LLM, with "
          "both sides' seconds recorded.")


def _on_reference_items(g: pd.DataFrame, ref: Any, raw: dict[str, dict[str, Any]]) -> tuple[Any, str, Any]:
    """GPTA's per-run accuracies on the reference's own test items, which items those are, and the
    per-item differences (None when per-item records are missing).

    A reference that scored the whole test set: the recorded accuracies. One that scored a capped
    sample (llm-zero-shot's ``max_eval``): the sample is ``gpta.data.sampling.subset`` of the same
    test list with seed 0, so each GPTA run is re-scored on exactly those items from its per-item
    predictions, against the gold labels the reference recorded. (None, why, None) when that cannot
    be done. The per-item differences: per item, GPTA's correctness averaged over its runs minus
    the reference's (the reference is one run on one sample of items: its sampling error is not in
    GPTA's seed-to-seed spread; ``_with_item_sampling`` adds it).
    """
    from gpta.data.sampling import subset

    mine = g["test"].to_numpy(float)
    n_ref = int(ref.test_n) if ref.test_n == ref.test_n else 0
    if not len(g) or (g["test_n"] == n_ref).all():
        return mine, f"the same {n_ref} test items", None
    zs = (raw.get(ref.run_id) or {}).get("zero_shot") or {}
    replies = zs.get("replies") or []
    gold = [x.get("gold") for x in replies]
    if len(gold) != n_ref or any(v is None for v in gold):
        return None, f"the reference scored {n_ref} items and recorded no gold label for each", None
    out, correct = [], []
    for rid, n in zip(g["run_id"], g["test_n"]):
        preds = ((raw.get(rid) or {}).get("metrics") or {}).get("test_predictions")
        if not isinstance(preds, list) or len(preds) != n or n < n_ref:
            return None, f"run {rid} has no per-item test predictions for its {n} items", None
        idx = subset(list(range(len(preds))), n_ref, 0)
        correct.append([preds[i] == gold[k] for k, i in enumerate(idx)])
        out.append(float(np.mean(correct[-1])))
    ref_correct = [x.get("parsed") == x.get("gold") if "parsed" in x else None for x in replies]
    per_item = None
    if n_ref > 1 and all(v is not None for v in ref_correct):
        per_item = np.mean(np.asarray(correct, dtype=float), axis=0) - np.asarray(ref_correct, dtype=float)
    return np.asarray(out), f"GPTA re-scored on the reference's {n_ref} sampled test items", per_item


def _with_item_sampling(pt: Any, strata: list[str], items: dict[str, tuple[str, Any]]) -> tuple[Any, str]:
    """The pooled interval widened by the reference's item sampling, and what it covers.

    The seed interval holds GPTA's seed-to-seed spread on fixed items; the reference is one run on
    one sample of items (llm-zero-shot's 200), so the comparison's mean also varies with which
    items were drawn. The strata that share a reference run (a dataset's fractions) share its
    items, so their per-item differences are averaged before the variance over items is taken; each
    reference adds (m/k)^2 var/n for its m of the k strata. When a stratum has no per-item record,
    the interval stays seed-only and says so.
    """
    from scipy import stats as sps

    kept = [s for s in dict.fromkeys(strata) if strata.count(s) >= MIN_PAIRS]
    if not kept or not pt.tested or any(items.get(s, (None, None))[1] is None for s in kept):
        return pt, "over GPTA's seeds; the reference's item sampling is not in it (no per-item record)"
    k = len(kept)
    by_ref: dict[str, list[Any]] = {}
    for s in kept:
        by_ref.setdefault(items[s][0], []).append(items[s][1])
    item_parts = [((len(v) / k) ** 2 * float(np.var(np.mean(v, axis=0), ddof=1)) / len(v[0]), len(v[0]) - 1)
                  for v in by_ref.values()]
    item_var = sum(v for v, _ in item_parts)
    se = math.sqrt(pt.se ** 2 + item_var)
    # Welch-Satterthwaite over the seed part (its own df, reports.stats) and each reference's items
    half = float(sps.t.ppf(0.975, welch_df([(pt.se ** 2, pt.df), *item_parts])) * se)
    return (dataclasses.replace(pt, ci_low=pt.estimate - half, ci_high=pt.estimate + half),
            "over GPTA's seeds and the reference's item sampling")


def _secs(x: float) -> str:
    return "seconds not recorded" if math.isnan(x) else f"{x:.0f} s"


def _no_better_than_majority(r: Any) -> bool | None:
    """Whether a reference run's accuracy is not shown above the share of the test set's most frequent
    label (its 95% Wilson lower bound at or below it): no better than always answering that label.
    None when the run records neither."""
    n, acc, maj = getattr(r, "test_n", math.nan), getattr(r, "test", math.nan), getattr(r, "majority", math.nan)
    if any(not isinstance(v, (int, float)) or math.isnan(v) for v in (n, acc, maj)) or n <= 0:
        return None
    return wilson(acc * n, int(n))[0] <= maj


def _inference_llm_methods() -> list[str]:
    return [m for m in reference_methods() if uses_llm(m)]


def claim_cost(runs: pd.DataFrame, raw: dict[str, dict[str, Any]] | None = None) -> list[Claim]:
    title = "GPTA is cost-efficient against methods that use an LLM at inference"
    test = (f"cost: mean cold seconds per {PREDICTIONS:,} predictions (counted, no test); accuracy: one-sided "
            f"sign-flip permutation tests (non-inferiority and inferiority, margin {100 * NONINFERIORITY_MARGIN:g} points) of GPTA's "
            "seed accuracies minus the reference's accuracy on the same test items, pooled over (dataset, fraction) "
            f"comparisons (>= {MIN_RUNS_A_SIDE} GPTA runs each)")
    structural = ("Structural fact: in these suites GPTA's first LLM call is exactly llm-prefix's only call, so GPTA "
                  "always costs llm-prefix's tokens plus its revisions; llm-prefix is the no-dialogue control, not a "
                  "cost alternative.")
    inf = _inference_llm_methods()
    gp_all = runs[runs["paper_arm"].astype(bool)] if "paper_arm" in runs else runs.iloc[0:0]
    llms = sorted(gp_all["llm_label"].dropna().unique()) if not gp_all.empty else []
    if gp_all.empty or not llms:
        return [_not_measured(4, title, RULE_4, test, "no run of the paper's arm", details=[structural])]
    out = []
    for llm in llms:
        label = title + (f" ({llm})" if len(llms) > 1 else "")
        gp = gp_all[gp_all["llm_label"] == llm]
        alts = runs[runs["method"].isin(inf) & (runs["llm_label"] == llm)]
        diffs, strata, lines, cheaper, item_diffs, weak, compared = [], [], [], [], {}, [], set()
        for (ds, fr), g in gp.groupby(["dataset", "fraction"]):
            a = alts[alts["dataset"] == ds].drop_duplicates(subset=["method", "test"])
            if a.empty or len(g) < MIN_RUNS_A_SIDE:
                continue
            per_pred = (g["eval_seconds"] / g["test_n"]).astype(float)  # upper bound: eval s include dev passes
            one_time = (g["cost_llm_seconds"].fillna(0) + g["train_seconds"].fillna(0)).astype(float)
            gpta_cost = float((one_time + PREDICTIONS * per_pred).mean())
            for r in a.itertuples():
                alt_cost = (float(PREDICTIONS * r.cost_llm_seconds / r.test_n)
                            if r.test_n and not math.isnan(r.test_n) and r.test_n > 0 else math.nan)
                mine, items, per_item = _on_reference_items(g, r, raw or {})
                item_diffs[f"{ds}|{fr}|{r.method}"] = (r.run_id, per_item)
                if mine is None:  # GPTA's per-item predictions cannot be matched to the reference's items
                    lines.append(f"{ds} {_fr(fr)} vs {r.method}: not compared ({items})")
                    continue
                d = mine - r.test
                weak.append(_no_better_than_majority(r))  # counted only for comparisons made
                compared.add((ds, fr))
                diffs += list(d)
                strata += [f"{ds}|{fr}|{r.method}"] * len(d)
                # None: a side's seconds were not recorded; that comparison counts neither way
                cheaper.append(None if math.isnan(alt_cost) or math.isnan(gpta_cost) else gpta_cost < alt_cost)
                lines.append(f"{ds} {_fr(fr)} vs {r.method}: GPTA {_secs(gpta_cost)} vs {_secs(alt_cost)} per "
                             f"{PREDICTIONS:,} predictions; accuracy GPTA minus {r.method} "
                             f"{_pts(float(np.mean(d)))} points (n = {len(d)}; {items})")
        if not lines:
            out.append(_not_measured(4, label, RULE_4, test, f"no (dataset, fraction) with >= {MIN_RUNS_A_SIDE} GPTA "
                                     f"runs beside a method that calls an LLM at inference "
                                     f"({', '.join(inf) or 'none registered'}) on the same LLM",
                                     llms=llm, details=[structural]))
            continue
        if not cheaper:
            out.append(_not_measured(4, label, RULE_4, test, "no comparison on matched test items: " + "; ".join(lines),
                                     llms=llm, details=[structural]))
            continue
        known = [x for x in cheaper if x is not None]
        if not known:
            out.append(_not_measured(4, label, RULE_4, test, f"cold LLM or training seconds not recorded in any of "
                                     f"{len(cheaper)} comparison(s): " + "; ".join(lines), llms=llm,
                                     details=[structural]))
            continue
        shifted = np.asarray(diffs) + NONINFERIORITY_MARGIN  # > 0: GPTA is less than the margin below
        pt = pooled_signflip(shifted, strata, 1e-3, alternative="greater")  # H1: non-inferior
        p_inferior = pooled_signflip(-shifted, strata, 1e-3, alternative="greater").p  # H1: more than the margin below
        pt = dataclasses.replace(pt, estimate=pt.estimate - NONINFERIORITY_MARGIN,  # back to the raw difference
                                 ci_low=pt.ci_low - NONINFERIORITY_MARGIN, ci_high=pt.ci_high - NONINFERIORITY_MARGIN)
        direction = "inferior" if p_inferior < pt.p else "non-inferior"
        pt, ci_what = _with_item_sampling(pt, strata, item_diffs)
        ci_what += ("; these comparisons taken as fixed: the sign-flip tests' null also carries the spread between "
                    "the comparisons' mean differences, so where they disagree this interval can exclude the margin "
                    "while the tests do not reject")
        c = Claim(4, label, RULE_4, test, f"pooled accuracy difference {_pts(pt.estimate)} points, "
                  f"{_ci(pt.ci_low, pt.ci_high)} ({ci_what}); non-inferiority {p_text(pt.p)}, inferiority {p_text(p_inferior)} (the claim's p: "
                  f"twice the smaller); cheaper in {sum(known)} of {len(known)} "
                  "comparison(s) with both sides' seconds recorded"
                  f"{f' ({len(cheaper) - len(known)} without)' if len(known) < len(cheaper) else ''}. " + "; ".join(lines) + ". GPTA's encoder inference is bounded above by its "
                  "evaluation seconds per test item (they include dev passes). " + structural,
                  f"{len(gp)} GPTA runs, {len(cheaper)} comparison(s)", llms=llm,
                  protocol=", ".join(sorted(set(gp["protocol"]))), p=min(1.0, 2 * min(pt.p, p_inferior)),
                  estimate=pt.estimate)
        c._se = pt.se  # type: ignore[attr-defined]
        c._pooled = pt  # type: ignore[attr-defined]
        c._cheaper = known  # type: ignore[attr-defined]
        c._weak_refs = (sum(w is True for w in weak), sum(w is not None for w in weak))  # type: ignore[attr-defined]
        c._used = gp[[(d, f) in compared for d, f in zip(gp["dataset"], gp["fraction"])]]  # type: ignore[attr-defined]
        c._direction = direction  # type: ignore[attr-defined]  # which one-sided test gave the claim's p
        means = [float(np.mean(np.asarray(diffs)[np.asarray(strata) == s])) for s in dict.fromkeys(strata)]
        c._cmp_range = (min(means), max(means))  # type: ignore[attr-defined]  # per-comparison mean differences
        c._seeds_now = int(gp.groupby(["dataset", "fraction"])["seed"].nunique().min())  # type: ignore[attr-defined]
        out.append(c)
    return out


RULE_5 = ("holds when the mean within-stratum (dataset, fraction) Spearman correlation between a GPTA run's LLM "
          "accuracy and its gain over finetune is positive and significant; fails when negative and significant. "
          f"Minimum: {MIN_CORR_RUNS} runs in strata of >= 3 runs with varying values. Caveat: {INCUMBENT_BIAS}.")


def claim_llm_accuracy(runs: pd.DataFrame) -> list[Claim]:
    title = "\"LLM accuracy\" correlates with the gain"
    test = ("stratified permutation test (exact when the strata allow, else 19,999 seeded draws) of the mean "
            "within-(dataset, fraction) Spearman rho; LLM accuracy = share of a run's new proposals (by the echo "
            "rule) that beat the incumbent on dev with the same weights by the loop's adoption test")
    groups = _groups(_paper_runs(runs))  # per LLM, over all its paper-arm runs: one without a new proposal says so
    if not groups:
        return [_not_measured(5, title, RULE_5, test, "no run of the paper's arm with a paired finetune run",
                              MEASURE_WITH + " (gpta.rounds >= 2)")]
    out = []
    for proto, llm, g_all in groups:
        label = _label(title, proto, llm, len(groups))
        kw = dict(protocol=proto, llms=llm)
        g = g_all[g_all["llm_acc"].notna()]
        strata = [f"{a}|{b}" for a, b in zip(g["dataset"], g["fraction"])]
        sc = stratified_correlation(g["llm_acc"], g["gain"], strata)
        if sc.n < MIN_CORR_RUNS:
            what = (f"{sc.n} GPTA runs in strata of >= 3 runs with varying LLM accuracy and gain (needs "
                    f"{MIN_CORR_RUNS}); {len(g)} of {len(g_all)} paper-arm runs made a new proposal (the echo rule)")
            out.append(_not_measured(5, label, RULE_5, test, what, **kw))
            out[-1]._qualified, out[-1]._grid = sc.n, g_all  # type: ignore[attr-defined]
            continue
        c = Claim(5, label, RULE_5, test, f"mean within-stratum Spearman rho = {sc.rho:+.2f}, {p_text(sc.p)}"
                  f"{' (exact)' if sc.exact else ''}, {sc.n} runs in {sc.n_strata} strata".replace("+-", "−"),
                  f"{sc.n} runs over {sc.n_strata} (dataset, fraction) strata", p=sc.p, estimate=sc.rho, **kw)
        # SE of the mean of the tested strata's rhos (each ~1/sqrt(k - 1) under the null): the strata
        # the test used only (it had summed over every stratum, also those it left out as constant)
        c._corr_se = math.sqrt(sum(1.0 / (k - 1) for k in sc.sizes)) / max(sc.n_strata, 1)  # type: ignore[attr-defined]
        c._p_floor = sc.p_floor  # type: ignore[attr-defined]
        c._qualified, c._grid = sc.n, g_all  # type: ignore[attr-defined]
        out.append(c)
    return out


RULE_6 = ("holds when a prefix transferred from another dataset of the same domain beats BOTH the target's random "
          "prefix and its empty-prefix layout, each pooled over source -> target pairs and significant "
          "(intersection-union: the larger p is the claim's p); fails when it is significantly worse than both; "
          "otherwise no verdict beyond 'not significant'. Both tests use the same (pair, fraction, seed) runs: those "
          f"with both controls. Minimum: a within-domain (pair, fraction) with >= {MIN_SEEDS} seeds paired with both "
          "controls.")
CONTROLS_6 = ("random-prefix", "empty-prefix", "manual-prefix", UNDER_TEST, BASELINE)


def claim_transfer(runs: pd.DataFrame, raw: dict) -> list[Claim]:
    title = "Prefixes transfer within a domain"
    test = ("sign-flip permutation tests of transfer minus control (target's random prefix; empty prefix), paired by "
            "(fraction, seed), pooled over source -> target pairs; manual prefix, own GPTA, finetune and "
            "cross-domain sources shown")
    t = runs[(runs["method"] == "transfer") & runs["source_dataset"].notna()]
    if t.empty:
        return [_not_measured(6, title, RULE_6, test, "no transfer run", "gpta sweep suites/transfer.yaml")]
    domain = {}
    for rid, ds in zip(runs["run_id"], runs["dataset"]):
        dom = ((raw.get(rid) or {}).get("dataset") or {}).get("domain")
        if dom:
            domain[ds] = dom
    key = ["dataset", "fraction", "seed"]
    ctrl = {m: runs[(runs["method"] == m) & ((m != UNDER_TEST) | runs["paper_arm"].astype(bool))]
            .drop_duplicates(key).set_index(key)["test"] for m in CONTROLS_6}
    within: dict[str, tuple[list[float], list[str]]] = {m: ([], []) for m in CONTROLS_6}
    cross: tuple[list[float], list[str]] = ([], [])
    bits = []
    for (src, tgt), g in t.groupby(["source_dataset", "dataset"]):
        src_dom = domain.get(src) or _registry_domain(src)
        same = src_dom is not None and src_dom == domain.get(tgt, _registry_domain(tgt))
        idx = list(zip(g["dataset"], g["fraction"], g["seed"]))
        # the claim's two tests read the same runs: those with both controls, in (pair, fraction)
        # cells of >= MIN_SEEDS seeds (a pair's rows are (fraction, seed): seeds are counted per fraction)
        both = ~np.isnan(ctrl["random-prefix"].reindex(idx).to_numpy(float)) & \
            ~np.isnan(ctrl["empty-prefix"].reindex(idx).to_numpy(float))
        seeds = g[both].groupby("fraction")["seed"].transform("nunique").reindex(g.index).fillna(0).to_numpy()
        tested = both & (seeds >= MIN_SEEDS)
        part = []
        for m in CONTROLS_6:
            c = ctrl[m].reindex(idx).to_numpy(float)
            x_all = g["test"].to_numpy(float) - c
            x = x_all[~np.isnan(x_all)]
            if same and m in ("random-prefix", "empty-prefix"):
                within[m][0].extend(x_all[tested])
                within[m][1].extend([f"{src}->{tgt}"] * int(tested.sum()))
            elif same:
                within[m][0].extend(x)
                within[m][1].extend([f"{src}->{tgt}"] * len(x))
            elif m == "empty-prefix":
                cross[0].extend(x)
                cross[1].extend([f"{src}->{tgt}"] * len(x))
            if len(x):
                part.append(f"vs {m} {_pts(float(np.mean(x)))} (n = {len(x)})")
        bits.append(f"{src} -> {tgt} ({'within' if same else 'across'} domains): " + ", ".join(part or ["no control"]))
    tests = {m: pooled_signflip(*within[m]) for m in ("random-prefix", "empty-prefix")}
    if any(not tt.tested for tt in tests.values()):
        missing = [m for m, tt in tests.items() if not tt.tested]
        return [_not_measured(6, title, RULE_6, test, f"no within-domain transfer pair with >= {MIN_SEEDS} seeds "
                              f"paired with the target's {' and '.join(missing)} runs", "gpta sweep suites/transfer.yaml",
                              numbers="; ".join(bits))]
    p = max(tt.p for tt in tests.values())
    est = min(tt.estimate for tt in tests.values())
    est_max = max(tt.estimate for tt in tests.values())
    cross_t = pooled_signflip(*cross)
    numbers = ("; ".join(f"transfer minus {m}: pooled {_pts(tt.estimate)} points, {_ci(tt.ci_low, tt.ci_high)}, "
                         f"{p_text(tt.p)}" for m, tt in tests.items())
               + (f"; cross-domain control (transfer minus empty prefix): {_pts(cross_t.estimate)} points, "
                  f"{p_text(cross_t.p)}" if cross_t.tested else "; no cross-domain control run")
               + ". " + "; ".join(bits))
    c = Claim(6, title, RULE_6, test, numbers, f"{tests['random-prefix'].n_pairs} pairs over "
              f"{tests['random-prefix'].n_strata} within-domain source -> target pair(s)", p=p, estimate=est)
    c._se = max(tt.se for tt in tests.values())  # type: ignore[attr-defined]
    c._pooled = max(tests.values(), key=lambda tt: tt.se)  # type: ignore[attr-defined]  # the less sensitive test
    c._empty = tests["empty-prefix"]  # type: ignore[attr-defined]
    c._est_max = est_max  # type: ignore[attr-defined]  # both below 0: transfer is worse than both controls
    return [c]


def _registry_domain(name: str) -> str | None:
    try:
        from gpta.data.spec import get_dataset

        return get_dataset(name).domain
    except Exception:
        return None


# -- deciding ----------------------------------------------------------------------------------

def _decide(c: Claim, alpha: float) -> str:
    if not c.measured:
        return f"{NOT_MEASURED}: {c.missing}"
    if c.number == 4:
        return _decide_cost(c, alpha)
    sig = not math.isnan(c.p_adj) and c.p_adj < alpha
    if not sig:
        return NOT_SIG
    if c.number == 6:  # intersection-union: both tests significant; the verdict needs both in one direction
        return SUPPORTED if c.estimate > 0 else CONTRADICTED if getattr(c, "_est_max", 0.0) < 0 else NOT_SIG
    if c.estimate > 0:
        return MIXED if c.blockers else SUPPORTED
    return CONTRADICTED


def qualifier(c: Claim) -> str:
    """What the verdict word means where the word alone would mislead, in one parenthesis.

    - Claim 2's rule tests the difference of gains (low minus high resource); "supported" with a
      gain that is not positive at the low end says only that GPTA loses less there.
    - Claim 4 "supported" or "both ways" against references that do not beat always answering the
      most frequent label says GPTA is cheaper than a weak LLM's labels, not than LLM inference.
    - A measured claim that read seeds only a stage with a note planned (seeds added after a look)
      says how many: the note, printed below the scorecard, says how they came to be run.
    """
    parts = []
    low = getattr(c, "_low_gain", math.nan)
    if c.number == 2 and c.verdict == SUPPORTED and not math.isnan(low) and low <= 0:
        parts.append(f"as a difference only: GPTA's mean gain at the lowest fractions is {_pts(low)} points, so it "
                     f"loses less at low resource than at high; no gain there is shown")
    weak, known = getattr(c, "_weak_refs", (0, 0))
    if c.number == 4 and c.verdict in (SUPPORTED, MIXED) and weak:
        parts.append(f"against a reference not shown better than always answering the test set's most frequent "
                     f"label (its Wilson 95% lower bound) in {weak} of {known} comparisons")
    used = getattr(c, "_used", getattr(c, "_grid", None))
    if c.measured and used is not None and "noted_stage" in used and used["noted_stage"].notna().any():
        noted = used[used["noted_stage"].notna()]
        stages = ", ".join(f"'{x}'" for x in sorted(set(noted["noted_stage"])))
        parts.append(f"{noted['seed'].nunique()} of its {used['seed'].nunique()} seeds were planned only by stage "
                     f"{stages}, whose note below says how they came to be run")
    return f"({'; '.join(parts)})" if parts else ""


def _decide_cost(c: Claim, alpha: float) -> str:
    cheaper = getattr(c, "_cheaper", [])
    sig = not math.isnan(c.p_adj) and c.p_adj < alpha  # in the direction of the claim's smaller one-sided p
    direction = getattr(c, "_direction", "non-inferior")
    if not any(cheaper) or (sig and direction == "inferior"):  # costlier everywhere (counted), or shown inferior
        return CONTRADICTED
    if not sig:
        return NOT_SIG
    return SUPPORTED if all(cheaper) else MIXED


def _mde(c: Claim, alpha: float) -> str:
    if not c.measured:
        return "n/a"
    if c.number == 5:
        se = getattr(c, "_corr_se", math.nan)
        if math.isnan(se):
            return "n/a"
        floor = getattr(c, "_p_floor", math.nan)
        if floor >= alpha:  # the permutation support, not the effect size, is what stops the test
            return (f"none at any effect: the smallest p these values allow is {floor:.3g} (LLM accuracy takes few "
                    f"distinct values within its strata), above the family's strictest level {alpha:.3g}")
        x = mde_pooled(se, alpha)  # normal approximation on the rho scale: unreliable as it nears 1
        return f"rho {x:.2f}" if x < 0.9 else "not computed: the normal approximation fails near rho = 1"
    x = _mde_value(c, alpha)
    lo, hi = getattr(c, "_cmp_range", (math.nan, math.nan))
    if c.number == 4 and not c.p_adj < ALPHA and lo < 0 < hi:
        # The seed SE does not describe this test: a sign-flip test over comparisons whose differences
        # change sign between datasets has a null spread set by those differences, so "detectable
        # at 2.6 points" beside an undetected -9.8 would mean nothing.
        return (f"not computed: the comparisons' mean differences run from {_pts(lo)} to {_pts(hi)} points, not "
                f"one effect (see 'to decide')")
    if math.isnan(x):
        return _mde_unreachable(c, alpha)
    if getattr(c, "_unit", "") == "nats":
        return f"{x:.3f} nats"
    return _mde_pts(x)


def _mde_unreachable(c: Claim, alpha: float) -> str:
    """Why a measured claim has no minimum detectable effect: its test's p cannot go below the
    level at this many pairs, or the simulation found no effect with 80% power."""
    pt = getattr(c, "_pooled", None)
    if pt is None or not pt.stratum_n:
        return "n/a"
    pairs = int(sum(pt.stratum_n))
    floor = signflip_p_floor(pairs)
    if floor >= alpha:
        return (f"none at any effect: with {pairs} pairs the sign-flip test's smallest p is {floor:.3g}, not below "
                f"the family's strictest level {alpha:.3g}")
    return (f"none found: with {pairs} pairs (smallest possible p {floor:.3g}) the simulated test did not reach 80% "
            f"power at the family's strictest level {alpha:.3g} for any effect up to 100 times the normal "
            "approximation's")


def _mde_value(c: Claim, alpha: float) -> float:
    """The claim's minimum detectable effect at 80% power and ``alpha``: its pooled sign-flip test
    simulated at its strata's own seed spreads and sizes (``reports.stats.mde_signflip``; the normal
    approximation is optimistic at 3 seeds); computed once per claim and level."""
    cached = getattr(c, "_mde_at", None)
    if cached is not None and cached[0] == alpha:
        return cached[1]
    pt = getattr(c, "_pooled", None)
    if pt is not None and pt.stratum_n:
        x = mde_signflip(pt.stratum_sd, pt.stratum_n, alpha)
    else:
        x = mde_pooled(getattr(c, "_se", math.nan), alpha)
    c._mde_at = (alpha, x)  # type: ignore[attr-defined]
    return x


def _pair_seconds(grid: pd.DataFrame, runs: pd.DataFrame) -> float:
    """Mean cold seconds of one GPTA cell plus its paired finetune cell, as measured in this run."""
    ft = grid["ft_run_id"].map(runs.set_index("run_id")["cell_seconds_cold"]).to_numpy(float)
    return float(np.nanmean(grid["cell_seconds_cold"].to_numpy(float) + ft)) if len(grid) else math.nan


def _hours(seconds: float) -> str:
    return "cost unknown (cell seconds not recorded)" if math.isnan(seconds) else f"~{seconds / 3600:.1f} h"


def _to_decide(c: Claim, runs: pd.DataFrame, alpha: float) -> str:
    """For a claim left undecided: the grid that would decide it at the declared target effect
    (``reports.protocol``), 80% power and ``alpha``, and its cell time at this run's measured rates."""
    if c.measured and c.verdict in (SUPPORTED, CONTRADICTED, MIXED):
        return ""
    grid = getattr(c, "_grid", None)
    pair_s = _pair_seconds(grid, runs) if grid is not None else math.nan
    at_rate = f" at this run's mean cold seconds per GPTA + finetune pair ({pair_s:.0f} s)" if pair_s == pair_s else ""
    if c.number in (1, 2, 3) and c.measured and grid is not None:
        nats = getattr(c, "_unit", "") == "nats"
        target = TARGET_NATS if nats else TARGET_POINTS
        target_text = f"{target:g} nats" if nats else f"{100 * target:g}-point"
        mde_now = _mde_value(c, alpha)
        seeds_now = int(grid.groupby(["dataset", "fraction"])["seed"].nunique().min())
        cells = len(grid[["dataset", "fraction"]].drop_duplicates())
        pt = getattr(c, "_pooled", None)
        if math.isnan(mde_now) or pt is None:
            return ""
        now = f"{mde_now:.3f} nats" if nats else _mde_pts(mde_now)
        s = seeds_for_signflip(target, pt.stratum_sd, pt.stratum_n, seeds_now, alpha)
        if s is None:
            return (f"a {target_text} effect (our sizing target) is not reached at 80% power with {MAX_SEEDS} seeds "
                    f"per cell at these datasets' seed spreads (the sign-flip test simulated; minimum detectable "
                    f"effect {now} at {seeds_now} seeds): more seeds are not the answer at this spread")
        if s <= seeds_now:
            est = abs(c.estimate) if c.estimate == c.estimate else math.nan
            if est >= target:  # a large estimate the test did not confirm: the seeds are not what is missing
                shown = f"{est:.3f} nats" if nats else _mde_pts(est)
                return (f"the estimate ({shown}) is at or above the {target_text} target, yet not significant: the "
                        f"sign-flip test's spread includes the datasets' differing effects, which the minimum "
                        f"detectable effect ({now}, from the within-dataset spread) leaves out; more datasets, or "
                        "a claim stated per dataset, would decide it")
            return (f"already powered for a {target_text} effect (minimum detectable effect {now}): no effect that "
                    "large was found; a smaller one needs more seeds")
        return (f"a {target_text} effect (our sizing target) needs ~{s} seeds per cell at 80% power if each "
                f"dataset's seed spread stays at its {seeds_now}-seed estimate (the sign-flip test simulated at "
                f"those spreads; the minimum detectable effect is {now} at {seeds_now} seeds; the spreads' estimate "
                f"is itself uncertain) on these {cells} (dataset, "
                f"fraction) cells: {2 * cells * s} GPTA and finetune cells, {_hours(cells * s * pair_s)} of cell time "
                f"({_hours(cells * (s - seeds_now) * pair_s)} beyond the seeds run){at_rate}; on a machine with W "
                "workers divide by W")
    if c.number == 5:
        need = runs_for_correlation(TARGET_RHO, alpha)
        base = (f"a Spearman rho of {TARGET_RHO:g} (our sizing target) needs ~{need} GPTA runs at 80% power (Fisher "
                "approximation) whose LLM accuracy is defined and varies within (dataset, fraction) strata of >= 3 runs")
        q, total = getattr(c, "_qualified", 0), 0 if grid is None else len(grid)
        if not total:
            return base
        if not q:
            return (f"{base}; none of this LLM's {total} paper-arm runs qualified: more seeds alone do not help, the "
                    "LLM's revisions must first be new (by the echo rule)")
        runs_needed = math.ceil(need * total / q)
        return (f"{base}; here {q} of {total} paper-arm runs qualified: at that rate ~{runs_needed} runs, "
                f"{_hours(runs_needed * pair_s)} of cell time{at_rate}")
    lo, hi = getattr(c, "_cmp_range", (math.nan, math.nan))
    if c.number == 4 and c.measured and lo < 0 < hi:
        # The comparisons keep their own mean differences (the test's null spread includes them, so one
        # effect for all would misstate it); the one-sided test in the direction of the claim's smaller p
        # is simulated as seeds grow. A normal approximation on the null spread priced the observed
        # statistic as if it varied like the null: at the verdict run (Qwen) it asked for ~17 seeds where
        # the simulated test (at half the level, the claim's p being twice the one-sided p) needs ~11.
        pt, seeds_now = getattr(c, "_pooled", None), getattr(c, "_seeds_now", 0)
        if pt is None or not pt.stratum_mean or not seeds_now:
            return ""
        inferior = getattr(c, "_direction", "") == "inferior"
        effects = -np.asarray(pt.stratum_mean) if inferior else np.asarray(pt.stratum_mean)  # shifted by the margin
        distance = abs(c.estimate + NONINFERIORITY_MARGIN)  # from the margin, in the direction of the smaller p
        what = (f"this {_mde_pts(distance)} distance {'below' if inferior else 'above'} the "
                f"{100 * NONINFERIORITY_MARGIN:g}-point margin")
        # the claim's p is twice the one-sided p: the one-sided test must reach alpha / 2. The same
        # simulated experiments as the seed search's first step, so "now" and "~s seeds" agree; the
        # test's own 19,999 flips, since a statistic this steady (seed noise far below the comparisons'
        # spread) puts p near the level over a seed or two, where the flips' resolution decides
        one_sided = dict(alternative="greater", reps=SIM_REPS_SEEDS, flips=MC_DRAWS)
        power_now = signflip_power(effects, pt.stratum_sd, pt.stratum_n, alpha / 2, **one_sided)
        s = seeds_for_signflip(effects, pt.stratum_sd, pt.stratum_n, seeds_now, alpha / 2, **one_sided)
        head = (f"the comparisons' mean differences run from {_pts(lo)} to {_pts(hi)} points: one effect for all, as a "
                "minimum detectable effect assumes, does not describe them. If each comparison keeps its mean "
                f"difference and seed spread, the {'inferiority' if inferior else 'non-inferiority'} test (the "
                f"direction of the claim's p; at half the level, as the claim's p is twice its p), simulated at those "
                f"values, shows {what} with "
                f"{100 * power_now:.0f}% power at {seeds_now} GPTA seeds per comparison")
        if s is None:
            return f"{head}; {MAX_SEEDS} seeds would not reach 80%: a claim stated per dataset would need no pooling"
        if s <= seeds_now:
            return (f"{head}, already 80%, yet this run was not significant: the simulation takes each "
                    "comparison's observed mean as its true one, which this result puts in doubt; a claim stated per "
                    "dataset would need no pooling")
        return (f"{head}; ~{s} seeds per comparison would give 80% power; a claim stated per dataset would need no "
                "pooling")
    if c.number == 6 and not c.measured:
        from gpta.sweep.suite import load_suite

        cost = " ".join(load_suite("transfer").cost.split()).replace("`", "")  # the suite's own words, as plain text
        return f"the transfer suite (gpta sweep suites/transfer.yaml): {cost}"
    return ""


def scorecard(runs: pd.DataFrame, raw: dict[str, dict[str, Any]], comp: pd.DataFrame) -> Scorecard:
    """The six claims in the paper's order, decided under one Holm family of primary tests.

    ``comp`` is the report's per-cell family (``reports.analysis.comparisons``), built once.
    """
    context, smoke, reason = context_lines(runs, raw)
    claims = [*claim_gains(runs, comp), *claim_low_resource(runs), *claim_overfitting(runs), *claim_cost(runs, raw),
              *claim_llm_accuracy(runs), *claim_transfer(runs, raw)]
    # One family: every measured claim's primary p.
    measured = [c for c in claims if c.measured]
    adj = adjust([c.p for c in measured])
    m = int(np.sum(~np.isnan(adj)))
    for c, a in zip(measured, adj):
        c.family_size = m
        c.p_adj = float(a)
    strictest = ALPHA / max(m, 1)
    for c in claims:
        c.verdict = _decide(c, ALPHA)
        c.mde = _mde(c, strictest)
        c.to_decide = _to_decide(c, runs, strictest)
        if smoke and c.measured:  # the rule's outcome is not shown: a smoke run says no verdict word
            c.verdict = f"{NO_VERDICT} ({reason})"
        c.qualifier = qualifier(c)
    return Scorecard(claims, context, smoke, reason)


def summary(card: Scorecard) -> list[dict[str, Any]]:
    return [{"claim": c.number, "title": c.claim, "verdict": c.verdict, "qualifier": c.qualifier or None,
             "rule": c.rule, "test": c.test, "n": c.n,
             "family": c.family, "p": None if math.isnan(c.p) else c.p,
             "p_corrected": None if math.isnan(c.p_adj) else c.p_adj, "mde": c.mde, "protocol": c.protocol,
             "llms": c.llms, "command": c.command or None, "to_decide": c.to_decide or None} for c in card.claims]


def to_json(card: Scorecard) -> str:
    return json.dumps({"smoke": card.smoke, "context": card.context, "claims": summary(card)}, indent=1)
