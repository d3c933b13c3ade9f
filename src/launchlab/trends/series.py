"""Turn the insight stage's per-review need assignments into need (and category) time series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.schemas import CATEGORY, DATE, DS, UNIQUE_ID, Y

WEEKLY, MONTHLY = "W-MON", "MS"
SERIES_COLUMNS = [UNIQUE_ID, DS, Y, "share", "sentiment_mean"]
CATEGORY_PREFIX = "category:"


def choose_freq(dates: pd.Series) -> str:
    """Weekly (weeks starting Monday) when the dates span under two years, else monthly."""
    dates = pd.to_datetime(dates).dropna()
    if dates.empty:
        return WEEKLY
    span = dates.max() - dates.min()
    return WEEKLY if span < pd.Timedelta(days=730) else MONTHLY


def need_series(reviews: pd.DataFrame, *, freq: str | None = None, categories: bool = True) -> pd.DataFrame:
    """Mention counts per need (and per category) and period, as a long frame for :func:`forecast_trends`.

    ``reviews`` needs ``need_id`` (−1 = unassigned) and ``date`` (NaT rows are skipped and
    counted); ``sentiment`` and ``category`` are optional. Returns ``unique_id``, ``ds`` (the
    period start), ``y`` (mentions), ``share`` (share of voice in the period) and
    ``sentiment_mean`` (NaN in periods without mentions):

    * ``need-<id>``: dated reviews assigned to the need; ``share`` among assigned reviews
      (rows_in = used + rows_undated + rows_unassigned).
    * ``category:<name>`` (when ``categories`` and the reviews have a ``category``): every dated
      review of the category, assigned to a need or not, since an unassigned review still
      speaks about its category; ``share`` among categorised reviews. Reviews without a category
      are left out of these series only.

    Every series gets every period from the first to the last dated review counted in any
    series: a period without mentions is a zero, not a gap. The period is chosen from that span
    (:func:`choose_freq`) unless ``freq`` is given. The frame's ``attrs`` carry ``freq``,
    ``rows_undated`` and ``rows_unassigned`` (both about the need series) and ``n_categories``.
    With no usable review the frame is empty (columns kept).
    """
    if "need_id" not in reviews.columns:
        raise InputError(
            "the reviews frame has no 'need_id' column", column="need_id", fix="run the insight stage first"
        )
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(SERIES_COLUMNS, ["str", "datetime64[ns]", "float", "float", "float"])})
    if DATE not in reviews.columns:
        empty.attrs.update(freq=freq, rows_undated=len(reviews), rows_unassigned=0, n_categories=0)
        return empty
    need = pd.to_numeric(reviews["need_id"], errors="coerce")
    dates = pd.to_datetime(reviews[DATE], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    unassigned = need.isna() | (need < 0)
    undated = dates.isna() & ~unassigned
    category = _category_names(reviews) if categories else pd.Series(pd.NA, index=reviews.index, dtype="string")
    assigned = dates.notna() & ~unassigned
    categorised = dates.notna() & category.notna()
    counted = assigned | categorised
    freq = freq or choose_freq(dates[counted])
    attrs = dict(freq=freq, rows_undated=int(undated.sum()), rows_unassigned=int(unassigned.sum()))
    if not counted.any():
        empty.attrs.update(attrs, n_categories=0)
        return empty
    sentiment = (
        pd.to_numeric(reviews["sentiment"], errors="coerce") if "sentiment" in reviews.columns else pd.Series(np.nan, index=reviews.index)
    )
    period = _period_start(dates[counted], freq).reindex(reviews.index)
    grid = pd.date_range(period.min(), period.max(), freq=freq)
    parts = []
    if assigned.any():
        ids = need[assigned].astype(np.int64)
        names = ["need-" + str(i) for i in np.sort(ids.unique())]
        parts.append(_counts("need-" + ids.astype(str), names, period[assigned], sentiment[assigned], grid))
    if categorised.any():
        keys = CATEGORY_PREFIX + category[categorised].astype(str)
        parts.append(_counts(keys, sorted(keys.unique()), period[categorised], sentiment[categorised], grid))
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(attrs, n_categories=int(category[categorised].nunique()))
    return out


def _category_names(reviews: pd.DataFrame) -> pd.Series:
    """Stripped category names, missing where the review has none (or no category column exists)."""
    if CATEGORY not in reviews.columns:
        return pd.Series(pd.NA, index=reviews.index, dtype="string")
    names = reviews[CATEGORY].astype("string").str.strip()
    return names.where(names.str.len() > 0)


def _counts(
    keys: pd.Series, names: list[str], period: pd.Series, sentiment: pd.Series, grid: pd.DatetimeIndex
) -> pd.DataFrame:
    """Mentions, share of voice among ``names`` and mean sentiment per key (in ``names`` order) and period."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "period": period.to_numpy(), "sentiment": sentiment.to_numpy()})
    counts = frame.groupby(["key", "period"]).agg(y=("sentiment", "size"), sentiment_mean=("sentiment", "mean"))
    index = pd.MultiIndex.from_product([names, grid], names=["key", "period"])
    full = counts.reindex(index)
    full["y"] = full["y"].fillna(0.0).astype(float)
    totals = full.groupby(level="period")["y"].transform("sum")
    full["share"] = np.where(totals > 0, full["y"] / totals.where(totals > 0, 1.0), 0.0)
    full = full.reset_index()
    return pd.DataFrame(
        {
            UNIQUE_ID: full["key"].astype(str),
            DS: full["period"].astype("datetime64[ns]"),
            Y: full["y"],
            "share": full["share"],
            "sentiment_mean": full["sentiment_mean"].astype(float),
        }
    )


def _period_start(dates: pd.Series, freq: str) -> pd.Series:
    """The start of the ``freq`` period each date falls in (Monday for W-MON, the 1st for MS)."""
    from launchlab.trends.calendar import snap

    return snap(dates.dt.normalize(), freq)
