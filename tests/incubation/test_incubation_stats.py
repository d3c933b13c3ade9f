"""Issue-6 statistics: seeded A/A and coverage simulations (vectorised), ratio metrics, CUPED,
Bayesian summaries, always-valid sequential inference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from launchlab.incubation import ABConfig, read_out_ab
from launchlab.incubation import stats as st

ALPHA = 0.05


def _binary_looks(sims: int, looks: int, per_look: int, p_c: float, p_t: float, seed: int):
    rng = np.random.default_rng(seed)
    x_c = rng.binomial(per_look, p_c, size=(sims, looks)).cumsum(axis=1)
    x_t = rng.binomial(per_look, p_t, size=(sims, looks)).cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    return st.binary_summary(x_t, n), st.binary_summary(x_c, n)


def test_aa_fixed_horizon_false_positive_rate_and_peeking():
    """4,000 A/A tests with 20 daily looks: fixed horizon 4–6%; naive peeking inflates it;
    the always-valid readout keeps it at or below 5%."""
    t, c = _binary_looks(sims=4000, looks=20, per_look=250, p_c=0.10, p_t=0.10, seed=20260301)
    comp = st.compare_proportions(t, c, ALPHA)
    fixed = float((comp.p_value[:, -1] < ALPHA).mean())
    naive = float((comp.p_value < ALPHA).any(axis=1).mean())
    var = comp.se**2
    tau2 = st.msprt_tau2(var[:, -1:], ALPHA)
    p_seq = np.minimum.accumulate(st.msprt_pvalue(comp.diff, var, tau2), axis=1)
    sequential = float((p_seq[:, -1] < ALPHA).mean())
    half = st.msprt_halfwidth(var, tau2, ALPHA)
    cs_miss = float((np.abs(comp.diff) > half).any(axis=1).mean())
    print(f"A/A FPR: fixed {fixed:.3f}, naive 20 looks {naive:.3f}, mSPRT {sequential:.3f}, CS miss {cs_miss:.3f}")
    assert 0.04 <= fixed <= 0.06
    assert naive > 0.10
    assert sequential <= 0.05
    assert cs_miss <= 0.05


def test_aa_welch_false_positive_rate():
    rng = np.random.default_rng(11)
    a = rng.lognormal(2.0, 0.8, size=(4000, 300))
    b = rng.lognormal(2.0, 0.8, size=(4000, 300))
    fpr = float((st.compare_welch(st.summarise(a), st.summarise(b), ALPHA).p_value < ALPHA).mean())
    assert 0.04 <= fpr <= 0.06


def test_interval_coverage_binary_and_welch():
    """95% intervals cover the true effect 94–96% of the time (10,000 seeded experiments each)."""
    t, c = _binary_looks(sims=10_000, looks=1, per_look=5000, p_c=0.10, p_t=0.11, seed=7)
    comp = st.compare_proportions(t, c, ALPHA)
    cover_binary = float(((comp.ci_low <= 0.01) & (0.01 <= comp.ci_high)).mean())
    rng = np.random.default_rng(8)
    x = rng.normal(10.3, 1.0, size=(10_000, 60))
    y = rng.normal(10.0, 2.0, size=(10_000, 90))
    w = st.compare_welch(st.summarise(x), st.summarise(y), ALPHA)
    cover_welch = float(((w.ci_low <= 0.3) & (0.3 <= w.ci_high)).mean())
    print(f"coverage: binary {cover_binary:.4f}, Welch {cover_welch:.4f}")
    assert 0.94 <= cover_binary <= 0.96
    assert 0.94 <= cover_welch <= 0.96


def test_confidence_sequence_covers_true_effect_at_every_look():
    t, c = _binary_looks(sims=4000, looks=20, per_look=250, p_c=0.10, p_t=0.12, seed=3)
    comp = st.compare_proportions(t, c, ALPHA)
    var = comp.se**2
    half = st.msprt_halfwidth(var, st.msprt_tau2(var[:, -1:], ALPHA), ALPHA)
    lo = np.maximum.accumulate(comp.diff - half, axis=1)
    hi = np.minimum.accumulate(comp.diff + half, axis=1)
    always = float(((lo <= 0.02) & (0.02 <= hi)).all(axis=1).mean())
    assert always >= 0.95
    # ... and the sequence still detects a real 20% lift by the last look most of the time.
    assert float((lo[:, -1] > 0).mean()) > 0.5


def test_ratio_metric_delta_method():
    rng = np.random.default_rng(5)
    sessions = rng.poisson(3.0, size=(4000, 2, 500)) + 1
    clicks = rng.binomial(sessions, 0.3)
    t = st.ratio_summary(clicks[:, 0], sessions[:, 0])
    c = st.ratio_summary(clicks[:, 1], sessions[:, 1])
    fpr = float((st.compare_normal(t, c, ALPHA).p_value < ALPHA).mean())
    assert 0.04 <= fpr <= 0.06
    # Independent linearisation: z_i = (x_i - R y_i) / mean(y); Var(R) = var(z) / n.
    x, y = clicks[0, 0].astype(float), sessions[0, 0].astype(float)
    r = x.sum() / y.sum()
    z = (x - r * y) / y.mean()
    assert float(t.mean[0]) == pytest.approx(r, rel=1e-12)
    assert float(t.var_mean[0]) == pytest.approx(z.var(ddof=1) / x.size, rel=1e-9)
    # With a denominator of 1 the ratio is the mean and the variance var/n.
    ones = st.ratio_summary(x, np.ones_like(x))
    assert float(ones.var_mean) == pytest.approx(x.var(ddof=1) / x.size, rel=1e-12)

    frame = pd.DataFrame({"variant": np.repeat(["control", "treatment"], 500),
                          "clicks": np.concatenate([clicks[0, 1], clicks[0, 0]]),
                          "sessions": np.concatenate([sessions[0, 1], sessions[0, 0]])})
    ro = read_out_ab(frame, config=ABConfig(metric_col="clicks", denominator_col="sessions")).artifacts["readout.json"]
    assert ro["metric_type"] == "ratio" and ro["test"].startswith("delta-method")
    e = ro["variants"]["treatment"]
    ref = st.compare_normal(t, c, ALPHA)
    assert e["p_value"] == pytest.approx(float(ref.p_value[0]), rel=1e-9)
    assert e["mean"] == pytest.approx(r, rel=1e-12)


def test_cuped_aa_and_variance_reduction():
    rng = np.random.default_rng(9)
    x = rng.normal(0.0, 1.0, size=(2000, 2, 400))
    y = 5 + 2 * x + rng.normal(0.0, 1.0, size=x.shape)  # corr² = 0.8
    theta = st.cuped_theta([y[:, 0], y[:, 1]], [x[:, 0], x[:, 1]])[:, None]
    x_mean = x.reshape(2000, -1).mean(axis=1)[:, None]
    adj_t, adj_c = y[:, 0] - theta * (x[:, 0] - x_mean), y[:, 1] - theta * (x[:, 1] - x_mean)
    comp = st.compare_welch(st.summarise(adj_t), st.summarise(adj_c), ALPHA)
    fpr = float((comp.p_value < ALPHA).mean())
    raw = st.compare_welch(st.summarise(y[:, 0]), st.summarise(y[:, 1]), ALPHA)
    reduction = 1 - float(np.mean(comp.se**2 / raw.se**2))
    print(f"CUPED A/A FPR {fpr:.3f}, variance reduction {reduction:.3f}")
    assert 0.04 <= fpr <= 0.06
    assert reduction == pytest.approx(0.8, abs=0.02)


def test_cuped_readout_matches_ols_and_reports_reduction():
    rng = np.random.default_rng(4)
    n = 3000
    pre = rng.gamma(2.0, 5.0, n)
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    spend = 3 + 0.8 * pre + 1.5 * (arm == "treatment") + rng.normal(0, 4, n)
    df = pd.DataFrame({"variant": arm, "spend": spend, "pre": pre})
    res = read_out_ab(df, config=ABConfig(metric_col="spend", covariate_col="pre"))
    ro = res.artifacts["readout.json"]
    X = np.column_stack([np.ones(n), arm == "treatment", pre]).astype(float)
    beta = np.linalg.lstsq(X, spend, rcond=None)[0]
    e = ro["variants"]["treatment"]
    assert e["lift_abs"] == pytest.approx(beta[1], abs=1e-9)
    assert ro["cuped"]["theta"] == pytest.approx(beta[2], abs=1e-9)
    corr2 = np.mean([np.corrcoef(pre[arm == a], spend[arm == a])[0, 1] ** 2 for a in ("control", "treatment")])
    assert ro["cuped"]["variance_reduction"] == pytest.approx(corr2, abs=0.01)
    assert res.metrics["cuped_variance_reduction"] == ro["cuped"]["variance_reduction"]
    unadj = ro["cuped"]["unadjusted"]["treatment"]
    assert (e["ci_high"] - e["ci_low"]) < 0.8 * (unadj["ci_high"] - unadj["ci_low"])
    assert "CUPED" in ro["test"] and "cut the variance" in ro["reasons"][0]


def _prob_beta_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """Evan Miller's closed form for P(p_B > p_A) with Beta posteriors (integer parameters)."""
    total = 0.0
    for i in range(a_b):
        total += math.exp(special.betaln(a_a + i, b_a + b_b) - math.log(b_b + i)
                          - special.betaln(1 + i, b_b) - special.betaln(a_a, b_a))
    return total


