"""The trend stage on real public series: the UCI weekly sales bundled in data/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from launchlab.trends import TrendsConfig, forecast_trends, need_series

UCI = Path(__file__).parents[2] / "data" / "uci_sales_weekly.csv"


def _uci_long(n_series: int) -> pd.DataFrame:
    wide = pd.read_csv(UCI)
    wide = wide.iloc[:: len(wide) // n_series].head(n_series)  # a spread sample: regular and intermittent products
    weeks = [f"W{i}" for i in range(52)]
    long = wide.melt(id_vars="Product_Code", value_vars=weeks, var_name="ds", value_name="y")
    long["ds"] = long["ds"].str[1:].astype(int)
    return long.rename(columns={"Product_Code": "unique_id"}).astype({"y": float})


def test_uci_weekly_sales_backtest_beats_naive():
    series = _uci_long(80)
    result = forecast_trends(series, config=TrendsConfig(horizon=8, backtest_windows=2))
    m = result.metrics
    assert m["n_series"] == 80 and m["rows_quarantined"] == 0
    assert len(result.tables["forecasts"]) == 80 * 8
    assert result.tables["forecasts"]["ds"].min() == 52
    assert m["n_intermittent"] > 0
    bt = result.tables["backtest"]
    per_series = bt.pivot(index="unique_id", columns="model", values="mase")
    both = per_series[["launchlab", "Naive"]].dropna()
    assert len(both) > 70
    assert both["launchlab"].mean() < both["Naive"].mean()
    assert 0.6 < m["coverage_80"] < 0.95
    assert np.isfinite(m["backtest_smape"])
    # Trend calls rest on evidence whose change and forecast growth agree in sign with the call: a
    # significant slope, or (up only) a significant onset from a low base, or a trend-capable
    # forecast expecting growth of at least 0.2 of its standard deviation with the slope pointing
    # up; and among 80 real products some are called.
    alpha = TrendsConfig().alpha
    trends = result.tables["trends"]
    called = trends[trends["class"].isin(["emerging", "rising", "declining"])]
    up = called["class"] != "declining"
    sign = np.where(up, 1.0, -1.0)
    onset = (called["onset_p_value"] < alpha) & (called["base_level"] <= 0.5 * called["recent_level"])
    forecast = (called["growth_z"] >= 0.2) & (called["p_value"] < 0.5) & (called["slope"] > 0)
    assert len(called) >= 1 and ((called["p_value"] < alpha) | (up & (onset | forecast))).all()
    assert (sign * called["change"] > 0).all() and (sign * called["growth"] > 0).all()


def test_need_series_feed_the_forecaster():
    rng = np.random.default_rng(11)
    # 18 months of reviews: need 0 grows, need 1 fades, need 2 is steady.
    days = pd.date_range("2023-01-01", "2024-06-30", freq="D")
    rows = []
    for i, day in enumerate(days):
        frac = i / len(days)
        for need, rate in ((0, 0.5 + 3 * frac), (1, 3.5 - 3 * frac), (2, 2.0)):
            rows += [(need, day)] * rng.poisson(rate)
    reviews = pd.DataFrame(rows, columns=["need_id", "date"]).assign(sentiment=0.0)
    series = need_series(reviews)
    assert series.attrs["freq"] == "W-MON"
    result = forecast_trends(series, config=TrendsConfig(horizon=4, backtest_windows=1))
    classes = result.tables["trends"].set_index("unique_id")["class"]
    assert classes["need-0"] in {"rising", "emerging"}
    assert classes["need-1"] == "declining" and classes["need-2"] == "stable"
    assert result.params["freq_used"] == "W-MON"
