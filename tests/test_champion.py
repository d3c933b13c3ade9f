"""The champion policy: a new model version takes the ``champion`` alias only when its deciding
metric beats the champion's beyond noise, measured like with like; every verdict says why. Pure
verdicts first, then through the MLflow registry as the UI shows it, then the stage table: every
registered model's deciding metric is one its stage logs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor

from launchlab import stages
from launchlab.config import CycleConfig, Settings
from launchlab.stages import ChampionMetric
from launchlab.tracking import CHAMPION, Evidence, Tracker, judge

MASE = ChampionMetric("backtest_mase", higher_is_better=False, se="backtest_mase_se", n="backtest_mase_n")
ACCURACY = ChampionMetric("sentiment_accuracy", se="sentiment_accuracy_se", n="sentiment_n_labels", absent="no star ratings")


def _accuracy(p: float, n: int, data: str | None = None) -> Evidence:
    return Evidence(p, math.sqrt(p * (1 - p) / n), n, data)


def test_a_worse_candidate_keeps_the_champion():
    verdict = judge(ACCURACY, _accuracy(0.88, 1500), _accuracy(0.91, 1338), "3")
    assert not verdict.promote
    assert "no better than the champion" in verdict.reason and "0.88 vs 0.91 for version 3" in verdict.reason
    assert "the champion stays version 3" in verdict.reason


def test_lower_is_better_mase_promotes_the_lower_one_only():
    champion = Evidence(1.20, 0.02, 300)
    better = judge(MASE, Evidence(1.05, 0.02, 300), champion, "2")
    worse = judge(MASE, Evidence(1.35, 0.02, 300), champion, "2")
    assert better.promote and "beats the champion beyond noise" in better.reason and "lower is better" in better.reason
    assert not worse.promote and "no better" in worse.reason


def test_a_gain_within_noise_does_not_promote():
    # the case: 0.912 on 272 labels against 0.909 on 1,338 (same reviews file, fewer rows)
    small_trial = judge(ACCURACY, _accuracy(0.912, 272), _accuracy(0.909, 1338), "1")
    assert not small_trial.promote and "less data than the champion (272 vs 1,338)" in small_trial.reason
    # like with like (same evaluation data), a gain of 0.003 on 1,338 labels is noise (2 SE of the difference ≈ 0.022)
    same = judge(ACCURACY, _accuracy(0.912, 1338, "d1"), _accuracy(0.909, 1338, "d1"), "1")
    assert not same.promote and "within noise" in same.reason
    clear = judge(ACCURACY, _accuracy(0.95, 1338, "d1"), _accuracy(0.909, 1338, "d1"), "1")
    assert clear.promote and "on the same evaluation data" in clear.reason


def test_a_missing_metric_or_standard_error_says_so():
    missing = judge(ACCURACY, Evidence(), _accuracy(0.9, 1000), "4")
    assert not missing.promote and "did not log sentiment_accuracy (no star ratings)" in missing.reason
    first = judge(ACCURACY, Evidence(), None)
    assert first.promote and "first version" in first.reason and "was not logged (no star ratings)" in first.reason
    no_se = judge(ACCURACY, Evidence(0.95, None, 2000), _accuracy(0.90, 1000), "4")
    assert not no_se.promote and "without a standard error" in no_se.reason
    undeclared = judge(None, Evidence(), Evidence(), "2")
    assert not undeclared.promote and "no deciding metric" in undeclared.reason


def test_a_run_that_opted_out_never_promotes_but_says_what_the_evidence_showed():
    verdict = judge(ACCURACY, _accuracy(0.95, 1338, "d"), _accuracy(0.90, 1338, "d"), "1", allowed=False)
    assert not verdict.promote and "promotion is off" in verdict.reason and "would have been" in verdict.reason


def _model() -> DummyRegressor:
    return DummyRegressor().fit(np.zeros((2, 1)), [0.0, 1.0])


def test_the_registry_applies_the_policy_and_every_version_says_why(isolated_store):
    tracker = Tracker(Settings()).connect()

    def register(metrics: dict[str, float], **options) -> str:
        run_id = tracker.start_stage(None, "02-trends")
        tracker.log_metrics(run_id, metrics)
        version = tracker.log_models(run_id, {"m": _model()}, metrics, {"m": MASE}, **options)["m"]
        tracker.end_run(run_id)
        return version

    def champion() -> str:
        return str(tracker.client.get_model_version_by_alias("m", CHAMPION).version)

    full = {"backtest_mase_se": 0.02, "backtest_mase_n": 300.0}
    assert register({"backtest_mase": 1.0, **full}) == "1" and champion() == "1"
    assert register({"backtest_mase": 1.2, **full}) == "2" and champion() == "1"  # worse
    assert register({"backtest_mase": 0.98, **full}) == "3" and champion() == "1"  # within noise
    assert register({"backtest_mase": 0.8, "backtest_mase_se": 0.02, "backtest_mase_n": 90.0}) == "4" and champion() == "1"  # less data
    assert register({}) == "5" and champion() == "1"  # no deciding metric logged
    assert register({"backtest_mase": 0.8, **full}, promote=False) == "6" and champion() == "1"  # opted out
    assert register({"backtest_mase": 0.8, **full}) == "7" and champion() == "7"  # better beyond noise
    reasons = {str(v): tracker.client.get_model_version("m", str(v)) for v in range(1, 8)}
    assert reasons["2"].description.startswith("Not promoted: no better than the champion")
    assert "within noise" in reasons["3"].description and "less data" in reasons["4"].description
    assert "did not log backtest_mase" in reasons["5"].description and "promotion is off" in reasons["6"].description
    assert reasons["7"].description.startswith("Promoted: beats the champion beyond noise")
    assert "Deciding metric: backtest_mase 0.8 ± 0.02 (n = 300); lower is better." in reasons["7"].description
    assert reasons["7"].tags["launchlab.promoted"] == "true" and reasons["6"].tags["launchlab.promoted"] == "false"
    # the model is stored in the skops format with a signature (no pickle)
    info = __import__("mlflow").models.get_model_info("models:/m/7")
    assert info.flavors["sklearn"]["serialization_format"] == "skops" and info.signature is not None


def _full_config(repo, tmp_path) -> CycleConfig:
    """Every stage with the inputs that let it measure its models: star-rated dated reviews, a
    success/failure history of past launches, a launch test with customer covariates and an
    adoption series."""
    from tests.concepts.test_concepts_history import _history

    reviews = pd.read_parquet(repo / "data" / "womens_clothing_reviews_dated.parquet").sample(150, random_state=3)
    reviews.to_parquet(tmp_path / "reviews.parquet")
    history = _history(45, winners=["praise"])
    history.to_csv(tmp_path / "history.csv", index=False)
    return CycleConfig.model_validate({
        "reviews": {"path": tmp_path / "reviews.parquet", "mapping": {"date": "Simulated Date"}},
        "concepts": repo / "data" / "concepts.yaml",
        "concept_history": tmp_path / "history.csv",
        "experiment": {"path": repo / "data" / "launch_experiment.csv",
                       "ab": {"variant_col": "variant", "metric_col": "converted", "unit_col": "user_id"},
                       "uplift": {"covariate_cols": ["channel", "petite"], "n_folds": 2, "n_bootstrap": 100}},
        "adoption": {"path": repo / "data" / "launch_adoption_weekly.csv"},
        "embedding_model": "hashing-64",
        "trends": {"horizon": 4},
        "out_dir": tmp_path / "out",
    })


def test_every_registered_model_is_judged_on_a_metric_its_stage_logs(repo, tmp_path):
    config = _full_config(repo, tmp_path)
    judged = set()
    for spec in stages.STAGES:
        run = stages.run_stage(spec.name, config)
        for name, model in run.result.models.items():
            if model is None:
                continue
            deciding = spec.champions.get(name)
            assert deciding is not None, f"{name} has no deciding metric"
            for key in (deciding.metric, deciding.se, deciding.n):
                assert key and math.isfinite(run.result.metrics.get(key, float("nan"))), (name, key)
            judged.add(name)
    assert judged == set(stages.CHAMPION_METRICS)
