"""Sentiment on embeddings: a logistic head trained on weak labels, and a word-list fallback.

The head is what gets registered (``launchlab-sentiment``): given embeddings it returns a
polarity in [-1, 1] (``2 p(positive) - 1``). It is trained on star ratings when the corpus has
them, shipped pre-trained (``models/sentiment/``, built by :mod:`launchlab.insight.default_sentiment`
from SemEval-2014 sentences and clothing reviews) for the default embedding model, and trained on
lexicon weak labels as the last resort (a different embedder and no stars, e.g. in tests).
It stays linear on purpose: its weights are also the embedding direction of sentiment that the need
model projects out, and a one-hidden-layer MLP did no better on held-out sentences.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

DEFAULT_SENTIMENT_FILE = "default_sentiment.json"
FORMAT_VERSION = 2


class SentimentHead(ClassifierMixin, BaseEstimator):
    """Logistic regression on embeddings; ``polarity(X)`` maps ``p(positive)`` to [-1, 1].

    ``y`` is 1 for positive and 0 for negative; ``sample_weight`` (optional) weighs examples, e.g.
    one source against another. Classes are not re-weighted by default, so ``p`` stays calibrated
    to the training corpus (re-weighting the clothing-only head transferred worse to other domains:
    SemEval-2015 sentence accuracy 0.61/0.71 instead of 0.81/0.83). With a single class in ``y``
    the head predicts that class' (weighted) prior, so it never fails on a lopsided corpus.
    """

    def __init__(self, C: float = 3.0, class_weight: str | None = None, seed: int = 42) -> None:
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> SentimentHead:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        sample_weight = _check_sample_weight(sample_weight, X)
        classes = np.unique(y)
        if len(classes) > 2:
            raise ValueError(f"Only binary classification is supported. SentimentHead got {len(classes)} classes.")
        # The larger label is the positive class (1 over 0); a single class keeps 0/1 semantics.
        self.classes_ = classes if len(classes) == 2 else np.array([0, 1])
        y = (y == self.classes_[1]).astype(int)
        if len(np.unique(y)) < 2:
            p = float(np.clip(np.average(y, weights=sample_weight) if len(y) else 0.5, 1e-3, 1 - 1e-3))
            self.coef_ = np.zeros((1, X.shape[1]))
            self.intercept_ = np.array([np.log(p / (1 - p))])
            return self
        with threadpool_limits(limits=1):
            lr = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=2000, random_state=self.seed
            ).fit(X, y, sample_weight=sample_weight)
        self.coef_ = lr.coef_.copy()
        self.intercept_ = lr.intercept_.copy()
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -50, 50)))
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def polarity(self, X: np.ndarray) -> np.ndarray:
        """Sentiment in [-1, 1]: ``2 p(positive) - 1``."""
        return 2.0 * self.predict_proba(X)[:, 1] - 1.0

    @classmethod
    def from_coefficients(cls, coef: np.ndarray, intercept: float, **params: Any) -> SentimentHead:
        """A fitted head from stored coefficients (the shipped default model)."""
        head = cls(**params)
        head.classes_ = np.array([0, 1])
        head.coef_ = np.asarray(coef, dtype=np.float64).reshape(1, -1)
        head.intercept_ = np.array([float(intercept)])
        head.n_features_in_ = head.coef_.shape[1]
        return head


def star_labels(rating: np.ndarray) -> np.ndarray:
    """Weak labels from stars: 1-2 → 0 (negative), 4-5 → 1 (positive), 3 or missing → -1 (unused)."""
    rating = np.asarray(rating, dtype=np.float64)
    out = np.full(len(rating), -1, dtype=int)
    out[rating <= 2] = 0
    out[rating >= 4] = 1
    return out


def cross_validated_accuracy(
    X: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 42, C: float = 3.0,
    class_weight: str | None = None,
) -> dict[str, float]:
    """Held-out accuracy and balanced accuracy of :class:`SentimentHead` by stratified k-fold."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    folds = int(min(folds, counts.min()))
    if folds < 2:
        return {}
    pred = np.empty(len(y), dtype=int)
    with threadpool_limits(limits=1):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
            pred[test] = SentimentHead(C=C, class_weight=class_weight, seed=seed).fit(X[train], y[train]).predict(X[test])
    recall = [float(np.mean(pred[y == c] == c)) for c in (0, 1)]
    return {"accuracy": float(np.mean(pred == y)), "balanced_accuracy": float(np.mean(recall))}


