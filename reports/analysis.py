"""From runs to the numbers a report states: cell summaries, gains over finetune, the grid.

A *cell* here is (dataset, fraction, arm); its seeds are the repetitions. Gains over
``finetune`` always pair runs of the same dataset, fraction and seed (same sample, same
initialisation), never means of unpaired runs.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from reports.protocol import FAMILY_CELLS
from reports.roles import BASELINE, reference_methods
from reports.stats import ALPHA, HOLM, adjust, paired_test, summarize
from reports.style import method_rank

PAIR_KEYS = ["dataset", "fraction", "seed", "data_seed"]


def arm_order(arms) -> list[str]:
    """GPTA first, finetune second, then the other methods in the fixed order; variants by name."""
    return sorted(set(arms), key=lambda a: (method_rank(a.split(" ")[0]), a))


def _train_settings(key: str) -> dict:
    return {k: v for k, v in json.loads(key).items() if k.startswith(("train.", "model"))}


def attach_baseline(runs: pd.DataFrame) -> pd.DataFrame:
    """Add ``ft_test``/``ft_train``/``ft_run_id`` (the paired finetune run) and ``gain`` = test - ft_test.

    If several finetune runs share the pair keys (finetune under several settings), the one with
    the most identical train settings is the partner: the comparison should change one thing only.
    A reference method (llm-zero-shot) gets none: it is one run on its own test items.
    """
    runs = runs.copy()
    for col in ("ft_test", "ft_train", "gain"):
        runs[col] = np.nan
    runs["ft_run_id"] = None
    if runs.empty:
        return runs
    ft = runs[runs["method"] == BASELINE]
    by_key = {k: g for k, g in ft.groupby(PAIR_KEYS, dropna=False)}
    refs = reference_methods()
    for i, row in runs.iterrows():
        if row["method"] in refs:  # a reference (one run, scored on its own test items) has no seed partner:
            continue               # a "gain" would subtract finetune's accuracy on other items
        cands = by_key.get(tuple(row[k] for k in PAIR_KEYS))
        if cands is None or cands.empty:
            continue
        mine = _train_settings(row["settings_key"])
        score = cands["settings_key"].map(lambda k: sum(mine.get(f) == v for f, v in _train_settings(k).items()))
        best = cands.loc[score.idxmax()]
        runs.at[i, "ft_test"] = best["test"]
        runs.at[i, "ft_train"] = best["train"]
        runs.at[i, "ft_run_id"] = best["run_id"]
    runs["gain"] = runs["test"] - runs["ft_test"]
    return runs


def cell_summaries(runs: pd.DataFrame, value: str = "test") -> pd.DataFrame:
    """One row per (dataset, fraction, arm): n, mean, std, 95% t-interval of ``value`` over seeds."""
    rows = []
    for (dataset, fraction, arm), g in runs.groupby(["dataset", "fraction", "arm"], sort=True):
        s = summarize(g[value])
        rows.append({"dataset": dataset, "fraction": fraction, "arm": arm, "method": g["method"].iloc[0],
                     "n": s.n, "mean": s.mean, "std": s.std, "ci_low": s.ci_low, "ci_high": s.ci_high,
                     "n_train": float(np.nanmedian(g["n_train"].astype(float))) if g["n_train"].notna().any() else np.nan,
                     "seeds": sorted(g["seed"].tolist())})
    return pd.DataFrame(rows, columns=["dataset", "fraction", "arm", "method", "n", "mean", "std", "ci_low",
                                       "ci_high", "n_train", "seeds"])


COMPARISON_COLUMNS = ["dataset", "fraction", "arm", "method", "protocol", "paper_arm", "n_pairs", "mean_gain",
                      "gain_low", "gain_high", "p", "test", "arm_mean", "ft_mean", "p_adj", "significant", "n_tests",
                      "correction", "family"]


def comparisons(runs: pd.DataFrame, correction: str = HOLM) -> pd.DataFrame:
    """The per-cell family: each non-finetune arm against finetune per (dataset, fraction).

    Paired over seeds (``reports.stats.paired_test``: n >= 3, SD floored at one test item).
    Reference methods (no seed or fraction dependence) are left out: a seed-paired test would pair
    one fixed number with itself. ``p_adj`` corrects over every tested row returned (one family:
    ``reports.protocol.FAMILY_CELLS``); ``significant`` = p_adj < 0.05. Build it once per report
    and pass it to every table: the same comparison then has one corrected p everywhere.
    """
    rows = []
    refs = reference_methods()
    paired = runs[runs["method"].ne(BASELINE) & runs["ft_test"].notna() & ~runs["method"].isin(refs)]
    for (dataset, fraction, arm), g in paired.groupby(["dataset", "fraction", "arm"], sort=True):
        res = 1.0 / float(g["test_n"].max()) if "test_n" in g and g["test_n"].notna().any() else None
        t = paired_test(g["test"], g["ft_test"], resolution=res)
        rows.append({"dataset": dataset, "fraction": fraction, "arm": arm, "method": g["method"].iloc[0],
                     "protocol": g["protocol"].iloc[0] if "protocol" in g else "fixed",
                     "paper_arm": bool(g["paper_arm"].all()) if "paper_arm" in g else False,
                     "n_pairs": t.n, "mean_gain": t.mean_diff, "gain_low": t.ci_low, "gain_high": t.ci_high,
                     "p": t.p, "test": t.test, "arm_mean": g["test"].mean(), "ft_mean": g["ft_test"].mean()})
    comp = pd.DataFrame(rows, columns=COMPARISON_COLUMNS[:-5])
    return correct(comp, correction)


def correct(comp: pd.DataFrame, correction: str = HOLM) -> pd.DataFrame:
    """(Re)compute ``p_adj``/``significant``/``n_tests`` over the rows of ``comp`` (one family)."""
    comp = comp.copy()
    comp["p_adj"] = adjust(comp["p"], correction) if len(comp) else []
    comp["significant"] = comp["p_adj"].lt(ALPHA) if len(comp) else []
    comp["n_tests"] = int(comp["p"].notna().sum()) if len(comp) else 0
    comp["correction"] = correction
    comp["family"] = FAMILY_CELLS
    return comp


PLAN_KEY = ["dataset", "fraction", "seed", "method", "llm"]


def plan_status(runs: pd.DataFrame, failed: pd.DataFrame, plan: list[dict]) -> tuple[pd.DataFrame, int]:
    """The planned cells (gpta/sweep/plan.py) with their status, and how many finished runs are
    outside the plan (run by hand, by an earlier suite file, or transfer runs: not counted).

    A cell two stages plan (same run id: a confirm stage re-listing seeds) counts once, under the
    first stage that planned it. A cell is finished when a result with its run id exists, failed
    when a failure record with its id does (a cell planned without an id, one that needs another
    method's result first, is matched by dataset, fraction, seed, method and LLM instead).
    """
    cols = ["dataset", "fraction", "seed", "method", "llm", "stage", "status"]
    if not plan:
        return pd.DataFrame(columns=cols), 0
    p = pd.DataFrame(plan)
    with_id = p[p["run_id"].notna()].drop_duplicates("run_id")
    no_id = p[p["run_id"].isna()].drop_duplicates(PLAN_KEY)
    p = pd.concat([with_id, no_id]).sort_index()
    done_ids = set(runs["run_id"]) if not runs.empty else set()
    bad_ids = set(failed["run_id"]) if not failed.empty else set()

    def keys(df: pd.DataFrame) -> set:
        return set(map(tuple, df[PLAN_KEY].itertuples(index=False))) if not df.empty else set()

    done_keys, bad_keys = keys(runs), keys(failed)
    status = []
    for r in p.itertuples(index=False):
        if isinstance(r.run_id, str):
            status.append("ok" if r.run_id in done_ids else "failed" if r.run_id in bad_ids else "missing")
        else:
            k = tuple(getattr(r, c) for c in PLAN_KEY)
            status.append("ok" if k in done_keys else "failed" if k in bad_keys else "missing")
    p["status"] = status
    n_outside = 0
    if not runs.empty:
        matched, no_id_keys = set(with_id["run_id"]), keys(no_id)
        n_outside = sum(m != "transfer" and i not in matched and k not in no_id_keys
                        for m, i, k in zip(runs["method"], runs["run_id"],
                                           map(tuple, runs[PLAN_KEY].itertuples(index=False))))
    return p[cols].reset_index(drop=True), int(n_outside)


def grid_status(runs: pd.DataFrame, failed: pd.DataFrame) -> pd.DataFrame:
    """Expected grid = datasets x fractions x seeds x methods seen anywhere (finished or failed).
    Used when the folder has no sweep plan (results of ``gpta run``, or of a sweep before plans).

    ``transfer`` is left out: its cells exist only for the source -> target pairs someone chose,
    so "missing" would be noise; the transfer section lists what it has instead.
    """
    frames = [df[["dataset", "fraction", "seed", "method"]] for df in (runs, failed) if not df.empty]
    if not frames:
        return pd.DataFrame(columns=["dataset", "fraction", "seed", "method", "status"])
    seen = pd.concat(frames).dropna(subset=["dataset", "method"])
    seen = seen[seen["method"] != "transfer"]
    axes = [sorted(seen[c].dropna().unique().tolist()) for c in ("dataset", "fraction", "seed", "method")]
    done = set(map(tuple, runs[["dataset", "fraction", "seed", "method"]].itertuples(index=False))) if not runs.empty else set()
    bad = set(map(tuple, failed[["dataset", "fraction", "seed", "method"]].itertuples(index=False))) if not failed.empty else set()
    rows = []
    for cell in itertools.product(*axes):
        status = "ok" if cell in done else "failed" if cell in bad else "missing"
        rows.append(dict(zip(("dataset", "fraction", "seed", "method"), cell), status=status))
    return pd.DataFrame(rows)
