"""A/B readout: statistics against scipy/statsmodels, data checks, SRM, errors, decision."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import multitest, proportion

from launchlab.errors import InputError
from launchlab.incubation import ABConfig, decide, read_out_ab
from launchlab.schemas import SOURCE_ROW


def _binary_frame(rates: dict[str, float], n: dict[str, int] | int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for v, r in rates.items():
        k = n[v] if isinstance(n, dict) else n
        parts.append(pd.DataFrame({"variant": v, "converted": (rng.random(k) < r).astype(int)}))
    out = pd.concat(parts, ignore_index=True)
    out["user_id"] = np.arange(len(out))
    return out


def _continuous_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame({"variant": "control", "revenue": rng.gamma(2.0, 10.0, 800)}),
        pd.DataFrame({"variant": "b", "revenue": rng.gamma(2.1, 10.0, 750)}),
        pd.DataFrame({"variant": "c", "revenue": rng.normal(20.0, 30.0, 900)}),
    ]
    return pd.concat(parts, ignore_index=True)


def test_welch_matches_scipy_to_1e9():
    df = _continuous_frame()
    res = read_out_ab(df, config=ABConfig(metric_col="revenue"))
    ro = res.artifacts["readout.json"]
    assert ro["metric_type"] == "continuous" and ro["control"] == "control"
    ctrl = df.loc[df.variant == "control", "revenue"].to_numpy()
    for v in ("b", "c"):
        x = df.loc[df.variant == v, "revenue"].to_numpy()
        ref = stats.ttest_ind(x, ctrl, equal_var=False)
        ci = ref.confidence_interval(0.95)
        e = ro["variants"][v]
        assert e["p_value"] == pytest.approx(ref.pvalue, abs=1e-9, rel=1e-9)
        assert e["ci_low"] == pytest.approx(ci.low, abs=1e-9)
        assert e["ci_high"] == pytest.approx(ci.high, abs=1e-9)
        assert e["lift_abs"] == pytest.approx(x.mean() - ctrl.mean(), abs=1e-12)
        assert e["lift_rel"] == pytest.approx(x.mean() / ctrl.mean() - 1, abs=1e-12)
        assert e["n"] == x.size and e["mean"] == pytest.approx(x.mean(), abs=1e-12)


def test_two_proportion_matches_scipy_and_statsmodels_to_1e9():
    df = _binary_frame({"control": 0.10, "treatment": 0.115}, {"control": 6000, "treatment": 5800})
    e = read_out_ab(df).artifacts["readout.json"]["variants"]["treatment"]
    x = df.groupby("variant")["converted"].agg(["sum", "count"])
    table = np.array([[x.loc[v, "sum"], x.loc[v, "count"] - x.loc[v, "sum"]] for v in ("treatment", "control")])
    chi2_p = stats.chi2_contingency(table, correction=False)[1]
    assert e["p_value"] == pytest.approx(chi2_p, abs=1e-9, rel=1e-9)
    p1 = x.loc["treatment", "sum"] / x.loc["treatment", "count"]
    p0 = x.loc["control", "sum"] / x.loc["control", "count"]
    se = np.sqrt(p1 * (1 - p1) / x.loc["treatment", "count"] + p0 * (1 - p0) / x.loc["control", "count"])
    z = stats.norm.ppf(0.975)
    assert e["ci_low"] == pytest.approx(p1 - p0 - z * se, abs=1e-12)
    assert e["ci_high"] == pytest.approx(p1 - p0 + z * se, abs=1e-12)

    count = [x.loc["treatment", "sum"], x.loc["control", "sum"]]
    nobs = [x.loc["treatment", "count"], x.loc["control", "count"]]
    assert e["p_value"] == pytest.approx(proportion.proportions_ztest(count, nobs)[1], abs=1e-9)
    lo, hi = proportion.confint_proportions_2indep(count[0], nobs[0], count[1], nobs[1], method="wald", compare="diff")
    assert (e["ci_low"], e["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)


def test_holm_adjustment_matches_statsmodels():
    df = _binary_frame({"control": 0.10, "a": 0.112, "b": 0.10, "c": 0.125}, 3000, seed=3)
    ro = read_out_ab(df).artifacts["readout.json"]
    raw = [ro["variants"][v]["p_value"] for v in ("a", "b", "c")]
    adj = [ro["variants"][v]["p_value_adj"] for v in ("a", "b", "c")]
    ref = multitest.multipletests(raw, method="holm")[1]
    np.testing.assert_allclose(adj, ref, atol=1e-12)
    for v in ("a", "b", "c"):
        e = ro["variants"][v]
        assert e["significant"] == (e["p_value_adj"] < 0.05)
    assert ro["correction"] == "holm"


def test_aggregated_input_equals_unit_level():
    df = _binary_frame({"control": 0.08, "treatment": 0.095}, 4000, seed=5)
    unit = read_out_ab(df).artifacts["readout.json"]
    # Daily counts: several rows per variant are pooled.
    df["day"] = np.arange(len(df)) % 3
    agg = df.groupby(["variant", "day"])["converted"].agg(conversions="sum", n="count").reset_index()
    res = read_out_ab(agg, config=ABConfig(metric_col="conversions", n_col="n"))
    ro = res.artifacts["readout.json"]
    assert ro["metric_type"] == "binary" and ro["units"] == len(df)
    for k in ("n", "mean", "lift_abs", "ci_low", "ci_high", "p_value"):
        assert ro["variants"]["treatment"][k] == pytest.approx(unit["variants"]["treatment"][k], rel=1e-12)
    assert ro["srm_p_value"] == pytest.approx(unit["srm_p_value"], rel=1e-12)
    assert res.metrics["rows_in"] == len(agg) == res.metrics["rows_used"]

    cont = _continuous_frame()
    cont["day"] = np.arange(len(cont)) % 4
    sums = cont.groupby(["variant", "day"])["revenue"].agg(total="sum", n="count", sd="std").reset_index()
    ro = read_out_ab(sums, config=ABConfig(metric_col="total", n_col="n", std_col="sd")).artifacts["readout.json"]
    ref = read_out_ab(cont, config=ABConfig(metric_col="revenue")).artifacts["readout.json"]
    for v in ("b", "c"):
        for k in ("mean", "lift_abs", "ci_low", "ci_high", "p_value"):
            assert ro["variants"][v][k] == pytest.approx(ref["variants"][v][k], rel=1e-9, abs=1e-12)


def test_aggregated_bad_counts_raise():
    good = pd.DataFrame({"variant": ["control", "treatment"], "n": [100, 100], "conversions": [10, 12]})
    bad = good.assign(n=[100, -5])
    with pytest.raises(InputError, match="negative count") as err:
        read_out_ab(bad, config=ABConfig(metric_col="conversions", n_col="n"))
    assert err.value.row == 2 and err.value.column == "n"
    with pytest.raises(InputError, match="more conversions than units"):
        read_out_ab(good.assign(conversions=[10, 120]), config=ABConfig(metric_col="conversions", n_col="n"))
    with pytest.raises(InputError, match="std_col"):
        read_out_ab(good, config=ABConfig(metric_col="conversions", n_col="n", metric_type="continuous"))


def test_srm_detects_60_40_split():
    df = _binary_frame({"control": 0.1, "treatment": 0.1}, {"control": 6000, "treatment": 4000})
    ro = read_out_ab(df).artifacts["readout.json"]
    assert ro["srm_alarm"] is True and ro["srm_p_value"] < 1e-50
    assert ro["srm_p_value"] == pytest.approx(stats.chisquare([6000, 4000]).pvalue, rel=1e-9)
    assert ro["decision"] == "iterate"
    assert "sample ratio mismatch" in ro["reasons"][0]
    # The same counts are fine when 60/40 was the plan.
    planned = read_out_ab(df, config=ABConfig(planned_split={"control": 3, "treatment": 2})).artifacts["readout.json"]
    assert planned["srm_alarm"] is False and planned["srm_p_value"] == pytest.approx(1.0)
    fair = _binary_frame({"control": 0.1, "treatment": 0.1}, {"control": 5020, "treatment": 4980})
    assert read_out_ab(fair).artifacts["readout.json"]["srm_alarm"] is False


def test_quarantine_cross_arm_duplicates_and_nan():
    df = _binary_frame({"control": 0.2, "treatment": 0.3}, 200, seed=7)
    df[SOURCE_ROW] = np.arange(1, len(df) + 1)
    # unit 0 also appears in treatment (two extra rows), unit 1 is logged twice, unit 2 has no metric.
    extra = pd.DataFrame(
        {"variant": ["treatment", "treatment", "control"], "converted": [1, 0, 0], "user_id": [0, 0, 1],
         SOURCE_ROW: [401, 402, 403]}
    )
    df = pd.concat([df, extra], ignore_index=True).astype({"converted": "float64"})
    df.loc[2, "converted"] = np.nan
    res = read_out_ab(df, config=ABConfig(unit_col="user_id"), source="exp.csv")
    ro = res.artifacts["readout.json"]
    q = res.quarantine
    assert ro["rows_in"] == len(df) == ro["rows_used"] + ro["rows_quarantined"]
    assert res.metrics["rows_in"] == res.metrics["rows_used"] + res.metrics["rows_quarantined"]
    assert sorted(q.loc[q.reason.str.startswith("unit in more than one variant"), SOURCE_ROW]) == [1, 401, 402]
    assert list(q.loc[q.reason.str.startswith("duplicate unit"), SOURCE_ROW]) == [403]
    assert list(q.loc[q.reason.str.startswith("missing value"), SOURCE_ROW]) == [3]
    assert ro["rows_quarantined"] == 5 and set(q.columns) == set(df.columns) | {"reason"}
    clean = df[~df[SOURCE_ROW].isin([1, 401, 402, 403, 3])]
    for v in ("control", "treatment"):
        vals = clean.loc[clean.variant == v, "converted"]
        assert ro["variants"][v]["n"] == len(vals)
        assert ro["variants"][v]["mean"] == pytest.approx(vals.mean(), abs=1e-12)


def test_single_variant_and_missing_columns_raise():
    df = _binary_frame({"control": 0.2, "treatment": 0.3}, 50)
    with pytest.raises(InputError, match="only one variant") as err:
        read_out_ab(df[df.variant == "control"], source="exp.csv")
    assert err.value.column == "variant" and "exp.csv" in str(err.value)
    with pytest.raises(InputError, match="missing column 'arm'") as err:
        read_out_ab(df, config=ABConfig(variant_col="arm"))
    assert "'converted'" in str(err.value) and "'user_id'" in str(err.value)
    with pytest.raises(InputError, match="missing column 'sales'"):
        read_out_ab(df, config=ABConfig(metric_col="sales"))
    with pytest.raises(InputError, match="missing column 'uid'"):
        read_out_ab(df, config=ABConfig(unit_col="uid"))
    with pytest.raises(InputError, match="control variant 'ctl'"):
        read_out_ab(df, config=ABConfig(control="ctl"))
    with pytest.raises(InputError, match="no planned share"):
        read_out_ab(df, config=ABConfig(planned_split={"control": 1.0}))
    with pytest.raises(InputError, match="no usable rows"):
        read_out_ab(df, config=ABConfig(planned_split={"control": 1.0, "treatment": 1.0, "c": 1.0}))
    with pytest.raises(InputError, match="no rows"):
        read_out_ab(df.iloc[:0])


def test_binary_auto_detection_and_bad_binary_values():
    df = _binary_frame({"control": 0.2, "treatment": 0.3}, 300, seed=11)
    ints = read_out_ab(df).artifacts["readout.json"]
    assert ints["metric_type"] == "binary" and ints["test"] == "two-proportion z-test"
    as_bool = read_out_ab(df.assign(converted=df.converted.astype(bool))).artifacts["readout.json"]
    as_text = read_out_ab(df.assign(converted=df.converted.map({1: "TRUE", 0: "FALSE"}))).artifacts["readout.json"]
    as_words = read_out_ab(df.assign(converted=df.converted.map({1: "yes", 0: "No"}))).artifacts["readout.json"]
    for other in (as_bool, as_text, as_words):
        assert other["metric_type"] == "binary"
        assert other["variants"]["treatment"]["p_value"] == pytest.approx(ints["variants"]["treatment"]["p_value"])
    counts = df.assign(converted=df.converted * 2 + (df.index % 2))
    assert read_out_ab(counts).artifacts["readout.json"]["metric_type"] == "continuous"
    forced = read_out_ab(df, config=ABConfig(metric_type="continuous")).artifacts["readout.json"]
    assert forced["test"] == "Welch t-test"

    bad = df.assign(converted=df.converted.astype(float))
    bad.loc[17, "converted"] = 2.0
    bad[SOURCE_ROW] = np.arange(2, len(bad) + 2)
    with pytest.raises(InputError, match="not 0/1") as err:
        read_out_ab(bad, config=ABConfig(metric_type="binary"), source="exp.csv")
    assert err.value.row == 19 and err.value.column == "converted"
    text = df.astype({"converted": object})
    text.loc[5, "converted"] = "maybe"
    with pytest.raises(InputError, match="not a number") as err:
        read_out_ab(text)
    assert err.value.row == 6


def test_control_default_and_readout_shape():
    df = _binary_frame({"a_new": 0.3, "z_old": 0.2}, 400, seed=2)
    res = read_out_ab(df)
    ro = res.artifacts["readout.json"]
    assert ro["control"] == "a_new" and "first variant in sorted order" in ro["control_rule"]
    assert any("control not given" in w for w in res.warnings)
    labelled = _binary_frame({"treatment": 0.3, "control": 0.2}, 400, seed=2)
    assert read_out_ab(labelled).artifacts["readout.json"]["control"] == "control"

    ro = read_out_ab(labelled).artifacts["readout.json"]
    json.dumps(ro, allow_nan=False)
    ctrl = ro["variants"]["control"]
    assert ctrl["lift_abs"] is None and ctrl["p_value"] is None and ctrl["significant"] is False
    assert set(ro) >= {"metric", "metric_type", "control", "variants", "srm_p_value", "srm_alarm", "decision",
                       "reasons", "rows_in", "rows_used", "rows_quarantined"}
    for k in ("n", "mean", "lift_abs", "lift_rel", "ci_low", "ci_high", "p_value", "significant"):
        assert k in ro["variants"]["treatment"]
    table = read_out_ab(labelled).tables["readout"]
    assert list(table.variant) == ["control", "treatment"] and table["lift_abs"].isna().tolist() == [True, False]
    metrics = read_out_ab(labelled).metrics
    assert {"srm_p_value", "lift_abs_treatment", "lift_rel_treatment", "p_value_treatment", "rows_in"} <= set(metrics)
    pickle.dumps(read_out_ab(labelled))


def test_variant_labels_with_spaces_and_numbers():
    df = _binary_frame({"No E-Mail": 0.1, "Mens E-Mail": 0.2}, 500, seed=4)
    res = read_out_ab(df, config=ABConfig(control="No E-Mail"))
    assert "lift_rel_mens_e_mail" in res.metrics
    nums = _binary_frame({1: 0.1, 2: 0.2, 3: 0.1}, 300, seed=4)
    nums["variant"] = nums["variant"].astype(float)
    ro = read_out_ab(nums).artifacts["readout.json"]
    assert ro["control"] == "1" and set(ro["variants"]) == {"1", "2", "3"}


def test_decision_scale_stop_iterate():
    up = _binary_frame({"control": 0.10, "treatment": 0.14}, 5000, seed=8)
    ro = read_out_ab(up).artifacts["readout.json"]
    assert ro["decision"] == "scale" and "treatment vs control" in ro["reasons"][0]
    down = _binary_frame({"control": 0.14, "treatment": 0.10}, 5000, seed=8)
    assert read_out_ab(down).artifacts["readout.json"]["decision"] == "stop"
    null = _binary_frame({"control": 0.10, "treatment": 0.10}, 2000, seed=9)
    ro = read_out_ab(null).artifacts["readout.json"]
    assert ro["decision"] == "iterate" and any("inconclusive" in r for r in ro["reasons"])
    # Lower-is-better metric: a drop is a win.
    assert read_out_ab(down, config=ABConfig(higher_is_better=False)).artifacts["readout.json"]["decision"] == "scale"
    # A real but small lift below the worthwhile threshold does not scale.
    small = read_out_ab(up, config=ABConfig(min_lift_rel=0.8)).artifacts["readout.json"]
    assert small["decision"] == "stop"
    assert decide(read_out_ab(up))["decision"] == "scale"


def test_metric_without_variation_is_reported_not_tested():
    df = pd.DataFrame({"variant": ["control"] * 10 + ["treatment"] * 10, "converted": [0] * 20})
    ro = read_out_ab(df, config=ABConfig(sequential=True)).artifacts["readout.json"]
    json.dumps(ro, allow_nan=False)
    assert ro["decision"] == "iterate" and ro["variants"]["treatment"]["p_value"] is None
    assert any("does not vary within the arms" in r for r in ro["reasons"])
