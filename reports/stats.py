"""The statistics a report uses, each calibrated by simulation (tests/test_calibration.py).

- **Seed-paired test** (``paired_test``): a paired t-test over seeds (same dataset, fraction and
  seed: same data sample, same initialisation), two-sided, **only from 3 pairs on**. The standard
  deviation of the differences is floored at ``resolution`` (one test item, 1/N_test): the metric
  cannot resolve less, and without the floor identical differences (.02, .02, .02) give an
  infinite t while (.02, .02, .021) give p = 0.0003 -- the floor makes p monotone in the evidence.
  The floor can only raise p, so the test keeps its level.
- **Pooled test across strata** (``pooled_signflip``): the mean over strata (datasets) of each
  stratum's mean paired difference, equal weight per stratum; p from a sign-flip permutation test
  (under the null each seed pair's difference is symmetric around 0, so its sign is exchangeable):
  exact up to 2^16 sign patterns, else 19,999 seeded Monte-Carlo flips, p = (1 + #extreme) / (1 + B).
  Its interval: the estimate +- t(0.975, df) x SE, SE = sqrt(sum_d s_d^2 / n_d) / D (strata as
  fixed), df by Welch-Satterthwaite, (sum_d v_d)^2 / sum_d v_d^2 / (n_d - 1) with v_d = s_d^2 / n_d:
  with unequal spreads one noisy stratum carries the SE, and the pooled df = pairs - strata made
  the "95%" interval cover 85.5-92.7% at 3 seeds; these df give 92.2-95.9% in the same simulated
  worlds (tests/test_calibration.py measures the coverage).
- **Stratified rank correlation** (``stratified_correlation``): the mean over strata of the
  within-stratum Spearman rho; p by permuting x within each stratum: exact when every stratum has
  at most 8 runs and their distinct values combine into at most 10^6 sums (each stratum's
  distribution enumerated, the strata convolved), else 19,999 seeded Monte-Carlo draws.
- **Holm** (``adjust``): family-wise error 5% over one declared family.
- **Wilson** interval for a proportion (``wilson``): scipy's ``binomtest(...).proportion_ci``.
- **Minimum detectable effect** (``mde_paired``, ``mde_signflip``): the true effect a test detects
  with 80% power at its level, from the noncentral t (paired) or by simulating the pooled sign-flip
  test at the observed per-stratum spreads (``signflip_power``; claim 4's "to decide" line
  simulates its one-sided test at each comparison's own mean and spread); ``mde_pooled`` (normal
  approximation) remains only for claim 5 on the rho scale.
- Per-example (item-level) tests pooled over seeds are **not used**: simulated with two identical
  training procedures, the pooled McNemar test rejected a true null 22.7% of the time (issue 23),
  because items are not independent once the seed's training randomness is shared by all of them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.80
MIN_PAIRS = 3  # no seed-paired test, and no interval, below this many seeds
MC_DRAWS = 19_999
MC_SEED = 20240330  # fixed: the same results give the same p-value
EXACT_FLIPS_MAX = 16  # enumerate all 2^n sign patterns up to n = 16
EXACT_STRATUM_MAX = 8  # the correlation's p is exact when every stratum has at most 8 runs (8! orders each)
EXACT_COMBINATIONS_MAX = 1_000_000  # ... and the strata's distinct values combine into at most this many sums
DEFAULT_RESOLUTION = 1e-3  # SD floor when the test size is unknown: 0.1 points
PAIRED_TEST_NAME = ("paired t-test over seeds (two-sided, n >= 3, SD of the differences floored at one test "
                    "item)")
POOLED_TEST_NAME = ("sign-flip permutation test of the mean over datasets of the per-dataset mean paired "
                    "difference (equal weight per dataset)")
CORR_TEST_NAME = "mean within-stratum Spearman rho, permutation p (x permuted within each stratum)"
HOLM = "Holm"
BH = "Benjamini-Hochberg"


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample std (ddof=1); nan for one value
    ci_low: float  # nan below MIN_PAIRS values: no interval is printed from fewer
    ci_high: float


def _clean(values) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and not math.isnan(float(v))], dtype=float)


def summarize(values, min_n: int = MIN_PAIRS) -> Summary:
    """Mean with a 95% Student-t interval (n - 1 df); no interval below ``min_n`` values."""
    x = _clean(values)
    n = len(x)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    if n < max(2, min_n):
        return Summary(n, mean, std, math.nan, math.nan)
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return Summary(n, mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class PairedTest:
    n: int
    mean_diff: float
    p: float  # nan when not tested (fewer than MIN_PAIRS pairs)
    ci_low: float = math.nan
    ci_high: float = math.nan
    sd: float = math.nan  # SD of the differences used (after the floor)
    test: str = PAIRED_TEST_NAME

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p)


def paired_test(a, b, resolution: float | None = None) -> PairedTest:
    """Seed-paired two-sided t-test of ``a - b`` with the SD floored at ``resolution``; n >= 3."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    diff = a[keep] - b[keep]
    n = len(diff)
    if n == 0:
        return PairedTest(0, math.nan, math.nan)
    mean = float(diff.mean())
    if n < MIN_PAIRS:
        return PairedTest(n, mean, math.nan)
    floor = DEFAULT_RESOLUTION if resolution is None or not resolution > 0 else float(resolution)
    sd = max(float(diff.std(ddof=1)), floor)
    se = sd / math.sqrt(n)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), n - 1))
    half = float(stats.t.ppf(0.975, n - 1) * se)
    return PairedTest(n, mean, p, mean - half, mean + half, sd)


