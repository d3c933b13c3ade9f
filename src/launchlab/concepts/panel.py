"""A simulated consumer panel: reviewers become personas who rate each concept.

Each sampled review is a persona: what it talked about (its need, and its own words when the
reviews carry text), whether it complained (its sentiment), and its segment where known (age
band, category, any other segment column). A persona's purchase intent for a concept follows an
ordered-logit rule on one latent utility

    eta = b0 + b_benefit * benefit - b_harm * harm + b_direct * direct + b_category * category
          + b_target * target + b_mood * sentiment

* ``benefit``: how much of the persona's needs the concept answers, ``sum_j P_pj (M_ij - R_ij)``,
  times ``1 + max(-sentiment, 0)`` (a complainer values the fix more); ``P_p`` is the persona's
  need profile (its need, blended with the need match of its own words);
* ``harm``: the same with ``R`` (the concept repeats what the persona may complain about);
* ``direct``: how close the concept is to the persona's own words, against the unrelated-text
  null (so "petite" in a review meets "petite" in a concept even inside a broad need);
* ``category``: +1 when the persona's category is the concept's, -1 when both are known and
  differ, 0 otherwise;
* ``target``: 1 when the concept names the persona's segment — a word of a segment value
  ("petite" of "General Petite") in the concept text, or an age the text aims at ("women over
  50", "50+", "older shoppers" → 50 and over; "under 30", "young" → under 30) — else 0.

``P(intent >= k) = sigmoid(eta - c_k)`` with cut points ``(-3, -1.5, 0, 2)``: top-2-box (intent 4
or 5) is ``sigmoid(eta)``. The panel is a transparent simulation for screening, not a survey: it
orders concepts by who they serve; its levels are only as good as these coefficients.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from launchlab.concepts.scorer import ConceptScorer
from launchlab.errors import InputError
from launchlab.schemas import CATEGORY, CONCEPT_ID, REVIEW_ID, TEXT

PANEL_COEFFICIENTS = {
    "intercept": -1.5,
    "benefit": 4.0,
    "harm": 4.0,
    "direct": 1.5,
    "category": 0.5,
    "target": 1.0,
    "mood": 0.5,
}
"""Default utility coefficients (see the module docstring)."""

CUT_POINTS = (-3.0, -1.5, 0.0, 2.0)
AGE_BANDS = ((0, 30, "<30"), (30, 40, "30-39"), (40, 50, "40-49"), (50, 65, "50-64"), (65, 200, "65+"))
_GENERIC = frozenset("general other others all none regular standard women womens woman misc unknown".split())
_OVER = re.compile(r"\b(?:over|above|aged|age)\s+(\d{2})\b|\b(\d{2})\s*(?:\+|plus\b|and (?:over|up|older)\b|or older\b)")
_UNDER = re.compile(r"\b(?:under|below)\s+(\d{2})\b")
_OLDER = re.compile(r"\b(?:older|mature|senior|seniors|midlife|grown-up)\b")
_YOUNGER = re.compile(r"\b(?:young|younger|teen|teens|twenties|college|students?)\b")


def age_band(age: object) -> str | None:
    """Age band of an age in years (None when unknown)."""
    value = pd.to_numeric(pd.Series([age]), errors="coerce").iloc[0]
    if pd.isna(value):
        return None
    for lo, hi, label in AGE_BANDS:
        if lo <= value < hi:
            return label
    return None


def require_insight_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """Check the insight stage's reviews table (need_id and sentiment per review)."""
    if not isinstance(reviews, pd.DataFrame) or len(reviews) == 0:
        raise InputError("the reviews table is empty", fix="pass the insight stage's reviews table")
    for col in ("need_id", "sentiment"):
        if col not in reviews:
            raise InputError("the reviews table has no such column", column=col, fix="pass the insight stage's reviews table")
    return reviews.reset_index(drop=True)


