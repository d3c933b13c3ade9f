"""The transparent concept scorer: a scikit-learn estimator fitted on the needs table.

How a concept meets the needs
-----------------------------
A concept is a set of text units — its whole text (name, description, claims) and each claim on
its own — embedded by the same model that embedded the needs. For a unit ``u`` and need ``j``:

* ``p_uj = Phi(z_uj - relevance_z)``: the cosine ``s_uj`` to the need's centroid as a robust
  z-score against the cosines of unrelated product texts to that need (the null). A kitchen
  gadget sits inside the null and gets ``p ~ 0``; an on-topic text sits far above it.
* ``a_uj = softmax_j(spec_uj / temperature)``: which need the unit speaks to. ``spec_uj`` is the
  cosine to the part of the need's centroid not shared with the other needs (the centroid minus
  its projection on the share-weighted mean need direction). All needs of one corpus resemble
  each other; this null of the need set keeps "a dress" from matching every dress need alike.
* ``m_uj = p_uj * a_uj``; the concept's match ``M_ij`` is the weighted mean of its units' ``m``
  (the whole text carries ``1 - claim_weight``, the claims share ``claim_weight``), so
  ``sum_j M_ij <= 1`` and that sum is the concept's ``relevance`` to the reviews.
* A unit that names a defect without negating it (:mod:`launchlab.concepts.lexicon`) repeats a
  complaint rather than answering it: its match is counted in ``R`` (risk) instead of relief.

Components (0–100)
------------------
* need fit ``= 100 * sum_j M_ij share_j / max_j share_j`` — the demand the concept addresses,
  100 when it fully addresses the largest need;
* pain relief ``= 100 * sum_j (M_ij - R_ij) pain_j / max_j pain_j`` with
  ``pain_j = share_j * neg_share_j * neg_share_j / neg_all``: the need's volume of negative
  reviews times its lift over the corpus's share-weighted negativity ``neg_all`` (a big need is
  not a pain point just because a fifth of any large group of reviews is negative); or the
  insight stage's ``unmet_score`` when given;
* momentum ``= 100 * sum_j (M_ij - R_ij) u_j``: the evidence-weighted growth of the needs the
  concept answers, 0 when they are not growing, 100 when it fully answers a strongly emerging
  need. ``u_j`` in [0, 1] is the need's growth evidence from the trend stage's row ``need-<id>``
  (see :func:`growth_evidence`): the weight of its trend class (emerging 1, rising 0.7, stable
  and seasonal 0.2, declining 0) times the growth it shows, ``tanh(g_j / growth_scale)`` with
  ``g_j`` the larger of the forecast growth and the change over the trend window (at least 0.75
  for an emerging need and 0.5 for a rising one, whose class already is a significant call), and,
  for stable and seasonal needs, times ``1 - p_value`` of their slope. A need without a trend row
  gives no evidence. Momentum is NaN when no trends were given or none of them is a need's
  series, and for a concept that matches no need (relevance below :data:`MIN_RELEVANCE`): there
  is no momentum evidence for it, which is not the same as a need that does not grow;
* white space ``= 100 * sum_j M_ij (1 - praise_j / max_j praise_j)`` with
  ``praise_j = share_j * (1 - neg_share_j)``: the part of the concept that lands on needs the
  existing products are *not* already praised for ("more of the same" scores low; a concept
  matching nothing has no white space either, as there is no evidence);
* risk ``= 100 * sum_j R_ij pain_j / max_j pain_j``: the complaints the concept's own words repeat.

The overall score is the weighted mean of need fit, pain relief and white space, plus
``weights['momentum'] * momentum`` (nothing when momentum is NaN: no evidence earns no points),
minus ``weights['risk'] * risk``, clipped to 0–100 (weights in
:data:`launchlab.concepts.config.DEFAULT_WEIGHTS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, softmax
from sklearn.base import BaseEstimator

from launchlab.concepts.config import BONUSES, COMPONENTS, DEFAULT_WEIGHTS, PENALTIES
from launchlab.concepts.history import outcome_features
from launchlab.estimator_state import FramesAsArrays

CLASS_WEIGHT = {"emerging": 1.0, "rising": 0.7, "stable": 0.2, "seasonal": 0.2, "declining": 0.0}
"""How much a need's trend class counts as evidence of growing demand (see :func:`growth_evidence`).

