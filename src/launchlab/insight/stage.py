"""The insight stage: reviews in, needs (with labels, quotes, sentiment) and per-review results out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from launchlab.embeddings import Embedder, ProgressCallback
from launchlab.errors import InputError
from launchlab.io import RATING_RANGE, require_columns, review_problems
from launchlab.insight.cache import CachedEmbedder
from launchlab.insight.config import InsightConfig
from launchlab.insight.labels import pick_quotes
from launchlab.insight.mentions import split_mentions
from launchlab.insight.needs import UNASSIGNED, NeedModel, add_review_similarity, review_needs
from launchlab.insight.sentiment import (
    LayerHead,
    SentimentHead,
    lexicon_polarity,
    load_default_head,
    load_default_layer_head,
    star_labels,
)
from launchlab.insight.quality import npmi_coherence, topic_diversity
from launchlab.insight.review_sentiment import aggregate_reviews, load_review_head
from launchlab.insight.unmet import breakdown, need_scores
from launchlab.results import StageResult
from launchlab.schemas import CATEGORY, DATE, PRODUCT, RATING, REASON, REVIEW_ID, TEXT

PASSTHROUGH = (RATING, DATE, PRODUCT, CATEGORY)
# all-MiniLM-L6-v2 reads 256 word pieces, roughly 1,000 characters of English.
LONG_TEXT_CHARS = 1000
BASE_COLUMNS = ["need_id", "label", "keywords", "n_reviews", "share", "sentiment_mean", "neg_share", "quotes", "centroid"]


def discover_needs(
    reviews: pd.DataFrame,
    *,
    embedder: Embedder,
    config: InsightConfig | None = None,
    embeddings: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
) -> StageResult:
    """Find the needs customers talk about, with labels, quotes, sentiment and unmet-need scores.

    ``reviews`` has the canonical columns (``review_id``, ``text``, optionally ``rating``,
    ``date``, ``product``, ``category``). With ``config.level == "mention"`` reviews are split into
    sentences/clauses and needs are found among those mentions (a review can voice several
    needs); with ``"review"`` whole reviews are clustered. ``embeddings`` (one row per input
    review) skips embedding at review level; ``progress(done, total)`` is called while embedding;
    ``config.cache_dir`` keeps embeddings on disk by text hash and model id. Rows that cannot be
    used (empty text, duplicate id, rating outside 1-5) go to ``quarantine`` with the reason.

    Corpora of more than ``config.fit_cap`` units (mentions or reviews) are streamed: the need
    model and sentiment head are fitted on a seeded sample of whole reviews holding at most
    ``fit_cap`` units (so keywords, silhouette, quotes and sentiment accuracy come from the
    sample), then all units are embedded, assigned (``NeedModel.predict``) and scored
    ``config.stream_rows`` at a time, so no more than the sample and one batch of embeddings is
    ever in memory (a million mentions at 384 float32 dims would be 1.5 GB of embeddings alone).
    Up to ``fit_cap`` units everything is fitted on all of them.

    Returns tables ``needs`` (one row per need, largest first, with share of voice, negativity,
    growth and unmet/delight scores), ``reviews`` (one row per used review: dominant need and
    overall sentiment), ``mentions`` (one row per mention) and ``need_breakdown`` (needs per
    product and category); metrics, params, the fitted ``launchlab-needs`` and
    ``launchlab-sentiment`` models and a small summary.
    """
    config = config or InsightConfig()
    embeddings = _check_embeddings(embeddings, reviews)
    frame, quarantine, keep = _usable_rows(reviews)
    units = _opinion_units(frame, keep, embeddings, config)
    embed, layer_head = _unit_embedder(units, embedder, config, progress)
    X_fit = (units.given[units.fit_rows] if units.streamed else units.given) if units.given is not None else embed(units.fit_rows)
    # Without stars, mention-level reviews are scored by the shipped review head (mention logits and
    # the word list), trained on star-rated reviews of other domains; else by their mentions' mean.
    review_head = (load_review_head(mention_model=config.default_sentiment_path)
                   if layer_head is not None and config.level == "mention" else None)
    head, direction, source, sentiment_metrics, warnings = _sentiment_head(
        units.fit_frame, X_fit, units.fit_owner, units.fit_texts, embedder, config,
        layer_head=layer_head, layer_polarity=embed.polarity[units.fit_rows] if layer_head is not None else None,
        review_head=review_head,
    )
    need_model = _fit_need_model(X_fit, units, direction, config)
    warnings = units.notes + warnings
    if units.n_long and embeddings is None:
        warnings.append(
            f"{units.n_long} texts are longer than about {LONG_TEXT_CHARS} characters; the embedding model reads "
            "only their beginning (use level='mention' to split long reviews)"
        )
    unit_need, unit_sentiment, review_sims = _assign_units(units, X_fit, need_model, head, embed, layer_head, config)
    tables = _tables(frame, units, unit_need, unit_sentiment, review_sims, need_model, X_fit, config, review_head)
    cache_hits = embed.hits if units.given is None else 0
    metrics = _metrics(reviews, frame, quarantine, units, unit_need, need_model, tables, cache_hits, sentiment_metrics)
    params: dict[str, Any] = {
        **{k: (str(v) if v is not None and not isinstance(v, (int, float, str, bool)) else v)
           for k, v in config.model_dump().items()},
        "embedder_model_id": embedder.model_id,
        "embedder_backend": getattr(embedder, "backend", "n/a"),
        "sentiment_source": source,
        "sentiment_features": layer_head.features if layer_head is not None else "sentence embedding",
        "review_sentiment": "review head" if review_head is not None else "mean of mentions",
    }
    summary = {
        "top_needs": [
            {"label": r.label, "share": round(float(r.share), 4), "sentiment_mean": round(float(r.sentiment_mean), 3)}
            for r in tables["needs"].head(5).itertuples()
        ]
    }
    warnings.extend(getattr(embedder, "notes", []))
    return StageResult(
        tables=tables,
        metrics=metrics,
        params=params,
        models={"launchlab-needs": need_model, "launchlab-sentiment": head},
        quarantine=quarantine,
        summary=summary,
        warnings=warnings,
    )


def _check_embeddings(embeddings: np.ndarray | None, reviews: pd.DataFrame) -> np.ndarray | None:
    """Precomputed embeddings as float32, one row per input review."""
    if embeddings is None:
        return None
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) != len(reviews):
        raise ValueError(
            f"embeddings must have one row per review: got shape {embeddings.shape} for {len(reviews)} reviews"
        )
    return embeddings


@dataclass
class _Units:
    """The opinion units (mentions, or whole reviews) and the sample the models are fitted on.

    ``owner`` maps each unit to its review (a row of the usable frame); ``given`` holds the
    precomputed embeddings of the units, if any; ``fit_rows`` are the units the need model and
    sentiment head are fitted on (all of them unless the corpus is streamed), ``fit_frame`` and
    ``fit_owner`` their reviews."""

    mentions: pd.DataFrame
    owner: np.ndarray
    texts: list[str]
    given: np.ndarray | None
    n_long: int
    streamed: bool
    fit_rows: np.ndarray
    fit_owner: np.ndarray
    fit_frame: pd.DataFrame
    fit_texts: list[str]
    notes: list[str]


def _opinion_units(frame: pd.DataFrame, keep: np.ndarray, embeddings: np.ndarray | None, config: InsightConfig) -> _Units:
    """Split the reviews into opinion units and choose the sample the models are fitted on."""
    notes: list[str] = []
    review_texts = frame[TEXT].tolist()
    if config.level == "mention":
        mentions = split_mentions(frame[REVIEW_ID].tolist(), review_texts)
        owner = mentions["review_index"].to_numpy()
        if embeddings is not None:
            notes.append("level='mention' embeds the mentions: the review embeddings passed in were not used")
    else:
        mentions = pd.DataFrame(
            {REVIEW_ID: frame[REVIEW_ID].to_numpy(), "mention_id": frame[REVIEW_ID] + "#0", "position": 0,
             TEXT: review_texts, "review_index": np.arange(len(frame))}
        )
        owner = np.arange(len(frame))
    given = embeddings[keep] if embeddings is not None and config.level == "review" else None
    unit_texts = mentions[TEXT].tolist()
    n_units = len(unit_texts)
    n_long = int(sum(len(t) > LONG_TEXT_CHARS for t in unit_texts))
    streamed = n_units > config.fit_cap
    fit_rows = _fit_sample(owner, config.fit_cap, config.seed) if streamed else np.arange(n_units)
    fit_reviews, fit_owner = np.unique(owner[fit_rows], return_inverse=True)
    fit_frame = frame.iloc[fit_reviews].reset_index(drop=True) if streamed else frame
    fit_texts = [unit_texts[i] for i in fit_rows] if streamed else unit_texts
    return _Units(mentions, owner, unit_texts, given, n_long, streamed, fit_rows,
                  fit_owner if streamed else owner, fit_frame, fit_texts, notes)


def _unit_embedder(
    units: _Units, embedder: Embedder, config: InsightConfig, progress: ProgressCallback | None
) -> tuple[_UnitEmbedder, LayerHead | None]:
    """The embedder of the units (through the cache, if any) and the shipped layer head when it
    scores sentiment.

    When the shipped head will score sentiment and the embedder can expose its hidden layers, the
    same forward pass also yields the layer features that head reads: each unit is scored as it
    is embedded, and only the sentence embedding is kept for the needs."""
    layer_head = _layer_head(units.fit_frame, embedder, config) if units.given is None else None
    encoder = embedder.with_layers(layer_head.layers) if layer_head is not None else embedder
    if config.cache_dir is not None:
        encoder = CachedEmbedder(encoder, config.cache_dir)
    embed = _UnitEmbedder(
        encoder, units.texts, config.batch_size, progress,
        scorer=layer_head.head if layer_head is not None else None, keep_dim=embedder.dim,
    )
    return embed, layer_head


def _fit_need_model(X_fit: np.ndarray, units: _Units, direction: np.ndarray, config: InsightConfig) -> NeedModel:
    """Cluster the fitted units into needs.

    The sentence-embedding head's weights are the embedding direction of sentiment: the need model
    projects it out, so needs group what customers talk about, not how they feel about it."""
    min_need_size = config.min_need_size
    if units.streamed and min_need_size is not None:
        min_need_size = max(2, round(min_need_size * len(units.fit_rows) / len(units.texts)))
    return NeedModel(
        min_need_size=min_need_size,
        max_needs=config.max_needs,
        min_needs=config.min_needs,
        silhouette_sample=config.silhouette_sample,
        n_keywords=config.n_keywords,
        sentiment_direction=direction,
        seed=config.seed,
    ).fit(X_fit, texts=units.fit_texts)


def _assign_units(
    units: _Units, X_fit: np.ndarray, need_model: NeedModel, head: SentimentHead, embed: _UnitEmbedder,
    layer_head: LayerHead | None, config: InsightConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unit's need and sentiment, and per review its units' summed similarity to each need
    (``needs.add_review_similarity``); a streamed corpus is embedded and scored
    ``config.stream_rows`` units at a time."""
    given, n_units = units.given, len(units.texts)
    n_reviews = int(units.owner.max()) + 1 if len(units.owner) else 0  # every usable review has a unit
    review_sims = np.zeros((n_reviews, need_model.n_needs_), dtype=np.float32)
    if units.streamed:
        unit_need = np.empty(n_units, dtype=int)
        unit_sentiment = np.empty(n_units, dtype=np.float64)
        in_fit = np.full(n_units, -1, dtype=np.int64)
        in_fit[units.fit_rows] = np.arange(len(units.fit_rows))
        for start in range(0, n_units, config.stream_rows):
            rows = np.arange(start, min(start + config.stream_rows, n_units))
            if given is not None:
                X_batch = given[rows]
            else:
                X_batch = np.empty((len(rows), X_fit.shape[1]), dtype=np.float32)
                known = in_fit[rows] >= 0
                X_batch[known] = X_fit[in_fit[rows[known]]]
                if not known.all():
                    X_batch[~known] = embed(rows[~known])
            unit_need[rows] = need_model.predict(X_batch)
            add_review_similarity(review_sims, need_model.transform(X_batch), unit_need[rows], units.owner[rows])
            scores = embed.polarity[rows] if layer_head is not None else head.polarity(X_batch)
            unit_sentiment[rows] = np.clip(scores, -1.0, 1.0)
    else:
        unit_need = need_model.labels_
        add_review_similarity(review_sims, need_model.transform(X_fit), unit_need, units.owner)
        scores = embed.polarity if layer_head is not None else head.polarity(X_fit)
        unit_sentiment = np.clip(scores, -1.0, 1.0)
    return unit_need, unit_sentiment, review_sims


