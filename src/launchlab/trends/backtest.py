"""Accuracy of backtest forecasts: MASE, sMAPE and interval coverage per series and model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from launchlab.schemas import DS, UNIQUE_ID, Y


def mase_scale(train: pd.DataFrame, cutoffs: pd.Series, season_length: int) -> pd.Series:
    """In-sample MAE of the seasonal naive forecast over each series' history up to its cutoff.

    Uses lag ``season_length`` when the training part is longer than one season, else lag 1
    (the M4 convention). ``cutoffs`` is indexed by unique_id. Zero scales (constant history)
    become NaN so the series drops out of MASE averages instead of dividing by zero.
    """
    frame = train[train[UNIQUE_ID].isin(cutoffs.index)]
    frame = frame[frame[DS] <= frame[UNIQUE_ID].map(cutoffs)]
    g = frame.groupby(UNIQUE_ID, sort=True)[Y]
    n = g.size()
    lag_m = (frame[Y] - g.shift(season_length)).abs().groupby(frame[UNIQUE_ID]).mean()
    lag_1 = (frame[Y] - g.shift(1)).abs().groupby(frame[UNIQUE_ID]).mean()
    scale = lag_1.where(n <= season_length, lag_m.reindex(n.index))
    return scale.where(scale > 0)


def backtest_scale(train: pd.DataFrame, ids: pd.Index, season_length: int) -> pd.Series:
    """The MASE scale of backtest errors: :func:`mase_scale` over each series' whole history.

    Every window of a series shares it, and it is the scale the forecasts themselves are judged
    by later, so the mean backtest MASE weights each series as the forecast's MASE will: the
    errors are out of sample, the scale is only a per-series unit.
    """
    frame = train[train[UNIQUE_ID].isin(ids)]
    return mase_scale(frame, frame.groupby(UNIQUE_ID)[DS].max(), season_length)


def score(cv: pd.DataFrame, train: pd.DataFrame, season_length: int, levels: Sequence[int]) -> pd.DataFrame:
    """Per (unique_id, model): ``mase``, ``smape`` (0–200 scale), ``coverage_<l>`` and ``n_points``."""
    if cv.empty:
        cols = [UNIQUE_ID, "model", "mase", "smape", *[f"coverage_{lv}" for lv in levels], "n_points"]
        return pd.DataFrame(columns=cols)
    scale = backtest_scale(train, pd.Index(cv[UNIQUE_ID].unique()), season_length)
    frame = cv.copy()
    err = (frame[Y] - frame["yhat"]).abs()
    denom = frame[Y].abs() + frame["yhat"].abs()
    frame["ae"] = err
    with np.errstate(all="ignore"):
        frame["sape"] = np.where(denom > 0, 200 * err / denom, 0.0)
    for lv in levels:
        frame[f"coverage_{lv}"] = (
            (frame[Y] >= frame[f"yhat_lo_{lv}"]) & (frame[Y] <= frame[f"yhat_hi_{lv}"])
        ).astype(float)
    agg = frame.groupby([UNIQUE_ID, "model"], sort=True).agg(
        mae=("ae", "mean"), smape=("sape", "mean"), n_points=("ae", "size"),
        **{f"coverage_{lv}": (f"coverage_{lv}", "mean") for lv in levels},
    )
    agg = agg.reset_index()
    agg["mase"] = agg["mae"] / agg[UNIQUE_ID].map(scale)
    cols = [UNIQUE_ID, "model", "mase", "smape", *[f"coverage_{lv}" for lv in levels], "n_points"]
    return agg[cols]


def summarise(scores: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Mean of each score per model (MASE over series with a defined scale)."""
    cols = ["mase", "smape", *[f"coverage_{lv}" for lv in levels]]
    out = scores.groupby("model")[cols].mean()
    out["n_series"] = scores.groupby("model")[UNIQUE_ID].nunique()
    return out.reset_index()
