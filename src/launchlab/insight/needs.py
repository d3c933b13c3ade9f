"""The need model: clusters review embeddings into needs and assigns new reviews to them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from launchlab.insight.labels import class_tfidf_keywords, unique_labels

UNASSIGNED = -1


def default_min_need_size(n: int) -> int:
    """Smallest need for a corpus of ``n`` reviews: 1% of it, at least 5."""
    return max(5, math.ceil(0.01 * n))


def candidate_ks(n: int, min_size: int, min_needs: int, max_needs: int) -> list[int]:
    """Numbers of needs worth trying: a geometric grid from ``min_needs`` to what ``n`` can hold."""
    upper = min(max_needs, n // min_size)
    if upper < 2:
        return [1]
    lower = min(max(2, min_needs), upper)
    ks = {lower, upper}
    k = float(lower)
    while k < upper:
        ks.add(int(round(k)))
        k *= 1.25
    return sorted(x for x in ks if lower <= x <= upper)


def _normalise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1)
    valid = norms > 1e-8
    out = np.zeros_like(X)
    out[valid] = X[valid] / norms[valid, None]
    return out, valid


class NeedModel(TransformerMixin, ClusterMixin, BaseEstimator):
    """Spherical k-means whose number of needs is chosen by silhouette, with small needs merged.

    ``fit(X, texts=...)`` clusters L2-normalised embeddings, tries each ``k`` of a small grid
    (:func:`candidate_ks`) on a seeded sample of at most ``fit_sample`` rows, each with
    ``n_init`` seeded k-means restarts, and keeps the restart and ``k`` of best cosine silhouette
    (the criterion that chooses the granularity also chooses among restarts); clusters below
    ``min_need_size`` are dissolved into their nearest neighbour, and a few Lloyd steps on all
    rows settle the final needs. With ``sentiment_direction`` (the weight vector of a sentiment
    head on the same embeddings) that direction is projected out of every embedding first, so
    needs group what customers talk about rather than how they feel about it; centroids,
    ``transform`` and ``predict`` all live in that projected space. Rows are processed in an
    order given by their content, so the result does not depend on the input order. Needs are
    numbered by size (0 = largest). With ``texts`` the model also learns keyphrase labels
    (``need_labels_``, ``keywords_``). ``predict`` assigns new embeddings to the nearest existing
    need, so ids stay stable across refreshes; ``transform`` gives cosine similarity to each need.
    """

    def __init__(
        self,
        min_need_size: int | None = None,
        max_needs: int = 30,
        min_needs: int = 4,
        silhouette_sample: int = 3000,
        n_keywords: int = 10,
        min_similarity: float | None = None,
        fit_sample: int = 10_000,
        n_init: int = 3,
        sentiment_direction: np.ndarray | None = None,
        seed: int = 42,
    ) -> None:
        self.min_need_size = min_need_size
        self.max_needs = max_needs
        self.min_needs = min_needs
        self.silhouette_sample = silhouette_sample
        self.n_keywords = n_keywords
        self.min_similarity = min_similarity
        self.fit_sample = fit_sample
        self.n_init = n_init
        self.sentiment_direction = sentiment_direction
        self.seed = seed

    def fit(self, X: np.ndarray, y: None = None, texts: Sequence[str] | None = None) -> NeedModel:
        # Many small k-means fits: BLAS/OpenMP thread start-up and contention cost more than they give.
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        with threadpool_limits(limits=1):
            return self._fit(X, texts)

    def _fit(self, X: np.ndarray, texts: Sequence[str] | None) -> NeedModel:
        if self.n_init < 1:
            raise ValueError(f"n_init must be at least 1, got {self.n_init}")
        self.direction_ = self._direction(X.shape[1])
        Xn, valid = self._project(X)
        n = int(valid.sum())
        min_size = self.min_need_size or default_min_need_size(n)
        self.min_need_size_ = int(min_size)
        labels = np.full(len(Xn), UNASSIGNED, dtype=int)
        self.k_scores_: dict[int, float] = {}
        if n == 0:
            self.centroids_ = np.zeros((0, Xn.shape[1]), dtype=np.float32)
            self.silhouette_ = float("nan")
        else:
            # Fit in a canonical row order (by content), so shuffling the input changes nothing.
            idx = np.flatnonzero(valid)
            proj = Xn[idx] @ np.random.default_rng(0).normal(size=(Xn.shape[1], 2))
            idx = idx[np.lexsort((proj[:, 1], proj[:, 0]))]
            Xv = Xn[idx]
            rng = np.random.default_rng(self.seed)
            fit_rows = np.sort(rng.permutation(n)[: self.fit_sample]) if n > self.fit_sample else np.arange(n)
            fit_min = max(2, int(round(min_size * len(fit_rows) / n)))
            Xf = Xv[fit_rows]
            sample = self._sample(len(fit_rows))
            Xs = Xf[sample]
            distances = np.clip(1.0 - Xs @ Xs.T, 0.0, 2.0)
            np.fill_diagonal(distances, 0.0)
            best: tuple[float, int, np.ndarray] | None = None
            for k in candidate_ks(n, min_size, self.min_needs, self.max_needs):
                for restart in range(self.n_init):
                    lab = self._cluster(Xf, k, fit_min, self.seed + restart)
                    score = self._silhouette(distances, lab[sample])
                    self.k_scores_[k] = max(score, self.k_scores_.get(k, -np.inf))
                    if best is None or score > best[0] + 1e-9:
                        best = (score, k, lab)
            assert best is not None
            self.silhouette_ = best[0]
            ids = np.unique(best[2])
            centroids = np.stack([Xf[best[2] == c].mean(axis=0) for c in ids])
            canonical = np.argmax(Xv @ centroids.T, axis=1)
            canonical, self.centroids_ = self._order_by_size(Xv, canonical, min_size)
            labels[idx] = canonical
        self.labels_ = labels
        self.n_needs_ = len(self.centroids_)
        self.need_sizes_ = np.bincount(labels[labels >= 0], minlength=self.n_needs_)
        self.keywords_: dict[int, list[str]] = {}
        self.need_labels_: dict[int, str] = {}
        if texts is not None:
            self.describe(texts, labels)
        return self

    def describe(self, texts: Sequence[str], labels: np.ndarray | None = None) -> NeedModel:
        """Learn keyphrase labels of the needs from the texts behind the fitted embeddings."""
        labels = self.labels_ if labels is None else np.asarray(labels)
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts for {len(labels)} embeddings")
        self.keywords_ = class_tfidf_keywords(texts, labels, self.n_keywords)
        for c in range(self.n_needs_):
            self.keywords_.setdefault(c, [])
        self.need_labels_ = unique_labels(self.keywords_)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Cosine similarity of each (projected) embedding to each need centroid, ``(n, n_needs)``."""
        check_is_fitted(self, "centroids_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        Xn, _ = self._project(X)
        return (Xn @ self.centroids_.T).astype(X.dtype, copy=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Need id of each embedding (nearest centroid); -1 for empty embeddings or too far."""
        check_is_fitted(self, "centroids_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        Xn, valid = self._project(X)
        out = np.full(len(Xn), UNASSIGNED, dtype=int)
        if self.n_needs_ == 0:
            return out
        sims = Xn @ self.centroids_.T
        out[valid] = np.argmax(sims[valid], axis=1)
        if self.min_similarity is not None:
            out[valid & (sims.max(axis=1) < self.min_similarity)] = UNASSIGNED
        return out

    def fit_predict(self, X: np.ndarray, y: None = None, texts: Sequence[str] | None = None) -> np.ndarray:
        return self.fit(X, texts=texts).labels_

    def _direction(self, dim: int) -> np.ndarray | None:
        """The unit sentiment direction to project out, or None (not given, or all zeros)."""
        if self.sentiment_direction is None:
            return None
        v = np.asarray(self.sentiment_direction, dtype=np.float64).ravel()
        if v.shape != (dim,):
            raise ValueError(f"sentiment_direction has {v.size} values but the embeddings have {dim} dimensions")
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 1e-12 else None

    def _project(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit embeddings with the sentiment direction removed (and renormalised); rows that are
        empty, or nothing but sentiment, are marked invalid."""
        Xn, valid = _normalise(X)
        if self.direction_ is None:
            return Xn, valid
        Xp, valid_p = _normalise(Xn - np.outer(Xn @ self.direction_, self.direction_))
        return Xp, valid & valid_p

    def _sample(self, n: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if n <= self.silhouette_sample:
            return np.arange(n)
        return np.sort(rng.choice(n, self.silhouette_sample, replace=False))

    @staticmethod
    def _cluster(X: np.ndarray, k: int, min_size: int, seed: int) -> np.ndarray:
        if k <= 1:
            return np.zeros(len(X), dtype=int)
        km = KMeans(n_clusters=k, n_init=1, random_state=seed, max_iter=200).fit(X)
        labels = km.labels_.astype(int)
        centroids = km.cluster_centers_
        # Dissolve clusters smaller than the minimum need, smallest first, into the nearest survivor.
        while True:
            sizes = np.bincount(labels, minlength=len(centroids))
            small_ones = (sizes > 0) & (sizes < min_size)
            if not small_ones.any() or np.sum(sizes > 0) <= 1:
                break
            small = int(np.argmin(np.where(sizes > 0, sizes, np.iinfo(int).max)))
            members = labels == small
            sims = X[members] @ centroids.T
            sims[:, small] = -np.inf
            sims[:, sizes == 0] = -np.inf
            labels[members] = np.argmax(sims, axis=1)
            centroids[small] = 0.0
        return labels

    @staticmethod
    def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
        """Cosine silhouette of a labelling of the sample, from its precomputed distance matrix."""
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= len(labels):
            return -1.0
        return float(silhouette_score(distances, labels, metric="precomputed"))

    @staticmethod
    def _order_by_size(X: np.ndarray, labels: np.ndarray, min_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Refine with Lloyd steps on all rows, dissolve needs below ``min_size``, and renumber by
        size (ties by first member), so every row sits with its nearest unit centroid and
        ``predict`` reproduces ``labels_``."""
        labels = labels.copy()
        for _ in range(30):
            ids, sizes = np.unique(labels, return_counts=True)
            if len(ids) > 1 and sizes.min() < min_size:
                ids = ids[sizes >= min_size] if (sizes >= min_size).any() else ids[[np.argmax(sizes)]]
            centroids = np.stack([X[labels == c].mean(axis=0) for c in ids]).astype(np.float32)
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
            new = ids[np.argmax(X @ centroids.T, axis=1)]
            if np.array_equal(new, labels):
                break
            labels = new
        ids = np.unique(labels)
        sizes = {c: int(np.sum(labels == c)) for c in ids}
        first = {c: int(np.argmax(labels == c)) for c in ids}
        order = sorted(ids, key=lambda c: (-sizes[c], first[c]))
        mapping = np.full(int(ids.max()) + 1, UNASSIGNED, dtype=int)
        for new_id, old in enumerate(order):
            mapping[old] = new_id
        new_labels = mapping[labels]
        centroids = np.zeros((len(order), X.shape[1]), dtype=np.float32)
        for c in range(len(order)):
            mean = X[new_labels == c].mean(axis=0)
            centroids[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return new_labels, centroids