def _tables(
    frame: pd.DataFrame, units: _Units, unit_need: np.ndarray, unit_sentiment: np.ndarray, review_sims: np.ndarray,
    need_model: NeedModel, X_fit: np.ndarray, config: InsightConfig, review_head: SentimentHead | None = None,
) -> dict[str, pd.DataFrame]:
    """The stage's tables: needs, reviews, mentions and the need breakdown by product and category."""
    owner = units.owner
    review_sentiment = aggregate_reviews(unit_sentiment, units.texts, owner, len(frame), review_head)
    has_need = np.bincount(owner[unit_need >= 0], minlength=len(frame)) > 0
    review_need = unit_need if config.level == "review" else review_needs(review_sims, has_need)

    scored = pd.DataFrame({"need_id": unit_need, "sentiment": unit_sentiment, "review_index": owner})
    for col in PASSTHROUGH:
        if col in frame.columns:
            scored[col] = frame[col].to_numpy()[owner]
    needs = _needs_table(need_model, scored, X_fit, units.fit_texts, unit_need[units.fit_rows], config)

    reviews_out = pd.DataFrame(
        {REVIEW_ID: frame[REVIEW_ID].to_numpy(), "need_id": review_need, "sentiment": review_sentiment}
    )
    for col in PASSTHROUGH:
        if col in frame.columns:
            reviews_out[col] = frame[col].to_numpy()
    mentions_out = pd.DataFrame(
        {REVIEW_ID: units.mentions[REVIEW_ID].to_numpy(), "mention_id": units.mentions["mention_id"].to_numpy(),
         TEXT: units.texts, "need_id": unit_need, "sentiment": unit_sentiment}
    )
    breakdown_table = breakdown(scored, [PRODUCT, CATEGORY], neg_threshold=config.neg_threshold)
    return {"needs": needs, "reviews": reviews_out, "mentions": mentions_out, "need_breakdown": breakdown_table}


