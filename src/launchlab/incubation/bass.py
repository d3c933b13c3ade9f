"""Bass diffusion: fit adoption curves after launch and forecast peak and market size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from sklearn.base import BaseEstimator, RegressorMixin

from launchlab.errors import InputError
from launchlab.incubation.config import BassConfig
from launchlab.io import require_series, row_number
from launchlab.io.series import Y_RULES
from launchlab.jsonable import metric_key, to_jsonable
from launchlab.results import StageResult
from launchlab.schemas import DS, REASON, UNIQUE_ID, Y


def bass_cdf(t: np.ndarray | float, p: float, q: float) -> np.ndarray:
    """Share of the market adopted by time ``t`` (continuous Bass model, ``F(0) = 0``)."""
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def _bass_cdf_grad(t: np.ndarray, p: float, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``F(t)`` and its partial derivatives in ``p`` and ``q``."""
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    e = np.exp(-(p + q) * t)
    r = q / p
    num, den = 1.0 - e, 1.0 + r * e
    f = num / den
    # de/dp = de/dq = -t e; dr/dp = -q/p^2; dr/dq = 1/p
    de = -t * e
    df_dp = (-de * den - num * (-q / p**2 * e + r * de)) / den**2
    df_dq = (-de * den - num * (e / p + r * de)) / den**2
    return f, df_dp, df_dq


def bass_adoptions(periods: np.ndarray, p: float, q: float, m: float) -> np.ndarray:
    """Adoptions during each 1-based period ``k``, i.e. over ``(k-1, k]``: ``m (F(k) - F(k-1))``."""
    t = np.asarray(periods, dtype=float)
    return m * (bass_cdf(t, p, q) - bass_cdf(t - 1.0, p, q))


def bass_peak(p: float, q: float, m: float) -> tuple[int, float, float]:
    """Peak period (1-based), adoptions in it, and the continuous peak time ``ln(q/p)/(p+q)``."""
    t_star = math.log(q / p) / (p + q) if q > p else 0.0
    ks = np.arange(1, int(math.ceil(t_star)) + 2)
    vals = bass_adoptions(ks, p, q, m)
    i = int(np.argmax(vals))
    return int(ks[i]), float(vals[i]), t_star


@dataclass(frozen=True)
class _Fit:
    p: float
    q: float
    m: float
    cost: float
    at_m_bound: bool


def _ols_start(y: np.ndarray, t_start: np.ndarray) -> tuple[float, float, float] | None:
    """Bass (1969) discrete regression ``y_t = a + b N_{t-1} + c N_{t-1}^2`` as a starting point."""
    if y.size < 4:
        return None
    cum_prev = np.concatenate([[0.0], np.cumsum(y)[:-1]])
    X = np.column_stack([np.ones_like(cum_prev), cum_prev, cum_prev**2])
    try:
        a, b, c = np.linalg.lstsq(X, y, rcond=None)[0]
    except np.linalg.LinAlgError:
        return None
    disc = b * b - 4 * a * c
    if c >= 0 or disc < 0:
        return None
    m = (-b - math.sqrt(disc)) / (2 * c)
    if not m > 0:
        return None
    p, q = a / m, -c * m
    if not (p > 0 and q >= 0):
        return None
    return p, q, m