def simulate_panel(
    scorer: ConceptScorer,
    M: np.ndarray,
    R: np.ndarray,
    concepts: pd.DataFrame,
    concept_vecs: np.ndarray,
    null_vecs: np.ndarray,
    reviews: pd.DataFrame,
    *,
    embedder,
    size: int,
    segments: list[str],
    use_text: bool,
    min_segment: int,
    n_bootstrap: int,
    interval: float,
    seed: int,
    coefficients: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], list[str]]:
    """Rate every concept by a seeded sample of personas.

    Returns ``panel`` (concept_id, segment, value, n_personas, top2box, top2box_lo, top2box_hi,
    mean_intent; segment ``all`` is the whole panel), ``ratings`` (one sampled 1–5 intent per
    persona and concept, with its top-2-box probability), metrics and warnings.
    """
    coef = {**PANEL_COEFFICIENTS, **(coefficients or {})}
    warnings: list[str] = []
    reviews = require_insight_reviews(reviews)
    sentiment = pd.to_numeric(reviews["sentiment"], errors="coerce")
    usable = reviews[sentiment.notna()]
    skipped = len(reviews) - len(usable)
    if skipped:
        warnings.append(f"panel: {skipped} reviews without a sentiment cannot become personas")
    rng = np.random.default_rng(seed)
    if len(usable) > size:
        usable = usable.iloc[np.sort(rng.choice(len(usable), size=size, replace=False))]
    personas = usable.reset_index(drop=True)
    n_p, n_needs = len(personas), M.shape[1]
    s = np.clip(pd.to_numeric(personas["sentiment"], errors="coerce").to_numpy(float), -1, 1)

    index = {_need_key(nid): j for j, nid in enumerate(scorer.need_ids_)}
    onehot = np.zeros((n_p, n_needs))
    for p, nid in enumerate(personas["need_id"]):
        j = index.get(_need_key(nid))
        if j is not None:
            onehot[p, j] = 1.0
    direct = np.zeros((n_p, len(M)))
    has_text = use_text and TEXT in personas and personas[TEXT].notna().any()
    if has_text:
        texts = personas[TEXT].fillna("").astype(str).tolist()
        X = np.asarray(embedder.encode(texts), dtype=float)
        m = scorer.unit_match(X)
        total = m.sum(axis=1, keepdims=True)
        own = np.where(total > 1e-9, m / np.where(total > 1e-9, total, 1.0), 0.0)
        assigned = onehot.sum(axis=1, keepdims=True) > 0
        profile = np.where(assigned, 0.5 * onehot + 0.5 * own, own)
        null = X @ null_vecs.T
        mu = np.median(null, axis=1, keepdims=True)
        sd = np.maximum(1.4826 * np.median(np.abs(null - mu), axis=1, keepdims=True), 0.02)
        direct = ndtr((X @ concept_vecs.T - mu) / sd - scorer.relevance_z)
    else:
        profile = onehot
        if use_text:
            warnings.append("panel: the reviews carry no text, so personas are built from their need and sentiment only")

    care = 1.0 + np.clip(-s, 0.0, None)[:, None]
    benefit = care * (profile @ (M - R).T)
    harm = care * (profile @ R.T)
    p_cat = personas[CATEGORY].map(_key) if CATEGORY in personas else pd.Series([None] * n_p)
    c_cat = concepts[CATEGORY].map(_key) if CATEGORY in concepts else pd.Series([None] * len(M))
    category = np.zeros((n_p, len(M)))
    for i, cc in enumerate(c_cat):
        if cc is None:
            continue
        known = p_cat.notna().to_numpy()
        category[known, i] = np.where(p_cat[known].to_numpy() == cc, 1.0, -1.0)
    target = _targeting(personas, concepts, segments)
    eta = (
        coef["intercept"]
        + coef["benefit"] * benefit
        - coef["harm"] * harm
        + coef["direct"] * direct
        + coef["category"] * category
        + coef["target"] * target
        + coef["mood"] * s[:, None]
    )
    at_least = np.stack([expit(eta - c) for c in CUT_POINTS], axis=-1)  # P(intent >= 2..5)
    top2 = at_least[..., 2]
    mean_intent = 1.0 + at_least.sum(axis=-1)
    draws = rng.random((n_p, len(M)))
    intent = 1 + (draws[..., None] < at_least).sum(axis=-1)

    seg_values = _segments(personas, segments)
    rows = []
    alpha = (1.0 - interval) / 2.0
    for seg, values in [("all", pd.Series("all", index=personas.index)), *seg_values.items()]:
        for value in sorted(values.dropna().unique(), key=str):
            members = np.flatnonzero((values == value).to_numpy())
            if len(members) == 0:
                continue
            lo, hi = _bootstrap_mean(top2[members], rng, n_bootstrap, alpha)
            for i, cid in enumerate(concepts[CONCEPT_ID]):
                rows.append(
                    {
                        CONCEPT_ID: cid,
                        "segment": seg,
                        "value": str(value),
                        "n_personas": int(len(members)),
                        "top2box": round(float(top2[members, i].mean()), 4),
                        "top2box_lo": round(float(lo[i]), 4),
                        "top2box_hi": round(float(hi[i]), 4),
                        "mean_intent": round(float(mean_intent[members, i].mean()), 3),
                        "enough": bool(len(members) >= min_segment),
                    }
                )
    panel = pd.DataFrame(rows)
    persona_id = personas[REVIEW_ID].astype(str) if REVIEW_ID in personas else pd.Series(np.arange(n_p)).astype(str)
    ratings = pd.DataFrame(
        {
            "persona_id": np.repeat(persona_id.to_numpy(), len(M)),
            CONCEPT_ID: np.tile(concepts[CONCEPT_ID].to_numpy(), n_p),
            "intent": intent.ravel(),
            "p_top2box": np.round(top2.ravel(), 4),
        }
    )
    small = [f"{seg}={v}" for seg, vals in seg_values.items() for v, n in vals.value_counts().items() if n < min_segment]
    if small:
        warnings.append(f"panel: segments with fewer than {min_segment} personas are reported but flagged: {small[:8]}")
    missing = [seg for seg in segments if seg not in seg_values]
    if missing:
        warnings.append(f"panel: no segment column for {missing} in the reviews")
    metrics = {
        "panel_personas": float(n_p),
        "panel_skipped": float(skipped),
        "panel_top2box_mean": float(top2.mean()) if n_p else float("nan"),
        "panel_uses_text": float(bool(has_text)),
    }
    return panel, ratings, metrics, warnings