# A small, hand-written polarity word list for the fallback. Product-review vocabulary.
_POSITIVE = set(
    """
    good great love loved loves lovely excellent perfect perfectly amazing awesome beautiful
    best better comfortable comfy cute fantastic favorite favourite fine flattering gorgeous happy
    ideal impressed incredible like liked nice pleased pretty quality recommend recommended soft
    stunning super sturdy superb terrific wonderful worth durable reliable easy fast friendly
    delicious tasty fresh helpful attentive enjoy enjoyed fits elegant classy versatile glad
    well-made solid smooth satisfied compliments exceptional brilliant outstanding
    """.split()
)
_NEGATIVE = set(
    """
    bad poor terrible awful horrible worst worse disappointed disappointing disappointment cheap
    broke broken broken flimsy itchy scratchy uncomfortable ugly unflattering tight loose returned
    return returning waste useless defective faulty problem problems issue issues hate hated
    annoying wrong boring rude slow cold stale bland overpriced expensive shrank shrunk ripped
    torn tear fell falling frumpy sheer unfortunately sadly dislike smelled smell refund junk
    mediocre fail failed fails crash crashes noisy hot heavy weird awkward stiff
    """.split()
)
_NEGATORS = {"not", "no", "never", "didn't", "doesn't", "don't", "isn't", "wasn't", "aren't", "nothing", "hardly"}
_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)?")
_CLAUSE = re.compile(r"[.,;:!?()]+|\bbut\b")


def lexicon_polarity(texts: list[str]) -> np.ndarray:
    """Word-list polarity in [-1, 1] per text; a negator up to 3 words before a hit in the same
    clause flips it; 0 = no hit."""
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        score = 0.0
        for clause in _CLAUSE.split(str(text).lower()):
            words = _WORD.findall(clause)
            for j, w in enumerate(words):
                hit = 1.0 if w in _POSITIVE else -1.0 if w in _NEGATIVE else 0.0
                if hit and any(v in _NEGATORS for v in words[max(0, j - 3) : j]):
                    hit = -hit
                score += hit
        out[i] = np.tanh(score / 2.0)
    return out


def default_sentiment_path() -> Path:
    """Where the shipped default model lives: ``models/sentiment/`` at the project root."""
    return Path(__file__).resolve().parents[3] / "models" / "sentiment" / DEFAULT_SENTIMENT_FILE


@dataclass(frozen=True)
class LayerHead:
    """The shipped head on intermediate-layer features: ``head`` reads the output of
    :class:`~launchlab.embeddings.LayerFeatureEmbedder` with these ``layers`` (the sentence
    embedding, which it gives no weight, then one mean-pooled block per layer)."""

    layers: tuple[int, ...]
    head: SentimentHead

    @property
    def features(self) -> str:
        return "layers-" + "-".join(map(str, self.layers))


def fit_standardised(
    X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None, *, C: float, seed: int = 42
) -> SentimentHead:
    """A :class:`SentimentHead` fitted on standardised features (weighted mean and standard
    deviation), with the standardisation folded into its coefficients so it reads raw features."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = np.average(X, axis=0, weights=w)
    scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
    scale[scale < 1e-12] = 1.0
    head = SentimentHead(C=C, seed=seed).fit((X - mean) / scale, y, sample_weight=w)
    coef = head.coef_[0] / scale
    return SentimentHead.from_coefficients(coef, float(head.intercept_[0] - coef @ mean), C=C, seed=seed)


def save_default_head(
    head: SentimentHead,
    path: Path,
    *,
    model_id: str,
    info: dict[str, Any],
    layer_head: LayerHead | None = None,
) -> None:
    """Write the shipped model as plain JSON (no pickle): the sentence-embedding head's coefficients
    and intercept, optionally the layer-feature head's, the embedder id and provenance."""
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": "launchlab-sentiment-logistic-head",
        "embedder_model_id": model_id,
        "dim": int(head.coef_.shape[1]),
        "intercept": float(head.intercept_[0]),
        "coef": [float(round(c, 8)) for c in head.coef_[0]],
    }
    if layer_head is not None:
        dim = doc["dim"]
        coef = layer_head.head.coef_[0]
        if len(coef) != dim * (1 + len(layer_head.layers)) or np.any(coef[:dim] != 0):
            raise ValueError("the layer head must read [sentence embedding | layer means] with no weight on the first")
        doc["layer_head"] = {
            "layers": list(layer_head.layers),
            "reads": "mean-pooled hidden states of these layers, one block of dim each, after the sentence embedding",
            "intercept": float(layer_head.head.intercept_[0]),
            "coef": [float(f"{c:.8g}") for c in coef[dim:]],
        }
    doc["info"] = info
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def _read_matching(path: Path | None, model_id: str, dim: int) -> dict[str, Any] | None:
    path = Path(path) if path is not None else default_sentiment_path()
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if doc.get("embedder_model_id", "").lower() != model_id.lower() or int(doc.get("dim", -1)) != dim:
        return None
    return doc


