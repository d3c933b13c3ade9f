"""Two-sample statistics on per-arm summaries (n, mean, variance of the mean).

Everything here is a pure, vectorised function of sufficient statistics: unit-level and
aggregated inputs share one code path, every number can be checked against scipy/statsmodels,
and the same functions run thousands of simulated experiments at once in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, stats

Array = Any  # float or numpy array; every function broadcasts


@dataclass(frozen=True)
class ArmSummary:
    """Sufficient statistics of one arm for one metric.

    ``var`` is the unit-level sample variance (ddof=1); ``var_mean`` the variance of the arm's
    estimate (``var / n`` for a plain mean; the delta-method variance for a ratio; the
    adjusted variance for CUPED). ``df`` is the degrees of freedom for Welch's test (None: use
    the normal distribution). ``successes`` is set for binary metrics.
    """

    n: Array
    mean: Array
    var: Array
    var_mean: Array
    df: Array | None = None
    successes: Array | None = None


def summarise(values: np.ndarray) -> ArmSummary:
    """Summary of one arm's unit-level values (along the last axis)."""
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    var = values.var(axis=-1, ddof=1) if n > 1 else np.full(values.shape[:-1], np.nan)
    return ArmSummary(n=n, mean=values.mean(axis=-1), var=var, var_mean=var / n, df=n - 1)


def binary_summary(successes: Array, n: Array) -> ArmSummary:
    """Summary of a 0/1 metric from counts; ``var_mean`` is the unpooled ``p(1-p)/n``."""
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    p = successes / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, p * (1 - p) * n / np.maximum(n - 1, 1), np.nan)
    return ArmSummary(n=n, mean=p, var=var, var_mean=p * (1 - p) / n, df=None, successes=successes)


def ratio_summary(num: np.ndarray, den: np.ndarray) -> ArmSummary:
    """Ratio-of-sums metric ``sum(num) / sum(den)`` with its delta-method variance.

    For units i with numerator ``x_i`` and denominator ``y_i`` (e.g. revenue per order,
    clicks per session), ``Var(R) ≈ (s_x² − 2 R s_xy + R² s_y²) / (n ȳ²)`` (Deng et al. 2018),
    along the last axis.
    """
    x = np.asarray(num, dtype=float)
    y = np.asarray(den, dtype=float)
    n = x.shape[-1]
    mx, my = x.mean(axis=-1), y.mean(axis=-1)
    r = mx / my
    sxx = x.var(axis=-1, ddof=1)
    syy = y.var(axis=-1, ddof=1)
    sxy = ((x - mx[..., None]) * (y - my[..., None])).sum(axis=-1) / (n - 1)
    var_unit = (sxx - 2 * r * sxy + r**2 * syy) / my**2
    return ArmSummary(n=n, mean=r, var=var_unit, var_mean=var_unit / n, df=None)


@dataclass(frozen=True)
class Comparison:
    """Treatment minus control for one metric."""

    diff: Array
    se: Array
    ci_low: Array
    ci_high: Array
    p_value: Array
    lift_rel: Array
    lift_rel_ci_low: Array
    lift_rel_ci_high: Array
    df: Array | None


def welch_df(var_mean_t: Array, var_mean_c: Array, df_t: Array, df_c: Array) -> Array:
    """Welch-Satterthwaite degrees of freedom."""
    return (var_mean_t + var_mean_c) ** 2 / (var_mean_t**2 / df_t + var_mean_c**2 / df_c)