@dataclass(frozen=True)
class PooledTest:
    estimate: float
    p: float
    ci_low: float
    ci_high: float
    n_pairs: int
    n_strata: int
    se: float
    exact: bool
    test: str = POOLED_TEST_NAME
    df: float = math.nan  # the interval's degrees of freedom (Welch-Satterthwaite over strata)
    stratum_sd: tuple[float, ...] = ()  # each stratum's SD of the differences (after the floor)
    stratum_n: tuple[int, ...] = ()  # each stratum's pairs
    stratum_mean: tuple[float, ...] = ()  # each stratum's mean difference (same order as stratum_sd)

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p)


def _stratum_index(strata) -> tuple[np.ndarray, int]:
    keys = [str(s) for s in strata]
    uniq = sorted(set(keys))
    return np.asarray([uniq.index(k) for k in keys]), len(uniq)


def pooled_signflip(diffs, strata, resolution: float | None = None, min_per_stratum: int = MIN_PAIRS,
                    draws: int = MC_DRAWS, seed: int = MC_SEED, alternative: str = "two-sided") -> PooledTest:
    """Mean over strata of the per-stratum mean difference; sign-flip permutation p.

    ``alternative``: "two-sided", or "greater" (one-sided: H1 says the pooled mean is above 0; a
    non-inferiority test passes the differences plus the margin). Strata with fewer than
    ``min_per_stratum`` pairs are left out (they are not a measurement).
    """
    d = np.asarray(diffs, dtype=float)
    s_all = list(strata)
    keep = ~np.isnan(d)
    d, s_all = d[keep], [s for s, k in zip(s_all, keep) if k]
    if len(d) == 0:
        return PooledTest(math.nan, math.nan, math.nan, math.nan, 0, 0, math.nan, False)
    idx, k = _stratum_index(s_all)
    counts = np.bincount(idx, minlength=k)
    ok = counts >= min_per_stratum
    sel = ok[idx]
    d, idx = d[sel], idx[sel]
    if len(d) == 0:
        return PooledTest(math.nan, math.nan, math.nan, math.nan, 0, 0, math.nan, False)
    _, idx = np.unique(idx, return_inverse=True)
    k = int(idx.max()) + 1
    counts = np.bincount(idx, minlength=k).astype(float)
    weight = 1.0 / (k * counts[idx])  # each stratum's mean, equally weighted

    def stat(signs: np.ndarray) -> np.ndarray:  # signs: (draws, n)
        return (signs * d * weight).sum(axis=-1)

    observed = float((d * weight).sum())
    n = len(d)
    if n <= EXACT_FLIPS_MAX:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = stat(signs)
        extreme = (null >= observed - 1e-12) if alternative == "greater" else (np.abs(null) >= abs(observed) - 1e-12)
        p = float(np.mean(extreme))
        exact = True
    else:
        rng = np.random.default_rng(seed)
        null = stat(rng.choice((1.0, -1.0), size=(draws, n)))
        extreme = (null >= observed - 1e-12) if alternative == "greater" else (np.abs(null) >= abs(observed) - 1e-12)
        p = float((1 + np.sum(extreme)) / (1 + draws))
        exact = False
    floor = DEFAULT_RESOLUTION if resolution is None or not resolution > 0 else float(resolution)
    parts, sds, ns, means = [], [], [], []  # (v_d = s_d^2 / n_d, its df n_d - 1) per stratum
    for j in range(k):
        dj = d[idx == j]
        sd = max(float(dj.std(ddof=1)) if len(dj) > 1 else floor, floor)
        parts.append((sd * sd / len(dj), max(len(dj) - 1, 1)))
        sds.append(sd)
        ns.append(len(dj))
        means.append(float(dj.mean()))
    var = sum(v for v, _ in parts)
    se = math.sqrt(var) / k
    df = welch_df(parts)
    half = float(stats.t.ppf(0.975, df) * se)
    return PooledTest(observed, p, observed - half, observed + half, n, k, se, exact, df=df,
                      stratum_sd=tuple(sds), stratum_n=tuple(ns), stratum_mean=tuple(means))


