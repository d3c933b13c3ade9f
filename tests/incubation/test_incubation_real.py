"""Readouts on real public experiments (../shared/data, skipped only when that folder is absent) and on
the adoption curves bundled in data/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from launchlab.incubation import ABConfig, BassConfig, fit_bass, read_out_ab

DATA = Path(__file__).parents[2] / "data"


def test_cookie_cats_day7_retention_with_text_booleans(shared_data):
    # Read as text so retention_7 is the file's literal TRUE/FALSE strings.
    df = pd.read_csv(shared_data / "launch" / "cookie_cats_ab.csv", dtype={"retention_7": str, "retention_1": str})
    assert set(df["retention_7"]) == {"TRUE", "FALSE"}
    res = read_out_ab(df, config=ABConfig(variant_col="version", metric_col="retention_7", unit_col="userid",
                                          control="gate_30"))
    ro = res.artifacts["readout.json"]
    v30, v40 = ro["variants"]["gate_30"], ro["variants"]["gate_40"]
    assert (v30["n"], v40["n"]) == (44_700, 45_489)
    assert round(v30["mean"], 3) == 0.190 and round(v40["mean"], 3) == 0.182
    assert ro["metric_type"] == "binary" and res.metrics["rows_quarantined"] == 0
    x = np.array([[v40["mean"] * v40["n"], v40["n"]], [v30["mean"] * v30["n"], v30["n"]]])
    ref = stats.chi2_contingency(np.column_stack([x[:, 0], x[:, 1] - x[:, 0]]), correction=False)[1]
    assert v40["p_value"] == pytest.approx(ref, abs=1e-9)
    assert v40["lift_abs"] == pytest.approx(-0.0082, abs=1e-4)
    assert v40["ci_high"] < 0 and v40["significant"]
    assert ro["srm_alarm"] is False  # p ≈ 0.009: uneven, but not below GrowthBook's 0.001
    assert ro["decision"] == "stop"


def test_hillstrom_visit_and_conversion_rates(shared_data):
    df = pd.read_csv(shared_data / "launch" / "hillstrom_email_experiment.csv")
    published = {
        "visit": {"Mens E-Mail": 0.1828, "Womens E-Mail": 0.1514, "No E-Mail": 0.1062},
        "conversion": {"Mens E-Mail": 0.0125, "Womens E-Mail": 0.0088, "No E-Mail": 0.0057},
    }
    for metric, rates in published.items():
        ro = read_out_ab(df, config=ABConfig(variant_col="segment", metric_col=metric, control="No E-Mail"))
        ro = ro.artifacts["readout.json"]
        assert ro["correction"] == "holm"
        for arm, rate in rates.items():
            assert round(ro["variants"][arm]["mean"], 4) == rate
        for arm in ("Mens E-Mail", "Womens E-Mail"):
            e = ro["variants"][arm]
            assert e["lift_abs"] == pytest.approx(rates[arm] - rates["No E-Mail"], abs=1e-4)
            assert e["significant"] and e["ci_low"] > 0
        assert ro["decision"] == "scale"


def test_assassins_creed_bass_fits():
    wide = pd.read_csv(DATA / "assassins_creed_weekly_sales.csv")
    long = wide.reset_index().melt(id_vars="index", var_name="unique_id", value_name="y")
    long = long.rename(columns={"index": "ds"})
    res = fit_bass(long, config=BassConfig(n_bootstrap=50))
    fits = res.artifacts["bass.json"]
    assert set(fits) == {f"ac{i}" for i in range(1, 9)}
    for sid, f in fits.items():
        observed = wide[sid][wide[sid] > 0]
        assert f["n_points"] == len(observed)
        assert f["m"] >= observed.sum() * 0.999
        assert f["peak_period"] <= 2  # game sales peak in launch week
        assert f["r2"] > 0.5
    assert res.metrics["rows_in"] == res.metrics["rows_used"] + res.metrics["rows_quarantined"]


def test_ibm_mainframe_bass_fits():
    wide = pd.read_csv(DATA / "ibm_mainframe_generations.csv")
    long = wide.reset_index().melt(id_vars="index", var_name="unique_id", value_name="y")
    res = fit_bass(long.rename(columns={"index": "ds"}), config=BassConfig(n_bootstrap=50))
    for sid, f in res.artifacts["bass.json"].items():
        actual_peak = int(np.argmax(wide[sid].to_numpy()[wide[sid].to_numpy() > 0])) + 1
        assert abs(f["peak_period"] - actual_peak) <= 1, sid
        assert f["r2"] > 0.85 and 0 < f["p"] < 0.1 and 0.2 < f["q"] < 1.0


def test_bundled_demo_experiment():
    df = pd.read_csv(DATA / "launch_experiment.csv")
    res = read_out_ab(df, config=ABConfig(unit_col="user_id"))
    ro = res.artifacts["readout.json"]
    assert ro["rows_quarantined"] == 100  # 30 crossed visitors (60 rows) + 40 double-logged rows
    assert ro["srm_alarm"] is False and ro["decision"] == "scale"
    assert ro["variants"]["treatment"]["n"] + ro["variants"]["control"]["n"] == 19_970