An emerging need (new, or rising from a low base, or accelerating) is the early signal the
pipeline exists to catch; a rising one is an established need that grows; a stable or seasonal
need's growth figure passed no significance test, so it counts little; a declining need gives
none. A class the table does not know counts like a stable need."""

CLASS_FLOOR = {"emerging": 0.75, "rising": 0.5}
"""Smallest growth term of a need called emerging or rising: the class is a significant call from
the series' history, while the growth figures may understate it (a flat forecast of an
intermittent-demand model, a change over a window that starts before the onset)."""

MIN_RELEVANCE = 0.2
"""Below this relevance (the sum of a concept's match to all needs) a concept matches no need:
there is no customer evidence for it, and no momentum evidence either."""

TREND_FIGURES = ("class", "growth", "change", "p_value", "prior_level", "last_value", "window", "forecast_mean")
"""Columns of the trends table the scorer keeps per need (``trend_``), for explanations."""

_MIN_NULL_SD = 0.02


def need_series_id(need_id: object) -> str:
    """The trend stage's ``unique_id`` of a need's volume series (``need-3`` for 3, 3.0 or "3")."""
    try:
        number = float(need_id)  # type: ignore[arg-type]
        if math.isfinite(number) and number == int(number):
            return f"need-{int(number)}"
    except (TypeError, ValueError):
        pass
    return f"need-{need_id}"


@dataclass
class Match:
    """How the concepts meet the needs: match ``M`` and risk ``R`` (concepts x needs), the
    components, relevance, transparent score and each concept's whole-text embedding."""

    M: np.ndarray
    R: np.ndarray
    components: np.ndarray
    relevance: np.ndarray
    transparent: np.ndarray
    concept_vecs: np.ndarray


class ConceptScorer(FramesAsArrays, BaseEstimator):
    """Scores concept embeddings against the needs it was fitted on (see the module docstring).

    ``fit(needs)`` takes the insight stage's needs table (``centroid``, ``share`` and
    ``neg_share`` are used; ``unmet_score``, ``label``, ``need_id`` when present) or a plain
    ``(n_needs, dim)`` array of centroids (equal shares, equal pain). ``predict(X)`` returns the
    overall score of each concept; ``transform(X)`` the components ``need_fit, pain_relief,
    momentum, white_space, risk``. ``X`` is an ``(n, dim)`` array (one text per concept) or a
    list of ``(k_i, dim)`` arrays (row 0 the concept's whole text, the other rows its claims);
    ``defects`` (same shape: one bool per text unit) marks the units that name a defect (see
    :func:`launchlab.concepts.lexicon.defect_mentions`); without it risk is 0.
    """

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        temperature: float = 0.05,
        relevance_z: float = 2.5,
        growth_scale: float = 0.2,
        claim_weight: float = 0.5,
    ) -> None:
        self.weights = weights
        self.temperature = temperature
        self.relevance_z = relevance_z
        self.growth_scale = growth_scale
        self.claim_weight = claim_weight

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: object = None,
        *,
        trends: pd.DataFrame | None = None,
        null_embeddings: np.ndarray | None = None,
    ) -> ConceptScorer:
        """Store the needs' centroids, shares, pains and trend signals; return ``self``.

        ``null_embeddings`` are embeddings of texts unrelated to the domain (see
        :mod:`launchlab.concepts.null_texts`); without them the null is that of random
        directions (mean 0, standard deviation ``1/sqrt(dim)``), which suits only isotropic
        embedders.
        """
        if isinstance(X, pd.DataFrame):
            needs = X.reset_index(drop=True)
            centroids = np.vstack([np.asarray(c, dtype=float) for c in needs["centroid"]])
            n = len(needs)
            share = _column(needs, "share", np.full(n, 1.0 / n))
            negativity = _column(needs, "neg_share", None)
            if negativity is None:
                sentiment = _column(needs, "sentiment_mean", np.zeros(n))
                negativity = (1.0 - sentiment) / 2.0
            unmet = _column(needs, "unmet_score", None)
            self.need_ids_ = list(needs["need_id"]) if "need_id" in needs else list(range(n))
            self.labels_ = [str(v) for v in needs["label"]] if "label" in needs else [str(i) for i in self.need_ids_]
        else:
            centroids = np.atleast_2d(np.asarray(X, dtype=float))
            n = len(centroids)
            share, negativity, unmet = np.full(n, 1.0 / n), np.full(n, 0.5), None
            self.need_ids_ = list(range(n))
            self.labels_ = [str(i) for i in self.need_ids_]
        if n == 0:
            raise ValueError("ConceptScorer needs at least one need to fit on")
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids_ = centroids / np.where(norms == 0, 1.0, norms)
        self.n_features_in_ = self.centroids_.shape[1]
        self.share_ = np.clip(np.nan_to_num(share, nan=0.0), 0.0, None)
        self.negativity_ = np.clip(np.nan_to_num(negativity, nan=0.5), 0.0, 1.0)
        self.unmet_ = None if unmet is None or not np.isfinite(unmet).any() else np.clip(np.nan_to_num(unmet), 0.0, None)
        self.pain_source_ = "unmet_score" if self.unmet_ is not None else "share*neg_share*lift"
        self.pain_ = self._pain(self.share_, self.negativity_)
        self.praise_ = self.share_ * (1.0 - self.negativity_)

        # The specific part of each need: its centroid minus the theme all needs share.
        theme = (self.share_ if self.share_.sum() > 0 else np.ones(n)) @ self.centroids_
        theme /= max(np.linalg.norm(theme), 1e-12)
        resid = self.centroids_ - np.outer(self.centroids_ @ theme, theme)
        rnorm = np.linalg.norm(resid, axis=1, keepdims=True)
        self.specific_ = np.where(rnorm > 1e-6, resid / np.where(rnorm > 1e-6, rnorm, 1.0), 0.0)

        if null_embeddings is not None and len(null_embeddings) >= 3:
            sims = np.asarray(null_embeddings, dtype=float) @ self.centroids_.T
            self.null_mu_ = np.median(sims, axis=0)
            mad = np.median(np.abs(sims - self.null_mu_), axis=0) * 1.4826
            self.null_sd_ = np.maximum(mad, _MIN_NULL_SD)
        else:
            self.null_mu_ = np.zeros(n)
            self.null_sd_ = np.full(n, max(1.0 / math.sqrt(self.n_features_in_), _MIN_NULL_SD))

        self.trend_ = need_trends(self.need_ids_, trends)
        self.growth_ = self.trend_["growth"].to_numpy(dtype=float)
        self.trend_class_ = [None if pd.isna(c) else str(c) for c in self.trend_["class"]]
        self.evidence_ = growth_evidence(self.trend_, self.growth_scale)
        # Trends without any need series (reviews without dates) say nothing about these needs.
        self.has_trends_ = bool(self.trend_["has_trend"].any())
        self.head_ = None
        return self

    def set_outcome_model(self, model: object | None) -> ConceptScorer:
        """Attach (or with None, drop) an :class:`~launchlab.concepts.history.OutcomeModel`
        learned from past launches; ``predict`` then returns its score instead of the weighted one."""
        self.head_ = model
        return self

    # ------------------------------------------------------------- matching
    def unit_match(self, units: np.ndarray) -> np.ndarray:
        """``(n_units, n_needs)`` match ``m_uj = p_uj * a_uj`` of single text embeddings."""
        units = np.atleast_2d(np.asarray(units, dtype=float))
        z = (units @ self.centroids_.T - self.null_mu_) / self.null_sd_
        p = ndtr(z - self.relevance_z)
        if len(self.centroids_) == 1:
            return p
        a = softmax((units @ self.specific_.T) / self.temperature, axis=1)
        return p * a

    def match(
        self, X: np.ndarray | Sequence[np.ndarray], defects: Sequence[Sequence[bool]] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(M, R)``: each ``(n_concepts, n_needs)``; ``R <= M`` is the part of the match carried by
        text units that name a defect (see :class:`ConceptScorer` for ``X`` and ``defects``)."""
        if isinstance(X, np.ndarray) and X.ndim == 2:
            X = [row[None, :] for row in X]
            defects = None if defects is None else [[bool(d)] for d in np.asarray(defects).ravel()]
        rows_m, rows_r = [], []
        for i, units in enumerate(X):
            units = np.atleast_2d(np.asarray(units, dtype=float))
            m = self.unit_match(units)
            if len(units) == 1:
                w = np.ones(1)
            else:
                w = np.full(len(units), self.claim_weight / (len(units) - 1))
                w[0] = 1.0 - self.claim_weight
            flags = np.zeros(len(units)) if defects is None else np.asarray(defects[i], dtype=float)
            rows_m.append(w @ m)
            rows_r.append((w * flags) @ m)
        if not rows_m:
            empty = np.zeros((0, len(self.centroids_)))
            return empty, empty.copy()
        return np.vstack(rows_m), np.vstack(rows_r)

    # ----------------------------------------------------------- components
    def components_from_match(
        self,
        M: np.ndarray,
        R: np.ndarray | None = None,
        *,
        share: np.ndarray | None = None,
        negativity: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(n_concepts, 5)`` components from the match matrices, optionally with resampled weights.

        ``share`` and ``negativity`` may be ``(n_needs,)`` or ``(B, n_needs)`` (then the result
        is ``(B, n_concepts, 5)``), which is how the bootstrap reuses one match matrix. The
        yardsticks (largest share, pain and praise) stay the fitted ones: the maximum of
        resampled values is biased upwards.
        """
        R = np.zeros_like(M) if R is None else R
        share = self.share_ if share is None else np.asarray(share, dtype=float)
        negativity = self.negativity_ if negativity is None else np.asarray(negativity, dtype=float)
        pain = self._pain(share, negativity)
        praise = share * (1.0 - negativity)
        fit = 100.0 * (share / _positive(self.share_.max())) @ M.T
        relief = 100.0 * (pain / _positive(self.pain_.max())) @ (M - R).T
        white = 100.0 * np.clip(1.0 - praise / _positive(self.praise_.max()), 0.0, 1.0) @ M.T
        risk = 100.0 * (pain / _positive(self.pain_.max())) @ R.T
        if self.has_trends_:
            momentum = 100.0 * (M - R) @ self.evidence_
            momentum = np.broadcast_to(np.where(M.sum(axis=1) >= MIN_RELEVANCE, momentum, np.nan), fit.shape)
        else:
            momentum = np.full(fit.shape, np.nan)
        return np.clip(np.stack([fit, relief, momentum, white, risk], axis=-1), 0.0, 100.0)

    def combine(self, components: np.ndarray) -> np.ndarray:
        """Overall score: weighted mean of need fit, pain relief and white space, plus the
        momentum bonus ``w * momentum`` (0 when not scored), minus ``w * risk``, clipped to 0–100."""
        weights = self.effective_weights()
        mean_w = np.array([0.0 if c in PENALTIES + BONUSES else weights[c] for c in COMPONENTS])
        bonus_w = np.array([weights[c] if c in BONUSES else 0.0 for c in COMPONENTS])
        penalty_w = np.array([weights[c] if c in PENALTIES else 0.0 for c in COMPONENTS])
        available = np.isfinite(components)
        values = np.where(available, components, 0.0)
        num = values @ mean_w
        den = available.astype(float) @ mean_w
        base = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return np.clip(base + values @ bonus_w - values @ penalty_w, 0.0, 100.0)

    def _pain(self, share: np.ndarray, negativity: np.ndarray) -> np.ndarray:
        """Pain per need (see the module docstring); rows of ``share`` may be resamples."""
        if self.unmet_ is not None:
            # Resamples move the given unmet score in proportion to the need's negative volume.
            fitted = self.share_ * self.negativity_
            moved = share * negativity
            return self.unmet_ * np.where(fitted > 0, moved / np.where(fitted > 0, fitted, 1.0), 1.0)
        total = np.sum(share, axis=-1, keepdims=True)
        overall = np.sum(share * negativity, axis=-1, keepdims=True) / np.where(total > 0, total, 1.0)
        lift = np.where(overall > 0, negativity / np.where(overall > 0, overall, 1.0), 0.0)
        return share * negativity * lift

    def effective_weights(self) -> dict[str, float]:
        """The weights in use (defaults filled in)."""
        weights = DEFAULT_WEIGHTS if self.weights is None else self.weights
        return {c: float(weights.get(c, 0.0)) for c in COMPONENTS}

    def transform(self, X: np.ndarray | Sequence[np.ndarray], defects: Sequence | None = None) -> np.ndarray:
        """``(n_concepts, 5)`` components ``need_fit, pain_relief, momentum, white_space, risk``."""
        return self.components_from_match(*self.match(X, defects))

    def predict(self, X: np.ndarray | Sequence[np.ndarray], defects: Sequence | None = None) -> np.ndarray:
        """Overall score (0–100) of each concept: the learned outcome model's when one is attached
        (see :meth:`set_outcome_model`), else the transparent weighted score."""
        M, R = self.match(X, defects)
        components = self.components_from_match(M, R)
        if getattr(self, "head_", None) is None:
            return self.combine(components)
        whole = X if isinstance(X, np.ndarray) and X.ndim == 2 else np.vstack([np.atleast_2d(u)[0] for u in X])
        return self.head_.predict_score(outcome_features(components, M.sum(axis=1), whole))


def _column(frame: pd.DataFrame, name: str, default: np.ndarray | None) -> np.ndarray | None:
    if name not in frame or frame[name].isna().all():
        return default
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _positive(value: float) -> float:
    """A divisor that is never zero (a need set without pain gives pain relief 0, not NaN)."""
    return float(value) if value > 0 else np.inf


def need_trends(need_ids: list, trends: pd.DataFrame | None) -> pd.DataFrame:
    """One row per need (in ``need_ids`` order) with the :data:`TREND_FIGURES` of its series
    ``need-<id>`` in ``trends`` (NaN where the table lacks the series or the column) and
    ``has_trend`` (the need has a row with a class or a finite growth)."""
    out = pd.DataFrame(np.nan, index=range(len(need_ids)), columns=list(TREND_FIGURES), dtype=object)
    if trends is not None and len(trends):
        by_id = trends.drop_duplicates("unique_id", keep="last").set_index("unique_id")
        keys = [need_series_id(n) for n in need_ids]
        for col in TREND_FIGURES:
            if col in by_id:
                out[col] = by_id[col].reindex(keys).to_numpy()
    out["class"] = [str(c).lower() if isinstance(c, str) and c.strip() else None for c in out["class"]]
    for col in TREND_FIGURES[1:]:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["has_trend"] = out["class"].notna() | np.isfinite(out["growth"])
    return out


def growth_evidence(trend: pd.DataFrame, scale: float) -> np.ndarray:
    """Per need, the growth evidence ``u_j`` in [0, 1] of its trend row (0 without one).

    ``u_j = CLASS_WEIGHT[class] * confidence * tanh(max(growth, change, 0) / scale)``: the growth
    term is at least :data:`CLASS_FLOOR` for an emerging or rising need; ``confidence`` is 1 for
    those (their class is the trend stage's significance call) and ``1 - p_value`` of the slope
    for the other classes (a growth that passed no test counts by how close it came).
    """
    classes = trend["class"]
    weight = np.array([CLASS_WEIGHT.get(c, CLASS_WEIGHT["stable"]) if c else CLASS_WEIGHT["stable"] for c in classes])
    called = np.array([c in CLASS_FLOOR for c in classes])
    growth = np.fmax(trend["growth"].to_numpy(float), trend["change"].to_numpy(float))
    term = np.tanh(np.clip(np.nan_to_num(growth, nan=0.0), 0.0, None) / scale)
    term = np.maximum(term, [CLASS_FLOOR.get(c, 0.0) for c in classes])
    p_value = np.clip(np.nan_to_num(trend["p_value"].to_numpy(float), nan=0.0), 0.0, 1.0)
    confidence = np.where(called, 1.0, 1.0 - p_value)
    return np.where(trend["has_trend"].to_numpy(bool), weight * confidence * term, 0.0)