def test_bayesian_probability_to_beat_control():
    df = pd.DataFrame({"variant": ["control"] * 120 + ["treatment"] * 110,
                       "converted": [1] * 14 + [0] * 106 + [1] * 21 + [0] * 89})
    e = read_out_ab(df).artifacts["readout.json"]["variants"]["treatment"]
    exact = _prob_beta_b_beats_a(1 + 14, 1 + 106, 1 + 21, 1 + 89)
    assert e["prob_beat_control"] == pytest.approx(exact, abs=0.005)
    assert e["expected_loss"] > 0
    # Continuous metrics: flat prior, normal posterior → Φ(diff / se).
    rng = np.random.default_rng(1)
    cont = pd.DataFrame({"variant": np.repeat(["control", "treatment"], 400),
                         "revenue": np.concatenate([rng.normal(10, 3, 400), rng.normal(10.4, 3, 400)])})
    e = read_out_ab(cont, config=ABConfig(metric_col="revenue")).artifacts["readout.json"]["variants"]["treatment"]
    se = (e["ci_high"] - e["ci_low"]) / 2 / stats.t.ppf(0.975, 797.9)
    assert e["prob_beat_control"] == pytest.approx(stats.norm.cdf(e["lift_abs"] / se), abs=2e-3)
    low = read_out_ab(cont, config=ABConfig(metric_col="revenue", higher_is_better=False))
    assert low.artifacts["readout.json"]["variants"]["treatment"]["prob_beat_control"] == pytest.approx(
        1 - e["prob_beat_control"], abs=1e-9)


