"""Uplift targeting: the estimator contract, curves and targeting rule on seeded simulated experiments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from launchlab.errors import InputError
from launchlab.incubation import UpliftConfig
from launchlab.incubation.simulate import simulate_experiment
from launchlab.incubation.uplift import (UpliftModel, auuc, cross_fit_scores, fit_uplift, qini_coefficient,
                                         qini_standard_error, targeting_table, uplift_curves)

COVARIATES = ["channel", "past_buyer", "recency", "spend", "noise_a", "noise_b"]
FAST = dict(max_iter=60, learning_rate=0.1, early_stopping=False)


@pytest.fixture(scope="module")
def experiment() -> pd.DataFrame:
    return simulate_experiment(12_000, seed=21)


def _xyt(data: pd.DataFrame):
    return data[COVARIATES], data["converted"].to_numpy(float), (data["variant"] == "treatment").to_numpy().astype(int)


def test_uplift_model_is_a_scikit_learn_estimator(experiment):
    X, y, t = _xyt(experiment)
    model = UpliftModel(learner="x", **FAST)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="not fitted"):
        model.predict(X)
    assert model.fit(X, y, t) is model
    assert not hasattr(clone(model), "outcome_models_")  # clone carries parameters, not learned state
    learned = [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert {"outcome_models_", "effect_models_", "treated_share_", "binary_", "categories_",
            "n_features_in_", "feature_names_in_"} <= set(learned)
    assert list(model.feature_names_in_) == COVARIATES
    pred = model.predict(X.iloc[:50])
    assert pred.shape == (50,) and np.isfinite(pred).all()
    # text categories unseen at fit time are scored, not rejected
    odd = X.iloc[:5].assign(channel="carrier pigeon")
    assert np.isfinite(model.predict(odd)).all()


def test_uplift_model_saves_and_loads_with_skops(experiment, tmp_path):
    sio = pytest.importorskip("skops.io")  # installed with mlflow
    X, y, t = _xyt(experiment.iloc[:3000])
    model = UpliftModel(learner="t", **FAST).fit(X, y, t)
    path = tmp_path / "uplift.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    # our class and scikit-learn's own boosting internals: nothing else to trust when loading
    assert set(untrusted) <= {"launchlab.incubation.uplift.UpliftModel", "functools.partial",
                              "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                              "sklearn.utils.validation.check_array"}, untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_allclose(loaded.predict(X.iloc[:100]), model.predict(X.iloc[:100]))


def test_learned_ranking_tracks_the_true_effects(experiment):
    X, y, t = _xyt(experiment)
    scores = cross_fit_scores(UpliftModel(**FAST), X, y, t, n_folds=3, seed=1)
    tau = experiment["tau"].to_numpy()
    assert np.corrcoef(scores, tau)[0, 1] > 0.6
    ours, oracle = qini_coefficient(scores, y, t), qini_coefficient(tau, y, t)
    rnd = qini_coefficient(np.random.default_rng(0).random(len(y)), y, t)
    assert ours > 0.6 * oracle and abs(rnd) < 0.3 * oracle


def test_curves_start_at_zero_and_end_at_the_overall_effect():
    rng = np.random.default_rng(2)
    n = 4000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.1 + 0.05 * t).astype(float)
    curve = uplift_curves(rng.random(n), y, t)
    assert curve["qini"].iloc[0] == 0 and curve["share"].iloc[-1] == 1
    overall = y[t == 1].mean() - y[t == 0].mean()
    assert curve["uplift"].iloc[-1] == pytest.approx(overall)
    assert curve["qini"].iloc[-1] == pytest.approx(overall * (t == 1).sum() / n)
    assert curve["random"].iloc[-1] == pytest.approx(curve["qini"].iloc[-1])
    # a perfect ranking of a known effect beats a random one
    tau = np.where(np.arange(n) < n // 4, 0.2, 0.0)
    y2 = (rng.random(n) < 0.1 + tau * t).astype(float)
    assert auuc(tau, y2, t) > auuc(rng.random(n), y2, t)


def test_targeting_table_intervals_cover_a_known_top_group_effect():
    # The top 30% by score truly gain 0.15, the rest 0: the interval of the top's uplift covers 0.15.
    hits = 0
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        n = 3000
        score = rng.random(n)
        top = score >= np.quantile(score, 0.7)
        t = rng.integers(0, 2, n)
        y = (rng.random(n) < 0.2 + 0.15 * top * t).astype(float)
        row = targeting_table(score, y, t, shares=[0.3], n_bootstrap=200, seed=seed).iloc[0]
        hits += row["uplift_top_ci_low"] <= 0.15 <= row["uplift_top_ci_high"]
        assert row["incremental"] == pytest.approx(row["uplift_top"] * 0.3 * n)
    assert hits >= 26  # 95% intervals: 26 or more of 30 (binomial 1% tail)


def test_fit_uplift_reports_curves_rule_and_model(experiment):
    res = fit_uplift(experiment, config=UpliftConfig(covariate_cols=COVARIATES, n_folds=3, n_bootstrap=100,
                                                     population=100_000))
    m = res.metrics
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] + m["rows_other_arms"]
    table = res.tables["uplift_targeting"]
    assert list(table["share"]) == [0.1, 0.2, 0.3, 0.5]
    rule = table[table["share"] == 0.3].iloc[0]
    assert rule["targeted"] == pytest.approx(30_000)
    assert rule["gain_ci_low"] > 0  # the generator's effect is strongly heterogeneous
    assert rule["incremental_ci_low"] < rule["incremental"] < rule["incremental_ci_high"]
    assert m["qini_coefficient"] > 0 and m["auuc"] > m["auuc_random"]
    assert isinstance(res.models["launchlab-uplift"], UpliftModel)
    assert "Treat the top 30%" in res.artifacts["uplift.json"]["sentence"]
    assert not res.warnings


def test_no_heterogeneity_means_no_clear_gain_and_a_warning():
    data = simulate_experiment(6000, effect="homogeneous", ate=0.03, seed=5)
    res = fit_uplift(data, config=UpliftConfig(covariate_cols=COVARIATES, n_folds=3, n_bootstrap=100))
    rule = res.tables["uplift_targeting"].query("share == 0.3").iloc[0]
    assert rule["gain_ci_low"] < 0 < rule["gain_ci_high"]
    assert any("not clearly better than picking customers at random" in w for w in res.warnings)


def test_qini_standard_error_matches_the_spread_over_fresh_samples():
    # the ranking held fixed (the true effects), the coefficient measured on 30 independent
    # experiments: the bootstrap standard error of one sample predicts their spread
    coefficients, errors = [], []
    for seed in range(30):
        data = simulate_experiment(3000, seed=500 + seed)
        y, t = data["converted"].to_numpy(float), (data["variant"] == "treatment").to_numpy().astype(int)
        coefficients.append(qini_coefficient(data["tau"].to_numpy(), y, t))
        errors.append(qini_standard_error(data["tau"].to_numpy(), y, t, n_bootstrap=200, seed=seed))
    assert 0.75 < np.mean(errors) / np.std(coefficients, ddof=1) < 1.4


def test_bad_uplift_input_is_one_clear_error(experiment):
    with pytest.raises(InputError, match="no covariate columns"):
        fit_uplift(experiment, config=UpliftConfig())
    with pytest.raises(InputError, match="both a covariate and the arm or outcome"):
        fit_uplift(experiment, config=UpliftConfig(covariate_cols=["recency", "converted"]))
    with pytest.raises(InputError, match="missing column 'age'"):
        fit_uplift(experiment, config=UpliftConfig(covariate_cols=["age"]))
    # each fold's boosters need both outcomes in both arms: 30 customers cannot give 3 folds that
    few = experiment.groupby("variant").head(15)
    with pytest.raises(InputError, match=r"too few units for an uplift model: variant '\w+' has \d+ with converted = 1, 10 are needed"):
        fit_uplift(few, config=UpliftConfig(covariate_cols=["recency"], n_folds=3))
