"""Turn the insight stage's per-review need assignments into need time series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.schemas import DATE, DS, UNIQUE_ID, Y

WEEKLY, MONTHLY = "W-MON", "MS"
SERIES_COLUMNS = [UNIQUE_ID, DS, Y, "share", "sentiment_mean"]


def choose_freq(dates: pd.Series) -> str:
    """Weekly (weeks starting Monday) when the dates span under two years, else monthly."""
    dates = pd.to_datetime(dates).dropna()
    if dates.empty:
        return WEEKLY
    span = dates.max() - dates.min()
    return WEEKLY if span < pd.Timedelta(days=730) else MONTHLY


def need_series(reviews: pd.DataFrame, *, freq: str | None = None) -> pd.DataFrame:
    """Mention counts per need and period, as a long frame ready for :func:`forecast_trends`.

    ``reviews`` needs ``need_id`` (−1 = unassigned, ignored) and ``date`` (NaT rows are skipped
    and counted; rows_in = used + rows_undated + rows_unassigned); ``sentiment`` is optional. Returns ``unique_id`` (``"need-<id>"``), ``ds`` (the
    period start), ``y`` (mentions), ``share`` (the need's share of assigned mentions in the
    period) and ``sentiment_mean`` (NaN in periods without mentions). Every need gets every period
    from the first to the last dated review: a period without mentions is a zero, not a gap. The
    period is chosen from the span (:func:`choose_freq`) unless ``freq`` is given. The frame's
    ``attrs`` carry ``freq``, ``rows_undated`` and ``rows_unassigned``. With no dated, assigned
    review the frame is empty (columns kept).
    """
    if "need_id" not in reviews.columns:
        raise InputError(
            "the reviews frame has no 'need_id' column", column="need_id", fix="run the insight stage first"
        )
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(SERIES_COLUMNS, ["str", "datetime64[ns]", "float", "float", "float"])})
    if DATE not in reviews.columns:
        empty.attrs.update(freq=freq, rows_undated=len(reviews), rows_unassigned=0)
        return empty
    need = pd.to_numeric(reviews["need_id"], errors="coerce")
    dates = pd.to_datetime(reviews[DATE], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    unassigned = need.isna() | (need < 0)
    undated = dates.isna() & ~unassigned
    freq = freq or choose_freq(dates[~unassigned])
    usable = ~undated & ~unassigned
    if not usable.any():
        empty.attrs.update(freq=freq, rows_undated=int(undated.sum()), rows_unassigned=int(unassigned.sum()))
        return empty
    sentiment = (
        pd.to_numeric(reviews["sentiment"], errors="coerce") if "sentiment" in reviews.columns else pd.Series(np.nan, index=reviews.index)
    )
    frame = pd.DataFrame(
        {"need": need[usable].astype(np.int64), "period": _period_start(dates[usable], freq), "sentiment": sentiment[usable]}
    )
    grid = pd.date_range(frame["period"].min(), frame["period"].max(), freq=freq)
    needs = np.sort(frame["need"].unique())
    counts = frame.groupby(["need", "period"]).agg(y=("sentiment", "size"), sentiment_mean=("sentiment", "mean"))
    index = pd.MultiIndex.from_product([needs, grid], names=["need", "period"])
    full = counts.reindex(index)
    full["y"] = full["y"].fillna(0.0).astype(float)
    totals = full.groupby(level="period")["y"].transform("sum")
    full["share"] = np.where(totals > 0, full["y"] / totals.where(totals > 0, 1.0), 0.0)
    full = full.reset_index()
    out = pd.DataFrame(
        {
            UNIQUE_ID: "need-" + full["need"].astype(str),
            DS: full["period"].astype("datetime64[ns]"),
            Y: full["y"],
            "share": full["share"],
            "sentiment_mean": full["sentiment_mean"].astype(float),
        }
    )
    out.attrs.update(freq=freq, rows_undated=int(undated.sum()), rows_unassigned=int(unassigned.sum()))
    return out


def _period_start(dates: pd.Series, freq: str) -> pd.Series:
    """The start of the ``freq`` period each date falls in (Monday for W-MON, the 1st for MS)."""
    from launchlab.trends.calendar import snap

    return snap(dates.dt.normalize(), freq)