def test_sequential_readout_by_date():
    rng = np.random.default_rng(12)
    n = 8000
    df = pd.DataFrame({
        "variant": np.where(rng.random(n) < 0.5, "treatment", "control"),
        "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10, n), unit="D"),
    })
    df["converted"] = (rng.random(n) < np.where(df.variant == "treatment", 0.13, 0.10)).astype(int)
    res = read_out_ab(df, config=ABConfig(sequential=True, date_col="date"))
    ro = res.artifacts["readout.json"]
    seq = res.tables["sequential"]
    e = ro["variants"]["treatment"]
    assert ro["sequential"]["looks"] == 10 and len(seq) == 10
    assert e["seq_p_value"] == pytest.approx(seq["seq_p_value"].min())
    assert seq["seq_p_value"].is_monotonic_decreasing
    assert (seq["seq_ci_high"] - seq["seq_ci_low"]).is_monotonic_decreasing
    # Always-valid intervals are wider than the fixed-horizon one at the same look.
    assert e["seq_ci_low"] <= e["ci_low"] and e["seq_ci_high"] >= e["ci_high"]
    assert e["seq_p_value"] >= e["p_value"]
    assert e["significant"] == (e["seq_p_value_adj"] < 0.05)
    assert "always-valid" in ro["reasons"][0]
    # Single look without dates equals the closed form.
    single = read_out_ab(df, config=ABConfig(sequential=True)).artifacts["readout.json"]["variants"]["treatment"]
    var = ((single["ci_high"] - single["ci_low"]) / 2 / stats.norm.ppf(0.975)) ** 2
    tau2 = st.msprt_tau2(var)
    assert single["seq_p_value"] == pytest.approx(float(st.msprt_pvalue(single["lift_abs"], var, tau2)), rel=1e-9)