def _fit_curve(
    y: np.ndarray,
    t_start: np.ndarray,
    t_end: np.ndarray,
    *,
    p_bounds: tuple[float, float],
    q_bounds: tuple[float, float],
    m_max_factor: float,
    starts: list[tuple[float, float, float]] | None = None,
) -> _Fit:
    """Non-linear least squares of ``m (F(t_end) - F(t_start))`` on observed adoptions ``y``.

    ``m`` is searched as a multiple of the adoptions seen so far, in ``[1, m_max_factor]``: the
    market cannot be smaller than what already sold.
    """
    total = float(y.sum())
    scale = float(max(np.abs(y).max(), 1e-12))
    yy = y / scale

    def resid(theta: np.ndarray) -> np.ndarray:
        p, q, mf = theta
        return mf * total / scale * (bass_cdf(t_end, p, q) - bass_cdf(t_start, p, q)) - yy

    lo = np.array([p_bounds[0], q_bounds[0], 1.0])
    hi = np.array([p_bounds[1], q_bounds[1], m_max_factor])
    if starts is None:
        starts = []
        ols = _ols_start(y, t_start)
        if ols is not None:
            starts.append((ols[0], ols[1], ols[2] / total))
        grid = [(p0, q0, mf0) for p0 in (0.003, 0.03, 0.3) for q0 in (0.05, 0.4, 1.2) for mf0 in (1.3, 4.0)]
        starts += grid
        # Screen every start with the vectorised solver, then polish the best with least_squares.
        theta0 = np.clip(np.array(starts, dtype=float), lo, hi)
        k = theta0.shape[0]
        theta = _fit_batch(np.tile(y, (k, 1)), t_start, t_end, theta0, np.full(k, total), lo, hi, n_iter=40)
        p_, q_, mf_ = theta[:, :1], theta[:, 1:2], theta[:, 2:3]
        curves = mf_ * total * (bass_cdf(t_end[None, :], p_, q_) - bass_cdf(t_start[None, :], p_, q_))
        costs = ((curves - y) ** 2).sum(1)
        costs = np.where(np.isfinite(costs), costs, np.inf)
        starts = [tuple(theta[int(np.argmin(costs))])]
    def jac(theta: np.ndarray) -> np.ndarray:
        p, q, mf = theta
        f1, dp1, dq1 = _bass_cdf_grad(t_end, p, q)
        f0, dp0, dq0 = _bass_cdf_grad(t_start, p, q)
        k = mf * total / scale
        return np.column_stack([k * (dp1 - dp0), k * (dq1 - dq0), total / scale * (f1 - f0)])

    best: Any = None
    for p0, q0, mf0 in starts:
        x0 = np.clip([p0, q0, mf0], lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
        try:
            res = least_squares(resid, x0, jac=jac, bounds=(lo, hi), x_scale="jac", method="trf", max_nfev=200)
        except (ValueError, FloatingPointError):
            continue
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise RuntimeError("Bass fit failed from every starting point")
    p, q, mf = (float(v) for v in best.x)
    return _Fit(p, q, mf * total, float(best.cost) * scale * scale, mf >= 0.995 * m_max_factor)


class BassDiffusion(RegressorMixin, BaseEstimator):
    """Bass diffusion model fitted by bounded non-linear least squares.

    ``fit(X, y)`` takes 1-based periods since launch in ``X`` and the adoptions in each period in
    ``y`` (cumulative adoptions when ``cumulative=True``); ``fit(values)`` with ``y=None`` reads
    the values as periods 1, 2, …. ``predict(periods)`` returns per-period adoptions.
    Learned: ``p_`` (innovation), ``q_`` (imitation), ``m_`` (market size), ``peak_period_``,
    ``peak_value_``, ``peak_time_``, ``n_points_``, ``at_m_bound_``.
    """

    def __init__(
        self,
        cumulative: bool = False,
        p_bounds: tuple[float, float] = (1e-6, 1.0),
        q_bounds: tuple[float, float] = (0.0, 3.0),
        m_max_factor: float = 100.0,
    ) -> None:
        self.cumulative = cumulative
        self.p_bounds = p_bounds
        self.q_bounds = q_bounds
        self.m_max_factor = m_max_factor

    @staticmethod
    def _periods(X: Any) -> np.ndarray:
        arr = np.asarray(X, dtype=float)
        if arr.ndim == 2 and arr.shape[1] != 1:
            raise ValueError(f"X must hold one column of periods, got {arr.shape[1]} columns")
        return arr.reshape(-1)

    def fit(self, X: Any, y: Any = None) -> BassDiffusion:
        """Fit p, q and m; returns ``self``."""
        if y is None:
            values = np.asarray(X, dtype=float).reshape(-1)
            periods = np.arange(1, values.size + 1, dtype=float)
        else:
            periods, values = self._periods(X), np.asarray(y, dtype=float).reshape(-1)
        order = np.argsort(periods)
        periods, values = periods[order], values[order]
        t_start, obs = _intervals(periods, values, self.cumulative)
        if obs.size < 3 or obs.sum() <= 0:
            raise ValueError("a Bass fit needs at least 3 periods with some adoptions")
        fit = _fit_curve(obs, t_start, periods, p_bounds=tuple(self.p_bounds), q_bounds=tuple(self.q_bounds),
                         m_max_factor=self.m_max_factor)
        self.p_, self.q_, self.m_ = fit.p, fit.q, fit.m
        self.at_m_bound_ = fit.at_m_bound
        self.peak_period_, self.peak_value_, self.peak_time_ = bass_peak(fit.p, fit.q, fit.m)
        self.n_points_ = int(obs.size)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Adoptions in each 1-based period of ``X``."""
        return bass_adoptions(self._periods(X), self.p_, self.q_, self.m_)

    def predict_cumulative(self, X: Any) -> np.ndarray:
        """Cumulative adoptions by the end of each period of ``X``."""
        return self.m_ * bass_cdf(self._periods(X), self.p_, self.q_)


def _intervals(periods: np.ndarray, values: np.ndarray, cumulative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start of each observation's interval and the adoptions in it.

    Per-period values cover ``(k-1, k]``; a cumulative value covers the time since the previous
    observed period, so gaps in cumulative series are handled exactly.
    """
    if cumulative:
        prev_t = np.concatenate([[0.0], periods[:-1]])
        prev_v = np.concatenate([[0.0], values[:-1]])
        return prev_t, values - prev_v
    return periods - 1.0, values


def _step(ds: pd.Series) -> Any:
    diffs = ds.sort_values().diff().dropna()
    diffs = diffs[diffs > pd.Timedelta(0)] if pd.api.types.is_datetime64_any_dtype(ds) else diffs[diffs > 0]
    if diffs.empty:
        return pd.Timedelta(days=1) if pd.api.types.is_datetime64_any_dtype(ds) else 1
    return diffs.median() if pd.api.types.is_datetime64_any_dtype(ds) else diffs.min()


def _ds_at(ds0: Any, step: Any, freq: str | None, periods: np.ndarray) -> list[Any]:
    """Calendar label of 1-based periods counted from the launch ``ds0``."""
    if isinstance(ds0, pd.Timestamp):
        if freq is not None:
            rng = pd.date_range(ds0, periods=int(periods.max()), freq=freq)
            return [rng[int(k) - 1] for k in periods]
        return [ds0 + step * (int(k) - 1) for k in periods]
    return [ds0 + step * (int(k) - 1) for k in periods]


def _fit_batch(
    Y: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, theta0: np.ndarray, totals: np.ndarray,
    lo: np.ndarray, hi: np.ndarray, n_iter: int = 60,
) -> np.ndarray:
    """Projected Levenberg-Marquardt on many curves at once (rows of ``Y``), from ``theta0``.

    Used for the bootstrap, where every refit starts next to the answer: one vectorised solve
    instead of hundreds of ``least_squares`` calls.
    """
    theta = theta0.copy()
    lo = np.broadcast_to(lo, theta.shape)
    hi = np.broadcast_to(hi, theta.shape)
    scale = np.maximum(np.abs(Y).max(axis=1, keepdims=True), 1e-12)
    k_tot = (totals / scale[:, 0])[:, None]

    def resid_jac_rows(th: np.ndarray, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        p, q, mf = th[:, :1], th[:, 1:2], th[:, 2:3]
        kt = k_tot[rows]
        f1, dp1, dq1 = _bass_cdf_grad(t_end[None, :], p, q)
        f0, dp0, dq0 = _bass_cdf_grad(t_start[None, :], p, q)
        r = mf * kt * (f1 - f0) - Y[rows] / scale[rows]
        J = np.stack([mf * kt * (dp1 - dp0), mf * kt * (dq1 - dq0), kt * (f1 - f0)], axis=2)
        return r, J

    def resid_jac(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return resid_jac_rows(th, slice(None))

    r, J = resid_jac(theta)
    cost = (r**2).sum(axis=1)
    lam = np.full(theta.shape[0], 1e-3)
    eye = np.eye(3)
    active = np.ones(theta.shape[0], dtype=bool)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Ja, ra = J[idx], r[idx]
        Jt = Ja.transpose(0, 2, 1)
        Jtr = (Jt @ ra[:, :, None])[:, :, 0]
        # Freeze parameters sitting on a bound the gradient pushes against (projected LM would
        # otherwise keep proposing steps that the clip undoes).
        th = theta[idx]
        span = hi[idx] - lo[idx]
        frozen = ((th <= lo[idx] + 1e-12 * span) & (Jtr > 0)) | ((th >= hi[idx] - 1e-12 * span) & (Jtr < 0))
        Ja = np.where(frozen[:, None, :], 0.0, Ja)
        Jt = Ja.transpose(0, 2, 1)
        JtJ = Jt @ Ja
        Jtr = np.where(frozen, 0.0, Jtr)
        A = JtJ + lam[idx, None, None] * (JtJ * eye) + (frozen[:, :, None] * eye) + 1e-12 * eye
        try:
            step = np.linalg.solve(A, -Jtr[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        cand = np.clip(theta[idx] + step, lo[idx], hi[idx])
        r_c, J_c = resid_jac_rows(cand, idx)
        cost_c = (r_c**2).sum(axis=1)
        better = np.isfinite(cost_c) & (cost_c < cost[idx])
        gain = np.where(better, (cost[idx] - cost_c) / np.maximum(cost[idx], 1e-300), 0.0)
        b = idx[better]
        theta[b], r[b], J[b], cost[b] = cand[better], r_c[better], J_c[better], cost_c[better]
        lam[idx] = np.where(better, lam[idx] / 3, lam[idx] * 4)
        active[idx] = (lam[idx] < 1e5) & ~(better & (gain < 1e-10))
    return theta


def _boot(
    rng: np.random.Generator, fitted: np.ndarray, obs: np.ndarray, t_start: np.ndarray, t_end: np.ndarray,
    fit: _Fit, cfg: BassConfig,
) -> np.ndarray:
    """Block wild bootstrap: refit on ``fitted + sign * residual`` (leverage-adjusted residuals).

    Each residual stays at its own period (sales noise grows with the level, so resampling
    residuals across periods would move launch-week noise into the tail), and signs are drawn
    per block of about ``n^(1/3)`` periods when the residuals are autocorrelated (lag-1
    correlation above ``2/sqrt(n)``, as weekly sales usually are), else per period.
    """
    # Residuals shrink where the fit has leverage (around the peak): inflate them by
    # 1/sqrt(1 - h), as HC2 does, or the intervals come out too narrow.
    f1, dp1, dq1 = _bass_cdf_grad(t_end, fit.p, fit.q)
    f0, dp0, dq0 = _bass_cdf_grad(t_start, fit.p, fit.q)
    J = np.column_stack([fit.m * (dp1 - dp0), fit.m * (dq1 - dq0), f1 - f0])
    JtJ = J.T @ J
    # LAPACK's SVD can spin forever on non-finite input (values near the float limit overflow).
    leverage = np.einsum("ij,jk,ik->i", J, np.linalg.pinv(JtJ), J) if np.isfinite(JtJ).all() else np.zeros(obs.size)
    resid = (obs - fitted) / np.sqrt(np.clip(1.0 - leverage, 0.05, 1.0))
    raw = obs - fitted
    lag1 = float(np.corrcoef(raw[:-1], raw[1:])[0, 1]) if raw.size > 3 and raw.std() > 0 else 0.0
    autocorrelated = lag1 > 2 / math.sqrt(raw.size)
    block = max(1, int(round(resid.size ** (1 / 3)))) if autocorrelated else 1
    n_blocks = -(-resid.size // block)
    signs = np.repeat(rng.choice((-1.0, 1.0), size=(cfg.n_bootstrap, n_blocks)), block, axis=1)[:, : resid.size]
    Y = fitted[None, :] + signs * resid[None, :]
    totals = Y.sum(axis=1)
    keep = totals > 0
    Y, totals = Y[keep], totals[keep]
    # m keeps its bounds relative to what really sold, not to the resampled total.
    rel = float(obs.sum()) / totals
    lo = np.column_stack([np.full(totals.size, cfg.p_bounds[0]), np.full(totals.size, cfg.q_bounds[0]), rel])
    hi = np.column_stack([np.full(totals.size, cfg.p_bounds[1]), np.full(totals.size, cfg.q_bounds[1]),
                          rel * cfg.m_max_factor])
    theta0 = np.column_stack([
        np.full(totals.size, fit.p), np.full(totals.size, fit.q), np.clip(fit.m / totals, lo[:, 2], hi[:, 2]),
    ])
    theta = _fit_batch(Y, t_start, t_end, theta0, totals, lo, hi)
    out = []
    for (p, q, mf), tot in zip(theta, totals):
        k, v, _ = bass_peak(float(p), float(q), float(mf * tot))
        out.append((p, q, mf * tot, k, v))
    return np.array(out, dtype=float).reshape(-1, 5)


def fit_bass(series: pd.DataFrame, *, config: BassConfig | None = None) -> StageResult:
    """Fit a Bass diffusion curve to every series of a long ``unique_id, ds, y`` frame.

    ``y`` is per-period adoptions (or cumulative with ``cumulative=True``); ``ds`` an integer
    period or a date, regularly spaced (missing periods may be absent rows). Leading zeros
    before launch are trimmed per series; periods are counted from 1 at launch. Rows with a
    missing or negative ``y`` are quarantined (the fit skips those periods); series with fewer
    than ``min_points`` usable periods after launch are quarantined whole.

    Returns ``artifacts["bass.json"]`` (per series: p, q, m, peak_period, peak_value, n_points,
    warning, bootstrap intervals ``*_lo``/``*_hi``), ``tables["bass"]`` (the same, one row per
    series), ``tables["bass_fit"]`` (unique_id, ds, period, y, yhat, yhat_cum, is_forecast),
    ``metrics`` and ``models["launchlab-adoption"]``, a fitted :class:`BassDiffusion` for the
    primary series. A warning is set when the data do not reach the inflection point yet (the
    forecast peak lies beyond the data) or m sits on its upper bound: m is then poorly
    identified.
    """
    cfg = config or BassConfig()
    data, reasons = _usable_adoptions(series, cfg)
    rng = np.random.default_rng(cfg.seed)
    fits: dict[str, dict[str, Any]] = {}
    curves: list[pd.DataFrame] = []
    estimators: dict[str, BassDiffusion] = {}
    prelaunch = 0
    for sid, grp in data.groupby(UNIQUE_ID, sort=False):
        launch = _after_launch(str(sid), grp.sort_values(DS), data, reasons, cfg)
        if launch is None:
            continue
        prelaunch += launch.prelaunch
        curve = _fit_launch(launch, reasons, cfg)
        if curve is None:
            continue
        fits[launch.sid] = _describe(launch, curve, cfg, rng)
        estimators[launch.sid] = _estimator(curve, cfg)
        curves.append(_curve_table(launch, curve, cfg))
    if not fits:
        counts = reasons.value_counts().to_dict()
        raise InputError(
            f"no series could be fitted ({'; '.join(f'{k}: {v} rows' for k, v in counts.items())})",
            column=Y, fix="give at least 3 periods of adoptions after launch per series",
        )
    return _bass_result(data, reasons, fits, curves, estimators, prelaunch, cfg)


def _usable_adoptions(series: pd.DataFrame, cfg: BassConfig) -> tuple[pd.DataFrame, pd.Series]:
    """The checked series and each row's reason to be left out (NA where it is used): a missing
    value, or a negative one in per-period adoptions."""
    data, problems = require_series(series, allow=Y_RULES)
    reasons = problems.reason.copy()
    if not cfg.cumulative:
        reasons[reasons.isna() & (data[Y] < 0)] = "negative adoptions"
    return data, reasons


@dataclass
class _Launch:
    """One series from its launch (first period with adoptions) on, counted in 1-based periods."""

    sid: str
    rows: pd.Index
    ds0: Any
    step: Any
    freq: str | None
    after: pd.Index
    periods_all: np.ndarray
    observed: np.ndarray
    periods_fit: np.ndarray
    values_fit: np.ndarray
    prelaunch: int


@dataclass
class _Curve:
    """A Bass curve fitted to one launch, with its fitted values and peak."""

    fit: _Fit
    t_start: np.ndarray
    obs: np.ndarray
    fitted: np.ndarray
    peak_k: int
    peak_v: float
    t_star: float
    last: int


def _after_launch(sid: str, grp: pd.DataFrame, data: pd.DataFrame, reasons: pd.Series, cfg: BassConfig) -> _Launch | None:
    """The periods of a series after launch (the leading zeros trimmed) and the part to fit;
    None, with the reason on its rows, when it has no adoptions."""
    ds = grp[DS]
    yv = data.loc[grp.index, Y]
    ok = reasons[grp.index].isna()
    if cfg.cumulative:
        vals = yv[ok].to_numpy()
        drops = np.flatnonzero(np.diff(vals) < 0)
        if drops.size:
            pos = grp.index[ok][drops[0] + 1]
            raise InputError(f"cumulative series {sid!r} decreases", row=row_number(data, int(pos)),
                             column=Y, fix="give per-period values, or fix the cumulative counts")
    positive = np.flatnonzero((yv > 0).to_numpy() & ok.to_numpy())
    if positive.size == 0:
        reasons[grp.index] = reasons[grp.index].fillna("series has no adoptions")
        return None
    launch = int(positive[0])
    step = _step(ds)
    ds0 = ds.iloc[launch]
    after = grp.index[launch:]
    if pd.api.types.is_datetime64_any_dtype(ds):
        periods_all = np.rint((ds.loc[after] - ds0) / step).astype(int).to_numpy() + 1
        freq = pd.infer_freq(ds) if len(ds) >= 3 else None
    else:
        periods_all = np.rint((ds.loc[after].to_numpy(dtype=float) - float(ds0)) / float(step)).astype(int) + 1
        freq = None
    use = reasons[after].isna().to_numpy()
    periods, values = periods_all[use].astype(float), yv.loc[after].to_numpy(dtype=float)[use]
    if cfg.fit_periods is not None:
        keep = periods <= cfg.fit_periods
        periods_fit, values_fit = periods[keep], values[keep]
    else:
        periods_fit, values_fit = periods, values
    return _Launch(sid, grp.index, ds0, step, freq, after, periods_all, yv.loc[after].to_numpy(dtype=float),
                   periods_fit, values_fit, launch)


def _fit_launch(launch: _Launch, reasons: pd.Series, cfg: BassConfig) -> _Curve | None:
    """The Bass curve of a launch; None, with the reason on its rows, when there are too few
    periods or no curve fits."""
    periods_fit = launch.periods_fit
    if periods_fit.size < cfg.min_points:
        reasons[launch.rows] = reasons[launch.rows].fillna(f"fewer than {cfg.min_points} usable periods after launch")
        return None
    t_start, obs = _intervals(periods_fit, launch.values_fit, cfg.cumulative)
    try:
        fit = _fit_curve(obs, t_start, periods_fit, p_bounds=cfg.p_bounds, q_bounds=cfg.q_bounds,
                         m_max_factor=cfg.m_max_factor)
    except RuntimeError:
        reasons[launch.rows] = reasons[launch.rows].fillna("the Bass curve cannot be fitted (values too extreme)")
        return None
    peak_k, peak_v, t_star = bass_peak(fit.p, fit.q, fit.m)
    fitted = fit.m * (bass_cdf(periods_fit, fit.p, fit.q) - bass_cdf(t_start, fit.p, fit.q))
    return _Curve(fit, t_start, obs, fitted, peak_k, peak_v, t_star, int(periods_fit.max()))


def _describe(launch: _Launch, curve: _Curve, cfg: BassConfig, rng: np.random.Generator) -> dict[str, Any]:
    """The ``bass.json`` entry of a launch: parameters, peak, fit quality, bootstrap intervals
    and the warnings on how far to trust them."""
    fit, obs, fitted, periods_fit = curve.fit, curve.obs, curve.fitted, launch.periods_fit
    peak_k, peak_v, t_star, last, ds0 = curve.peak_k, curve.peak_v, curve.t_star, curve.last, launch.ds0
    ss_res = float(((obs - fitted) ** 2).sum())
    ss_tot = float(((obs - obs.mean()) ** 2).sum())
    warnings = []
    if t_star > last:
        warnings.append(
            f"inflection not reached: the forecast peak (period {peak_k}) lies beyond the data "
            f"(last period {last}), so m is poorly identified"
        )
    if fit.at_m_bound:
        warnings.append(f"m sits on its upper bound ({cfg.m_max_factor:g}x adoptions so far): m is not identified")
    if periods_fit.size < 6:
        warnings.append(f"only {periods_fit.size} periods: treat the curve as a rough guess")
    entry: dict[str, Any] = {
        "p": fit.p, "q": fit.q, "m": fit.m, "peak_period": peak_k, "peak_value": peak_v,
        "peak_time": t_star, "n_points": int(periods_fit.size), "last_period": last,
        "launch_ds": str(ds0.date()) if isinstance(ds0, pd.Timestamp) and ds0 == ds0.normalize() else (
            str(ds0) if isinstance(ds0, pd.Timestamp) else to_jsonable(ds0)),
        "adopted_so_far": float(obs.sum()), "share_adopted": float(obs.sum() / fit.m),
        "rmse": math.sqrt(ss_res / obs.size), "r2": 1 - ss_res / ss_tot if ss_tot > 0 else None,
        "interval": cfg.interval,
    }
    if cfg.n_bootstrap > 0:
        boot = _boot(rng, fitted, obs, curve.t_start, periods_fit, fit, cfg)
        a = (1 - cfg.interval) / 2
        for j, name in enumerate(("p", "q", "m", "peak_period", "peak_value")):
            if boot.shape[0]:
                lo_, hi_ = np.quantile(boot[:, j], [a, 1 - a])
                entry[f"{name}_lo"], entry[f"{name}_hi"] = float(lo_), float(hi_)
            else:
                entry[f"{name}_lo"] = entry[f"{name}_hi"] = None
        entry["n_bootstrap"] = int(boot.shape[0])
        if boot.shape[0] and entry["m_lo"] and entry["m_hi"] / entry["m_lo"] > 3 and not warnings:
            warnings.append("m is poorly identified: its bootstrap interval spans more than a factor of 3")
    entry["warning"] = "; ".join(warnings) or None
    return entry


def _estimator(curve: _Curve, cfg: BassConfig) -> BassDiffusion:
    """The fitted curve as a :class:`BassDiffusion` estimator (to log and register)."""
    fit = curve.fit
    est = BassDiffusion(cumulative=cfg.cumulative, p_bounds=cfg.p_bounds, q_bounds=cfg.q_bounds,
                        m_max_factor=cfg.m_max_factor)
    est.p_, est.q_, est.m_, est.at_m_bound_ = fit.p, fit.q, fit.m, fit.at_m_bound
    est.peak_period_, est.peak_value_, est.peak_time_ = curve.peak_k, curve.peak_v, curve.t_star
    est.n_points_ = int(curve.obs.size)
    return est


def _curve_table(launch: _Launch, curve: _Curve, cfg: BassConfig) -> pd.DataFrame:
    """Observed and fitted adoptions per period from launch to ``cfg.horizon`` periods past the
    data (and at least to the peak)."""
    fit, last = curve.fit, curve.last
    horizon_end = max(int(launch.periods_all.max()), last + cfg.horizon, curve.peak_k)
    ks = np.arange(1, horizon_end + 1)
    observed = pd.Series(launch.observed, index=launch.periods_all)
    observed = observed[~observed.index.duplicated()]
    if cfg.cumulative:
        observed = observed.diff().fillna(observed)
    return pd.DataFrame({
        UNIQUE_ID: launch.sid,
        DS: _ds_at(launch.ds0, launch.step, launch.freq, ks),
        "period": ks,
        Y: observed.reindex(ks).to_numpy(),
        "yhat": bass_adoptions(ks, fit.p, fit.q, fit.m),
        "yhat_cum": fit.m * bass_cdf(ks, fit.p, fit.q),
        "is_forecast": ks > last,
    })


def _bass_result(
    data: pd.DataFrame, reasons: pd.Series, fits: dict[str, dict[str, Any]], curves: list[pd.DataFrame],
    estimators: dict[str, BassDiffusion], prelaunch: int, cfg: BassConfig,
) -> StageResult:
    """Tables, metrics, the primary series' model and the quarantined rows."""
    quarantine = data[reasons.notna()].copy()
    quarantine[REASON] = reasons[reasons.notna()].astype(str)
    table = pd.DataFrame([{UNIQUE_ID: sid, **e} for sid, e in fits.items()])
    metrics: dict[str, float] = {
        "rows_in": float(len(data)),
        "rows_used": float(len(data) - len(quarantine)),
        "rows_quarantined": float(len(quarantine)),
        "rows_prelaunch_trimmed": float(prelaunch),
        "series_fitted": float(len(fits)),
    }
    for sid, e in fits.items():
        k = metric_key(sid)
        for name in ("p", "q", "m", "peak_period", "peak_value"):
            metrics[f"bass_{name}_{k}"] = float(e[name])
    primary = cfg.primary_series if cfg.primary_series in estimators else next(iter(estimators))
    warn = [f"{sid}: {e['warning']}" for sid, e in fits.items() if e["warning"]]
    return StageResult(
        tables={"bass": table, "bass_fit": pd.concat(curves, ignore_index=True)},
        metrics=metrics,
        params={"cumulative": cfg.cumulative, "n_bootstrap": cfg.n_bootstrap, "seed": cfg.seed,
                "m_max_factor": cfg.m_max_factor, "fit_periods": cfg.fit_periods or 0, "primary_series": primary},
        models={"launchlab-adoption": estimators[primary]},
        quarantine=quarantine.reset_index(drop=True),
        summary=to_jsonable({"series": len(fits), "primary": primary,
                             "peaks": {sid: e["peak_period"] for sid, e in fits.items()}}),
        artifacts={"bass.json": to_jsonable(fits)},
        warnings=warn,
    )


def track_bass(
    series: pd.DataFrame, *, config: BassConfig | None = None, checkpoints: list[int] | None = None
) -> pd.DataFrame:
    """Refit the Bass curve as data come in: one fit per series and checkpoint.

    A checkpoint ``k`` fits on the first ``k`` periods after launch (bootstrap off), so the
    table shows how the forecast peak and market size moved as weeks were added. The default
    checkpoints are about ten evenly spaced points from ``min_points`` to the longest series.
    Columns: unique_id, fit_through, p, q, m, peak_period, peak_value, warning.
    """
    cfg = config or BassConfig()
    if checkpoints is None:
        longest = int(series.groupby(UNIQUE_ID)[Y].size().max())
        step = max(1, (longest - cfg.min_points) // 10)
        checkpoints = sorted({*range(cfg.min_points, longest + 1, step), longest})
    rows = []
    for k in checkpoints:
        try:
            res = fit_bass(series, config=cfg.model_copy(update={"fit_periods": int(k), "n_bootstrap": 0,
                                                                  "horizon": 0}))
        except InputError:
            continue
        for sid, f in res.artifacts["bass.json"].items():
            if f["n_points"] == k:
                rows.append({UNIQUE_ID: sid, "fit_through": int(k), **{c: f[c] for c in (
                    "p", "q", "m", "peak_period", "peak_value", "warning")}})
    return pd.DataFrame(rows, columns=[UNIQUE_ID, "fit_through", "p", "q", "m", "peak_period", "peak_value",
                                       "warning"])


def refit_bass_batch(Y: np.ndarray, start: tuple[float, float, float], *, config: BassConfig | None = None) -> np.ndarray:
    """Refit many per-period curves on periods 1..k at once (rows of ``Y``), each from ``start``.

    ``start`` is a fitted ``(p, q, m)``; returns one ``(p, q, m)`` row per curve, with m bounded
    as in :func:`fit_bass` (at least the curve's own total). For bootstraps and backtests that
    refit hundreds of resampled curves next to a known answer.
    """
    cfg = config or BassConfig()
    Y = np.asarray(Y, dtype=float)
    periods = np.arange(1, Y.shape[1] + 1, dtype=float)
    totals = np.maximum(Y.sum(axis=1), 1e-9)
    k = totals.size
    lo = np.column_stack([np.full(k, cfg.p_bounds[0]), np.full(k, cfg.q_bounds[0]), np.ones(k)])
    hi = np.column_stack([np.full(k, cfg.p_bounds[1]), np.full(k, cfg.q_bounds[1]), np.full(k, cfg.m_max_factor)])
    p, q, m = start
    theta0 = np.column_stack([np.full(k, p), np.full(k, q), np.clip(m / totals, lo[:, 2], hi[:, 2])])
    theta = _fit_batch(Y, periods - 1.0, periods, theta0, totals, lo, hi)
    return np.column_stack([theta[:, 0], theta[:, 1], theta[:, 2] * totals])