def _relative(t: ArmSummary, c: ArmSummary, z: float) -> tuple[Array, Array, Array]:
    """Relative lift ``mean_t / mean_c - 1`` with a delta-method normal interval."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.asarray(c.mean) != 0
        cm = np.where(ok, c.mean, np.nan)
        rel = t.mean / cm - 1.0
        se = np.sqrt(t.var_mean / cm**2 + t.mean**2 * c.var_mean / cm**4)
    return rel, rel - z * se, rel + z * se


def _pvalue_normal(stat: Array) -> Array:
    return 2 * stats.norm.sf(np.abs(stat))


def compare_welch(t: ArmSummary, c: ArmSummary, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t-test and t interval (scipy ``ttest_ind(equal_var=False)``)."""
    diff = t.mean - c.mean
    se = np.sqrt(t.var_mean + c.var_mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = welch_df(t.var_mean, c.var_mean, t.df if t.df is not None else t.n - 1,
                      c.df if c.df is not None else c.n - 1)
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(diff / se), df), np.nan)
        half = np.where(se > 0, stats.t.ppf(1 - alpha / 2, df) * se, 0.0)
    rel, rlo, rhi = _relative(t, c, float(stats.norm.ppf(1 - alpha / 2)))
    return Comparison(diff, se, diff - half, diff + half, p, rel, rlo, rhi, df)


def compare_normal(t: ArmSummary, c: ArmSummary, alpha: float = 0.05) -> Comparison:
    """Large-sample z-test and interval on two independent estimates (ratio metrics)."""
    diff = t.mean - c.mean
    se = np.sqrt(t.var_mean + c.var_mean)
    z = float(stats.norm.ppf(1 - alpha / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se > 0, _pvalue_normal(diff / se), np.nan)
    rel, rlo, rhi = _relative(t, c, z)
    return Comparison(diff, se, diff - z * se, diff + z * se, p, rel, rlo, rhi, None)


def compare_proportions(t: ArmSummary, c: ArmSummary, alpha: float = 0.05) -> Comparison:
    """Two-proportion z-test: pooled-variance p-value, unpooled (Wald) interval.

    The p-value equals Pearson's chi-square test on the 2x2 table without continuity correction
    (``scipy.stats.chi2_contingency(correction=False)``); the interval equals statsmodels'
    ``confint_proportions_2indep(method="wald")``.
    """
    diff = t.mean - c.mean
    pooled = (t.mean * t.n + c.mean * c.n) / (t.n + c.n)
    se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / t.n + 1 / c.n))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se_pooled > 0, _pvalue_normal(diff / se_pooled), np.nan)
    se = np.sqrt(t.var_mean + c.var_mean)
    z = float(stats.norm.ppf(1 - alpha / 2))
    rel, rlo, rhi = _relative(t, c, z)
    return Comparison(diff, se, diff - z * se, diff + z * se, p, rel, rlo, rhi, None)


