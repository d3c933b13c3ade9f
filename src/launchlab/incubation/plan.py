"""How many to make: a calibrated quantile forecast of demand and a newsvendor quantity.

:func:`forecast_demand` turns the Bass fit of early sales into quantiles of cumulative demand
over the next ``horizon`` periods. The spread comes from a bootstrap that refits the curve on
resampled histories and draws the future with the sales' own autocorrelated noise:

1. noise: ``e_t = log((y_t + c) / (ŷ_t + c))`` (``c`` = 1% of the peak so far, so weeks where the
   curve has decayed to nothing do not count as thousand-fold misses) follows an AR(1) fitted on
   the residuals (sales run hot or cold for weeks): noise grows with the level and persists;
2. parameters: each replicate draws a fresh noise path around the fitted curve and refits p, q, m
   (vectorised, :func:`launchlab.incubation.bass.refit_bass_batch`); its future curve is
   reflected through the fitted one on the log scale (the basic bootstrap ``ŷ² / ŷ*``), which
   turns a refit that overshoots into a forecast that undershoots, as the bias it reveals asks;
3. future: that curve times AR(1) noise starting from the last observed residual.

The bootstrap alone misses more often than nominal, and mostly on the low side (early fits
overshoot the market more often than they undershoot it). So the intervals are calibrated by
split-conformal backtests on simulated Bass curves: fitted on the first third to half of each
curve, every held-out tail scores where its actual cumulative demand fell relative to the
bootstrap interval (log scale, in units of the interval's half-width on that side), and the log
distances below and above the median are stretched by the conformal quantiles of those scores,
never narrowed (``SCALE_LOW``, ``SCALE_HIGH`` in :mod:`launchlab.incubation.config`; re-derived
by ``bench/bench_incubation.py --part calibrate``, judged on real curves and fresh simulations
by ``--part adoption``). Calibrating
each series on backtests of its own early history was tried and discarded: a dozen correlated
scores per series gave a noisy stretch, and coverage fell from 86% to 80% on simulated curves.

:func:`plan_production` reads the calibrated demand samples as a newsvendor: the stock that
meets a service level (by default the critical ratio ``(price - cost) / (price - salvage)``),
with expected sales, leftovers, stock-out probability and profit, each with its spread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.incubation.bass import BassDiffusion, bass_adoptions, fit_bass, refit_bass_batch
from launchlab.incubation.config import BassConfig, DemandConfig, PlanConfig
from launchlab.jsonable import metric_key, to_jsonable
from launchlab.results import StageResult
from launchlab.schemas import DS, UNIQUE_ID, Y

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)



def _ar1(e: np.ndarray) -> tuple[float, float]:
    """Lag-1 autocorrelation (clipped to [0, 0.95]) and innovation sd of the log residuals."""
    n = e.size
    rho = float(np.corrcoef(e[:-1], e[1:])[0, 1]) if n > 3 and e.std() > 0 else 0.0
    rho = min(max(rho if math.isfinite(rho) else 0.0, 0.0), 0.95)
    sd = float(np.sqrt((e**2).sum() / max(n - 3, 1)))  # three fitted parameters
    return rho, sd * math.sqrt(1 - rho**2)


def _ar_paths(rng: np.random.Generator, rows: int, length: int, rho: float, innov: float,
              start: np.ndarray | None = None) -> np.ndarray:
    """AR(1) paths; stationary start unless ``start`` (the value before the first step) is given."""
    z = rng.normal(0.0, innov, size=(rows, length))
    out = np.empty_like(z)
    out[:, 0] = rho * start + z[:, 0] if start is not None else z[:, 0] / math.sqrt(1 - rho**2)
    for j in range(1, length):
        out[:, j] = rho * out[:, j - 1] + z[:, j]
    return out


def demand_paths(obs: np.ndarray, horizon: int, *, n_bootstrap: int, rng: np.random.Generator,
                 fit: tuple[float, float, float] | None = None, floor_share: float = 0.01,
                 basic: bool = True) -> np.ndarray:
    """Bootstrap paths of cumulative demand over the ``horizon`` periods after ``obs``.

    ``obs`` are per-period adoptions of periods 1..T after launch. Returns (replicates, horizon):
    cumulative demand through each future period. Noise is multiplicative on ``y + c`` with
    ``c = floor_share * max(obs)``: where the curve has decayed to nearly nothing, sales of a
    hundredth of the peak are noise around zero, not a thousand-fold miss of the curve. No rows
    when the noise is so wide that every resampled history sells nothing.
    """
    obs = np.asarray(obs, dtype=float)
    c = max(1.0, floor_share * float(obs.max()))
    n = obs.size
    if fit is None:
        est = BassDiffusion().fit(obs)
        fit = (est.p_, est.q_, est.m_)
    p, q, m = fit
    t_all = np.arange(1, n + horizon + 1, dtype=float)
    fitted = bass_adoptions(t_all[:n], p, q, m)
    e = np.log((obs + c) / (fitted + c))
    rho, innov = _ar1(e)
    noise = _ar_paths(rng, n_bootstrap, n, rho, innov)
    Yb = np.maximum((fitted + c) * np.exp(noise) - c, 0.0)
    keep = Yb.sum(axis=1) > 0
    if not keep.any():
        return np.empty((0, horizon))
    theta = refit_bass_batch(Yb[keep], (p, q, m))
    future_t = t_all[n:]
    curves = np.stack([bass_adoptions(future_t, *row) for row in theta])
    if basic:
        point = bass_adoptions(future_t, p, q, m)
        curves = np.maximum((point + c) ** 2 / (curves + c) - c, 0.0)
    future_noise = _ar_paths(rng, curves.shape[0], horizon, rho, innov, start=np.full(curves.shape[0], e[-1]))
    future = np.maximum((curves + c) * np.exp(future_noise) - c, 0.0)
    return np.cumsum(future, axis=1)


def _scale_log(samples: np.ndarray, median: np.ndarray, low: float, high: float) -> np.ndarray:
    """Stretch each sample's log distance from the median: by ``high`` above it, ``low`` below."""
    dist = np.log((samples + 1.0) / (median + 1.0))
    return (median + 1.0) * np.exp(np.where(dist >= 0, high, low) * dist) - 1.0


