"""Trend classes on ramps from a low base, on trendless counts, and under forecasts that cannot trend."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.trends import TrendsConfig, forecast_trends
from launchlab.trends.detect import can_express_trend, classify, forecast_sd, onset_statistics, trend_statistics

FAST = dict(backtest_windows=0, horizon=6)


def _frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2014-01-01", periods=len(y), freq="MS"), "y": y})
         for uid, y in series.items()],
        ignore_index=True,
    )


def test_a_ramp_from_nothing_is_emerging_within_a_few_months_and_flat_counts_are_not():
    rng = np.random.default_rng(3)
    history = 42
    series = {}
    for months in (2, 3, 4):
        # Nothing for 42 months, then 3, 6, 9 ... mentions a month (Poisson).
        series[f"ramp@{months}"] = np.concatenate([np.zeros(history), rng.poisson(3.0 * np.arange(1, months + 1))]).astype(float)
    for i in range(20):
        series[f"flat-{i}"] = rng.poisson(6.0, history + 4).astype(float)
    trends = forecast_trends(_frame(series), config=TrendsConfig(**FAST)).tables["trends"].set_index("unique_id")
    assert trends.loc["ramp@3", "class"] == "emerging" and trends.loc["ramp@4", "class"] == "emerging"
    assert trends.loc["ramp@4", "onset_p_value"] < 0.05 and trends.loc["ramp@4", "base_level"] == 0.0
    flat = trends.loc[[f"flat-{i}" for i in range(20)], "class"]
    assert flat.isin(["emerging", "rising"]).sum() <= 1


def test_a_single_spike_is_not_an_onset():
    rng = np.random.default_rng(4)
    y = rng.poisson(5.0, 48).astype(float)
    y[-1] = 40.0  # one month of a viral post, then the data ends
    stats = onset_statistics(_frame({"spike": y}), 12)
    assert stats.loc["spike", "onset_p_value"] == 1.0
    y[-3:] = [25.0, 32.0, 40.0]  # three months in a row well above the level before: an onset
    assert onset_statistics(_frame({"ramp": y}), 12).loc["ramp", "onset_p_value"] < 0.01


def test_a_flat_level_forecast_does_not_veto_a_significant_ramp():
    t = np.arange(36)
    frame = _frame({"ramp": 10.0 + 1.5 * t + np.random.default_rng(0).normal(0, 1, 36)})
    stats = trend_statistics(frame, 12).join(onset_statistics(frame, 12))
    assert stats.loc["ramp", "p_value"] < 0.01
    # A forecast below the recent level: from a model that can trend it is a veto, from a level
    # model (Croston, ADIDA, an average) it is no evidence against the trend.
    growth = pd.Series({"ramp": -0.2})
    vetoed = classify(stats, alpha=0.05, min_change=0.1, growth=growth, trend_capable=pd.Series({"ramp": True}))
    kept = classify(stats, alpha=0.05, min_change=0.1, growth=growth, trend_capable=pd.Series({"ramp": False}))
    assert vetoed["ramp"] == "stable"
    assert kept["ramp"] in ("rising", "emerging")


def test_level_models_are_recognised_in_combination_labels():
    assert not can_express_trend("mean(ADIDA,IMAPA,TSB)")
    assert not can_express_trend("CrostonSBA")
    assert not can_express_trend("mean(AutoETSDamped,CrostonSBA)")
    assert can_express_trend("mean(AutoETSDamped,DynamicOptimizedTheta)")
    assert can_express_trend("AutoARIMA")


def test_a_ramp_forecast_by_intermittent_models_is_still_called():
    # Issue 13's planted need: absent for 41 months, then a climb to about 40 reviews a month. The
    # intermittent models forecast it flat at about 20, which used to veto the significant slope.
    ramp = np.concatenate([np.zeros(41), [1, 4, 8, 12, 14, 17, 22, 26, 31, 45, 35, 40]]).astype(float)
    # Level models in both routes, whichever route the series takes.
    config = TrendsConfig(models=["HistoricAverage"], intermittent_models=["ADIDA", "IMAPA", "TSB"], **FAST)
    trends = forecast_trends(_frame({"ramp": ramp}), config=config).tables["trends"].set_index("unique_id")
    assert not can_express_trend(trends.loc["ramp", "model"])
    assert trends.loc["ramp", "forecast_mean"] < trends.loc["ramp", "last_value"]
    assert trends.loc["ramp", "class"] == "emerging"


def test_a_forecast_expecting_growth_calls_rising_on_a_weaker_slope_only_if_it_can_trend():
    rng = np.random.default_rng(11)
    t = np.arange(60)
    frame = _frame({"gentle": 100 + 0.15 * t + rng.normal(0, 3, 60)})
    stats = trend_statistics(frame, 12)
    assert 0.05 <= stats.loc["gentle", "p_value"] < 0.5 and stats.loc["gentle", "slope"] > 0
    kwargs = dict(alpha=0.05, min_change=0.1, growth=pd.Series({"gentle": 0.03}))
    capable = pd.Series({"gentle": True})
    assert classify(stats, **kwargs, trend_capable=capable, growth_z=pd.Series({"gentle": 0.5}))["gentle"] == "rising"
    assert classify(stats, **kwargs, trend_capable=capable, growth_z=pd.Series({"gentle": 0.1}))["gentle"] == "stable"
    level = pd.Series({"gentle": False})
    assert classify(stats, **kwargs, trend_capable=level, growth_z=pd.Series({"gentle": 0.5}))["gentle"] == "stable"


def test_evenly_spread_counts_are_not_rising():
    # About 1.5, then 2 reviews a month dealt out evenly (the benchmark's control): more regular
    # than counting noise, so the forecast's own interval makes the small uptick look like 0.2
    # standard deviations; a count's standard deviation is at least the Poisson one.
    even = np.array([1.0, 2.0] * 18 + [2.0, 2, 2, 3, 2, 2, 2, 2, 3, 2, 2, 2])
    result = forecast_trends(_frame({"even": even}), config=TrendsConfig(**FAST))
    trends = result.tables["trends"].set_index("unique_id")
    own_sd = forecast_sd(result.tables["forecasts"], [80, 95])["even"]
    assert (trends.loc["even", "forecast_mean"] - trends.loc["even", "base_mean"]) / own_sd >= 0.2
    assert trends.loc["even", "p_value"] < 0.5 and trends.loc["even", "slope"] > 0
    assert trends.loc["even", "growth_z"] < 0.2
    assert trends.loc["even", "class"] not in ("emerging", "rising")
