"""Learning from past launches: a calibrated model of launch outcomes on score components and text.

When a table of past launches with outcomes is given, each past concept is scored like a new one
(components, relevance, the embedding of its text) and a scikit-learn model learns the outcome:
success (binary) with a sigmoid-calibrated logistic regression, or a number (first-period sales)
with a ridge regression. Both are cross-validated; the transparent score is evaluated on the same
folds (AUC of the score itself; MAE of a one-variable linear fit of the outcome on the score), and
the learned model replaces it only when it does better. Small histories are common, so the text
embedding is reduced by PCA inside each fold and the models are strongly regularised.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from launchlab.concepts.config import COMPONENTS
from launchlab.errors import InputError
from launchlab.lists import as_list
from launchlab.schemas import CLAIMS, DESCRIPTION, TEXT

N_SCORE_FEATURES = len(COMPONENTS) + 1
"""Leading feature columns: the components (momentum NaN, no evidence → 0) and relevance; the embedding follows."""

MIN_HISTORY = 12
_SUCCESS = {"1", "true", "yes", "success", "successful", "hit", "win", "launched"}
_FAILURE = {"0", "false", "no", "failure", "failed", "fail", "flop", "miss", "loss"}


def outcome_features(components: np.ndarray, relevance: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Feature matrix of :class:`OutcomeModel`: components, relevance, text embedding."""
    comps = np.where(np.isfinite(components), components, 0.0)
    return np.hstack([comps, np.asarray(relevance, dtype=float)[:, None], np.asarray(embeddings, dtype=float)])


