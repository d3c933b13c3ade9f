"""Stage 3, concepts: concepts file + the needs and trends of stages 1-2 → ``scores`` table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from launchlab import io
from launchlab.config import CycleConfig
from launchlab.embeddings import Embedder
from launchlab.stages.base import (
    CONCEPTS, INSIGHT, TRENDS, StageInputs, StageRun, account, file_sha256, get_embedder, input_info, read_stage_table, write_outputs,
)


def inputs(config: CycleConfig) -> StageInputs:
    """The concepts file, past launches, the scoring settings and the embedding model; the norms
    file is state: read for percentiles and rewritten with this run's concepts."""
    files = {"concepts": config.concepts}
    if config.concept_history is not None:
        files["concept_history"] = config.concept_history
    return StageInputs(
        files=files,
        settings={"scoring": config.scoring, "embedding_model": config.embedding_model},
        state={"concept_norms": config.concept_norms} if config.concept_norms is not None else {},
    )


def run(config: CycleConfig, paths: Mapping[str, Path]) -> StageRun:
    """The concepts stage of a cycle, on the insight stage's needs (and the trends, when written)."""
    trends_dir = paths[TRENDS] if (paths[TRENDS] / "trends.parquet").exists() else None
    return run_concepts(config.concepts, insight_dir=paths[INSIGHT], trends_dir=trends_dir, config=config.scoring,
                        out_dir=paths[CONCEPTS], embedding_model=config.embedding_model,
                        history=config.concept_history, norms=config.concept_norms)


def run_concepts(
    concepts: Path,
    *,
    insight_dir: Path,
    config,
    out_dir: Path,
    trends_dir: Path | None = None,
    embedder: Embedder | None = None,
    embedding_model: str = "all-MiniLM-L6-v2",
    history: Path | None = None,
    norms: Path | None = None,
) -> StageRun:
    """Score concepts against the needs (and trends) written by earlier stages.

    ``history``: past launches with outcomes (learned from when given); ``norms``: a parquet file
    of earlier scored concepts, read for percentiles and rewritten with this run's concepts.
    """
    from launchlab.concepts import score_concepts

    loaded = io.load_concepts(concepts)
    needs = read_stage_table(insight_dir, "needs")
    trends = read_stage_table(trends_dir, "trends") if trends_dir else None
    # The need series name the period in explanations ("mentions a month"): "need_series" when
    # external series were forecast beside them, else "series".
    series = read_stage_table(trends_dir, "need_series", required=False) if trends_dir else None
    if series is None and trends_dir:
        series = read_stage_table(trends_dir, "series", required=False)
    reviews = read_stage_table(insight_dir, "reviews", required=False)
    embedder = embedder or get_embedder(embedding_model)
    inputs: dict[str, dict[str, Any]] = {"concepts": input_info(loaded, concepts)}
    past = None
    if history is not None:
        past = io.load_concepts(history).frame if Path(history).suffix.lower() in (".yaml", ".yml") else io.read_table(history)
        inputs["history"] = {"path": str(history), "sha256": file_sha256(history), "rows_in": len(past)}
    prior_norms = None
    if norms is not None and Path(norms).exists():
        prior_norms = pd.read_parquet(norms)
        inputs["norms"] = {"path": str(norms), "sha256": file_sha256(norms), "rows_in": len(prior_norms)}
    result = score_concepts(
        loaded.frame, needs, embedder=embedder, trends=trends, config=config, reviews=reviews, norms=prior_norms, history=past,
        series=series,
    )
    account(result, loaded, "concepts")
    write_outputs(result, out_dir, {"concepts": loaded.quarantine, "concepts_stage": result.quarantine})
    if norms is not None and "norms" in result.tables:
        # every scored concept is kept: the norms file grows cycle after cycle
        Path(norms).parent.mkdir(parents=True, exist_ok=True)
        result.tables["norms"].to_parquet(norms, index=False)
    return StageRun(CONCEPTS, result, out_dir, inputs)
