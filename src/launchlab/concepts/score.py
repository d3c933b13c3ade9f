"""The concept-scoring stage: rank candidate products against the needs (and trends) found."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from launchlab.concepts.config import COMPONENTS, ConceptsConfig
from launchlab.concepts.explain import explain_concepts
from launchlab.concepts.history import learn_from_history, outcome_features, validate_history
from launchlab.concepts.lexicon import DEFAULT_PATTERN, compile_terms, defect_mentions
from launchlab.concepts.norms import apply_norms
from launchlab.concepts.null_texts import NULL_TEXTS
from launchlab.concepts.panel import require_insight_reviews, simulate_panel
from launchlab.concepts.scorer import MIN_RELEVANCE, ConceptScorer, Match
from launchlab.concepts.text import ConceptTexts, clean_quote, concept_units, history_texts
from launchlab.embeddings import Embedder
from launchlab.errors import InputError
from launchlab.io import require_concepts
from launchlab.lists import as_list
from launchlab.results import StageResult
from launchlab.schemas import CATEGORY, CONCEPT_ID, DESCRIPTION, NAME, PRICE, REASON

MODEL_NAME = "launchlab-concept-scorer"
SCORE_COLUMNS = (
    CONCEPT_ID, NAME, "score", "score_lo", "score_hi", "rank", "score_transparent", *COMPONENTS,
    "relevance", "evidence", "top_needs", "risk_terms", "explanation",
)  # fmt: skip
_NEEDS_REQUIRED = ("need_id", "label", "share", "centroid")
_QUOTE_CHARS = 220


def score_concepts(
    concepts: pd.DataFrame,
    needs: pd.DataFrame,
    *,
    embedder: Embedder,
    trends: pd.DataFrame | None = None,
    config: ConceptsConfig | None = None,
    norms: pd.DataFrame | None = None,
    reviews: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    series: pd.DataFrame | None = None,
) -> StageResult:
    """Score and rank product concepts by how well they meet the needs found in the reviews.

    ``concepts`` is the loaded concepts frame (concept_id, name, description, optional claims,
    price, category, source_row); ``needs`` the insight stage's needs table, whose centroids
    were made by ``embedder``, sub-needs (``parent_need_id`` set) included; ``trends`` the trend
    stage's trends table (need series are ``need-<need_id>``; ``class``, ``growth``, ``change``,
    ``p_value``, ``prior_level``, ``last_value``, ``window`` are read when present) and ``series``
    its need series (``unique_id, ds, y``), which only names the period in explanations
    ("mentions a month"). Each concept gets need fit, pain relief, momentum (with trends: the
    evidence-weighted growth of the needs it answers, NaN for a concept that matches no need),
    white space and risk on 0–100 (see :class:`ConceptScorer`), an overall score (the weighted
    mean of need fit, pain relief and white space, plus a momentum bonus, lowered by risk, see
    :data:`DEFAULT_WEIGHTS`), a bootstrap band over the reviews behind the needs, its rank, its
    top needs, the defect words its text asserts and a one-paragraph explanation built from the
    facts, including the trend figures of the needs that give its momentum. Concepts without a
    usable id, name or description are quarantined; the ``norms`` table (past and present scores)
    is always returned.

    ``norms`` (the ``norms`` table of earlier runs) adds each concept's percentile against past
    concepts of its category; the returned ``norms`` table is that table plus this run's concepts.
    ``reviews`` (the insight stage's reviews table: need_id, sentiment, optionally text, category,
    age and other segment columns) runs the simulated consumer panel (tables ``panel`` and
    ``panel_ratings``, columns ``panel_top2box*``) and checks that each concept's category has
    reviews at all.

    ``history`` (past launches: name, description or text, optional claims, and the outcome
    column ``config.history_outcome``: success 0/1 or a number such as first-period sales)
    fits a calibrated outcome model on the components and the text embedding, cross-validated
    against the transparent score; when it does better, ``score`` is the model's (probability of
    success × 100, or the percentile of the predicted outcome) and ``score_transparent`` keeps the
    weighted one. Without history the transparent weighted score is used, and a warning says so.

    Every concept gets an ``evidence`` level: ``none`` when it barely matches any need
    (relevance < 0.2, :data:`MIN_RELEVANCE`) or its category has no reviews — its band is then
    the whole 0–100 range, never a confident number, and it ranks after every concept with
    evidence —, ``weak`` below relevance 0.5, else ``strong``.

    Example::

        result = score_concepts(concepts, needs, embedder=HashingEmbedder())
        result.tables["scores"][["concept_id", "score", "rank"]]
    """
    config = config or ConceptsConfig()
    usable, quarantine = _validate_concepts(concepts)
    needs = _validate_needs(needs, embedder)
    if trends is not None:
        trends = _validate_trends(trends)
    texts = _embed_texts(usable, needs, embedder, config)
    scorer = ConceptScorer(
        weights=config.weights,
        temperature=config.temperature,
        relevance_z=config.relevance_z,
        growth_scale=config.growth_scale,
        claim_weight=config.claim_weight,
    ).fit(needs, trends=trends, null_embeddings=texts.null_vecs)
    match = _match(scorer, texts)
    score_fn, history_metrics, history_warnings = _score_function(scorer, match, history, embedder, texts, config)
    score = score_fn(match.components)
    if reviews is not None:
        reviews = require_insight_reviews(reviews)
    lo, hi, evidence, no_reviews = _band_and_evidence(scorer, match, score, score_fn, needs, usable, reviews, config)
    rank = _rank(score, evidence)
    explanations, facts, top_idx = explain_concepts(
        usable, texts, match, scorer, needs, score, lo, hi, rank, no_reviews, history_metrics, config,
        period=series_period(series))
    scores = _scores_table(usable, texts, match, scorer, score, lo, hi, rank, evidence, top_idx, explanations, facts)
    scores, norms_out, norm_warnings = apply_norms(scores, norms, embedder_id=embedder.model_id, min_norms=config.min_norms)

    warnings = _evidence_warnings(scorer, trends, scores, usable, no_reviews)
    tables = {"scores": scores, "norms": norms_out}
    panel_metrics: dict[str, float] = {}
    if reviews is not None:
        panel, ratings, panel_metrics, panel_warnings = simulate_panel(
            scorer, match.M, match.R, usable, match.concept_vecs, texts.null_vecs, reviews,
            embedder=embedder, size=config.panel_size, segments=list(config.panel_segments),
            use_text=config.panel_use_text, min_segment=config.panel_min_segment,
            n_bootstrap=config.n_bootstrap, interval=config.interval, seed=config.seed,
            coefficients=config.panel_coefficients,
        )  # fmt: skip
        warnings.extend(panel_warnings)
        tables["panel"], tables["panel_ratings"] = panel, ratings
        scores = _add_panel_columns(scores, panel, config.panel_min_segment)
        tables["scores"] = scores
    if len(quarantine):
        warnings.append(f"{len(quarantine)} concept rows quarantined (see quarantine)")
    warnings.extend(norm_warnings)
    warnings.extend(history_warnings)

    metrics = _metrics(scores, len(concepts), len(usable), len(quarantine), needs, norms, scorer,
                       {**panel_metrics, **history_metrics})
    summary = {
        "ranking": [
            {CONCEPT_ID: r[CONCEPT_ID], NAME: r[NAME], "score": float(r["score"]), "evidence": r["evidence"]}
            for _, r in scores.iterrows()
        ],
        "momentum_scored": bool(scorer.has_trends_),
        "norms": norms is not None,
        "panel": reviews is not None,
        "score_source": "learned" if scorer.head_ is not None else "transparent",
    }
    evidence_doc = {cid: f for cid, f in zip(usable[CONCEPT_ID].astype(str), facts)}
    return StageResult(
        artifacts={"concept_evidence.json": evidence_doc},
        tables=tables,
        metrics=metrics,
        params=_params(scorer, config, embedder),
        models={MODEL_NAME: scorer},
        quarantine=quarantine,
        summary=summary,
        warnings=warnings,
    )


# ---------------------------------------------------------------- phases
def _embed_texts(usable: pd.DataFrame, needs: pd.DataFrame, embedder: Embedder, config: ConceptsConfig) -> ConceptTexts:
    """Embed the concepts' texts, the null texts and the needs' quotes in one call."""
    units = [concept_units(row) for row in usable.itertuples(index=False)]
    pattern = compile_terms(config.defect_terms) if config.defect_terms else DEFAULT_PATTERN
    mentions = [[defect_mentions(text, pattern) for text in texts] for texts in units]
    flat = [text for texts in units for text in texts]
    null_texts = list(config.null_texts) if config.null_texts else list(NULL_TEXTS)
    quotes = [[clean_quote(q) for q in as_list(qs)[:5]] for qs in needs.get("quotes", [[]] * len(needs))]
    quote_flat = [q for qs in quotes for q in qs if q]
    vectors = embedder.encode(flat + null_texts + quote_flat)
    unit_vecs = vectors[: len(flat)]
    per_concept, start = [], 0
    for texts in units:
        per_concept.append(unit_vecs[start : start + len(texts)])
        start += len(texts)
    return ConceptTexts(
        units, mentions, pattern, per_concept, vectors[len(flat) : len(flat) + len(null_texts)], quotes,
        vectors[len(flat) + len(null_texts) :],
    )


def _match(scorer: ConceptScorer, texts: ConceptTexts) -> Match:
    M, R = scorer.match(texts.unit_vecs, texts.defects)
    components = scorer.components_from_match(M, R)
    return Match(M, R, components, M.sum(axis=1), scorer.combine(components), np.vstack([v[0] for v in texts.unit_vecs]))


def _score_function(
    scorer: ConceptScorer, match: Match, history: pd.DataFrame | None, embedder: Embedder, texts: ConceptTexts,
    config: ConceptsConfig,
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, float], list[str]]:
    """How components become the score: the outcome model learned from past launches when it
    beats the transparent weighted score in cross-validation, else that weighted score."""
    score_fn, history_metrics, history_warnings = scorer.combine, {}, []
    if history is not None:
        head, history_metrics, history_warnings = _learn(scorer, history, embedder, texts.pattern, config)
        if head is not None:
            scorer.set_outcome_model(head)
            n = len(match.relevance)

            def score_fn(comps: np.ndarray) -> np.ndarray:
                reps = len(comps) // n
                feats = outcome_features(comps, np.tile(match.relevance, reps), np.tile(match.concept_vecs, (reps, 1)))
                return head.predict_score(feats)
    else:
        history_warnings.append("no history of past launches given: the transparent weighted score is used")
    return score_fn, history_metrics, history_warnings


def _band_and_evidence(
    scorer: ConceptScorer, match: Match, score: np.ndarray, score_fn: Callable[[np.ndarray], np.ndarray],
    needs: pd.DataFrame, usable: pd.DataFrame, reviews: pd.DataFrame | None, config: ConceptsConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The score's bootstrap band and each concept's evidence level; a concept without evidence
    (barely relevant, or a category no review is about) gets the band 0-100."""
    lo, hi = _bootstrap_band(scorer, match.M, match.R, needs, config, score_fn)
    lo, hi = np.minimum(lo, score), np.maximum(hi, score)
    relevance = match.relevance
    evidence = np.where(relevance < MIN_RELEVANCE, "none", np.where(relevance < 0.5, "weak", "strong")).astype(object)
    no_reviews = np.zeros(len(usable), dtype=bool)
    if reviews is not None:
        no_reviews = _categories_without_reviews(usable, reviews)
        evidence[no_reviews] = "none"
    lo, hi = np.where(evidence == "none", 0.0, lo), np.where(evidence == "none", 100.0, hi)
    return lo, hi, evidence, no_reviews