class OutcomeModel(BaseEstimator):
    """Predicts a launch outcome from :func:`outcome_features`.

    ``task="classification"``: ``predict_proba`` is the calibrated probability of success and
    ``predict_score`` 100 times it. ``task="regression"``: ``predict`` is the outcome and
    ``predict_score`` its percentile (0–100) among the training outcomes.
    """

    def __init__(
        self, task: str = "classification", n_text_components: int = 8, C: float = 0.5, alpha: float = 10.0, seed: int = 42
    ) -> None:
        self.task = task
        self.n_text_components = n_text_components
        self.C = C
        self.alpha = alpha
        self.seed = seed

    def _pipeline(self, n_rows: int, n_features: int):
        from sklearn.compose import ColumnTransformer
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        k = max(1, min(self.n_text_components, n_rows - 2, n_features - N_SCORE_FEATURES))
        columns = ColumnTransformer(
            [
                ("scores", StandardScaler(), list(range(N_SCORE_FEATURES))),
                ("text", PCA(n_components=k, random_state=self.seed), list(range(N_SCORE_FEATURES, n_features))),
            ]
        )
        if self.task == "classification":
            return make_pipeline(columns, StandardScaler(), LogisticRegression(C=self.C, solver="liblinear"))
        return make_pipeline(columns, StandardScaler(), Ridge(alpha=self.alpha))

    def fit(self, X: np.ndarray, y: np.ndarray) -> OutcomeModel:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold

        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        pipeline = self._pipeline(len(X), X.shape[1])
        if self.task == "classification":
            # Two calibration folds: histories are small, and each fold costs a full pipeline fit.
            folds = int(min(2, np.bincount(y.astype(int)).min()))
            if folds >= 2:
                cv = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
                self.model_ = CalibratedClassifierCV(pipeline, method="sigmoid", cv=cv).fit(X, y)
            else:
                self.model_ = pipeline.fit(X, y)
            self.classes_ = np.array([0.0, 1.0])
        else:
            self.model_ = pipeline.fit(X, y)
            self.train_outcomes_ = np.sort(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(np.asarray(X, dtype=float))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.task == "classification":
            return self.predict_proba(X)[:, 1]
        return self.model_.predict(np.asarray(X, dtype=float))

    def predict_score(self, X: np.ndarray) -> np.ndarray:
        """The outcome on the 0–100 score scale."""
        if self.task == "classification":
            return 100.0 * self.predict_proba(X)[:, 1]
        pred = self.predict(X)
        ref = self.train_outcomes_
        below = np.searchsorted(ref, pred, side="left")
        upto = np.searchsorted(ref, pred, side="right")
        return 100.0 * (below + upto) / (2.0 * len(ref))


def validate_history(history: pd.DataFrame, outcome: str, task: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Check the past-launches table; return it, the numeric outcome and the task."""
    if DESCRIPTION not in history and TEXT not in history:
        raise InputError(
            "the history table has no concept text", column=DESCRIPTION, fix="add a description (or text) column per past concept"
        )
    if outcome not in history:
        raise InputError(
            "the history table has no such column",
            column=outcome,
            fix="name the outcome column with ConceptsConfig.history_outcome (success 0/1 or first-period sales)",
        )
    frame = history.reset_index(drop=True).copy()
    if CLAIMS in frame:
        frame[CLAIMS] = [as_list(c) for c in frame[CLAIMS]]
    raw = frame[outcome]
    numeric = pd.to_numeric(raw, errors="coerce")
    labels = raw.map(lambda v: str(v).strip().lower() if v is not None else "")
    all_numeric = bool(numeric.notna().all())
    if task == "auto":
        if all_numeric:
            task = "classification" if set(numeric.unique()) <= {0.0, 1.0} else "regression"
        else:
            task = "classification" if labels.isin(_SUCCESS | _FAILURE).all() else "regression"
    if task == "classification":
        mapped = labels.map(lambda v: 1.0 if v in _SUCCESS else 0.0 if v in _FAILURE else math.nan)
        y = numeric.where(numeric.isin([0.0, 1.0])).fillna(mapped).to_numpy(float)
    else:
        y = numeric.to_numpy(float)
    text = frame[DESCRIPTION] if DESCRIPTION in frame else frame[TEXT]
    no_text = (text.isna() | (text.astype(str).str.strip() == "")).to_numpy()
    for bad, column, what in (
        (no_text, DESCRIPTION if DESCRIPTION in frame else TEXT, "has no concept text"),
        (~np.isfinite(y), outcome, f"has no usable {task} outcome ({'success 0/1' if task == 'classification' else 'a number'})"),
    ):
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise InputError(
                f"past launch {what}", row=row, column=column, fix="fix or drop that past launch"
            )
    return frame, y, task


def learn_from_history(
    features: np.ndarray, transparent: np.ndarray, y: np.ndarray, task: str, *, seed: int
) -> tuple[OutcomeModel | None, dict[str, float], list[str]]:
    """Cross-validate the outcome model against the transparent score; fit it on all the history.

    Returns the fitted model (None when there is too little history), metrics (``history_n``,
    ``cv_auc``/``cv_brier`` or ``cv_mae``, the same for the transparent score with prefix
    ``baseline_``, ``history_improves``) and warnings.
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    n = len(y)
    metrics: dict[str, float] = {"history_n": float(n)}
    warnings: list[str] = []
    if task == "classification":
        counts = np.bincount(y.astype(int), minlength=2)
        metrics["history_n_success"] = float(counts[1])
        folds = int(min(5, counts.min()))
        if n < MIN_HISTORY or folds < 2:
            warnings.append(
                f"history: {n} past launches ({int(counts[1])} successes) are too few to learn from "
                f"(need {MIN_HISTORY} with at least 2 of each outcome); the transparent score is used"
            )
            return None, metrics, warnings
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        model = OutcomeModel(task=task, seed=seed)
        p = cross_val_predict(model, features, y, cv=cv, method="predict_proba")[:, 1]
        base = transparent / 100.0
        metrics.update(
            cv_auc=float(roc_auc_score(y, p)),
            cv_brier=float(brier_score_loss(y, p)),
            baseline_auc=float(roc_auc_score(y, base)),
            baseline_brier=float(brier_score_loss(y, np.clip(base, 0, 1))),
        )
        improves = metrics["cv_auc"] > metrics["baseline_auc"]
    else:
        if n < MIN_HISTORY:
            warnings.append(f"history: {n} past launches are too few to learn from (need {MIN_HISTORY}); the transparent score is used")
            return None, metrics, warnings
        cv = KFold(min(5, n), shuffle=True, random_state=seed)
        model = OutcomeModel(task=task, seed=seed)
        pred = cross_val_predict(model, features, y, cv=cv)
        base = cross_val_predict(LinearRegression(), transparent[:, None], y, cv=cv)
        metrics.update(cv_mae=float(mean_absolute_error(y, pred)), baseline_mae=float(mean_absolute_error(y, base)))
        improves = metrics["cv_mae"] < metrics["baseline_mae"]
    metrics["history_improves"] = float(improves)
    if not improves:
        warnings.append("history: the learned model does not beat the transparent score in cross-validation; the transparent score is used")
        return None, metrics, warnings
    return clone(model).fit(features, y), metrics, warnings
