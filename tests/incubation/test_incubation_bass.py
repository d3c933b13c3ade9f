"""Bass diffusion: parameter recovery, estimator contract, data handling, warnings."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from launchlab.errors import InputError
from launchlab.incubation import BassConfig, BassDiffusion, decide, fit_bass, read_out_ab
from launchlab.incubation.bass import bass_adoptions, bass_cdf, bass_peak

P, Q, M = 0.03, 0.38, 50_000.0


def _curve(n: int = 30, noise: float = 0.05, seed: int = 0, p: float = P, q: float = Q, m: float = M) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clean = bass_adoptions(np.arange(1, n + 1), p, q, m)
    return clean * rng.lognormal(-(noise**2) / 2, noise, size=n)


def _long(values: dict[str, np.ndarray], lead_zeros: int = 0) -> pd.DataFrame:
    parts = []
    for sid, y in values.items():
        y = np.concatenate([np.zeros(lead_zeros), y])
        parts.append(pd.DataFrame({"unique_id": sid, "ds": 2000 + np.arange(y.size), "y": y}))
    return pd.concat(parts, ignore_index=True)


def test_recovers_known_parameters_from_seeded_curve():
    res = fit_bass(_long({"sim": _curve()}), config=BassConfig(n_bootstrap=100))
    f = res.artifacts["bass.json"]["sim"]
    assert f["p"] == pytest.approx(P, rel=0.1)
    assert f["q"] == pytest.approx(Q, rel=0.1)
    assert f["m"] == pytest.approx(M, rel=0.05)
    true_peak, _, _ = bass_peak(P, Q, M)
    assert f["peak_period"] == true_peak and f["warning"] is None
    for name, true in (("p", P), ("q", Q)):
        lo, hi = f[f"{name}_lo"], f[f"{name}_hi"]
        assert lo < f[name] < hi
        assert abs(f[name] - true) < 1.5 * (hi - lo)  # the interval's width is of the error's order
    assert f["m_lo"] <= f["m"] <= f["m_hi"]
    assert f["r2"] > 0.95


def test_cumulative_input_gives_the_same_fit():
    y = _curve(seed=3)
    per = fit_bass(_long({"a": y}), config=BassConfig(n_bootstrap=0)).artifacts["bass.json"]["a"]
    cum = fit_bass(_long({"a": np.cumsum(y)}), config=BassConfig(n_bootstrap=0, cumulative=True))
    f = cum.artifacts["bass.json"]["a"]
    for k in ("p", "q", "m"):
        assert f[k] == pytest.approx(per[k], rel=1e-5)


def test_estimator_contract():
    y = _curve(seed=1)
    est = BassDiffusion().fit(y)
    assert est.m_ == pytest.approx(M, rel=0.05)
    assert clone(est).get_params() == est.get_params() and not hasattr(clone(est), "p_")
    same = BassDiffusion().fit(np.arange(1, y.size + 1).reshape(-1, 1), y)
    assert same.p_ == pytest.approx(est.p_, rel=1e-9)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict([[1], [2], [40]]), est.predict([1, 2, 40]))
    assert est.predict_cumulative([200])[0] == pytest.approx(est.m_, rel=1e-6)
    np.testing.assert_allclose(est.predict(np.arange(1, 6)), np.diff(est.predict_cumulative(np.arange(0, 6))))
    with pytest.raises(ValueError):
        BassDiffusion().fit([5.0, 3.0])
    with pytest.raises(ValueError, match="one column"):
        BassDiffusion().fit(np.ones((5, 2)), np.ones(5))


def test_leading_zeros_trimmed_and_models_registered():
    res = fit_bass(_long({"late": _curve(25, seed=2), "early": _curve(30, seed=4)}, lead_zeros=6),
                   config=BassConfig(n_bootstrap=20))
    f = res.artifacts["bass.json"]["late"]
    assert f["n_points"] == 25 and f["launch_ds"] == 2006
    assert f["peak_period"] == bass_peak(P, Q, M)[0]
    assert res.metrics["rows_prelaunch_trimmed"] == 12
    assert res.metrics["rows_in"] == res.metrics["rows_used"] + res.metrics["rows_quarantined"] == 67
    model = res.models["launchlab-adoption"]
    assert isinstance(model, BassDiffusion) and model.p_ == pytest.approx(f["p"])
    fit = res.tables["bass_fit"]
    late = fit[fit.unique_id == "late"]
    assert late["ds"].iloc[0] == 2006 and late["is_forecast"].sum() == 12
    assert set(res.tables["bass"].columns) >= {"unique_id", "p", "q", "m", "peak_period", "peak_value", "n_points",
                                               "warning"}


def test_datetime_periods():
    y = _curve(20, seed=5)
    df = pd.DataFrame({"unique_id": "w", "ds": pd.date_range("2024-01-01", periods=20, freq="W-MON"), "y": y})
    res = fit_bass(df, config=BassConfig(n_bootstrap=0, horizon=4))
    f = res.artifacts["bass.json"]["w"]
    assert f["launch_ds"] == "2024-01-01"
    as_text = fit_bass(df.assign(ds=df.ds.dt.strftime("%Y-%m-%d")), config=BassConfig(n_bootstrap=0))
    assert as_text.artifacts["bass.json"]["w"]["p"] == pytest.approx(f["p"])
    fit = res.tables["bass_fit"]
    assert fit["ds"].iloc[-1] == pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=23)


def test_warns_when_inflection_not_reached():
    early = _curve(6, noise=0.02, seed=6, p=0.005, q=0.5)
    res = fit_bass(_long({"young": early}), config=BassConfig(n_bootstrap=50))
    f = res.artifacts["bass.json"]["young"]
    assert f["warning"] and "inflection not reached" in f["warning"]
    assert f["peak_period"] > 6
    assert any("young" in w for w in res.warnings)


def test_quarantine_and_bad_input():
    df = _long({"ok": _curve(20, seed=7), "short": _curve(20, seed=8)[:2]})
    df.loc[3, "y"] = np.nan
    df.loc[5, "y"] = -10.0
    res = fit_bass(df, config=BassConfig(n_bootstrap=0))
    q = res.quarantine
    assert set(q["reason"]) == {"y: value is missing", "negative adoptions", "fewer than 3 usable periods after launch"}
    assert res.metrics["rows_quarantined"] == 4 and res.metrics["rows_used"] == 18
    assert res.artifacts["bass.json"]["ok"]["n_points"] == 18
    with pytest.raises(InputError, match="missing column 'y'"):
        fit_bass(df.rename(columns={"y": "sales"}))
    with pytest.raises(InputError, match="twice"):
        fit_bass(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(InputError, match="no series could be fitted"):
        fit_bass(_long({"short": np.array([1.0, 2.0])}))
    cum = _long({"c": np.array([1.0, 5.0, 4.0, 9.0])})
    with pytest.raises(InputError, match="decreases"):
        fit_bass(cum, config=BassConfig(cumulative=True))


def test_seeded_bootstrap_is_deterministic():
    df = _long({"s": _curve(seed=9)})
    a = fit_bass(df, config=BassConfig(n_bootstrap=40, seed=1)).artifacts["bass.json"]["s"]
    b = fit_bass(df, config=BassConfig(n_bootstrap=40, seed=1)).artifacts["bass.json"]["s"]
    c = fit_bass(df, config=BassConfig(n_bootstrap=40, seed=2)).artifacts["bass.json"]["s"]
    assert a == b and a["m_hi"] != c["m_hi"]


def test_decide_adds_adoption_forecast():
    rng = np.random.default_rng(0)
    ab = read_out_ab(pd.DataFrame({"variant": np.repeat(["control", "treatment"], 3000),
                                   "converted": (rng.random(6000) < np.repeat([0.1, 0.14], 3000)).astype(int)}))
    bass = fit_bass(_long({"line": _curve()}), config=BassConfig(n_bootstrap=30))
    verdict = decide(ab, bass)
    assert verdict["decision"] == "scale"
    assert any(r.startswith("adoption forecast (line): peak in period") for r in verdict["reasons"])
    assert bass_cdf(0.0, P, Q) == 0.0
