"""Segment effects: adjusted p-values, shrinkage, heterogeneity tests, interval coverage (seeded)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from launchlab.errors import InputError
from launchlab.incubation import SegmentConfig, stats as st
from launchlab.incubation.segments import OTHER, estimate_segments, segment_levels
from launchlab.incubation.simulate import simulate_experiment, true_segment_effects

SEGMENT_COLS = ["channel", "past_buyer", "recency"]
BANDS = {"recency": [4, 7, 10]}


def _config(**kw) -> SegmentConfig:
    return SegmentConfig(variant_col="variant", metric_col="converted", control="control",
                         segment_cols=SEGMENT_COLS, bands=BANDS, **kw)


def test_benjamini_hochberg_equals_statsmodels():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, size=10)])
    ours = st.benjamini_hochberg(p.tolist())
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    with_nan = st.benjamini_hochberg([0.01, float("nan"), 0.04])
    assert np.isnan(with_nan[1]) and with_nan[0] == pytest.approx(0.02) and with_nan[2] == pytest.approx(0.04)


def test_random_effects_equal_statsmodels_dersimonian_laird():
    rng = np.random.default_rng(4)
    d, v = rng.normal(0.03, 0.02, size=8), rng.uniform(1e-4, 4e-4, size=8)
    ours = st.random_effects(d, v)
    ref = combine_effects(d, v, method_re="dl")
    assert ours.tau2 == pytest.approx(ref.tau2, rel=1e-9)
    assert ours.q == pytest.approx(ref.q, rel=1e-9)
    assert ours.mean == pytest.approx(ref.mean_effect_fe, rel=1e-9)


def test_shrinkage_pulls_a_small_lucky_segment_towards_the_overall_effect():
    d = np.array([0.030, 0.032, 0.028, 0.031, 0.15])  # the last one is small and lucky
    v = np.array([1e-5, 1e-5, 1e-5, 1e-5, 4e-3])
    est, sd, b = st.shrink(d, v, target=0.03, tau2=st.random_effects(d, v).tau2)
    assert est[-1] < 0.095 and b[-1] > 0.45  # about half of the lucky 12 points is noise (k = 5 caps B at 1/2)
    assert np.all(np.abs(est[:4] - d[:4]) < 0.002)  # precise segments barely move
    assert np.all(sd > 0)
    est3, sd3, b3 = st.shrink(d[:3], v[:3], target=0.03, tau2=0.0)
    assert np.all(b3 == 0) and np.allclose(est3, d[:3])  # too few segments to learn a spread


def test_interaction_test_keeps_its_size_and_finds_real_heterogeneity():
    rng = np.random.default_rng(5)
    rejections, power = 0, 0
    sims = 400
    for i in range(sims):
        x = rng.integers(0, 4, size=(3000, 2))
        X = np.hstack([(x[:, [0]] == k).astype(float) for k in (1, 2, 3)] + [(x[:, [1]] == k) * 1.0 for k in (1, 2)])
        t = rng.random(3000) < 0.5
        p0 = 0.08 + 0.03 * x[:, 0]
        y_null = (rng.random(3000) < p0 + 0.03 * t).astype(float)
        rejections += st.interaction_test(X[t], y_null[t], X[~t], y_null[~t])[2] < 0.05
        if i < 50:
            y_alt = (rng.random(3000) < p0 + t * (0.01 + 0.12 * (x[:, 1] == 2))).astype(float)
            power += st.interaction_test(X[t], y_alt[t], X[~t], y_alt[~t])[2] < 0.05
    assert 0.025 <= rejections / sims <= 0.075
    assert power / 50 >= 0.8


def test_segment_table_on_a_simulated_experiment():
    data = simulate_experiment(8000, seed=11)
    res = estimate_segments(data, config=_config())
    seg = res.tables["segments"]
    assert set(seg["column"]) == set(SEGMENT_COLS)
    assert set(seg.loc[seg["column"] == "recency", "level"]) == {"< 4", "4-<7", "7-<10", ">= 10"}
    assert (seg["ci_low"] <= seg["lift_abs"]).all() and (seg["lift_abs"] <= seg["ci_high"]).all()
    assert (seg["p_value_adj"] >= seg["p_value"] - 1e-12).all()
    # the generator makes past buyers respond more: found, with the difference's interval above 0
    buyer = seg[(seg["column"] == "past_buyer") & (seg["level"] == "1")].iloc[0]
    assert buyer["differs"] and buyer["diff_ci_low"] > 0
    het = res.tables["heterogeneity"]
    assert het.loc[het["column"] == "(all columns)", "p_value"].iloc[0] < 1e-3
    m = res.metrics
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] + m["rows_other_arms"]
    assert res.artifacts["segments.json"]["correction"] == "Benjamini-Hochberg"
    assert any("past_buyer = 1" in f for f in res.artifacts["segments.json"]["treatments"]["treatment"]["findings"])


def _coverage(sims: int, n: int) -> tuple[float, float]:
    cfg = _config()
    truth = true_segment_effects({"channel": None, "past_buyer": None,
                                  "recency": lambda s: segment_levels(s, "recency", cfg)}, n=400_000)
    truth = truth.set_index(["column", "level"])["true_lift"]
    hits_raw, hits_shrunk, total = 0, 0, 0
    for seed in range(sims):
        seg = estimate_segments(simulate_experiment(n, seed=100 + seed), config=cfg).tables["segments"]
        true = truth.loc[list(zip(seg["column"], seg["level"]))].to_numpy()
        hits_raw += int(((seg["ci_low"] <= true) & (true <= seg["ci_high"])).sum())
        hits_shrunk += int(((seg["shrunk_ci_low"] <= true) & (true <= seg["shrunk_ci_high"])).sum())
        total += len(seg)
    return hits_raw / total, hits_shrunk / total


def test_segment_intervals_cover_the_true_segment_effects():
    raw, shrunk = _coverage(sims=25, n=5000)
    assert 0.92 <= raw <= 0.98
    assert 0.90 <= shrunk <= 0.99


@pytest.mark.slow
def test_segment_interval_coverage_many_experiments():
    raw, shrunk = _coverage(sims=80, n=8000)
    assert 0.93 <= raw <= 0.97
    assert 0.92 <= shrunk <= 0.98


def test_numeric_columns_are_banded_and_small_levels_pooled():
    data = simulate_experiment(3000, seed=2)
    data["spend_band"] = data["spend"]
    data["tiny"] = np.where(np.arange(len(data)) < 20, "rare", "common")
    res = estimate_segments(data, config=SegmentConfig(variant_col="variant", metric_col="converted",
                                                       segment_cols=["spend_band", "tiny"], n_bands=3))
    seg = res.tables["segments"]
    assert (seg["column"] == "spend_band").sum() == 3
    assert set(seg.loc[seg["column"] == "tiny", "level"]) == {"common", OTHER}


def test_missing_values_are_quarantined_and_counted():
    data = simulate_experiment(2000, seed=3)
    data.loc[:9, "channel"] = None
    data.loc[10:14, "converted"] = np.nan
    res = estimate_segments(data, config=_config())
    assert res.metrics["rows_quarantined"] == 15
    assert res.quarantine["reason"].str.contains("channel").sum() == 10
    assert res.metrics["rows_used"] == 1985


def test_bad_input_is_one_clear_error():
    data = simulate_experiment(500, seed=4)
    with pytest.raises(InputError, match="missing column 'region'"):
        estimate_segments(data, config=_config().model_copy(update={"segment_cols": ["region"]}))
    with pytest.raises(InputError, match="no segment columns given"):
        estimate_segments(data, config=_config().model_copy(update={"segment_cols": []}))
    with pytest.raises(InputError, match="only one variant"):
        estimate_segments(data[data["variant"] == "control"], config=_config())
    with pytest.raises(InputError, match="not among"):
        estimate_segments(data, config=_config().model_copy(update={"treatments": ["nope"]}))
    text = data.assign(converted=data["converted"].astype(str))
    text.loc[5, "converted"] = "lots"
    with pytest.raises(InputError, match="row 6, column 'converted'"):
        estimate_segments(text, config=_config())


def test_continuous_outcome_uses_welch():
    data = simulate_experiment(3000, seed=6)
    data["revenue"] = data["converted"] * data["spend"] * 0.2
    res = estimate_segments(data, config=_config().model_copy(update={"metric_col": "revenue"}))
    assert res.artifacts["segments.json"]["metric_type"] == "continuous"
    assert res.tables["segments"]["se"].gt(0).all()