def signed_scores(actual: np.ndarray, samples: np.ndarray, interval: float) -> np.ndarray:
    """Where the actual fell, in units of the bootstrap interval's log half-width on its side.

    ``+1`` is the upper bound, ``-1`` the lower bound; ``|score| <= 1`` means inside.
    ``samples`` is (replicates, horizons), ``actual`` one value per horizon.
    """
    a = (1 - interval) / 2
    lo, med, hi = np.quantile(samples, [a, 0.5, 1 - a], axis=0)
    la, lm = np.log(actual + 1.0), np.log(med + 1.0)
    up = np.maximum(np.log(hi + 1.0) - lm, 1e-9)
    down = np.maximum(lm - np.log(lo + 1.0), 1e-9)
    return np.where(la >= lm, (la - lm) / up, (la - lm) / down)


def conformal_scales(scores: np.ndarray, interval: float) -> tuple[float, float]:
    """Split-conformal stretches (low, high) so each side misses ``(1 - interval) / 2`` of the scores.

    Uses the ``ceil((n + 1)(1 - a))``-th smallest of ``-score`` and of ``score``.
    """
    a = (1 - interval) / 2
    n = scores.size
    k = min(int(math.ceil((n + 1) * (1 - a))), n) - 1
    return float(np.sort(-scores)[k]), float(np.sort(scores)[k])


def _observed(curve: pd.DataFrame) -> np.ndarray:
    """Per-period adoptions of the fitted periods, gaps filled with the fitted curve."""
    past = curve[~curve["is_forecast"]].sort_values("period")
    return past[Y].fillna(past["yhat"]).to_numpy(dtype=float)


