"""Routing sees regime changes: a series non-zero since a long run of zeros is new, not intermittent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from launchlab.trends import Forecaster, TrendsConfig, forecast_trends, need_series
from launchlab.trends.models import LEVEL_MODELS

BEAUTY = Path(__file__).parents[2] / ".." / "shared" / "data" / "reviews" / "amazon2018_all_beauty_5core.json.gz"


def _members(label: str) -> set[str]:
    return set(label.removeprefix("mean(").rstrip(")").split(","))


def _monthly(uid: str, y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2014-01-01", periods=len(y), freq="MS"), "y": y})


def test_ramp_after_years_of_zeros_is_new_and_forecast_rises_while_sporadic_stays_intermittent():
    rng = np.random.default_rng(0)
    ramp = np.r_[np.zeros(41), rng.poisson(np.linspace(3, 40, 12))].astype(float)
    sporadic = rng.poisson(0.25, 53).astype(float)
    sporadic[20:34] = 0.0  # a long silence inside sporadic demand ends no regime
    sporadic[40] = 1.0
    frame = pd.concat([_monthly("ramp", ramp), _monthly("sporadic", sporadic)], ignore_index=True)
    result = forecast_trends(frame, config=TrendsConfig(horizon=6))
    trends = result.tables["trends"].set_index("unique_id")
    est = result.models["launchlab-forecaster"]
    routes = est.routes_.set_index("unique_id")

    assert trends.loc["ramp", "route"] == "new"
    assert routes.loc["ramp", "regime_start"] == pd.Timestamp("2017-06-01")  # the first month of the ramp
    assert routes.loc["ramp", "n_fit"] == 12
    assert not _members(trends.loc["ramp", "model"]) & LEVEL_MODELS
    fc = result.tables["forecasts"].set_index("unique_id").loc["ramp"]
    recent = ramp[-3:].mean()
    assert fc["yhat"].mean() > 0.9 * recent > 30  # not flattened to the ramp's average (~21)
    assert fc["yhat"].iloc[-1] >= fc["yhat"].iloc[0]

    assert trends.loc["sporadic", "route"] == "intermittent"
    assert routes.loc["sporadic", "regime_start"] == pd.Timestamp("2014-01-01")
    assert routes.loc["sporadic", "n_fit"] == 53


def test_a_restart_after_a_long_gap_is_fitted_on_the_new_regime_only():
    rng = np.random.default_rng(1)
    # Sold at ~200 a week for two years, withdrawn for 40 weeks, relaunched at ~50 a week.
    y = np.r_[rng.normal(200, 10, 104), np.zeros(40), rng.normal(50, 3, 30)].clip(0)
    frame = pd.DataFrame({"unique_id": "relaunch", "ds": pd.date_range("2020-01-06", periods=len(y), freq="W-MON"), "y": y})
    est = Forecaster(candidates=()).fit(frame)
    route = est.routes_.iloc[0]
    assert route["route"] == "new" and route["n_fit"] == 30
    fc = est.predict(8)
    assert 40 < fc["yhat"].mean() < 60  # the old level (200) and the zeros (0) are left out of the fit


def test_short_runs_of_zeros_do_not_cut_history():
    rng = np.random.default_rng(2)
    y = rng.poisson(20, 60).astype(float)
    y[30:38] = 0.0  # eight silent months: shorter than the regime gap (half a season, at least min_length)
    est = Forecaster(candidates=()).fit(_monthly("dip", y))
    route = est.routes_.iloc[0]
    assert route["route"] == "regular" and route["n_fit"] == 60 and route["regime_from"] == 0


def test_planted_need_in_real_beauty_reviews_is_routed_new_and_forecast_follows_its_ramp():
    # Dated Amazon All_Beauty reviews, 2014-01 to 2018-05: each of the ten most reviewed products
    # is a real need series (regular ones and sporadic ones); a planted need is absent for 41
    # months, then ramps to ~40 reviews a month over the last 12 (issue 13's experiment).
    raw = pd.read_json(BEAUTY, lines=True)
    dates = pd.to_datetime(raw["unixReviewTime"], unit="s")
    raw = raw[(dates >= "2014-01-01") & (dates < "2018-06-01")]
    top = raw["asin"].value_counts().index[:10]
    real = raw[raw["asin"].isin(top)]
    reviews = pd.DataFrame(
        {"need_id": pd.Categorical(real["asin"], categories=top).codes, "date": pd.to_datetime(real["unixReviewTime"], unit="s")}
    )
    rng = np.random.default_rng(13)
    counts = rng.poisson(np.linspace(2, 40, 12))
    months = pd.date_range("2017-06-01", periods=12, freq="MS")
    planted = pd.DataFrame(
        {
            "need_id": 99,
            "date": [m + pd.Timedelta(days=int(d)) for m, c in zip(months, counts) for d in rng.integers(0, 28, c)],
        }
    )
    series = need_series(pd.concat([reviews, planted], ignore_index=True))
    assert series.attrs["freq"] == "MS" and series["ds"].nunique() == 53
    result = forecast_trends(series, config=TrendsConfig(horizon=6))
    trends = result.tables["trends"].set_index("unique_id")

    assert trends.loc["need-99", "route"] == "new"
    assert not _members(trends.loc["need-99", "model"]) & LEVEL_MODELS
    fc = result.tables["forecasts"].set_index("unique_id").loc["need-99", "yhat"]
    assert fc.mean() > 0.9 * counts[-3:].mean() and fc.mean() > 30  # the flat intermittent forecast was 20.8
    # The real products keep their routes: sporadic ones are still intermittent, none is "new".
    real_routes = trends.drop(index="need-99")["route"]
    assert "intermittent" in set(real_routes) and "new" not in set(real_routes)


def test_sporadic_demand_turning_dense_is_a_new_regime_not_flattened():
    rng = np.random.default_rng(3)
    # Two years of sporadic mentions, then a climb from a low base: zeros thin out, counts rise.
    early = rng.poisson(0.2, 36).astype(float)
    early[::6] = np.maximum(early[::6], 1.0)  # a mention every half year at least: no long silence
    climb = rng.poisson(np.linspace(1.5, 12, 14)).astype(float)
    climb[0] = max(climb[0], 1.0)
    y = np.r_[early, climb]
    est = Forecaster(candidates=()).fit(_monthly("climb", y))
    route = est.routes_.iloc[0]
    assert route["route"] == "new" and 10 <= route["n_fit"] <= 24  # the recent dense run, not the 36 sporadic months
    fc = est.predict(6)
    assert fc["yhat"].mean() > 0.8 * y[-3:].mean()
    # The same sporadic start without the climb stays intermittent.
    flat = Forecaster(candidates=()).fit(_monthly("flat", np.r_[early, rng.poisson(0.2, 14)]))
    assert flat.routes_.iloc[0]["route"] == "intermittent"


def test_level_models_are_told_apart_from_trend_capable_ones():
    from launchlab.trends.models import KNOWN_MODELS, expresses_trend

    assert LEVEL_MODELS <= set(KNOWN_MODELS)
    assert expresses_trend("mean(AutoETSDamped,DynamicOptimizedTheta)") and expresses_trend("mean(CrostonSBA,AutoETS)")
    assert not expresses_trend("mean(ADIDA,IMAPA,TSB)") and not expresses_trend("Naive")
