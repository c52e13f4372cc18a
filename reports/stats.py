"""The few statistics a report needs, each stated in the text where it is used.

- Means over seeds come with a 95% Student-t interval (n - 1 degrees of freedom); one seed has none.
- Comparisons with ``finetune`` pair runs of the same dataset, fraction and seed (same data sample,
  same initialisation) and use a paired t-test over seeds (``scipy.stats.ttest_rel``, two-sided).
- Correlations report Pearson r and Spearman rho with their p-values and n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
PAIRED_TEST_NAME = "paired t-test over seeds (scipy.stats.ttest_rel, two-sided)"


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

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p) and self.p < ALPHA


def paired_test(a, b) -> PairedTest:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(a)
    if n == 0:
        return PairedTest(0, math.nan, math.nan)
    diff = a - b
    if n < 2 or np.allclose(diff, 0):
        return PairedTest(n, float(diff.mean()), math.nan)
    if np.allclose(diff, diff[0]):
        # Every difference equal and non-zero: the t statistic is infinite (its p-value tends to
        # 0), which overstates n identical pairs. Exact two-sided sign-flip permutation test
        # instead: only the two all-same-sign flips are as extreme, p = 2 / 2**n (0.25 at n = 3).
        return PairedTest(n, float(diff.mean()), float(2.0 / 2 ** n))
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
    pr = stats.pearsonr(x, y)
    sr = stats.spearmanr(x, y)
    return Correlation(n, float(pr.statistic), float(pr.pvalue), float(sr.statistic), float(sr.pvalue))
