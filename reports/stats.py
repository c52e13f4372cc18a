"""The few statistics a report needs, each stated in the text where it is used.

- Means over seeds come with a 95% Student-t interval (n - 1 degrees of freedom); one seed has none.
- Comparisons with ``finetune`` pair runs of the same dataset, fraction and seed (same data sample,
  same initialisation) and use a paired t-test over seeds (``scipy.stats.ttest_rel``, two-sided).
- Correlations report Pearson r and Spearman rho with their p-values and n.
- Every table corrects its family of tests (Holm's step-down by default, Benjamini-Hochberg on
  request) and says which correction and how many tests.
- Per-example paired test: exact McNemar (two-sided binomial test on the discordant pairs),
  pooled over the seed pairs of a cell.
- A method with no seed dependence (llm-zero-shot) gets a sampling interval over test items
  (Wilson score interval for a proportion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
PAIRED_TEST_NAME = "paired t-test over seeds (scipy.stats.ttest_rel, two-sided)"
SIGN_TEST_NAME = "exact sign test (every seed difference equal)"
MCNEMAR_NAME = "exact McNemar test on per-example correctness, pooled over seeds (two-sided)"
HOLM = "Holm"
BH = "Benjamini-Hochberg"


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample std (ddof=1); nan for one value
    ci_low: float
    ci_high: float


def summarize(values) -> Summary:
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return Summary(n, mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class PairedTest:
    n: int
    mean_diff: float
    p: float  # nan when undefined (fewer than 2 pairs, or every difference zero)
    test: str = PAIRED_TEST_NAME

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p) and self.p < ALPHA


def paired_test(a, b) -> PairedTest:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(a)
    if n == 0:
        return PairedTest(0, math.nan, math.nan)
    diff = a - b
    if n < 2:
        return PairedTest(n, float(diff.mean()), math.nan)
    if np.allclose(diff, diff[0]):
        if np.isclose(diff[0], 0.0):
            return PairedTest(n, 0.0, 1.0)  # no difference at all: nothing to reject
        # zero variance, non-zero mean: the t statistic is infinite; the sign test still has a p
        return PairedTest(n, float(diff.mean()), float(min(1.0, 2 * 0.5 ** n)), SIGN_TEST_NAME)
    return PairedTest(n, float(diff.mean()), float(stats.ttest_rel(a, b).pvalue))


@dataclass(frozen=True)
class Correlation:
    n: int
    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float

    def text(self) -> str:
        if math.isnan(self.pearson):
            return f"correlation undefined (n={self.n}; needs >= 3 points with varying x and y)"
        return (f"Pearson r = {self.pearson:.2f} (p = {self.pearson_p:.2g}), "
                f"Spearman rho = {self.spearman:.2f} (p = {self.spearman_p:.2g}), n = {self.n}")


def correlate(x, y) -> Correlation:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(n, math.nan, math.nan, math.nan, math.nan)
    import warnings

    with warnings.catch_warnings():  # near-constant input: the coefficient is still what we report, with its n
        warnings.simplefilter("ignore", stats.NearConstantInputWarning)
        pr = stats.pearsonr(x, y)
        sr = stats.spearmanr(x, y)
    return Correlation(n, float(pr.statistic), float(pr.pvalue), float(sr.statistic), float(sr.pvalue))


def adjust(pvalues, method: str = HOLM) -> np.ndarray:
    """Family-wise (Holm) or false-discovery-rate (Benjamini-Hochberg) adjusted p-values.

    NaN p-values (untestable comparisons) stay NaN and are not counted in the family.
    """
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(p.shape, math.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    q = p[ok]
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == HOLM:
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == BH:
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


@dataclass(frozen=True)
class McNemar:
    n_examples: int  # paired (example, seed) items pooled
    a_only: int  # A right, B wrong
    b_only: int  # A wrong, B right
    p: float  # nan when there are no items

    def text(self) -> str:
        if self.n_examples == 0:
            return "not computed"
        return f"{self.a_only} vs {self.b_only} discordant of {self.n_examples}, p = {self.p:.2g}"


def mcnemar(correct_a, correct_b) -> McNemar:
    """Exact McNemar test on paired per-example correctness (booleans, already pooled)."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    n = len(a)
    if n == 0:
        return McNemar(0, 0, 0, math.nan)
    n10, n01 = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if n10 + n01 == 0 else float(stats.binomtest(n10, n10 + n01, 0.5).pvalue)
    return McNemar(n, n10, n01, p)


def wilson(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (a test accuracy over n independent items)."""
    if n <= 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    phat = successes / n
    den = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / den
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)