def _stem(word: str) -> str:
    for suffix in ("es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z]+", text.lower())}


def _age_range(text: str) -> tuple[float, float] | None:
    """The ages a concept text aims at, if it names any."""
    text = text.lower()
    for pattern, make in ((_OVER, lambda a: (a, 200.0)), (_UNDER, lambda a: (0.0, a))):
        for m in pattern.finditer(text):
            age = float(next(g for g in m.groups() if g))
            if 18 <= age <= 99 and not re.search(r"\b(?:size|sizes|us|uk|eu)\s*$", text[: m.start()]):
                return make(age)
    if _OLDER.search(text):
        return 50.0, 200.0
    if _YOUNGER.search(text):
        return 0.0, 30.0
    return None


def _targeting(personas: pd.DataFrame, concepts: pd.DataFrame, segments: list[str]) -> np.ndarray:
    """``(n_personas, n_concepts)``: 1 where the concept names the persona's segment."""
    out = np.zeros((len(personas), len(concepts)))
    texts = [
        " ".join([str(r.name), str(r.description), *[str(c) for c in (list(r.claims) if r.claims is not None else [])]])
        for r in concepts.itertuples(index=False)
    ]
    ages = pd.to_numeric(personas["age"], errors="coerce").to_numpy(float) if "age" in personas else None
    for i, text in enumerate(texts):
        words = _words(text)
        for seg in segments:
            if seg == CATEGORY or seg not in personas:
                continue
            values = personas[seg].map(lambda v: "" if _key(v) is None else str(v))
            named = {v for v in values.unique() if v and ({_stem(w) for w in re.findall(r"[a-z]+", v.lower()) if len(w) >= 4} - _GENERIC) & words}
            out[values.isin(named).to_numpy(), i] = 1.0
        if ages is not None and (span := _age_range(text)) is not None:
            out[(ages >= span[0]) & (ages < span[1]), i] = 1.0
    return out


def _need_key(value: object) -> str | None:
    """Need ids compare as text, with 3, 3.0 and "3" the same id."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return None
    return str(int(number)) if number == int(number) else str(number)


def _key(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower()
    return text or None


def _segments(personas: pd.DataFrame, segments: list[str]) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    for seg in segments:
        if seg == "age_band" and "age_band" not in personas and "age" in personas:
            out[seg] = personas["age"].map(age_band)
        elif seg in personas:
            out[seg] = personas[seg].map(lambda v: None if _key(v) is None else str(v).strip())
    return out


def _bootstrap_mean(values: np.ndarray, rng: np.random.Generator, n_bootstrap: int, alpha: float):
    """Percentile interval of the per-concept mean of ``values`` (personas x concepts)."""
    if n_bootstrap == 0 or len(values) < 2:
        mean = values.mean(axis=0)
        return mean, mean
    idx = rng.integers(0, len(values), size=(n_bootstrap, len(values)))
    means = values[idx].mean(axis=1)
    return np.quantile(means, alpha, axis=0), np.quantile(means, 1.0 - alpha, axis=0)
