"""forecast_trends: forecasts, backtest, trend classes, and the handling of awkward input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from launchlab.errors import InputError
from launchlab.trends import Forecaster, TrendsConfig, forecast_trends
from launchlab.trends.config import DEFAULT_CANDIDATES, DEFAULT_MODELS
from launchlab.trends.models import Guarded

FAST = dict(backtest_windows=0)


def _check_forecasts(fc: pd.DataFrame, n_series: int, h: int) -> None:
    assert list(fc.columns[:7]) == ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    assert len(fc) == n_series * h
    assert fc.groupby("unique_id").size().eq(h).all()
    assert fc[["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]].notna().all().all()
    assert (fc["yhat_lo_95"] <= fc["yhat_lo_80"]).all()
    assert (fc["yhat_lo_80"] <= fc["yhat"]).all()
    assert (fc["yhat"] <= fc["yhat_hi_80"]).all()
    assert (fc["yhat_hi_80"] <= fc["yhat_hi_95"]).all()
    assert (fc["yhat_hi_95"] > fc["yhat_lo_95"]).any()


def test_classes_forecasts_and_backtest_on_known_shapes(monthly_trio):
    result = forecast_trends(monthly_trio, config=TrendsConfig(horizon=6, backtest_windows=2))
    fc = result.tables["forecasts"]
    _check_forecasts(fc, 3, 6)
    # ds continues the monthly calendar.
    assert fc.groupby("unique_id")["ds"].min().eq(pd.Timestamp("2024-01-01")).all()
    assert fc.groupby("unique_id")["ds"].max().eq(pd.Timestamp("2024-06-01")).all()

    trends = result.tables["trends"].set_index("unique_id")
    assert trends.loc["up", "class"] == "rising"
    assert trends.loc["down", "class"] == "declining"
    assert trends.loc["flat", "class"] == "seasonal"  # no trend, strong yearly pattern
    assert trends.loc["up", "growth"] > 0.05 and trends.loc["down", "growth"] < -0.05
    assert abs(trends.loc["flat", "growth"]) < 0.05
    assert trends.loc["up", "p_value"] < 0.05 and trends.loc["flat", "p_value"] > 0.05
    assert trends.loc["flat", "seasonal_strength"] > 0.5  # the sine season was found and removed
    # Every subset of up to 3 of the 9 pool models (2 members, 6 candidates, naive) was scored,
    # but 3 series are too few to overrule the default combination.
    forecaster = result.models["launchlab-forecaster"]
    assert len(forecaster.selection_) == 9 + 36 + 84
    assert forecaster.combination_ == {}
    assert set(trends["model"]) == {"mean(AutoETSDamped,DynamicOptimizedTheta)"}

    bt = result.tables["backtest"]
    assert {"unique_id", "model", "mase", "smape", "coverage_80"} <= set(bt.columns)
    assert set(bt["model"]) == {"launchlab", *DEFAULT_MODELS, *DEFAULT_CANDIDATES, "Naive"}
    m = result.metrics
    assert m["n_series"] == 3 and m["horizon"] == 6
    assert m["n_rising"] == 1 and m["n_declining"] == 1 and m["n_seasonal"] == 1
    # On trending seasonal series the combination beats the naive forecast.
    assert m["backtest_mase"] < m["backtest_mase_Naive"]
    # Coverage is the share of the 36 backtest points (3 series x 2 windows x 6 months) inside each
    # interval, measured before calibration; calibration widens the intervals of a level that
    # covered less than it claims and narrows those that covered more.
    launchlab = bt[bt["model"] == "launchlab"]
    for level in (80, 95):
        assert m[f"coverage_{level}"] == pytest.approx(np.average(launchlab[f"coverage_{level}"], weights=launchlab["n_points"]))
        assert (m[f"interval_scale_regular_{level}"] > 1) == (m[f"coverage_{level}"] < level / 100)
    assert 0.5 < m["coverage_80"] < m["coverage_95"] and m["coverage_95"] > 0.85
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] == 144
    assert [r["unique_id"] for r in result.summary["rising"]] == ["up"]
    assert result.summary["emerging"] == []
    assert [r["unique_id"] for r in result.summary["declining"]] == ["down"]
    assert isinstance(result.models["launchlab-forecaster"], Forecaster)


def test_emerging_and_stable_classes():
    rng = np.random.default_rng(5)
    ds = pd.date_range("2019-01-01", periods=60, freq="MS")
    t = np.arange(60)
    emerging = np.where(t < 42, 5.0, 5.0 + 6.0 * (t - 41)) + rng.normal(0, 1, 60)  # takes off in the last 18
    steady = 100 + rng.normal(0, 4, 60)
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": "takeoff", "ds": ds, "y": emerging}),
            pd.DataFrame({"unique_id": "steady", "ds": ds, "y": steady}),
        ]
    )
    result = forecast_trends(frame, config=TrendsConfig(horizon=6, backtest_windows=0))
    trends = result.tables["trends"].set_index("unique_id")
    assert trends.loc["takeoff", "class"] == "emerging"
    assert trends.loc["takeoff", "prior_level"] < 0.5 * trends.loc["takeoff", "forecast_mean"]
    assert trends.loc["steady", "class"] == "stable"
    assert result.metrics["n_emerging"] == 1 and result.metrics["n_stable"] == 1
    assert [r["unique_id"] for r in result.summary["emerging"]] == ["takeoff"]
    assert result.summary["rising"][0]["class"] == "emerging"


def test_integer_periods_continue_as_integers():
    rng = np.random.default_rng(1)
    years = np.arange(1990, 2021)
    frame = pd.DataFrame({"unique_id": "sales", "ds": years, "y": 50 + 3.0 * (years - 1990) + rng.normal(0, 2, len(years))})
    result = forecast_trends(frame, config=TrendsConfig(horizon=4, **FAST))
    fc = result.tables["forecasts"]
    _check_forecasts(fc, 1, 4)
    assert pd.api.types.is_integer_dtype(fc["ds"]) and fc["ds"].tolist() == [2021, 2022, 2023, 2024]
    assert result.tables["trends"].loc[0, "class"] == "rising"
    assert result.params["freq_used"] == "1" and result.metrics["season_length"] == 1


def test_gaps_are_filled_and_reported(monthly_trio):
    gappy = monthly_trio.drop(index=[10, 11, 30]).reset_index(drop=True)
    result = forecast_trends(gappy, config=TrendsConfig(horizon=3, **FAST))
    assert result.metrics["n_gaps_filled"] == 3
    assert any("3 missing periods" in w and "interpolate" in w for w in result.warnings)
    _check_forecasts(result.tables["forecasts"], 3, 3)
    train = result.models["launchlab-forecaster"].train_
    up = train[train["unique_id"] == "up"].reset_index(drop=True)
    # Linear interpolation: the filled months lie between their neighbours.
    assert up.loc[10, "y"] == pytest.approx(up.loc[9, "y"] + (up.loc[12, "y"] - up.loc[9, "y"]) / 3)
    zero = forecast_trends(gappy, config=TrendsConfig(horizon=3, fill="zero", **FAST))
    train0 = zero.models["launchlab-forecaster"].train_
    assert train0.loc[(train0["unique_id"] == "up") & (train0["ds"] == "2020-11-01"), "y"].item() == 0.0


def test_off_calendar_dates_are_snapped_and_collisions_quarantined(monthly_trio):
    frame = monthly_trio.copy()
    frame.loc[5, "ds"] = pd.Timestamp("2020-06-17")  # inside June: moved to 2020-06-01
    extra = pd.DataFrame({"unique_id": ["up"], "ds": [pd.Timestamp("2020-03-20")], "y": [1.0]})  # collides with March
    frame = pd.concat([frame, extra], ignore_index=True)
    result = forecast_trends(frame, config=TrendsConfig(horizon=2, freq="MS", **FAST))
    assert result.metrics["n_snapped"] == 2
    q = result.quarantine
    assert len(q) == 1 and q["y"].item() == 1.0 and "same MS period" in q["reason"].item()
    assert result.metrics["rows_in"] == result.metrics["rows_used"] + result.metrics["rows_quarantined"]


def test_short_series_fall_back_to_naive_and_single_points_are_quarantined(monthly_trio):
    short = pd.DataFrame({"unique_id": "new", "ds": pd.date_range("2023-08-01", periods=5, freq="MS"), "y": [3.0, 4, 5, 4, 6]})
    single = pd.DataFrame({"unique_id": ["one"], "ds": [pd.Timestamp("2023-12-01")], "y": [9.0], "source_row": [999]})
    frame = pd.concat([monthly_trio.assign(source_row=range(144)), short.assign(source_row=range(200, 205)), single])
    result = forecast_trends(frame, config=TrendsConfig(horizon=3, backtest_windows=1))
    fc = result.tables["forecasts"]
    _check_forecasts(fc, 4, 3)
    assert (fc.loc[fc["unique_id"] == "new", "yhat"] == 6.0).all()
    trends = result.tables["trends"].set_index("unique_id")
    assert trends.loc["new", "model"] == "Naive" and trends.loc["new", "route"] == "short"
    assert any("naive model" in w and "new" in w for w in result.warnings)
    assert result.quarantine["source_row"].tolist() == [999]
    assert "fewer than 2" in result.quarantine["reason"].item()
    assert result.metrics["rows_quarantined"] == 1 and result.metrics["rows_used"] == 149
    # The 5-point series cannot be backtested with min_length 10 + 3: it is left out and said so.
    assert "new" not in set(result.tables["backtest"]["unique_id"])
    assert any("too short for a 1-window backtest" in w for w in result.warnings)


def test_bad_rows_are_quarantined_with_reasons(monthly_trio):
    frame = monthly_trio.astype({"y": object}).copy()
    frame.loc[3, "y"] = "n/a"
    frame.loc[4, "ds"] = pd.NaT
    frame = pd.concat([frame, frame.iloc[[20]]], ignore_index=True)  # exact duplicate (unique_id, ds)
    result = forecast_trends(frame, config=TrendsConfig(horizon=2, **FAST))
    # The reasons of the series contract (launchlab.io.series), as a loaded file would get them.
    assert sorted(result.quarantine["reason"]) == [
        "ds: not a date or integer period", "duplicate (unique_id, ds) (first kept)", "y: value is not a number"]
    assert result.metrics["rows_in"] == 145 and result.metrics["rows_used"] == 142
    # The removed months inside "up" are gaps now, filled and reported.
    assert result.metrics["n_gaps_filled"] == 2


def test_missing_column_and_unusable_ds_raise_input_errors(monthly_trio):
    with pytest.raises(InputError, match="'y'"):
        forecast_trends(monthly_trio.drop(columns="y"))
    with pytest.raises(InputError, match="ds"):
        forecast_trends(monthly_trio.assign(ds="soon"))


def test_intermittent_series_use_croston_type_models():
    rng = np.random.default_rng(3)
    y = rng.poisson(0.4, 60).astype(float)
    y[:3] = [0.0, 2.0, 0.0]
    frame = pd.DataFrame({"unique_id": "rare", "ds": pd.date_range("2021-01-04", periods=60, freq="W-MON"), "y": y})
    result = forecast_trends(frame, config=TrendsConfig(horizon=4, backtest_windows=1))
    assert result.params["freq_used"] == "W-MON"
    trends = result.tables["trends"]
    assert trends.loc[0, "route"] == "intermittent"
    pool = {"ADIDA", "IMAPA", "TSB", "HistoricAverage", "CrostonClassic", "CrostonSBA", "Naive"}
    assert set(trends.loc[0, "model"].removeprefix("mean(").rstrip(")").split(",")) <= pool
    fc = result.tables["forecasts"]
    _check_forecasts(fc, 1, 4)
    assert (fc["yhat_lo_95"] >= 0).all()  # a count series is never forecast below zero
    assert (fc["ds"].dt.weekday == 0).all()
    assert result.metrics["n_intermittent"] == 1


def test_same_input_same_output(monthly_trio):
    config = TrendsConfig(horizon=4, backtest_windows=1)
    a, b = forecast_trends(monthly_trio, config=config), forecast_trends(monthly_trio, config=config)
    for name in ("forecasts", "trends", "backtest"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.metrics == b.metrics


def test_forecaster_is_a_clonable_picklable_estimator(monthly_trio):
    est = Forecaster(levels=(80,), models=("DynamicOptimizedTheta",))
    assert clone(est).get_params() == est.get_params()
    assert est.fit(monthly_trio) is est
    first = est.predict(5)
    assert list(first.columns[:4]) == ["unique_id", "ds", "yhat", "yhat_lo_80"]
    restored = pickle.loads(pickle.dumps(est))
    pd.testing.assert_frame_equal(restored.predict(5), first)
    assert est.season_length_ == 12 and est.freq_ == "MS"


def test_guarded_member_turns_failures_into_nan():
    out = Guarded("AutoETS", 12).forecast(np.array([1.0, 2.0]), 3, level=[80])
    assert list(out) == ["mean", "lo-80", "hi-80"] and np.isnan(out["mean"]).all()


def test_calibration_widens_intervals_that_undercovered_in_the_backtest():
    rng = np.random.default_rng(9)
    ds = pd.date_range("2018-01-01", periods=60, freq="MS")
    # Level shifts every 12 months: models fitted on the past are overconfident about the future.
    frames = [
        pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": 50 + np.repeat(rng.normal(0, 15, 5), 12) + rng.normal(0, 1, 60)})
        for i in range(8)
    ]
    frame = pd.concat(frames, ignore_index=True)
    est = Forecaster(models=("DynamicOptimizedTheta",), candidates=(), levels=(80,)).fit(frame)
    raw = est.predict(6)
    cv, _ = est.backtest(6, n_windows=2)
    before = cv[cv["model"] == "launchlab"]
    coverage_before = ((before["y"] >= before["yhat_lo_80"]) & (before["y"] <= before["yhat_hi_80"])).mean()
    est.calibrate(cv, min_points=30)
    scale = est.interval_scale_.set_index("route").loc["regular", "scale"]
    assert coverage_before < 0.7 and scale > 1.2
    calibrated = est.predict(6)
    pd.testing.assert_series_equal(calibrated["yhat"], raw["yhat"])
    # Upper half-widths scale exactly (lower bounds may be clipped at zero for this count-like data).
    assert np.allclose(calibrated["yhat_hi_80"] - calibrated["yhat"], scale * (raw["yhat_hi_80"] - raw["yhat"]))
    assert (calibrated["yhat_lo_80"] <= raw["yhat_lo_80"]).all()


def _white_noise(n_series: int) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    ds = pd.date_range("2019-01-01", periods=48, freq="MS")
    return pd.concat(
        [pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": 100 + rng.normal(0, 10, 48)}) for i in range(n_series)],
        ignore_index=True,
    )


def test_selection_replaces_the_default_only_on_significant_evidence():
    # On white noise the long-run mean beats the last value: a significant gain over 40 series.
    config = dict(horizon=6, models=["Naive"], candidates=["HistoricAverage"], max_members=2)
    result = forecast_trends(_white_noise(40), config=TrendsConfig(**config))
    est = result.models["launchlab-forecaster"]
    table = est.selection_.set_index("combination")
    assert set(table.index) == {"Naive", "HistoricAverage", "Naive+HistoricAverage"}
    assert np.isnan(table.loc["Naive", "p_value"])  # the default against itself: no test
    assert table.loc["HistoricAverage", "p_value"] < 0.05 / 2
    assert est.combination_ == {"regular": ["HistoricAverage"]}
    assert set(result.tables["trends"]["model"]) == {"HistoricAverage"}
    assert result.metrics["backtest_mase"] == pytest.approx(table.loc["HistoricAverage", "mase"])
    # The same gain on 3 series is no evidence: the default stays.
    few = forecast_trends(_white_noise(3), config=TrendsConfig(**config)).models["launchlab-forecaster"]
    few_table = few.selection_.set_index("combination")
    assert few_table.loc["HistoricAverage", "mase"] < few_table.loc["Naive", "mase"]
    assert few.combination_ == {}


def test_selection_requires_a_gain_in_every_backtest_window():
    # A hand-made two-window backtest of 40 series. HistoricAverage has the lowest mean error and
    # a significant gain on the default, but all of it comes from the first window and the second
    # reverses it; CrostonClassic is a little better than the default in both windows: it is chosen.
    frame = _white_noise(40)
    est = Forecaster(models=("AutoETSDamped",), candidates=("HistoricAverage", "CrostonClassic"), max_members=1).fit(frame)
    rng = np.random.default_rng(5)
    errors = {"AutoETSDamped": (1.0, 1.0), "HistoricAverage": (0.2, 1.3), "CrostonClassic": (0.9, 0.9), "Naive": (2.0, 2.0)}
    rows = []
    for _, part in frame.groupby("unique_id"):
        for window, cutoff in enumerate((35, 41)):
            future = part.iloc[cutoff + 1 : cutoff + 7]
            for model, by_window in errors.items():
                noise = rng.normal(0, 0.05, len(future))
                rows.append(
                    future.assign(cutoff=part["ds"].iloc[cutoff], model=model, yhat=future["y"] + 8 * (by_window[window] + noise))
                )
    backtest = pd.concat(rows, ignore_index=True)
    table = est.select(backtest).selection_.set_index("combination")
    assert table["mase"].idxmin() == "HistoricAverage"
    assert table.loc["HistoricAverage", "p_value"] < 0.05 / 3
    assert table.loc["HistoricAverage", "min_window_gain"] < 0 < table.loc["CrostonClassic", "min_window_gain"]
    assert table.loc["CrostonClassic", "p_value"] < 0.05 / 3
    assert est.combination_ == {"regular": ["CrostonClassic"]}
    # Without the consistent alternative the default stays.
    est = Forecaster(models=("AutoETSDamped",), candidates=("HistoricAverage",), max_members=1).fit(frame)
    assert est.select(backtest[backtest["model"] != "CrostonClassic"]).combination_ == {}


def test_backtest_runs_on_a_seeded_sample_of_each_large_route():
    frame = _white_noise(40)
    config = TrendsConfig(horizon=6, models=["Naive"], candidates=[], backtest_max_series=30)
    result = forecast_trends(frame, config=config)
    backtested = set(result.tables["backtest"]["unique_id"])
    assert len(backtested) == 30 and result.metrics["n_backtest_series"] == 30
    assert len(result.tables["forecasts"]) == 40 * 6  # every series is still forecast
    again = forecast_trends(frame, config=config)
    assert set(again.tables["backtest"]["unique_id"]) == backtested
    other = forecast_trends(frame, config=config.model_copy(update={"seed": 7}))
    assert set(other.tables["backtest"]["unique_id"]) != backtested
    everything = forecast_trends(frame, config=config.model_copy(update={"backtest_max_series": None}))
    assert everything.tables["backtest"]["unique_id"].nunique() == 40


def test_worker_processes_change_no_number():
    # 60 series: above the size from which statsforecast gets a process pool.
    rng = np.random.default_rng(8)
    ds = pd.date_range("2019-01-01", periods=40, freq="MS")
    frame = pd.concat(
        [pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": 50 + rng.normal(0, 1, 40).cumsum() * 3}) for i in range(60)],
        ignore_index=True,
    )
    config = TrendsConfig(horizon=4, backtest_windows=1, candidates=[], n_jobs=1)
    one = forecast_trends(frame, config=config)
    two = forecast_trends(frame, config=config.model_copy(update={"n_jobs": 2}))
    for name in ("forecasts", "trends", "backtest"):
        pd.testing.assert_frame_equal(one.tables[name], two.tables[name], check_exact=True)


def test_trend_statistics_in_chunks_equal_one_pass():
    from launchlab.trends.detect import trend_statistics
    from launchlab.trends.stage import _in_chunks

    train = _white_noise(7).sort_values(["unique_id", "ds"], ignore_index=True)
    whole = trend_statistics(train, 12)
    chunked = _in_chunks(lambda part: trend_statistics(part, 12), train, max_rows=100)
    pd.testing.assert_frame_equal(chunked, whole)