def forecast_demand(series: pd.DataFrame, *, config: DemandConfig | None = None) -> StageResult:
    """Quantile forecast of cumulative demand over the next ``horizon`` periods, per series.

    ``series`` is the long ``unique_id, ds, y`` frame of sales since launch (as for
    :func:`launchlab.incubation.fit_bass`, which cleans and fits it). Returns
    ``tables["demand_forecast"]`` (unique_id, ds, period, step, point, q05 … q95: cumulative demand
    from the next period through this one), ``tables["demand_samples"]`` (calibrated replicates
    of the total over the horizon, for :func:`plan_production`), ``artifacts["demand.json"]``
    (per series: total over the horizon with its interval, calibration scale and how it was
    found) and metrics.
    """
    cfg = config or DemandConfig()
    # Three points fix the three Bass parameters exactly and leave no residual to learn the noise from.
    fitted = fit_bass(series, config=BassConfig(n_bootstrap=0, cumulative=cfg.cumulative, horizon=cfg.horizon,
                                                fit_periods=cfg.fit_periods, seed=cfg.seed, min_points=5))
    rng = np.random.default_rng(cfg.seed)
    fits = fitted.artifacts["bass.json"]
    curves = fitted.tables["bass_fit"]
    rows, samples, summary, skipped = [], [], {}, []
    a = (1 - cfg.interval) / 2
    qs = sorted({*QUANTILES, a, 1 - a})
    for sid, f in fits.items():
        curve = curves[curves[UNIQUE_ID] == sid]
        obs = _observed(curve)
        paths = demand_paths(obs, cfg.horizon, n_bootstrap=cfg.n_bootstrap, rng=rng, fit=(f["p"], f["q"], f["m"]))
        paths = paths[np.isfinite(paths).all(axis=1)]
        if len(paths):
            with np.errstate(over="ignore", invalid="ignore"):
                calibrated = np.maximum(_scale_log(paths, np.median(paths, axis=0), cfg.scale_low, cfg.scale_high), 0.0)
            calibrated = calibrated[np.isfinite(calibrated).all(axis=1)]
        if not len(paths) or not len(calibrated):
            skipped.append(sid)
            continue
        quant = np.quantile(calibrated, qs, axis=0)
        last = int(f["last_period"])
        future = curve[curve["period"] > last].sort_values("period").head(cfg.horizon)
        point = np.cumsum(bass_adoptions(np.arange(last + 1, last + cfg.horizon + 1), f["p"], f["q"], f["m"]))
        for h in range(cfg.horizon):
            row = {UNIQUE_ID: sid, DS: future[DS].iloc[h] if h < len(future) else None, "period": last + h + 1,
                   "step": h + 1, "point": float(point[h])}
            row.update({f"q{round(q * 100):02d}": float(quant[i, h]) for i, q in enumerate(qs)})
            rows.append(row)
        total = calibrated[:, -1]
        samples.append(pd.DataFrame({UNIQUE_ID: sid, "replicate": np.arange(total.size), "demand": total}))
        lo, med, hi = np.quantile(total, [a, 0.5, 1 - a])
        summary[sid] = {"horizon": cfg.horizon, "from_period": last + 1, "to_period": last + cfg.horizon,
                        "median": float(med), "lo": float(lo), "hi": float(hi), "point": float(point[-1]),
                        "interval": cfg.interval, "scale_low": cfg.scale_low, "scale_high": cfg.scale_high,
                        "adopted_so_far": f["adopted_so_far"],
                        "warning": f["warning"]}
    warnings = list(fitted.warnings)
    quarantined = fitted.quarantine if fitted.quarantine is not None else pd.DataFrame(columns=[UNIQUE_ID, "reason"])
    for sid, reasons in quarantined[~quarantined[UNIQUE_ID].astype(str).isin(set(map(str, fits)))].groupby(UNIQUE_ID)["reason"]:
        warnings.append(f"no demand forecast for {sid}: {reasons.mode().iloc[0]}")
    if skipped:
        warnings.append(f"no demand forecast for {', '.join(map(str, skipped))}: its sales scatter so widely around the "
                        "adoption curve that no resampled history gives a usable forecast")
    if not summary:
        raise InputError(f"no demand forecast: {warnings[-1].removeprefix('no demand forecast for ')}",
                         fix="check the sales figures of the adoption series")
    metrics = {k: v for k, v in fitted.metrics.items() if k.startswith("rows_") or k == "series_fitted"}
    for sid, s in summary.items():
        key = metric_key(sid)
        metrics[f"demand_median_{key}"] = s["median"]
        metrics[f"demand_lo_{key}"], metrics[f"demand_hi_{key}"] = s["lo"], s["hi"]
    return StageResult(
        tables={"demand_forecast": pd.DataFrame(rows), "demand_samples": pd.concat(samples, ignore_index=True)},
        metrics=metrics,
        params={"horizon": cfg.horizon, "interval": cfg.interval, "n_bootstrap": cfg.n_bootstrap,
                "scale_low": cfg.scale_low, "scale_high": cfg.scale_high},
        quarantine=fitted.quarantine,
        summary=to_jsonable({sid: {k: s[k] for k in ("median", "lo", "hi")} for sid, s in summary.items()}),
        artifacts={"demand.json": to_jsonable(summary)},
        warnings=warnings,
    )


def plan_production(demand: np.ndarray, *, config: PlanConfig | None = None) -> dict[str, Any]:
    """Newsvendor quantity for a sample of demand over the horizon (e.g. calibrated replicates).

    Stock ``Q`` is the ``service_level`` quantile of demand (default: the critical ratio
    ``(price - unit_cost) / (price - salvage)``, which maximises expected profit). Returns Q,
    the quantity to make (Q - on_hand), expected sales, leftovers, lost sales, fill rate,
    stock-out probability and profit, with 5-95% ranges of sales and profit.
    """
    cfg = config or PlanConfig()
    d = np.asarray(demand, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise ValueError("no demand samples to plan from")
    ratio = (cfg.price - cfg.unit_cost) / (cfg.price - cfg.salvage)
    level = cfg.service_level if cfg.service_level is not None else ratio
    stock = float(np.ceil(max(np.quantile(d, level), cfg.on_hand)))
    sales = np.minimum(d, stock)
    left = stock - sales
    profit = cfg.price * sales + cfg.salvage * left - cfg.unit_cost * stock
    return to_jsonable({
        "service_level": level, "critical_ratio": ratio, "level_from": "given" if cfg.service_level else "critical ratio",
        "stock": stock, "make": max(stock - cfg.on_hand, 0.0), "on_hand": cfg.on_hand,
        "demand_median": float(np.median(d)), "demand_lo": float(np.quantile(d, 0.05)),
        "demand_hi": float(np.quantile(d, 0.95)),
        "expected_sales": float(sales.mean()), "sales_lo": float(np.quantile(sales, 0.05)),
        "sales_hi": float(np.quantile(sales, 0.95)), "expected_leftover": float(left.mean()),
        "expected_lost_sales": float(np.maximum(d - stock, 0).mean()), "fill_rate": float(sales.sum() / d.sum()),
        "stockout_probability": float((d > stock).mean()), "expected_profit": float(profit.mean()),
        "profit_lo": float(np.quantile(profit, 0.05)), "profit_hi": float(np.quantile(profit, 0.95)),
        "price": cfg.price, "unit_cost": cfg.unit_cost, "salvage": cfg.salvage,
    })