def welch_df(parts) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of variance terms: ``parts`` holds
    (variance term, its df); (sum v)^2 / sum(v^2 / df). Scaling every term alike leaves it unchanged."""
    parts = [(float(v), float(f)) for v, f in parts if v > 0]
    if not parts:
        return 1.0
    return max(sum(v for v, _ in parts) ** 2 / sum(v * v / f for v, f in parts), 1.0)


@dataclass(frozen=True)
class StratifiedCorrelation:
    rho: float  # mean within-stratum Spearman rho
    p: float
    n: int  # units (runs) in the strata used
    n_strata: int
    exact: bool
    test: str = CORR_TEST_NAME
    sizes: tuple[int, ...] = ()  # runs in each stratum used (the ones left out are not here)
    # the smallest p these values allow (every permutation's statistic; ties in x or y, e.g. an
    # LLM accuracy of 0 or 1, leave few distinct outcomes): a level below it cannot be reached
    p_floor: float = math.nan

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p)


def _centred_ranks(v: np.ndarray) -> np.ndarray:
    r = stats.rankdata(v)
    return r - r.mean()


def _stratum_nulls(groups, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each stratum's exact permutation distribution of its share of the statistic (rho / k), as
    (distinct values, how many of the stratum's orders give each)."""
    out = []
    for rx, ry, den in groups:
        perms = np.array(list(itertools.permutations(range(len(rx)))))
        out.append(np.unique(np.round((rx[perms] * ry).sum(axis=1) / den / k, 12), return_counts=True))
    return out


