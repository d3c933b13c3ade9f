"""How the insight stage scores sentiment: a head learned from the corpus' own star ratings
(checked by cross-validation over whole reviews, with its calibration), or launchlab's shipped
heads when there are too few stars; and the small helpers both the stage and the review-level
head share (per-review means, calibration error)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from launchlab.embeddings import Embedder
from launchlab.errors import InputError
from launchlab.insight.config import InsightConfig
from launchlab.insight.review_sentiment import aggregate_reviews
from launchlab.insight.sentiment import (
    LayerHead,
    SentimentHead,
    lexicon_polarity,
    load_default_head,
    load_default_layer_head,
    star_labels,
)
from launchlab.schemas import RATING


def fit_sentiment_head(
    frame: pd.DataFrame,
    X: np.ndarray,
    owner: np.ndarray,
    texts: list[str],
    embedder: Embedder,
    config: InsightConfig,
    *,
    layer_head: LayerHead | None = None,
    layer_polarity: np.ndarray | None = None,
    review_head: SentimentHead | None = None,
) -> tuple[SentimentHead, np.ndarray, str, dict[str, float], list[str]]:
    """Choose and fit the sentiment head on the opinion units (reviews or mentions, ``owner`` maps
    each to its review); measure it against star weak labels, per review, when there are any.

    Returns the head that scores the units, the sentiment direction of the sentence embedding (the
    same head's weights, except for the shipped layer-feature head, whose companion sentence head
    gives it), the source, metrics and warnings. ``layer_polarity`` is the layer head's score of
    each unit, when the units were embedded with it; ``review_head`` turns the shipped head's unit
    scores into review scores (else their mean) when they are measured against stars."""
    warnings: list[str] = []
    n_reviews = len(frame)
    y_star, enough_stars = star_weak_labels(frame, config)
    labelled = y_star >= 0
    counts = np.bincount(y_star[labelled], minlength=2)
    default = None
    if config.sentiment in ("auto", "default"):
        default = load_default_head(config.default_sentiment_path, model_id=embedder.model_id, dim=X.shape[1])

    if config.sentiment == "stars" and not enough_stars:
        raise InputError(
            f"sentiment='stars' needs at least {config.min_star_labels} reviews rated 1-2 and as many rated 4-5 "
            f"(found {counts[0]} and {counts[1]})",
            column=RATING,
            fix="add ratings or use sentiment='auto'",
        )
    if config.sentiment == "default" and default is None:
        raise InputError(
            f"the shipped sentiment model does not match the embedder {embedder.model_id!r} or is missing",
            fix="use the default embedding model, rebuild it with `python -m launchlab.insight.default_sentiment`, "
            "or set sentiment='lexicon'",
        )

    metrics: dict[str, float] = {}
    if config.sentiment == "stars" or (config.sentiment == "auto" and enough_stars):
        source = "stars"
        # Mentions inherit their review's stars: noisier labels, so stronger regularisation
        # (C = 0.3 measured best of {0.3, 1, 3} for mention-trained heads on SemEval sentences).
        params = {
            "C": 3.0 if config.level == "review" else 0.3,
            "class_weight": "balanced" if config.balance_stars else None,
            "seed": config.seed,
        }
        y_units = y_star[owner]
        use = y_units >= 0
        head = SentimentHead(**params).fit(X[use], y_units[use])
        metrics.update(grouped_cv_accuracy(X, owner, y_star, params, config))
    else:
        if default is not None:
            source, head = "default", default
            if layer_head is not None:
                head = layer_head.head
        else:
            source = "lexicon"
            warnings.append(
                f"no star ratings to learn sentiment from and no shipped sentiment model for embedder "
                f"{embedder.model_id!r}: sentiment is learned from a word list"
            )
            lex = lexicon_polarity(texts)
            y_lex = np.where(lex > 0, 1, np.where(lex < 0, 0, -1))
            use = y_lex >= 0
            # No text carries a lexicon word: a neutral head (two opposite labels on one point).
            head = (SentimentHead(seed=config.seed).fit(X[use], y_lex[use]) if use.any()
                    else SentimentHead(seed=config.seed).fit(np.zeros((2, X.shape[1])), np.array([0, 1])))
        if labelled.any():
            # Stars played no part in this head, so every rated review is held out.
            units = layer_polarity if head is not default and layer_polarity is not None else head.polarity(X)
            score = aggregate_reviews(units, texts, owner, n_reviews, review_head if source == "default" else None)
            metrics.update(_accuracy(score[labelled] > 0, y_star[labelled]))
            p, y = (score[labelled] + 1.0) / 2.0, y_star[labelled]
            if 0 < y.mean() < 1:
                # Calibration under balanced classes, the mix the shipped heads are trained for.
                weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1.0 - y.mean()))
                metrics["sentiment_calibration_ece"] = calibration_error(p, y, weight)
                metrics["sentiment_brier"] = float(np.average((p - y) ** 2, weights=weight))
    metrics["sentiment_n_labels"] = float(labelled.sum())
    direction = default.coef_[0] if source == "default" else head.coef_[0]
    return head, direction, source, metrics, warnings


def star_weak_labels(frame: pd.DataFrame, config: InsightConfig) -> tuple[np.ndarray, bool]:
    """Star weak labels per review (-1 = none) and whether there are enough to learn from."""
    n = len(frame)
    y_star = star_labels(frame[RATING].to_numpy()) if RATING in frame.columns else np.full(n, -1)
    counts = np.bincount(y_star[y_star >= 0], minlength=2)
    return y_star, bool(counts.min() >= config.min_star_labels)


def shipped_layer_head(frame: pd.DataFrame, embedder: Embedder, config: InsightConfig) -> LayerHead | None:
    """The shipped layer-feature head when the shipped model will score sentiment (no usable stars,
    or ``sentiment='default'``), the file has one for this embedder, and the embedder can expose its
    hidden layers (``with_layers``); else None."""
    if config.sentiment not in ("auto", "default") or not hasattr(embedder, "with_layers"):
        return None
    if config.sentiment == "auto" and star_weak_labels(frame, config)[1]:
        return None
    return load_default_layer_head(config.default_sentiment_path, model_id=embedder.model_id, dim=embedder.dim)


def review_mean(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of the units' values per review (0 for a review without units)."""
    sums = np.bincount(owner, weights=values, minlength=n)
    counts = np.bincount(owner, minlength=n)
    return sums / np.maximum(counts, 1)


