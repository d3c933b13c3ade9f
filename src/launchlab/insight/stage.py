"""The insight stage: reviews in, needs (with labels, quotes, sentiment) and per-review results out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from launchlab.embeddings import Embedder, ProgressCallback
from launchlab.errors import InputError
from launchlab.io import RATING_RANGE, require_columns, review_problems
from launchlab.insight.cache import CachedEmbedder
from launchlab.insight.config import InsightConfig
from launchlab.insight.emerging import EmergingNeeds, scan_needs
from launchlab.insight.labels import pick_quotes
from launchlab.insight.mentions import split_mentions
from launchlab.insight.needs import UNASSIGNED, NeedModel, add_review_similarity, review_needs
from launchlab.insight.sentiment import LayerHead, SentimentHead
from launchlab.insight.quality import npmi_coherence, topic_diversity
from launchlab.insight.review_sentiment import aggregate_reviews, load_review_head
from launchlab.insight.stage_sentiment import fit_sentiment_head, shipped_layer_head
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
    head, direction, source, sentiment_metrics, warnings = fit_sentiment_head(
        units.fit_frame, X_fit, units.fit_owner, units.fit_texts, embedder, config,
        layer_head=layer_head, layer_polarity=embed.polarity[units.fit_rows] if layer_head is not None else None,
        review_head=review_head,
    )
    need_model = _fit_need_model(X_fit, units, direction, config)
    # Small new needs growing inside big ones become needs of their own (ids after the model's).
    emerging = scan_needs(need_model, X_fit, units.fit_texts, units.fit_frame, units.fit_owner, config.emerging)
    warnings = units.notes + warnings
    if units.n_long and embeddings is None:
        warnings.append(
            f"{units.n_long} texts are longer than about {LONG_TEXT_CHARS} characters; the embedding model reads "
            "only their beginning (use level='mention' to split long reviews)"
        )
    unit_need, unit_sentiment, review_sims = _assign_units(
        units, X_fit, need_model, emerging, head, embed, layer_head, config
    )
    tables = _tables(frame, units, unit_need, unit_sentiment, review_sims, need_model, emerging, X_fit, config, review_head)
    cache_hits = embed.hits if units.given is None else 0
    metrics = _metrics(reviews, frame, quarantine, units, unit_need, need_model, tables, cache_hits, sentiment_metrics)
    metrics["n_emerging_needs"] = float(len(emerging))
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
    layer_head = shipped_layer_head(units.fit_frame, embedder, config) if units.given is None else None
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
    units: _Units, X_fit: np.ndarray, need_model: NeedModel, emerging: EmergingNeeds, head: SentimentHead,
    embed: _UnitEmbedder, layer_head: LayerHead | None, config: InsightConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unit's need (a unit inside an emerging sub-need's ball gets the sub-need) and sentiment,
    and per review its units' summed similarity to each of the need model's needs
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
            model_need = need_model.predict(X_batch)
            add_review_similarity(review_sims, need_model.transform(X_batch), model_need, units.owner[rows])
            unit_need[rows] = emerging.predict(X_batch, model_need)
            scores = embed.polarity[rows] if layer_head is not None else head.polarity(X_batch)
            unit_sentiment[rows] = np.clip(scores, -1.0, 1.0)
    else:
        add_review_similarity(review_sims, need_model.transform(X_fit), need_model.labels_, units.owner)
        unit_need = emerging.predict(X_fit, need_model.labels_)
        scores = embed.polarity if layer_head is not None else head.polarity(X_fit)
        unit_sentiment = np.clip(scores, -1.0, 1.0)
    return unit_need, unit_sentiment, review_sims


def _tables(
    frame: pd.DataFrame, units: _Units, unit_need: np.ndarray, unit_sentiment: np.ndarray, review_sims: np.ndarray,
    need_model: NeedModel, emerging: EmergingNeeds, X_fit: np.ndarray, config: InsightConfig,
    review_head: SentimentHead | None = None,
) -> dict[str, pd.DataFrame]:
    """The stage's tables: needs, reviews, mentions and the need breakdown by product and category."""
    owner = units.owner
    review_sentiment = aggregate_reviews(unit_sentiment, units.texts, owner, len(frame), review_head)
    has_need = np.bincount(owner[unit_need >= 0], minlength=len(frame)) > 0
    review_need = (
        unit_need if config.level == "review"
        else emerging.refine_reviews(review_needs(review_sims, has_need), unit_need, owner)
    )

    scored = pd.DataFrame({"need_id": unit_need, "sentiment": unit_sentiment, "review_index": owner})
    for col in PASSTHROUGH:
        if col in frame.columns:
            scored[col] = frame[col].to_numpy()[owner]
    needs = emerging.annotate(
        _needs_table(emerging.extend(need_model), scored, X_fit, units.fit_texts, unit_need[units.fit_rows], config)
    )

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
