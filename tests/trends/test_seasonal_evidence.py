"""A seasonal call needs evidence: a significant seasonal component over at least two full seasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from launchlab.trends import TrendsConfig, forecast_trends, need_series
from launchlab.trends.detect import deseasonalise, seasonal_p_values

DATED = Path(__file__).parents[2] / "data" / "womens_clothing_reviews_dated.parquet"


def _monthly(ys: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"unique_id": k, "ds": pd.date_range("2020-01-01", periods=len(y), freq="MS"), "y": y})
         for k, y in ys.items()],
        ignore_index=True,
    )


def test_noise_is_not_seasonal_and_a_real_season_is():
    rng = np.random.default_rng(5)
    ys = {f"noise-{n}-{i}": rng.poisson(8, n).astype(float) for n in (24, 30, 48) for i in range(40)}
    t = np.arange(48)
    ys.update({f"season-{i}": 40 + 12 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, 48) for i in range(10)})
    frame = _monthly(ys)
    p = seasonal_p_values(deseasonalise(frame, 12), 12)
    noise = p[p.index.str.startswith("noise")]
    assert (p[p.index.str.startswith("season")] < 0.001).all()
    assert 0.0 < (noise < 0.05).mean() <= 0.12  # a test at 5%, not never and not often
    trends = forecast_trends(frame, config=TrendsConfig(backtest_windows=0)).tables["trends"].set_index("unique_id")
    # Hyndman's strength alone calls most short noise series seasonal; the test calls almost none.
    assert (trends.loc[noise.index, "seasonal_strength"] >= 0.6).mean() < 0.1
    assert (trends.loc[noise.index, "class"] == "seasonal").mean() <= 0.05
    seasonal = trends[trends.index.str.startswith("season")]
    # A horizon shorter than the season does not read the season's next peak as growth: the growth
    # of the seasonally adjusted forecast is small, and a real season is called seasonal.
    assert seasonal["growth"].abs().median() < 0.03
    assert (seasonal["class"] == "seasonal").mean() >= 0.8


def test_the_demo_needs_are_not_seasonal_and_petite_sizing_rises():
    """The demo's real clothing reviews with their simulated dates (flat, non-seasonal by design
    except petite sizing, ramping over the last 8 months), sampled as the demo does; product
    classes stand in for needs, so the test needs no embedding model."""
    reviews = pd.read_parquet(DATED).sample(1500, random_state=42)
    text = reviews["Title"].fillna("") + " " + reviews["Review Text"].fillna("")
    classes = reviews["Class Name"].fillna("other")
    top = classes.value_counts().index[:8]
    need = np.where(text.str.contains(r"\bpetite", case=False), 0, 1 + pd.Index(top).get_indexer(classes))
    frame = pd.DataFrame({"need_id": np.where(need == 0, 0, np.where(need > 0, need, -1)),
                          "date": pd.to_datetime(reviews["Simulated Date"])})
    series = need_series(frame, categories=False)
    assert series.attrs["freq"] == "MS" and series["ds"].nunique() == 30
    trends = forecast_trends(series[["unique_id", "ds", "y"]], config=TrendsConfig()).tables["trends"]
    classes = trends.set_index("unique_id")["class"]
    assert classes["need-0"] in ("emerging", "rising")
    assert (classes.drop("need-0") != "seasonal").all()
    assert (trends["p_seasonal"] >= 0.05).all()  # no need has a significant season