def test_sequential_on_daily_aggregated_counts_matches_unit_level():
    rng = np.random.default_rng(21)
    n = 6000
    df = pd.DataFrame({
        "variant": np.where(rng.random(n) < 0.5, "treatment", "control"),
        "date": pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 7, n), unit="D"),
    })
    df["converted"] = (rng.random(n) < np.where(df.variant == "treatment", 0.12, 0.10)).astype(int)
    unit = read_out_ab(df, config=ABConfig(sequential=True, date_col="date"))
    daily = df.groupby(["date", "variant"])["converted"].agg(conversions="sum", n="count").reset_index()
    agg = read_out_ab(daily, config=ABConfig(metric_col="conversions", n_col="n", sequential=True, date_col="date"))
    pd.testing.assert_frame_equal(unit.tables["sequential"], agg.tables["sequential"], rtol=1e-12)
    for k in ("seq_p_value", "seq_ci_low", "seq_ci_high", "p_value"):
        assert agg.artifacts["readout.json"]["variants"]["treatment"][k] == pytest.approx(
            unit.artifacts["readout.json"]["variants"]["treatment"][k], rel=1e-12)


def test_interval_coverage_ratio_and_cuped():
    rng = np.random.default_rng(31)
    sims, n = 4000, 400
    sessions = rng.poisson(3.0, size=(sims, 2, n)) + 1
    clicks = rng.binomial(sessions, np.array([0.33, 0.30])[None, :, None])
    ratio = st.compare_normal(st.ratio_summary(clicks[:, 0], sessions[:, 0]),
                              st.ratio_summary(clicks[:, 1], sessions[:, 1]), ALPHA)
    cover_ratio = float(((ratio.ci_low <= 0.03) & (ratio.ci_high >= 0.03)).mean())
    x = rng.normal(0.0, 1.0, size=(sims, 2, n))
    y = 5 + 2 * x + rng.normal(0.0, 1.0, size=x.shape) + np.array([0.2, 0.0])[None, :, None]
    theta = st.cuped_theta([y[:, 0], y[:, 1]], [x[:, 0], x[:, 1]])[:, None]
    x_mean = x.reshape(sims, -1).mean(axis=1)[:, None]
    cuped = st.compare_welch(st.summarise(y[:, 0] - theta * (x[:, 0] - x_mean)),
                             st.summarise(y[:, 1] - theta * (x[:, 1] - x_mean)), ALPHA)
    cover_cuped = float(((cuped.ci_low <= 0.2) & (cuped.ci_high >= 0.2)).mean())
    print(f"coverage: ratio {cover_ratio:.4f}, CUPED {cover_cuped:.4f}")
    assert 0.94 <= cover_ratio <= 0.96
    assert 0.94 <= cover_cuped <= 0.96