def stratified_correlation(x, y, strata, min_per_stratum: int = 3, draws: int = MC_DRAWS,
                           seed: int = MC_SEED) -> StratifiedCorrelation:
    """Mean within-stratum Spearman rho and its permutation p (two-sided).

    Strata with fewer than ``min_per_stratum`` units or a constant x or y carry no rank
    information and are left out. Spearman's rho is Pearson's r of the ranks, so a permutation
    of x permutes its ranks: each stratum's null values are computed from its rank vectors.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    s_all = np.asarray([str(s) for s in strata])
    groups: list[tuple[np.ndarray, np.ndarray, float]] = []
    for key in sorted(set(s_all.tolist())):
        m = (s_all == key) & ~(np.isnan(x) | np.isnan(y))
        gx, gy = x[m], y[m]
        if len(gx) >= min_per_stratum and np.ptp(gx) > 0 and np.ptp(gy) > 0:
            rx, ry = _centred_ranks(gx), _centred_ranks(gy)
            groups.append((rx, ry, math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))))
    n = sum(len(g[0]) for g in groups)
    if not groups:
        return StratifiedCorrelation(math.nan, math.nan, n, 0, False)
    k = len(groups)
    observed = float(np.mean([(rx * ry).sum() / den for rx, ry, den in groups]))
    dists = _stratum_nulls(groups, k) if max(len(g[0]) for g in groups) <= EXACT_STRATUM_MAX else None
    if dists is not None and math.prod(len(v) for v, _ in dists) <= EXACT_COMBINATIONS_MAX:
        # Exact: each stratum's permutation distribution enumerated (at most 8! = 40,320 orders),
        # then the strata combined by convolving their distinct values (the statistic is their
        # mean): two strata of 7 (25 million joint orders) cost two enumerations of 5,040.
        values, counts = np.zeros(1), np.ones(1)
        for v, c in dists:
            values, inv = np.unique(np.round((values[:, None] + v[None, :]).ravel(), 12), return_inverse=True)
            counts = np.bincount(inv, weights=(counts[:, None] * c[None, :]).ravel())
        p = float(counts[np.abs(values) >= abs(observed) - 1e-9].sum() / counts.sum())
        p_floor = float(counts[np.abs(values) >= np.abs(values).max() - 1e-9].sum() / counts.sum())
        exact = True
    else:
        rng = np.random.default_rng(seed)
        null = np.zeros(draws)
        for rx, ry, den in groups:
            perms = rng.permuted(np.tile(np.arange(len(rx)), (draws, 1)), axis=1)
            null += (rx[perms] * ry).sum(axis=1) / den / k
        p = float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + draws))
        # a Monte-Carlo estimate of the floor (the largest |statistic| among the draws, not the true one)
        p_floor = float((1 + np.sum(np.abs(null) >= np.abs(null).max() - 1e-12)) / (1 + draws))
        exact = False
    return StratifiedCorrelation(observed, p, n, k, exact, sizes=tuple(len(g[0]) for g in groups), p_floor=p_floor)


@dataclass(frozen=True)
class Correlation:
    """Unstratified Pearson and Spearman (descriptive: figures); p exact by permutation below n = 10."""

    n: int
    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float

    def text(self) -> str:
        if math.isnan(self.spearman):
            return f"correlation undefined (n={self.n}; needs >= 3 points with varying x and y)"
        return (f"Pearson r = {self.pearson:.2f}, Spearman rho = {self.spearman:.2f} "
                f"(permutation p = {self.spearman_p:.2g}), n = {self.n}")


def correlate(x, y) -> Correlation:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(n, math.nan, math.nan, math.nan, math.nan)
    sc = stratified_correlation(x, y, ["all"] * n)
    pearson = float(np.corrcoef(x, y)[0, 1])
    pr = stats.pearsonr(x, y, method=stats.PermutationMethod(n_resamples=MC_DRAWS, random_state=MC_SEED))
    return Correlation(n, pearson, float(pr.pvalue), sc.rho, sc.p)


def adjust(pvalues, method: str = HOLM) -> np.ndarray:
    """Family-wise (Holm) or false-discovery-rate (Benjamini-Hochberg) adjusted p-values.

    NaN p-values (untested comparisons) stay NaN and are not counted in the family.
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


