"""The need model: clusters review embeddings into needs and assigns new reviews to them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
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
    out = X / np.where(valid, norms, 1.0)[:, None]
    out[~valid] = 0.0
    return out, valid


class NeedModel(TransformerMixin, ClusterMixin, BaseEstimator):
    """Spherical k-means whose number of needs is chosen by silhouette, with small needs merged.

    ``fit(X, texts=...)`` clusters L2-normalised embeddings. Each ``k`` of a small grid
    (:func:`candidate_ks`) is tried on a seeded sample of at most ``silhouette_sample`` rows,
    each with ``n_init`` seeded k-means restarts, and the restart and ``k`` of best cosine
    silhouette on that sample are kept (the criterion that chooses the granularity also chooses
    among restarts); the chosen centroids are refitted by k-means on a larger seeded sample of at
    most ``fit_sample`` rows (holding the first), clusters below ``min_need_size`` are dissolved
    into their nearest neighbour, and Lloyd steps on all rows settle the final needs. Trying every
    candidate on the small sample is what keeps the fit cheap: the silhouette is computed from
    cluster sums in ``O(n d k)``, and only the one chosen clustering is fitted on more rows.
    With ``sentiment_direction`` (the weight vector of a sentiment
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
            self.silhouette_ = self.silhouette_se_ = float("nan")
            self.silhouette_n_ = 0
        else:
            # Fit in a canonical row order (by content), so shuffling the input changes nothing.
            idx = np.flatnonzero(valid)
            proj = Xn[idx] @ np.random.default_rng(0).normal(size=(Xn.shape[1], 2))
            idx = idx[np.lexsort((proj[:, 1], proj[:, 0]))]
            Xv = Xn[idx]
            # Choose k and restart on a small sample (clustering it for every candidate is the
            # bulk of the cost), refit the chosen centroids on the larger fit sample, then settle
            # them with Lloyd steps on all rows.
            perm = np.random.default_rng(self.seed).permutation(n)
            fit_rows = np.sort(perm[: self.fit_sample])
            select_rows = np.sort(perm[: min(self.silhouette_sample, self.fit_sample)])
            Xs = Xv[select_rows]
            select_min = max(2, int(round(min_size * len(select_rows) / n)))
            best: tuple[float, int, np.ndarray] | None = None
            for k in candidate_ks(n, min_size, self.min_needs, self.max_needs):
                for restart in range(self.n_init):
                    lab = self._cluster(Xs, k, select_min, self.seed + restart)
                    score = _cosine_silhouette(Xs, lab)
                    self.k_scores_[k] = max(score, self.k_scores_.get(k, -np.inf))
                    if best is None or score > best[0] + 1e-9:
                        best = (score, k, lab)
            assert best is not None
            self.silhouette_ = best[0]
            # the champion policy compares silhouettes beyond their standard error
            rows = _cosine_silhouette_rows(Xs, best[2])
            self.silhouette_n_ = len(rows)
            self.silhouette_se_ = float(rows.std(ddof=1) / np.sqrt(len(rows))) if len(rows) > 1 else float("nan")
            centroids = _cluster_means(Xs, best[2])
            if len(fit_rows) > len(select_rows) and len(centroids) > 1:
                Xf = Xv[fit_rows]
                fit_min = max(2, int(round(min_size * len(fit_rows) / n)))
                lab = self._cluster(Xf, len(centroids), fit_min, self.seed, init=centroids)
                centroids = _cluster_means(Xf, lab)
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

    @staticmethod
    def _cluster(X: np.ndarray, k: int, min_size: int, seed: int, init: np.ndarray | None = None) -> np.ndarray:
        """k-means labels of ``X`` (seeded k-means++ start, or ``init`` centroids), with clusters
        below ``min_size`` dissolved, smallest first, into the nearest surviving centroid."""
        if k <= 1:
            return np.zeros(len(X), dtype=int)
        start = "k-means++" if init is None else np.asarray(init, dtype=X.dtype)
        km = KMeans(n_clusters=k, init=start, n_init=1, random_state=seed, max_iter=200).fit(X)
        labels = km.labels_.astype(int)
        centroids = km.cluster_centers_
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
    def _order_by_size(X: np.ndarray, labels: np.ndarray, min_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Refine with Lloyd steps on all rows, dissolve needs below ``min_size``, and renumber by
        size (ties by first member), so every row sits with its nearest unit centroid and
        ``predict`` reproduces ``labels_``."""
        labels = labels.copy()
        for _ in range(30):
            ids, sizes = np.unique(labels, return_counts=True)
            if len(ids) > 1 and sizes.min() < min_size:
                ids = ids[sizes >= min_size] if (sizes >= min_size).any() else ids[[np.argmax(sizes)]]
            kept = np.isin(labels, ids)
            Xk, lk = (X, labels) if kept.all() else (X[kept], labels[kept])
            centroids = _unit(_cluster_sums(Xk, np.searchsorted(ids, lk), len(ids)))
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
        return new_labels, _unit(_cluster_sums(X, new_labels, len(order)))


def add_review_similarity(sums: np.ndarray, similarity: np.ndarray, unit_need: np.ndarray, owner: np.ndarray) -> None:
    """Add units' cosine similarity to each need (``NeedModel.transform``) into their review's row of
    ``sums`` (reviews x needs, in place), leaving out units without a need; batch by batch."""
    assigned = unit_need >= 0
    np.add.at(sums, owner[assigned], similarity[assigned])


def review_needs(sums: np.ndarray, has_need: np.ndarray) -> np.ndarray:
    """Each review's need from :func:`add_review_similarity` sums: the need nearest the mean of its
    mentions, which is what the review is about as a whole (on SemEval sentences split into clauses it
    matches the gold category better than the most frequent mention need: +0.004 to +0.03 NMI);
    -1 for reviews none of whose units has a need (``has_need`` False)."""
    out = np.full(len(sums), UNASSIGNED, dtype=int)
    if sums.shape[1]:
        out[has_need] = np.argmax(sums[has_need], axis=1)
    return out


def _cluster_sums(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Sum of the rows of each cluster ``0..k-1``, ``(k, d)``, in the precision of ``X``."""
    n = len(labels)
    onehot = sp.csr_matrix((np.ones(n, dtype=X.dtype), (labels, np.arange(n))), shape=(k, n))
    return np.asarray(onehot @ X)


def _unit(M: np.ndarray) -> np.ndarray:
    return (M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _cluster_means(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean row of each non-empty cluster, in order of cluster id."""
    ids, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return (_cluster_sums(X, inverse, len(ids)) / counts[:, None]).astype(X.dtype)


def _cosine_silhouette_rows(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cosine silhouette of each of the unit rows ``X`` under ``labels``, exact and without the
    ``n x n`` distance matrix: a row's summed cosine distance to a cluster of ``m`` rows with
    sum ``S`` is ``m - x.S``, so every row's distance to every cluster costs ``O(n d k)``.
    Per row; all -1 when there are fewer than two clusters or every row is its own cluster."""
    ids, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n = len(X)
    if len(ids) < 2 or len(ids) >= n:
        return np.full(n, -1.0)
    X = X.astype(np.float64)
    totals = np.maximum(counts[None, :] - X @ _cluster_sums(X, inverse, len(ids)).T, 0.0)
    rows = np.arange(n)
    own = counts[inverse]
    a = totals[rows, inverse] / np.maximum(own - 1, 1)
    means = totals / counts[None, :]
    means[rows, inverse] = np.inf
    b = means.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return s


def _cosine_silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean cosine silhouette of unit rows ``X`` under ``labels`` (-1 when there are fewer than
    two clusters or every row is its own cluster)."""
    rows = _cosine_silhouette_rows(X, labels)
    return float(rows.mean()) if len(rows) else -1.0