def load_default_head(path: Path | None, *, model_id: str, dim: int) -> SentimentHead | None:
    """The shipped sentence-embedding head when it exists and was trained with the same embedder,
    else ``None``. It reads the plain sentence embedding, and its weights are the sentiment
    direction the need model projects out."""
    doc = _read_matching(path, model_id, dim)
    return None if doc is None else SentimentHead.from_coefficients(np.asarray(doc["coef"]), doc["intercept"])


def load_default_layer_head(path: Path | None, *, model_id: str, dim: int) -> LayerHead | None:
    """The shipped layer-feature head (the more accurate one) when the file has one for this
    embedder, else ``None``; its ``head`` reads ``[sentence embedding | layer means]``."""
    doc = _read_matching(path, model_id, dim)
    if doc is None or "layer_head" not in doc:
        return None
    part = doc["layer_head"]
    coef = np.concatenate([np.zeros(dim), np.asarray(part["coef"], dtype=np.float64)])
    return LayerHead(tuple(int(x) for x in part["layers"]), SentimentHead.from_coefficients(coef, part["intercept"]))


def describe_default_head(path: Path | None = None) -> dict[str, Any]:
    """The shipped model's metadata (embedder id, training data, accuracy), without coefficients."""
    path = Path(path) if path is not None else default_sentiment_path()
    doc = json.loads(path.read_text())
    out = {k: v for k, v in doc.items() if k != "coef"}
    if "layer_head" in out:
        out["layer_head"] = {k: v for k, v in out["layer_head"].items() if k != "coef"}
    return out


def describe_sentiment(params: dict[str, Any], metrics: dict[str, Any]) -> str:
    """One sentence for people, on how the insight stage scored sentiment and how accurate that is,
    from its params and metrics (``sentiment_source`` ...); empty when unknown."""
    source = params.get("sentiment_source")
    accuracy = metrics.get("sentiment_accuracy")
    n_labels = int(metrics.get("sentiment_n_labels", 0) or 0)
    if source == "stars":
        text = "Sentiment was learned from this corpus' star ratings (1-2 stars negative, 4-5 positive)"
        if accuracy is not None:
            text += f"; accuracy on reviews held out from training: {accuracy:.1%} over {n_labels:,} rated reviews"
        ece = metrics.get("sentiment_calibration_ece")
        if ece is not None:
            text += f", calibration error {ece:.3f} (0 = its probabilities match the held-out stars)"
        return text + "."
    if source == "default":
        why = "as configured" if params.get("sentiment") == "default" else "too few star ratings in the corpus to learn from"
        text = f"Sentiment was scored by launchlab's shipped model ({why})"
        try:
            info = describe_default_head(params.get("default_sentiment_path") or None)["info"]
            head = "layers" if str(params.get("sentiment_features", "")).startswith("layers") else "sentence"
            cv = info.get("in_domain_cv", {}).get(head, {})
            figures = " and ".join(f"{v['accuracy']:.0%} ({k.removeprefix('semeval15_')})" for k, v in cv.items())
            if figures:
                text += f"; its accuracy on review sentences it was not trained on: {figures}"
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if params.get("review_sentiment") == "review head":
            text += ("; whole reviews weigh their sentences with a small head learned from star-rated reviews "
                     "of other products")
            from launchlab.insight.review_sentiment import describe_review_head

            text += describe_review_head()
        if accuracy is not None and n_labels:
            text += f"; against the {n_labels:,} star ratings present: {accuracy:.1%}"
        return text + "."
    if source == "lexicon":
        return ("Sentiment comes from a small built-in word list (no star ratings and no shipped model for this "
                "embedding model): treat it as rough.")
    return ""