def srm_test(observed: np.ndarray, planned_shares: np.ndarray) -> float:
    """Chi-square goodness-of-fit p-value of arm sizes against the planned split."""
    observed = np.asarray(observed, dtype=float)
    shares = np.asarray(planned_shares, dtype=float)
    expected = observed.sum() * shares / shares.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def _ranked(p_values: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The p-values as floats, an all-NaN output of their shape, and the positions of the
    non-NaN ones in increasing order of p (ties in input order): what every step-wise
    correction starts from. NaNs are not tests."""
    p = np.asarray(p_values, dtype=float)
    idx = np.flatnonzero(~np.isnan(p))
    return p, np.full(p.shape, np.nan), idx[np.argsort(p[idx], kind="stable")]


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaNs pass through and do not count as tests)."""
    p, out, order = _ranked(p_values)
    m = order.size
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


# --- CUPED ---------------------------------------------------------------------------------


def cuped_theta(ys: list[np.ndarray], xs: list[np.ndarray]) -> Array:
    """CUPED coefficient ``cov(y, x) / var(x)`` pooled over the arms' within-arm deviations.

    ``ys``/``xs`` hold one array per arm (values along the last axis, any batch axes before).
    Pooling within-arm covariances keeps a treatment effect on ``y`` out of the estimate; the
    result equals the covariate's coefficient in the OLS regression ``y ~ arm + x``.
    """
    sxy = sum(((x - x.mean(axis=-1, keepdims=True)) * (y - y.mean(axis=-1, keepdims=True))).sum(axis=-1)
              for y, x in zip(ys, xs))
    sxx = sum(((x - x.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1) for x in xs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)


# --- Bayesian ------------------------------------------------------------------------------


def bayes_normal(diff: Array, se: Array, sign: float = 1.0) -> tuple[Array, Array]:
    """Probability the variant is better and its expected loss, flat prior, normal posterior.

    The posterior of the true difference is ``N(diff, se²)``; "better" means ``sign * δ > 0``;
    the expected loss of shipping the variant is ``E[max(-sign * δ, 0)]`` in metric units.
    """
    m = sign * np.asarray(diff, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = m / se
        prob = stats.norm.cdf(z)
        loss = se * stats.norm.pdf(z) - m * stats.norm.cdf(-z)
    return prob, loss


def bayes_beta(x_t: float, n_t: float, x_c: float, n_c: float, *, sign: float = 1.0, draws: int = 200_000,
               seed: int = 42, prior: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """Probability to beat control and expected loss for conversion rates (Beta posteriors, Monte Carlo)."""
    rng = np.random.default_rng(seed)
    a, b = prior
    pt = rng.beta(a + x_t, b + n_t - x_t, size=draws)
    pc = rng.beta(a + x_c, b + n_c - x_c, size=draws)
    delta = sign * (pt - pc)
    return float((delta > 0).mean()), float(np.maximum(-delta, 0).mean())


# --- always-valid (sequential) inference: mSPRT with a normal mixture -------------------------


@lru_cache(maxsize=64)
def _best_ratio(alpha: float) -> float:
    """``tau² / V`` that makes the always-valid interval narrowest at variance ``V``."""
    log_a = math.log(1 / alpha)

    def width2(log_r: float) -> float:
        r = math.exp(log_r)
        return (1 + 1 / r) * (log_a + 0.5 * math.log1p(r))

    res = optimize.minimize_scalar(width2, bounds=(-5, 12), method="bounded")
    return float(math.exp(res.x))


def msprt_tau2(var_final: Array, alpha: float = 0.05) -> Array:
    """Mixing variance tuned so the sequence is tightest at the planned (final) sample size."""
    return _best_ratio(float(alpha)) * np.asarray(var_final, dtype=float)


def msprt_pvalue(diff: Array, var: Array, tau2: Array) -> Array:
    """One look's mSPRT p-value ``min(1, 1/Λ)``; take the running minimum over looks.

    ``Λ = sqrt(V / (V + τ²)) exp(τ² d² / (2 V (V + τ²)))`` is the normal-mixture likelihood
    ratio of the difference estimate ``d`` with variance ``V`` (Johari et al. 2017).
    """
    d = np.asarray(diff, dtype=float)
    v = np.asarray(var, dtype=float)
    log_lr = 0.5 * np.log(v / (v + tau2)) + tau2 * d**2 / (2 * v * (v + tau2))
    return np.minimum(1.0, np.exp(-log_lr))


def msprt_halfwidth(var: Array, tau2: Array, alpha: float = 0.05) -> Array:
    """Half-width of the always-valid ``1 - alpha`` confidence interval at variance ``V``."""
    v = np.asarray(var, dtype=float)
    return np.sqrt(2 * v * (v + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * np.log((v + tau2) / v)))


# --- many segments: false discovery rate, random effects, shrinkage, interaction test ---------


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values); NaNs pass through and are not counted.

    Rejecting every q below ``alpha`` keeps the expected share of false discoveries among the
    rejections at ``alpha`` for independent or positively dependent tests (disjoint segments of
    one column are independent; columns describing the same customers are positively related).
    Equals ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``.
    """
    p, out, order = _ranked(p_values)
    m = order.size
    if m:
        scaled = p[order] * m / np.arange(1, m + 1)
        out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out.tolist()


@dataclass(frozen=True)
class RandomEffects:
    """Between-segment spread of effects ``d_s`` with sampling variances ``v_s``.

    ``q`` is Cochran's Q, ``p_value`` its chi-square test of "one common effect", ``tau2`` the
    DerSimonian-Laird between-segment variance and ``i2`` the share of the spread that is not
    sampling noise.
    """

    mean: float
    q: float
    df: int
    p_value: float
    tau2: float
    i2: float


def random_effects(d: np.ndarray, v: np.ndarray) -> RandomEffects:
    """Cochran's Q test and the DerSimonian-Laird between-segment variance."""
    d, v = np.asarray(d, dtype=float), np.asarray(v, dtype=float)
    w = 1.0 / v
    mean = float((w * d).sum() / w.sum())
    q = float((w * (d - mean) ** 2).sum())
    df = d.size - 1
    p = float(stats.chi2.sf(q, df)) if df > 0 else math.nan
    c = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - df) / c) if df > 0 and c > 0 else 0.0
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return RandomEffects(mean, q, df, p, tau2, i2)


def shrink(d: np.ndarray, v: np.ndarray, target: float, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes estimates of segment effects pulled towards ``target`` (Morris 1983).

    With ``k`` segments, segment ``s`` keeps ``1 - B_s`` of its distance from the target,
    ``B_s = (k-3)/(k-1) * v_s / (v_s + tau2)``: noisy (small) segments move most. The posterior
    variance ``v_s (1 - (k-1)/k B_s) + 2/(k-3) B_s² (d_s - target)²`` carries the uncertainty of
    the estimated prior, which plain normal-normal intervals drop (they cover far less than
    nominal when the prior spread is estimated from a handful of segments). Fewer than four
    segments leave nothing to learn the spread from: no shrinkage. Returns estimates, standard
    errors and the shrinkage factors ``B``.
    """
    d, v = np.asarray(d, dtype=float), np.asarray(v, dtype=float)
    k = d.size
    if k < 4:
        return d.copy(), np.sqrt(v), np.zeros(k)
    b = (k - 3) / (k - 1) * v / (v + tau2)
    est = target + (1 - b) * (d - target)
    var = v * (1 - (k - 1) / k * b) + 2 / (k - 3) * b**2 * (d - target) ** 2
    return est, np.sqrt(var), b


def ols_hc2(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their HC2 heteroskedasticity-robust covariance (pinv: rank-safe)."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ (X.T @ y)
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    w = e**2 / np.clip(1.0 - h, 1e-8, None)
    meat = (X * w[:, None]).T @ X
    return beta, bread @ meat @ bread


def interaction_test(X_t: np.ndarray, y_t: np.ndarray, X_c: np.ndarray, y_c: np.ndarray) -> tuple[float, int, float]:
    """Wald test that no covariate changes the treatment effect (one chi-square over all of them).

    Fits ``y ~ 1 + X`` in each arm with HC2 covariances; the effect is homogeneous when the
    slopes agree, so the statistic is ``δ' (V_t + V_c)⁺ δ`` with ``δ`` the slope differences
    (degrees of freedom: the rank of ``V_t + V_c``). Randomisation gives both arms the same
    covariate distribution, so the test stays valid when ``y ~ X`` is not the true outcome model.
    Returns the statistic, degrees of freedom and p-value.
    """
    ones_t, ones_c = np.ones((len(y_t), 1)), np.ones((len(y_c), 1))
    b_t, v_t = ols_hc2(np.hstack([ones_t, X_t]), y_t)
    b_c, v_c = ols_hc2(np.hstack([ones_c, X_c]), y_c)
    delta = (b_t - b_c)[1:]
    cov = (v_t + v_c)[1:, 1:]
    df = int(np.linalg.matrix_rank(cov)) if cov.size else 0
    if df == 0:
        return 0.0, 0, math.nan
    stat = float(delta @ np.linalg.pinv(cov) @ delta)
    return stat, df, float(stats.chi2.sf(stat, df))
