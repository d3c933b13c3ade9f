"""Incubation-marketing impact: effect of a campaign on a product's sales against control series.

CausalImpact-style, with a regression on controls in place of the Bayesian structural time
series: fit the treated series on the control series over the pre-period, predict the
counterfactual over the campaign, and read the pointwise and cumulative effect with intervals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from launchlab.errors import InputError
from launchlab.incubation.config import ImpactConfig
from launchlab.io import require_series
from launchlab.io.series import Y_RULES
from launchlab.jsonable import metric_key, to_jsonable
from launchlab.results import StageResult
from launchlab.schemas import DS, REASON, UNIQUE_ID, Y


def _as_ds(value: Any, ds: pd.Series) -> Any:
    if pd.api.types.is_datetime64_any_dtype(ds):
        return pd.Timestamp(value)
    return float(value)


def estimate_impact(series: pd.DataFrame, *, config: ImpactConfig) -> StageResult:
    """Effect of a campaign on ``config.treated`` from a long ``unique_id, ds, y`` frame.

    The treated series is regressed on the controls (plus an intercept) over the periods
    before ``intervention``; the fit predicts what sales would have been without the campaign.
    Pointwise effects get t prediction intervals (residual noise plus coefficient
    uncertainty); the cumulative effect's interval also allows for AR(1) autocorrelation of the
    pre-period residuals, which would otherwise make it too narrow. Periods where the treated
    series or a control is missing are quarantined.

    Returns ``tables["impact"]`` (ds, y, y_hat, y_hat_lo, y_hat_hi, effect, effect_lo,
    effect_hi, cum_effect, cum_effect_lo, cum_effect_hi, is_post), ``artifacts["impact.json"]``
    (average, cumulative and relative effect with intervals, p-value, pre-period fit, weights),
    ``metrics`` and the quarantined rows.
    """
    cfg = config
    data, _ = require_series(series, allow=Y_RULES)
    y_all = data[Y]
    ids = list(dict.fromkeys(data[UNIQUE_ID]))
    if cfg.treated not in ids:
        raise InputError(f"treated series {cfg.treated!r} not found (series: {ids[:10]})", column=UNIQUE_ID,
                         fix="pass treated= with one of the unique_id values")
    controls = cfg.controls if cfg.controls is not None else [i for i in ids if i != cfg.treated]
    unknown = [c for c in controls if c not in ids]
    if unknown:
        raise InputError(f"control series {unknown} not found", column=UNIQUE_ID, fix="check the control ids")
    if not controls:
        raise InputError("no control series", column=UNIQUE_ID,
                         fix="add series that did not get the campaign (other products, regions or stores)")
    data = data[data[UNIQUE_ID].isin([cfg.treated, *controls])]
    y_all = y_all[data.index]
    wide = pd.DataFrame({UNIQUE_ID: data[UNIQUE_ID], DS: data[DS], Y: y_all}).pivot(
        index=DS, columns=UNIQUE_ID, values=Y)
    wide = wide.reindex(columns=[cfg.treated, *controls]).sort_index()
    bad_periods = wide.index[wide.isna().any(axis=1)]
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    reasons[data[DS].isin(bad_periods)] = "period has a missing value in the treated or a control series"
    wide = wide.dropna()

    start = _as_ds(cfg.intervention, data[DS])
    pre = wide[wide.index < start]
    post = wide[wide.index >= start]
    if len(pre) < max(cfg.min_pre_periods, len(controls) + 3):
        raise InputError(
            f"only {len(pre)} complete periods before the intervention for {len(controls)} controls",
            column=DS, fix="give a longer pre-period or fewer control series",
        )
    if post.empty:
        raise InputError("no periods on or after the intervention", column=DS, fix="check intervention=")

    Xc_pre, y_pre = pre[controls].to_numpy(float), pre[cfg.treated].to_numpy(float)
    mu, sd = Xc_pre.mean(axis=0), Xc_pre.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)

    def design(frame: pd.DataFrame) -> np.ndarray:
        z = (frame[controls].to_numpy(float) - mu) / sd
        return np.column_stack([np.ones(len(frame)), z])

    X_pre, X_post = design(pre), design(post)
    penalty = np.diag([0.0] + [cfg.ridge] * len(controls))
    XtX_inv = np.linalg.pinv(X_pre.T @ X_pre + penalty)
    beta = XtX_inv @ X_pre.T @ y_pre
    fitted = X_pre @ beta
    resid = y_pre - fitted
    k = X_pre.shape[1]
    dof = max(len(pre) - k, 1)
    sigma2 = float(resid @ resid / dof)
    ss_tot = float(((y_pre - y_pre.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / ss_tot if ss_tot > 0 else math.nan
    rho = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if len(resid) > 3 and resid.std() > 0 else 0.0
    rho = min(max(rho if math.isfinite(rho) else 0.0, 0.0), 0.95)
    tq = float(stats.t.ppf(1 - cfg.alpha / 2, dof))

    y_post = post[cfg.treated].to_numpy(float)
    y_hat = X_post @ beta
    coef_var = np.einsum("ij,jk,ik->i", X_post, XtX_inv, X_post) * sigma2
    point_se = np.sqrt(sigma2 + coef_var)
    effect = y_post - y_hat
    h = len(post)
    lag = np.abs(np.subtract.outer(np.arange(h), np.arange(h)))
    cum_noise = sigma2 * np.cumsum(np.cumsum(rho**lag, axis=0), axis=1).diagonal()
    ones_cum = np.cumsum(X_post, axis=0)
    cum_coef = np.einsum("ij,jk,ik->i", ones_cum, XtX_inv, ones_cum) * sigma2
    cum_se = np.sqrt(cum_noise + cum_coef)
    cum_effect = np.cumsum(effect)
    cum_hat = np.cumsum(y_hat)

    total, total_se = float(cum_effect[-1]), float(cum_se[-1])
    t_stat = total / total_se if total_se > 0 else math.nan
    p_value = float(2 * stats.t.sf(abs(t_stat), dof)) if total_se > 0 else math.nan
    rel = total / float(cum_hat[-1]) if cum_hat[-1] != 0 else math.nan
    rel_half = tq * total_se / abs(float(cum_hat[-1])) if cum_hat[-1] != 0 else math.nan

    pre_table = pd.DataFrame({DS: pre.index, Y: y_pre, "y_hat": fitted, "y_hat_lo": fitted - tq * math.sqrt(sigma2),
                              "y_hat_hi": fitted + tq * math.sqrt(sigma2), "effect": resid, "is_post": False})
    post_table = pd.DataFrame({
        DS: post.index, Y: y_post, "y_hat": y_hat, "y_hat_lo": y_hat - tq * point_se, "y_hat_hi": y_hat + tq * point_se,
        "effect": effect, "effect_lo": effect - tq * point_se, "effect_hi": effect + tq * point_se,
        "cum_effect": cum_effect, "cum_effect_lo": cum_effect - tq * cum_se, "cum_effect_hi": cum_effect + tq * cum_se,
        "is_post": True,
    })
    table = pd.concat([pre_table, post_table], ignore_index=True)
    weights = dict(zip(controls, (beta[1:] / sd).tolist()))
    report: dict[str, Any] = {
        "treated": cfg.treated, "controls": controls, "intervention": str(cfg.intervention),
        "method": "regression on control series (OLS" + (f", ridge {cfg.ridge:g}" if cfg.ridge else "") + ")",
        "pre_periods": len(pre), "post_periods": h, "r2_pre": r2, "residual_sd": math.sqrt(sigma2),
        "residual_autocorrelation": rho,
        "avg_effect": total / h,
        "avg_effect_lo": (total - tq * total_se) / h, "avg_effect_hi": (total + tq * total_se) / h,
        "cum_effect": total, "cum_effect_lo": total - tq * total_se, "cum_effect_hi": total + tq * total_se,
        "rel_effect": rel, "rel_effect_lo": rel - rel_half, "rel_effect_hi": rel + rel_half,
        "p_value": p_value, "significant": bool(p_value == p_value and p_value < cfg.alpha),
        "alpha": cfg.alpha, "intercept": float(beta[0] - (beta[1:] / sd) @ mu), "weights": weights,
    }
    quarantine = data[reasons.notna()].copy()
    quarantine[REASON] = reasons[reasons.notna()].astype(str)
    key = metric_key(cfg.treated)
    metrics = {
        "rows_in": float(len(series)),
        "rows_used": float(len(series) - len(quarantine)),
        "rows_quarantined": float(len(quarantine)),
        f"impact_cum_effect_{key}": total, f"impact_rel_effect_{key}": rel,
        f"impact_p_value_{key}": p_value, f"impact_r2_pre_{key}": r2,
    }
    # Rows of series outside treated + controls are neither used nor bad: count them as used.
    warnings = []
    if r2 == r2 and r2 < 0.5:
        warnings.append(f"the controls explain only {r2:.0%} of the treated series before the campaign: "
                        "the counterfactual is weak")
    return StageResult(
        tables={"impact": table},
        metrics=metrics,
        params={"treated": cfg.treated, "controls": ",".join(controls), "intervention": str(cfg.intervention),
                "ridge": cfg.ridge},
        quarantine=quarantine.reset_index(drop=True),
        summary=to_jsonable({k: report[k] for k in ("treated", "rel_effect", "cum_effect", "p_value", "significant")}),
        artifacts={"impact.json": to_jsonable(report)},
        warnings=warnings,
    )