def _metrics(
    reviews: pd.DataFrame, frame: pd.DataFrame, quarantine: pd.DataFrame, units: _Units, unit_need: np.ndarray,
    need_model: NeedModel, tables: dict[str, pd.DataFrame], cache_hits: int, sentiment_metrics: dict[str, float],
) -> dict[str, float]:
    """Row accounting, need quality (silhouette, coherence, diversity) and sentiment accuracy."""
    keyword_lists = [list(k) for k in tables["needs"]["keywords"]]
    n_used = len(frame)
    return {
        "n_reviews": float(n_used),
        "n_mentions": float(len(units.mentions)),
        "n_needs": float(need_model.n_needs_),
        "outlier_share": float(np.mean(unit_need == UNASSIGNED)),
        "silhouette": float(need_model.silhouette_),
        "npmi_coherence": npmi_coherence(keyword_lists, units.texts),
        "topic_diversity": topic_diversity(keyword_lists),
        "min_need_size": float(need_model.min_need_size_),
        "rows_in": float(len(reviews)),
        "rows_used": float(n_used),
        "rows_quarantined": float(len(quarantine)),
        "embedding_cache_hits": float(cache_hits),
        "n_long_texts": float(units.n_long),
        **sentiment_metrics,
    }


class _UnitEmbedder:
    """Embeds chosen rows of the unit texts (through the cache, if any), reporting progress over
    all units and counting cache hits across calls.

    With a ``scorer`` (the layer-feature sentiment head) the encoder returns wider features: each
    row's polarity is stored in ``polarity`` and only the first ``keep_dim`` columns (the sentence
    embedding) are returned."""

    def __init__(
        self,
        encoder: Embedder,
        texts: list[str],
        batch_size: int,
        progress: ProgressCallback | None,
        *,
        scorer: SentimentHead | None = None,
        keep_dim: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.texts = texts
        self.batch_size = batch_size
        self.progress = progress
        self.scorer = scorer
        self.keep_dim = keep_dim
        self.polarity = np.zeros(len(texts), dtype=np.float64)
        self.done = 0
        self.hits = 0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        offset, total = self.done, len(self.texts)

        def report(done: int, _total: int) -> None:
            if self.progress:
                self.progress(offset + done, total)

        X = self.encoder.encode(
            [self.texts[i] for i in rows], batch_size=self.batch_size, progress=report if self.progress else None
        )
        self.done += len(rows)
        self.hits += getattr(self.encoder, "hits", 0)
        if self.progress:
            self.progress(self.done, total)
        if self.scorer is not None:
            self.polarity[rows] = self.scorer.polarity(X)
            X = X[:, : self.keep_dim]
        return np.asarray(X, dtype=np.float32)


def _fit_sample(owner: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """Rows of a seeded sample of whole reviews (in input order) holding at most ``cap`` units, so
    a review's mentions are never split between the sample and the rest."""
    sizes = np.bincount(owner)
    reviews = np.random.default_rng(seed).permutation(np.flatnonzero(sizes))
    taken = reviews[: max(1, int(np.sum(np.cumsum(sizes[reviews]) <= cap)))]
    return np.flatnonzero(np.isin(owner, taken))


def _usable_rows(reviews: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Split input rows by the reviews contract into usable ones and quarantined ones (original
    columns + ``reason``)."""
    require_columns(reviews, (REVIEW_ID, TEXT), source="<reviews>", fix="map your columns with the loader's column flags")
    frame = reviews.reset_index(drop=True)
    problems = review_problems(frame, rating_range=RATING_RANGE)
    keep = problems.ok.to_numpy()
    frame, quarantine = problems.set_aside(frame)
    frame = frame.copy()
    frame[REVIEW_ID] = frame[REVIEW_ID].astype(str)
    if RATING in frame.columns:
        frame[RATING] = pd.to_numeric(frame[RATING], errors="coerce").astype(float)
    if frame.empty:
        first = quarantine[REASON].iloc[0] if len(quarantine) else "no rows"
        raise InputError(
            f"no usable reviews remain (first problem: {first})",
            column=TEXT,
            fix="supply at least one review with non-empty text",
        )
    return frame.reset_index(drop=True), quarantine, keep


def _sentiment_head(
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
    y_star, enough_stars = _stars(frame, config)
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
        metrics.update(_grouped_cv(X, owner, y_star, params, config))
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


def _stars(frame: pd.DataFrame, config: InsightConfig) -> tuple[np.ndarray, bool]:
    """Star weak labels per review (-1 = none) and whether there are enough to learn from."""
    n = len(frame)
    y_star = star_labels(frame[RATING].to_numpy()) if RATING in frame.columns else np.full(n, -1)
    counts = np.bincount(y_star[y_star >= 0], minlength=2)
    return y_star, bool(counts.min() >= config.min_star_labels)


def _layer_head(frame: pd.DataFrame, embedder: Embedder, config: InsightConfig) -> LayerHead | None:
    """The shipped layer-feature head when the shipped model will score sentiment (no usable stars,
    or ``sentiment='default'``), the file has one for this embedder, and the embedder can expose its
    hidden layers (``with_layers``); else None."""
    if config.sentiment not in ("auto", "default") or not hasattr(embedder, "with_layers"):
        return None
    if config.sentiment == "auto" and _stars(frame, config)[1]:
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


def _grouped_cv(
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


def _needs_table(
    model: NeedModel,
    units: pd.DataFrame,
    X: np.ndarray,
    texts: list[str],
    quote_need: np.ndarray,
    config: InsightConfig,
) -> pd.DataFrame:
    """One row per need from the opinion units (reviews or mentions) assigned to it; quotes come
    from the units whose embeddings ``X`` and ``texts`` are given, assigned ``quote_need``."""
    need_ids = units["need_id"].to_numpy()
    sentiment = units["sentiment"].to_numpy()
    owner = units["review_index"].to_numpy()
    assigned = int(np.sum(need_ids >= 0))
    Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    rows = []
    for c in range(model.n_needs_):
        members = np.flatnonzero(need_ids == c)
        quoted = np.flatnonzero(quote_need == c)
        keywords = list(model.keywords_.get(c, []))
        sent = sentiment[members]
        rows.append(
            {
                "need_id": c,
                "label": model.need_labels_.get(c, f"need {c}"),
                "keywords": keywords,
                "n_reviews": int(len(np.unique(owner[members]))),
                "share": len(members) / assigned if assigned else 0.0,
                "sentiment_mean": float(np.mean(sent)) if len(members) else 0.0,
                "neg_share": float(np.mean(sent < config.neg_threshold)) if len(members) else 0.0,
                "quotes": pick_quotes(
                    [texts[i] for i in quoted], Xn[quoted], model.centroids_[c], keywords, config.n_quotes
                ),
                "centroid": [float(v) for v in model.centroids_[c]],
                "n_mentions": int(len(members)),
                "pos_share": float(np.mean(sent > -config.neg_threshold)) if len(members) else 0.0,
            }
        )
    needs = pd.DataFrame(rows, columns=BASE_COLUMNS + ["n_mentions", "pos_share"])
    scores = need_scores(units, neg_threshold=config.neg_threshold, date_col=DATE)
    needs = needs.merge(scores.drop(columns=["share_of_voice"]), on="need_id", how="left")
    needs.insert(needs.columns.get_loc("negativity"), "share_of_voice", needs["share"])
    needs = needs.sort_values(["n_mentions", "need_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return needs.astype(
        {"need_id": int, "n_reviews": int, "n_mentions": int, "share": float, "sentiment_mean": float,
         "neg_share": float, "unmet_rank": int}
    )