def wilson(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (scipy.stats.binomtest); (nan, nan) for n = 0."""
    if n <= 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(round(successes)), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def mde_paired(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean difference a two-sided paired t-test at ``alpha`` detects with ``power``.

    Exact (noncentral t): solves power(delta) = ``power`` for delta = effect / (sd / sqrt(n)).
    nan below MIN_PAIRS pairs or without an SD.
    """
    if n < MIN_PAIRS or not sd > 0 or math.isnan(sd):
        return math.nan
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)

    def gap(nc: float) -> float:  # the far tail's NaN at large nc is ~0
        far = float(np.nan_to_num(stats.nct.cdf(-crit, df, nc)))
        return float(stats.nct.sf(crit, df, nc)) + far - power

    hi = 1.0
    while gap(hi) < 0 and hi < 1e4:
        hi *= 2
    nc = optimize.brentq(gap, 0.0, hi)
    return float(nc * sd / math.sqrt(n))


def mde_pooled(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true pooled effect detectable with ``power`` (normal approximation, two-sided)."""
    if not se > 0 or math.isnan(se):
        return math.nan
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


SIM_REPS = 2000  # simulated experiments per power evaluation: the MDE's power then lands at 0.79-0.81
SIM_REPS_SEEDS = 500  # per evaluation when searching seeds ("~N seeds": +-10% is the claim's precision)
SIM_FLIPS = 999  # sign-flip draws per simulated experiment, at least 20 / alpha (p's resolution below the level)
SIM_SEED = 20241203


def signflip_p_floor(n_pairs: int, alternative: str = "two-sided") -> float:
    """The smallest p ``pooled_signflip`` can give with ``n_pairs`` pairs, whatever the effect: the
    all-agreeing sign pattern (and, two-sided, its mirror) out of 2^n when it enumerates them, else
    one draw in 1 + ``MC_DRAWS``. At or above the level, no effect can be shown."""
    if n_pairs < 1:
        return math.nan
    if n_pairs <= EXACT_FLIPS_MAX:
        return (1 if alternative == "greater" else 2) / 2 ** n_pairs
    return max((1 if alternative == "greater" else 2) / 2 ** n_pairs, 1 / (1 + MC_DRAWS))


def signflip_power(effect, sds, ns, alpha: float = ALPHA, reps: int = SIM_REPS, flips: int = SIM_FLIPS,
                   seed: int = SIM_SEED, alternative: str = "two-sided") -> float:
    """Simulated power of ``pooled_signflip`` (level ``alpha``) when every pair of stratum d
    differs by ``effect`` (one number, or one per stratum) plus normal noise of SD ``sds[d]``, with
    ``ns[d]`` pairs. ``alternative`` as in the test ("greater": one-sided, H1 says above 0).

    The same statistic (strata equally weighted) and the same p as the test: every sign pattern
    enumerated up to ``EXACT_FLIPS_MAX`` pairs (the test's exact p), else p = (1 + #extreme) /
    (1 + flips). The noise and the sign patterns come from ``seed`` whatever the effect (common
    random numbers), so power rises smoothly with the effect and a search for the MDE converges.
    """
    sds, ns = np.asarray(sds, dtype=float), np.asarray(ns, dtype=int)
    if len(sds) == 0 or (ns < 1).any():
        return math.nan
    effects = np.broadcast_to(np.asarray(effect, dtype=float), sds.shape)
    flips = max(flips, math.ceil(20 / alpha))  # p's resolution well below the level
    sd = np.repeat(sds, ns)
    w = np.repeat(1.0 / (len(ns) * ns), ns)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((reps, len(sd))) * sd
    x = ((np.repeat(effects, ns) + z) * w).astype(np.float32)  # (reps, pairs), weighted; float32: a power, not a p
    if len(sd) <= EXACT_FLIPS_MAX:  # the test enumerates every pattern: p = #extreme / 2^n, no "+1"
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(sd))), dtype=np.float32).T
        plus = 0
    else:
        signs = rng.choice(np.array((1.0, -1.0), dtype=np.float32), size=(len(sd), flips))
        plus = 1
    observed = x.sum(axis=1, keepdims=True)
    extreme = np.empty(reps)
    chunk = max(1, 2 ** 24 // signs.shape[1])  # (chunk, patterns) floats at a time: <= 64 MB
    for a in range(0, reps, chunk):
        null, obs = x[a:a + chunk] @ signs, observed[a:a + chunk]
        tol = 1e-6 * np.abs(obs)  # the observed pattern itself counts (float32 sums)
        hit = null >= obs - tol if alternative == "greater" else np.abs(null) >= np.abs(obs) - tol
        extreme[a:a + chunk] = hit.sum(axis=1)
    return float(np.mean((plus + extreme) / (plus + signs.shape[1]) < alpha))


def mde_signflip(sds, ns, alpha: float = ALPHA, power: float = POWER, **sim) -> float:
    """Smallest effect ``pooled_signflip`` detects with ``power`` at ``alpha``, by simulation
    (``signflip_power``) at these strata's SDs and sizes. The normal approximation (``mde_pooled``)
    is optimistic at few seeds: with 3 pairs per stratum its "80%" effect was detected 66-71% of the
    time (tests/test_calibration.py). NaN when no effect reaches ``power`` (too few pairs for the
    level: ``signflip_p_floor`` says why)."""
    sds, ns = np.asarray(sds, dtype=float), np.asarray(ns, dtype=int)
    se = math.sqrt(float(np.sum(sds ** 2 / ns))) / len(ns) if len(ns) else math.nan
    if not se > 0 or not signflip_p_floor(int(ns.sum()), sim.get("alternative", "two-sided")) < alpha:
        return math.nan
    guess = mde_pooled(se, alpha, power)  # the normal approximation: the search starts around it
    lo, hi = 0.9 * guess, 1.5 * guess
    if signflip_power(lo, sds, ns, alpha, **sim) >= power:
        lo = 0.0
    while signflip_power(hi, sds, ns, alpha, **sim) < power:
        lo, hi = hi, 2 * hi
        if hi > 100 * guess:
            return math.nan  # the test cannot reach this power here (too few pairs for the level)
    while hi - lo > 0.005 * hi:  # bisection to 0.5% of the effect
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if signflip_power(mid, sds, ns, alpha, **sim) < power else (lo, mid)
    return hi


MAX_SEEDS = 1000  # a "to decide" search stops here: beyond it, more seeds is not the answer


def seeds_for_signflip(target, sds, ns, seeds_now: int, alpha: float = ALPHA, power: float = POWER,
                       max_seeds: int = MAX_SEEDS, **sim) -> int | None:
    """Seeds per cell at which ``pooled_signflip`` detects ``target`` (one effect, or one per
    stratum) with ``power`` (simulated), if every stratum's SD and mean stay as they are and its
    pairs grow with the seeds (ns x seeds / seeds_now). None when ``max_seeds`` are not enough: the
    caller says so, it does not print a capped number as if it were the answer."""
    ns = np.asarray(ns, dtype=int)
    sim = {"reps": SIM_REPS_SEEDS, **sim}

    def enough(seeds: int) -> bool:
        grown = np.maximum(np.round(ns * seeds / seeds_now).astype(int), 1)
        return signflip_power(target, sds, grown, alpha, **sim) >= power

    if enough(seeds_now):
        return seeds_now
    lo, hi = seeds_now, 2 * seeds_now
    while not enough(hi):
        lo, hi = hi, 2 * hi
        if hi > max_seeds:
            if enough(max_seeds):
                hi = max_seeds
                break
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not enough(mid) else (lo, mid)
    return hi


def runs_for_correlation(rho: float, alpha: float, power: float = POWER) -> int:
    """Runs a two-sided test of a correlation needs to detect ``rho`` (Fisher z: n = ((z_a + z_b) /
    atanh rho)^2 + 3); the within-stratum test loses one run per stratum beside this."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil((z / math.atanh(rho)) ** 2 + 3)