def _rank(score: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """Rank by score; a concept without evidence has no defensible place above one with evidence."""
    order = sorted(range(len(score)), key=lambda i: (evidence[i] == "none", -score[i], i))
    rank = np.empty(len(score), dtype=int)
    rank[order] = np.arange(1, len(score) + 1)
    return rank


def _scores_table(
    usable: pd.DataFrame, texts: ConceptTexts, match: Match, scorer: ConceptScorer, score: np.ndarray, lo: np.ndarray,
    hi: np.ndarray, rank: np.ndarray, evidence: np.ndarray, top_idx: list[list[int]], explanations: list[str],
    facts: list[list[dict]],
) -> pd.DataFrame:
    """The ``scores`` table, best rank first."""
    scores = pd.DataFrame(
        {
            CONCEPT_ID: usable[CONCEPT_ID].astype(str).to_numpy(),
            NAME: usable[NAME].astype(str).to_numpy(),
            "score": np.round(score, 2),
            "score_lo": np.round(lo, 2),
            "score_hi": np.round(hi, 2),
            "rank": rank,
            "score_transparent": np.round(match.transparent, 2),
            **{c: np.round(match.components[:, k], 2) for k, c in enumerate(COMPONENTS)},
            "relevance": np.round(match.relevance, 4),
            "evidence": evidence,
            "top_needs": [[scorer.labels_[j] for j in idx] for idx in top_idx],
            "risk_terms": [sorted({t for found in per_unit for t in found}) for per_unit in texts.mentions],
            "explanation": explanations,
            "top_need_facts": [json.dumps(f, ensure_ascii=False) for f in facts],
        }
    )
    for extra in (CATEGORY, PRICE):
        if extra in usable:
            scores[extra] = usable[extra].to_numpy()
    return scores.sort_values("rank", kind="stable").reset_index(drop=True)


def _evidence_warnings(
    scorer: ConceptScorer, trends: pd.DataFrame | None, scores: pd.DataFrame, usable: pd.DataFrame, no_reviews: np.ndarray
) -> list[str]:
    """What the scores could not take into account: momentum, weak matches, categories without reviews."""
    warnings = []
    if trends is None:
        warnings.append("momentum not scored: no trends were given, so the overall score leaves it out")
    elif not scorer.has_trends_:
        warnings.append(
            "momentum not scored: the trends table has no need-<id> series (do the reviews have dates?), "
            "so the overall score leaves it out"
        )
    weak = scores.loc[scores["relevance"] < MIN_RELEVANCE, CONCEPT_ID].tolist()
    if weak:
        momentum = ", and no need trend gives them momentum" if scorer.has_trends_ else ""
        warnings.append(f"concepts {weak} barely match any need in the reviews: their scores rest on little evidence{momentum}")
    if no_reviews.any():
        cats = sorted({str(c) for c in usable.loc[no_reviews, CATEGORY]})
        warnings.append(f"no reviews in categories {cats}: there is no evidence for concepts there, their band spans 0–100")
    return warnings


def _metrics(
    scores: pd.DataFrame, rows_in: int, rows_used: int, rows_quarantined: int, needs: pd.DataFrame,
    norms: pd.DataFrame | None, scorer: ConceptScorer, more: dict[str, float],
) -> dict[str, float]:
    """Row accounting, the spread of the scores and their bands, and ``more`` (panel, history)."""
    ranked = scores["score"].to_numpy()
    return {
        "rows_in": float(rows_in),
        "rows_used": float(rows_used),
        "rows_quarantined": float(rows_quarantined),
        "n_concepts": float(rows_used),
        "n_needs": float(len(needs)),
        "score_mean": float(np.mean(ranked)),
        "score_max": float(np.max(ranked)),
        "score_min": float(np.min(ranked)),
        "score_std": float(np.std(ranked)),
        "top_score_gap": float(ranked[0] - ranked[1]) if len(ranked) > 1 else float("nan"),
        "band_width_mean": float(np.mean(scores["score_hi"] - scores["score_lo"])),
        "norms_n": float(len(norms) if norms is not None else 0),
        "n_no_evidence": float((scores["evidence"] == "none").sum()),
        **({"momentum_max": float(scores["momentum"].max()), "n_momentum_not_scored": float(scores["momentum"].isna().sum())}
           if scores["momentum"].notna().any() else {}),
        **more,
        "needs_with_trend": float(np.isfinite(scorer.growth_).sum() + sum(
            1 for g, c in zip(scorer.growth_, scorer.trend_class_) if not np.isfinite(g) and c)),
    }  # fmt: skip


def _params(scorer: ConceptScorer, config: ConceptsConfig, embedder: Embedder) -> dict[str, object]:
    return {
        **{f"weight_{c}": w for c, w in scorer.effective_weights().items()},
        "momentum_scored": bool(scorer.has_trends_),
        "pain_source": scorer.pain_source_,
        "score_source": "learned" if scorer.head_ is not None else "transparent",
        **{
            k: v if v is None or isinstance(v, (bool, int, float, str)) else str(v)
            for k, v in config.model_dump(exclude={"weights", "null_texts", "defect_terms"}).items()
        },
        "null_texts": "bundled" if not config.null_texts else f"{len(config.null_texts)} custom",
        "defect_terms": "bundled" if not config.defect_terms else f"{len(config.defect_terms)} custom",
        "embedder": embedder.model_id,
    }


def series_period(series: pd.DataFrame | None) -> str:
    """The period of the need series in words ("month", "week", …) from the spacing of ``ds``;
    "period" when it cannot be told."""
    if series is None or "ds" not in series or len(series) == 0:
        return "period"
    if "unique_id" in series:
        series = series[series["unique_id"].astype(str).str.startswith("need-")]
    ds = pd.to_datetime(pd.Series(series["ds"].unique()), errors="coerce").dropna().sort_values()
    if len(ds) < 2:
        return "period"
    days = float(ds.diff().dt.total_seconds().dropna().median()) / 86_400
    for name, low, high in (("day", 0.9, 1.1), ("week", 6.5, 7.5), ("month", 27.5, 31.5), ("quarter", 89, 93), ("year", 364, 367)):
        if low <= days <= high:
            return name
    return "period"


# ---------------------------------------------------------------- validation

def _validate_concepts(concepts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usable concepts and the quarantined rest (original columns + reason) by the concepts
    contract; a repeated concept id raises, as scores are keyed by id."""
    frame, problems = require_concepts(concepts, allow=("description", "id", "name", "price"))
    usable, _ = problems.set_aside(frame)
    _, quarantine = problems.set_aside(concepts.reset_index(drop=True))
    if len(usable) == 0:
        raise InputError(
            f"no usable concept: every row has an empty id, name or description ({quarantine[REASON].iloc[0]})",
            column=DESCRIPTION,
            fix="give each concept an id, a name and a description",
        )
    return usable.reset_index(drop=True), quarantine


def _validate_needs(needs: pd.DataFrame, embedder: Embedder) -> pd.DataFrame:
    if not isinstance(needs, pd.DataFrame) or len(needs) == 0:
        raise InputError("the needs table is empty", fix="run the insight stage on reviews first and pass its needs table")
    for col in _NEEDS_REQUIRED:
        if col not in needs:
            raise InputError("the needs table has no such column", column=col, fix="pass the insight stage's needs table")
    needs = needs.reset_index(drop=True)
    for i, c in enumerate(needs["centroid"]):
        vec = np.asarray(c if c is not None else [], dtype=float).ravel()
        if vec.size != embedder.dim or not np.isfinite(vec).all():
            raise InputError(
                f"need {needs['need_id'].iloc[i]!r} has a centroid of length {vec.size}, "
                f"but the embedder {embedder.model_id!r} makes vectors of length {embedder.dim}",
                row=i + 1,
                column="centroid",
                fix="score concepts with the same embedding model that found the needs",
            )
    return needs


def _validate_trends(trends: pd.DataFrame) -> pd.DataFrame:
    if "unique_id" not in trends:
        raise InputError("the trends table has no such column", column="unique_id", fix="pass the trend stage's trends table")
    if "growth" not in trends and "class" not in trends:
        raise InputError("the trends table has no such column", column="growth", fix="pass the trend stage's trends table")
    return trends


def _learn(scorer: ConceptScorer, history: pd.DataFrame, embedder: Embedder, pattern, config: ConceptsConfig):
    """Score the past launches like new concepts and learn their outcomes (see launchlab.concepts.history)."""
    frame, y, task = validate_history(history, config.history_outcome, config.history_task)
    units = history_texts(frame)
    flat = [t for texts in units for t in texts]
    vecs = embedder.encode(flat)
    per, start = [], 0
    for texts in units:
        per.append(vecs[start : start + len(texts)])
        start += len(texts)
    defects = [[bool(defect_mentions(t, pattern)) for t in texts] for texts in units]
    M, R = scorer.match(per, defects)
    comps = scorer.components_from_match(M, R)
    features = outcome_features(comps, M.sum(axis=1), np.vstack([v[0] for v in per]))
    head, metrics, warnings = learn_from_history(features, scorer.combine(comps), y, task, seed=config.seed)
    metrics["history_task_classification"] = float(task == "classification")
    return head, metrics, warnings


def _categories_without_reviews(concepts: pd.DataFrame, reviews: pd.DataFrame) -> np.ndarray:
    """Concepts whose category is known but matches no review's category (case-insensitive)."""
    out = np.zeros(len(concepts), dtype=bool)
    if CATEGORY not in concepts or CATEGORY not in reviews or reviews[CATEGORY].isna().all():
        return out
    seen = set(reviews[CATEGORY].dropna().astype(str).str.strip().str.lower())
    for i, cat in enumerate(concepts[CATEGORY]):
        if cat is not None and not (isinstance(cat, float) and math.isnan(cat)) and str(cat).strip():
            out[i] = str(cat).strip().lower() not in seen
    return out


def _add_panel_columns(scores: pd.DataFrame, panel: pd.DataFrame, min_segment: int) -> pd.DataFrame:
    overall = panel[panel["segment"] == "all"].set_index(CONCEPT_ID)
    seg = panel[(panel["segment"] != "all") & panel["enough"]]
    best = (
        seg.sort_values(["top2box", "segment", "value"], ascending=[False, True, True], kind="stable")
        .groupby(CONCEPT_ID, sort=False)
        .head(1)
        .set_index(CONCEPT_ID)
    )
    out = scores.copy()
    ids = out[CONCEPT_ID]
    for col in ("top2box", "top2box_lo", "top2box_hi"):
        out[f"panel_{col}"] = ids.map(overall[col]).to_numpy()
    label = best["segment"] + "=" + best["value"]
    out["panel_best_segment"] = ids.map(label).to_numpy()
    return out


# ---------------------------------------------------------------- uncertainty

def _bootstrap_band(
    scorer: ConceptScorer, M: np.ndarray, R: np.ndarray, needs: pd.DataFrame, config: ConceptsConfig, score_fn
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile band of the score when the reviews behind the needs are resampled.

    Each resample draws the reviews per need from a multinomial on the shares and the negative
    reviews of each need from a binomial, which moves every component but momentum; the match
    of concept texts to needs is held fixed.
    """
    n_c = len(M)
    score = score_fn(scorer.components_from_match(M, R))
    if config.n_bootstrap == 0:
        return score.copy(), score.copy()
    rng = np.random.default_rng(config.seed)
    share = scorer.share_ / max(scorer.share_.sum(), 1e-12)
    counts = pd.to_numeric(needs["n_reviews"], errors="coerce").fillna(0).to_numpy(float) if "n_reviews" in needs else None
    if counts is None or counts.sum() <= 0:
        counts = share * 1000.0
    total = max(int(round(counts.sum())), 1)
    b = config.n_bootstrap
    drawn = rng.multinomial(total, share, size=b).astype(float)
    neg_drawn = rng.binomial(drawn.astype(int), np.broadcast_to(scorer.negativity_, drawn.shape))
    negativity_b = np.where(drawn > 0, neg_drawn / np.maximum(drawn, 1.0), scorer.negativity_)
    share_b = drawn / total * scorer.share_.sum()
    comps_b = scorer.components_from_match(M, R, share=share_b, negativity=negativity_b)
    scores_b = score_fn(comps_b.reshape(-1, len(COMPONENTS))).reshape(b, n_c)
    alpha = (1.0 - config.interval) / 2.0
    return np.quantile(scores_b, alpha, axis=0), np.quantile(scores_b, 1.0 - alpha, axis=0)
