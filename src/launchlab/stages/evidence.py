"""What a stage's registered models are judged on: the deciding metric of each model with its
standard error and evaluation size (the champion policy compares them beyond noise), and a small
input example per model (logged with its signature).

Each function takes the stage's :class:`~launchlab.results.StageResult` and returns the metrics
to add; the stage table names them per stage (``Stage.evidence``), and its ``champions`` say which
of these metrics decides each model's ``champion`` alias.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from launchlab.results import StageResult
from launchlab.trends.forecaster import COMBINED


def insight(result: StageResult) -> dict[str, float]:
    """Need model: silhouette on its selection sample, with the standard error of that mean.
    Sentiment head: accuracy on the held-out star labels, with its binomial standard error."""
    metrics = result.metrics
    out: dict[str, float] = {}
    need_model = result.models.get("launchlab-needs")
    if need_model is not None and math.isfinite(getattr(need_model, "silhouette_se_", float("nan"))):
        out["silhouette_se"] = float(need_model.silhouette_se_)
        out["silhouette_n"] = float(need_model.silhouette_n_)
    accuracy, n = metrics.get("sentiment_accuracy"), metrics.get("sentiment_n_labels")
    if accuracy is not None and n and math.isfinite(accuracy):
        out["sentiment_accuracy_se"] = math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / n)
    return out


def trends(result: StageResult) -> dict[str, float]:
    """Forecaster: the backtest MASE of the combined forecast is a mean over series; its standard
    error is the spread of the per-series MASE over the square root of their number."""
    backtest = result.tables.get("backtest")
    if backtest is None or backtest.empty or "mase" not in backtest:
        return {}
    per_series = backtest.loc[backtest["model"] == COMBINED, "mase"].astype(float)
    per_series = per_series[np.isfinite(per_series)]
    if len(per_series) < 2:
        return {}
    return {"backtest_mase_se": float(per_series.std(ddof=1) / math.sqrt(len(per_series))),
            "backtest_mase_n": float(len(per_series))}


def concepts(result: StageResult) -> dict[str, float]:
    """Concept scorer: the AUC on past launches of the score it gives (the learned one when it
    beat the transparent score in cross-validation, else the transparent one, which is not fitted
    on the history), with the Hanley-McNeil standard error. Only with success/failure history."""
    metrics = result.metrics
    learned = result.summary.get("score_source") == "learned"
    auc = metrics.get("cv_auc" if learned else "baseline_auc")
    n, successes = metrics.get("history_n"), metrics.get("history_n_success")
    if auc is None or not n or successes is None or not math.isfinite(auc):
        return {}
    return {"history_auc": float(auc), "history_auc_se": _auc_se(float(auc), int(successes), int(n - successes))}


def incubation(result: StageResult) -> dict[str, float]:
    """Adoption model: R² of the Bass curve of the registered (primary) series on its periods,
    with the Olkin-Finn approximation of its standard error (3 parameters). The uplift model's
    evidence is logged by :func:`launchlab.incubation.fit_uplift` itself (the cross-fitted Qini
    coefficient, its bootstrap standard error and the customers it was measured on), since only
    it holds the out-of-fold scores."""
    fits = result.artifacts.get("bass.json") or {}
    fit = fits.get(result.params.get("bass.primary_series")) if isinstance(fits, dict) else None
    if not isinstance(fit, dict) or fit.get("r2") is None:
        return {}
    r2, n = float(fit["r2"]), int(fit.get("n_points") or 0)
    if not math.isfinite(r2) or n < 5:
        return {}
    variance = 4 * r2 * (1 - r2) ** 2 * (n - 3 - 1) ** 2 / ((n**2 - 1) * (n + 3))
    return {"bass_r2": r2, "bass_r2_se": math.sqrt(max(variance, 0.0)), "bass_n_points": float(n)}


def _customers(model: Any) -> pd.DataFrame | None:
    """Two customers in the columns the uplift model was fitted on: its first levels of each text
    column, 0 and 1 for each number."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    levels = getattr(model, "categories_", {})
    return pd.DataFrame({str(col): (levels[j] * 2)[:2] if levels.get(j) else [0.0, 1.0] for j, col in enumerate(names)})


def _auc_se(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    if positives < 1 or negatives < 1:
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def input_examples(result: StageResult) -> dict[str, Any]:
    """A small input example per registered model, from what the model itself holds: need
    centroids for the models that read embeddings of the same width, the first periods after
    launch for the adoption curve, two customers in the uplift model's covariates. Models whose input cannot be shown by example (the forecaster
    reads a horizon, the layer-feature sentiment head reads hidden states) get none."""
    examples: dict[str, Any] = {}
    for name, model in result.models.items():
        if model is None:
            continue
        if name == "launchlab-adoption":
            examples[name] = pd.DataFrame({"period": np.arange(1, 4, dtype=np.float64)})
            continue
        if name == "launchlab-uplift":
            examples[name] = _customers(model)
            continue
        centroids = getattr(model, "centroids_", None)
        if centroids is None:
            needs = result.models.get("launchlab-needs")
            centroids = getattr(needs, "centroids_", None)
        width = getattr(model, "n_features_in_", None)
        if centroids is not None and len(centroids) and width == np.asarray(centroids).shape[1]:
            examples[name] = np.asarray(centroids[:2], dtype=np.float32)
    return examples
