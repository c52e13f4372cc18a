"""What a GPTA-minus-finetune difference is due to: the controls, pooled, in one declared family.

GPTA minus finetune splits into three steps, each a difference between two arms that the verdict
suite runs on the same (dataset, fraction, seed):

1. **layout**: empty-prefix minus finetune: the prefix layout with no text (LLM-free);
2. **text**: llm-prefix minus empty-prefix: the LLM's first prefix, kept, over the layout;
3. **dialogue**: GPTA (the paper's arm) minus llm-prefix: what the revisions add. In these suites
   GPTA's round-0 prefix is llm-prefix's prefix, so the step isolates the dialogue.

Each step is pooled like claim 1 (mean over the paper's datasets of each dataset's mean paired
difference; sign-flip permutation test) per protocol and, for steps 2-3, per LLM. The p-values form
their own Holm family (``FAMILY_CONTROLS``): no claim's rule reads them; they explain, they do not
decide. A (dataset, fraction) cell counts from ``MIN_SEEDS`` seed pairs on (as claim 1); below
``MIN_PAPER_DATASETS`` datasets with such a cell a step is "not measured".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from reports.claims import _resolution
from reports.protocol import FAMILY_CONTROLS, MIN_PAPER_DATASETS, MIN_SEEDS, PAPER_DATASETS
from reports.roles import BASELINE, UNDER_TEST
from reports.stats import HOLM, adjust, pooled_signflip

KEY = ["dataset", "fraction", "seed"]
# (step, what it isolates, test arm, control arm, whether the arms name an LLM)
STEPS = (("layout", "the prefix layout with no text", "empty-prefix", BASELINE, False),
         ("text", "the LLM's first prefix over the layout", "llm-prefix", "empty-prefix", True),
         ("dialogue", "the revisions over the first prefix", UNDER_TEST, "llm-prefix", True))


@dataclass
class Step:
    step: str
    isolates: str
    test_arm: str
    control_arm: str
    protocol: str
    llm: str
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    p_adj: float = math.nan
    n_pairs: int = 0
    n_datasets: int = 0
    missing: str = ""


def _arm_runs(runs: pd.DataFrame, method: str, llm: str | None) -> pd.DataFrame:
    d = runs[runs["method"] == method]
    if method == UNDER_TEST:
        d = d[d["paper_arm"].astype(bool)]
    if llm is not None:
        d = d[d["llm_label"].fillna("?") == llm]
    return d.drop_duplicates(KEY).set_index(KEY)["test"]


def _stand_ins(g: pd.DataFrame, method: str, llm: str | None, keys: pd.MultiIndex) -> int:
    """How many of the step's pairs have a test-arm run whose first prefix was our template (its
    ``fallbacks`` count, reports/extract.py): only llm-prefix's, where the text is the point."""
    if method != "llm-prefix" or "fallbacks" not in g:
        return 0
    d = g[(g["method"] == method) & (g["llm_label"].fillna("?") == llm)].drop_duplicates(KEY).set_index(KEY)
    return int((d["fallbacks"].reindex(keys).fillna(0) > 0).sum())


def steps(runs: pd.DataFrame) -> list[Step]:
    """Every step the results allow, per protocol and LLM, Holm-corrected together."""
    if runs.empty or "paper_arm" not in runs:
        return []
    d = runs[runs["dataset"].isin(PAPER_DATASETS)]
    out: list[Step] = []
    for proto, g in d.groupby(d["protocol"].fillna("fixed"), sort=True):
        llms = sorted(g.loc[g["method"].isin(["llm-prefix", UNDER_TEST]), "llm_label"].dropna().unique())
        resolution = _resolution(g)  # one test item: the SD floor, as claim 1
        for name, isolates, test_arm, control_arm, per_llm in STEPS:
            for llm in (llms if per_llm else [None]):
                if not {test_arm, control_arm} <= set(g["method"]):
                    continue
                a = _arm_runs(g, test_arm, llm)
                b = _arm_runs(g, control_arm, llm if control_arm in ("llm-prefix", UNDER_TEST) else None)
                diff = (a - b.reindex(a.index)).dropna()
                # as claim 1: a (dataset, fraction) cell counts from MIN_SEEDS seed pairs on, so a
                # dataset's pairs cannot add up to the minimum from cells too thin to measure
                cell_n = diff.groupby(level=["dataset", "fraction"]).transform("size")
                diff = diff[cell_n >= MIN_SEEDS]
                stand_in = _stand_ins(g, test_arm, llm, diff.index)
                if stand_in:  # the "LLM's first prefix" was our template in these pairs: say so
                    isolates_here = (f"{isolates} (in {stand_in} of {len(diff)} pairs our stand-in template: the "
                                     f"LLM's reply was unusable)")
                else:
                    isolates_here = isolates
                s = Step(name, isolates_here, test_arm, control_arm, str(proto), llm or "none (no LLM)")
                pt = pooled_signflip(diff.to_numpy(float), diff.index.get_level_values("dataset"), resolution)
                if not pt.tested or pt.n_strata < MIN_PAPER_DATASETS:
                    s.missing = (f"{pt.n_strata if pt.tested else 0} paper datasets with >= {MIN_SEEDS} seed pairs "
                                 f"per (dataset, fraction) cell (needs {MIN_PAPER_DATASETS})")
                else:
                    s.estimate, s.ci_low, s.ci_high, s.p = pt.estimate, pt.ci_low, pt.ci_high, pt.p
                    s.n_pairs, s.n_datasets = pt.n_pairs, pt.n_strata
                out.append(s)
    tested = [s for s in out if not s.missing]
    for s, a in zip(tested, adjust([s.p for s in tested])):
        s.p_adj = float(a)
    return out


def family_text(n: int) -> str:
    return f"{FAMILY_CONTROLS}: {HOLM} over {n} tests"
