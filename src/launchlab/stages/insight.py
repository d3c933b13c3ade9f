"""Stage 1, demand insight: reviews file → ``needs``, ``reviews`` and ``mentions`` tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from launchlab import io, schemas as S
from launchlab.config import CycleConfig, ReviewsInput
from launchlab.embeddings import Embedder, ProgressCallback
from launchlab.stages.base import INSIGHT, StageInputs, StageRun, account, get_embedder, input_info, write_outputs


def inputs(config: CycleConfig) -> StageInputs:
    """The reviews file, how it is read and sampled, the insight settings and the embedding model."""
    return StageInputs(
        files={"reviews.path": config.reviews.path},
        settings={
            "reviews.mapping": config.reviews.mapping,
            "reviews.sample": config.reviews.sample,
            "insight": config.insight,
            "embedding_model": config.embedding_model,
        },
    )


def progress_label(config: CycleConfig) -> str:
    """What the progress bar counts: mentions (sentences and clauses) at mention level, else reviews."""
    reviews = f"{config.reviews.sample:,} reviews" if config.reviews.sample else "the reviews"
    return f"embedding the mentions of {reviews}" if config.insight.level == "mention" else f"embedding {reviews}"


def run(
    config: CycleConfig,
    paths: Mapping[str, Path],
    *,
    progress: ProgressCallback | None = None,
    embedder: Embedder | None = None,
) -> StageRun:
    """The insight stage of a cycle; ``embedder`` replaces the in-process one (e.g. chunked on a cluster)."""
    return run_insight(
        config.reviews, config=config.insight, out_dir=paths[INSIGHT], embedder=embedder,
        embedding_model=config.embedding_model, progress=progress,
    )


def run_insight(
    reviews: ReviewsInput,
    *,
    config,
    out_dir: Path,
    embedder: Embedder | None = None,
    embedding_model: str = "all-MiniLM-L6-v2",
    progress: ProgressCallback | None = None,
) -> StageRun:
    """Load reviews, discover needs and sentiment, write ``needs``/``reviews`` tables."""
    from launchlab.insight import discover_needs

    loaded = io.load_reviews(reviews.path, mapping=reviews.mapping, sample=reviews.sample, seed=config.seed)
    embedder = embedder or get_embedder(embedding_model)
    result = discover_needs(loaded.frame, embedder=embedder, config=config, progress=progress)
    # the concept stage's simulated panel builds personas from the review text and age band
    table = result.tables.get("reviews")
    extra = [c for c in (S.TEXT, "age") if c in loaded.frame and table is not None and c not in table]
    if extra:
        result.tables["reviews"] = table.merge(loaded.frame[[S.REVIEW_ID, *extra]], on=S.REVIEW_ID, how="left")
    account(result, loaded, "reviews")
    quarantines = {"reviews": loaded.quarantine}
    if result.quarantine is not None and len(result.quarantine):
        quarantines["reviews_stage"] = result.quarantine
    write_outputs(result, out_dir, quarantines)
    return StageRun(INSIGHT, result, out_dir, {"reviews": input_info(loaded, reviews.path)})