def _accuracy(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    pred = np.asarray(pred).astype(int)
    recall = [float(np.mean(pred[y == c] == c)) for c in (0, 1) if np.any(y == c)]
    return {"sentiment_accuracy": float(np.mean(pred == y)), "sentiment_balanced_accuracy": float(np.mean(recall))}


def grouped_cv_accuracy(
    X: np.ndarray, owner: np.ndarray, y_star: np.ndarray, params: dict[str, Any], config: InsightConfig
) -> dict[str, float]:
    """Held-out accuracy per review: folds split reviews (a review's mentions never straddle train
    and test), the head is trained on the train reviews' units and a test review's score is the
    mean polarity of its units.

    Also the calibration of the held-out units' ``p(positive)`` against their review's stars
    (expected calibration error over 10 bins, and the Brier score), under the class mix the head is
    trained for: classes weighted equally when the stars are balanced (``class_weight='balanced'``),
    the corpus' own mix otherwise."""
    reviews = np.flatnonzero(y_star >= 0)
    y = y_star[reviews]
    folds = int(min(config.cv_folds, np.bincount(y, minlength=2).min()))
    if folds < 2:
        return {}
    score = np.zeros(len(y_star))
    p_unit = np.full(len(owner), np.nan)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=config.seed).split(reviews, y):
        in_train, in_test = np.isin(owner, reviews[train]), np.isin(owner, reviews[test])
        head = SentimentHead(**params).fit(X[in_train], y_star[owner[in_train]])
        p_unit[in_test] = head.predict_proba(X[in_test])[:, 1]
        fold = review_mean(2.0 * p_unit[in_test] - 1.0, owner[in_test], len(y_star))
        score[reviews[test]] = fold[reviews[test]]
    out = _accuracy(score[reviews] > 0, y)
    held = ~np.isnan(p_unit)
    y_unit = y_star[owner[held]]
    weight = None
    if params.get("class_weight") == "balanced" and 0 < y_unit.mean() < 1:
        weight = np.where(y_unit == 1, 0.5 / y_unit.mean(), 0.5 / (1.0 - y_unit.mean()))
    out["sentiment_calibration_ece"] = calibration_error(p_unit[held], y_unit, weight)
    out["sentiment_brier"] = float(np.average((p_unit[held] - y_unit) ** 2, weights=weight))
    return out


def calibration_error(p: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, bins: int = 10) -> float:
    """Expected calibration error: the (weighted) mean gap between predicted ``p`` and the observed
    share of positives, over ``bins`` equal-width bins of ``p``."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    weight = np.ones(len(p)) if weight is None else np.asarray(weight, dtype=np.float64)
    if len(p) == 0 or weight.sum() <= 0:
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        in_bin = which == b
        w = weight[in_bin]
        total += w.sum() * abs(np.average(p[in_bin], weights=w) - np.average(y[in_bin], weights=w))
    return float(total / weight.sum())
