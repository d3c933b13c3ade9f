"""need_series: mention counts per need and period, zeros filled, period chosen from the span."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.errors import InputError
from launchlab.trends import TrendsConfig, forecast_trends, need_series


def _reviews(dates, needs, sentiment=None):
    return pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(len(dates))],
            "need_id": needs,
            "date": pd.to_datetime(dates),
            "sentiment": sentiment if sentiment is not None else np.zeros(len(dates)),
        }
    )


def test_weekly_counts_with_zero_filled_weeks_and_ignored_rows():
    reviews = _reviews(
        ["2024-01-01", "2024-01-03", "2024-01-09", "2024-01-24", "2024-01-02", None, "2024-01-10"],
        [0, 0, 1, 0, -1, 1, 1],
        sentiment=[1.0, 0.0, -1.0, 0.5, 0.0, 0.0, 0.0],
    )
    out = need_series(reviews)
    assert out.attrs["freq"] == "W-MON"
    assert out.attrs["rows_undated"] == 1 and out.attrs["rows_unassigned"] == 1
    # Weeks starting Mon 2024-01-01, 01-08, 01-15, 01-22: the empty week 01-15 is a zero for both needs.
    weeks = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"])
    n0 = out[out["unique_id"] == "need-0"].set_index("ds")
    n1 = out[out["unique_id"] == "need-1"].set_index("ds")
    assert list(n0.index) == list(weeks) and list(n1.index) == list(weeks)
    assert n0["y"].tolist() == [2.0, 0.0, 0.0, 1.0]
    assert n1["y"].tolist() == [0.0, 2.0, 0.0, 0.0]
    assert n0.loc["2024-01-01", "sentiment_mean"] == pytest.approx(0.5)
    assert np.isnan(n0.loc["2024-01-15", "sentiment_mean"])
    # Share of voice sums to 1 in every week with mentions and is 0 in the empty week.
    share = out.groupby("ds")["share"].sum()
    assert share.tolist() == pytest.approx([1.0, 1.0, 0.0, 1.0])
    # rows in = used + undated + unassigned
    assert out["y"].sum() + out.attrs["rows_undated"] + out.attrs["rows_unassigned"] == len(reviews)


def test_monthly_when_span_exceeds_two_years_and_freq_override():
    dates = pd.date_range("2015-01-15", "2018-06-15", freq="45D")
    reviews = _reviews(dates, [i % 3 for i in range(len(dates))])
    out = need_series(reviews)
    assert out.attrs["freq"] == "MS"
    assert (out["ds"].dt.day == 1).all()
    months = pd.date_range("2015-01-01", dates.max().to_period("M").to_timestamp(), freq="MS")
    assert out.groupby("unique_id").size().tolist() == [len(months)] * 3
    assert out["y"].sum() == len(dates)
    weekly = need_series(reviews, freq="W-MON")
    assert (weekly["ds"].dt.weekday == 0).all()
    assert weekly["y"].sum() == len(dates)


def test_empty_frame_when_nothing_is_dated():
    reviews = _reviews([None, None], [0, 1])
    out = need_series(reviews)
    assert out.empty and list(out.columns[:3]) == ["unique_id", "ds", "y"]
    assert out.attrs["rows_undated"] == 2
    assert need_series(reviews.drop(columns="date")).empty


def test_missing_need_id_is_an_input_error():
    with pytest.raises(InputError, match="need_id"):
        need_series(pd.DataFrame({"date": pd.to_datetime(["2024-01-01"])}))


def test_category_series_count_every_dated_review_of_the_category():
    reviews = _reviews(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-09", "2024-01-22", "2024-01-23", None],
        [0, -1, 1, 0, 1, 0, 1],
        sentiment=[1.0, -1.0, 0.5, 0.0, -0.5, 0.5, 0.0],
    ).assign(category=["Dresses", " Dresses ", "Tops", None, "Tops", "", "Tops"])
    out = need_series(reviews)
    assert out.attrs["n_categories"] == 2
    weeks = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"])
    ids = out["unique_id"].unique().tolist()
    assert ids == ["need-0", "need-1", "category:Dresses", "category:Tops"]
    assert out.groupby("unique_id")["ds"].apply(list).map(lambda d: d == list(weeks)).all()
    dresses = out[out["unique_id"] == "category:Dresses"].set_index("ds")
    tops = out[out["unique_id"] == "category:Tops"].set_index("ds")
    # The unassigned review (need -1) still counts for its category; blank and missing categories don't.
    assert dresses["y"].tolist() == [2.0, 0.0, 0.0, 0.0]
    assert tops["y"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert dresses.loc["2024-01-01", "sentiment_mean"] == pytest.approx(0.0)
    assert tops.loc["2024-01-01", "share"] == pytest.approx(1 / 3)
    category_share = out[out["unique_id"].str.startswith("category:")].groupby("ds")["share"].sum()
    assert category_share.tolist() == pytest.approx([1.0, 0.0, 0.0, 1.0])
    # Need series are unchanged by the categories.
    needs_only = need_series(reviews, categories=False)
    assert needs_only["unique_id"].unique().tolist() == ["need-0", "need-1"]
    pd.testing.assert_frame_equal(needs_only, out[out["unique_id"].str.startswith("need-")].reset_index(drop=True))


def test_category_trends_are_classed_alongside_needs():
    rng = np.random.default_rng(3)
    days = pd.date_range("2023-01-02", "2024-06-30", freq="D")
    rows = []
    for i, day in enumerate(days):
        frac = i / len(days)
        for category, rate in (("growing", 0.5 + 8 * frac), ("fading", 8.5 - 8 * frac)):
            rows += [(int(rng.integers(0, 2)), day, category)] * rng.poisson(rate)
    reviews = pd.DataFrame(rows, columns=["need_id", "date", "category"]).assign(sentiment=0.0)
    series = need_series(reviews)
    result = forecast_trends(series, config=TrendsConfig(horizon=4, backtest_windows=0))
    classes = result.tables["trends"].set_index("unique_id")["class"]
    assert set(classes.index) == {"need-0", "need-1", "category:growing", "category:fading"}
    assert classes["category:growing"] in {"rising", "emerging"}
    assert classes["category:fading"] == "declining"
