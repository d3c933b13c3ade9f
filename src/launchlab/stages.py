"""The four stages as file-in, file-out steps: load and check inputs, call the pure stage
function, write its tables and quarantine files. Used by the CLI and by the Prefect flows;
nothing here talks to Prefect or MLflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from launchlab import io, schemas as S
from launchlab.config import CycleConfig, ExperimentInput, ReviewsInput, SeriesInput
from launchlab.embeddings import Embedder, HashingEmbedder, ProgressCallback, SentenceTransformerEmbedder
from launchlab.errors import InputError
from launchlab.jsonable import json_default
from launchlab.results import StageResult

INSIGHT, TRENDS, CONCEPTS, INCUBATION = "01-insight", "02-trends", "03-concepts", "04-incubation"


@dataclass
class StageRun:
    """What one stage did: its result, where its files are, and its inputs' row accounting."""

    stage: str
    result: StageResult
    out_dir: Path
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def input_tags(self) -> dict[str, str]:
        """``data.<name>.sha256`` and row counts of every input, for MLflow tags."""
        tags = {}
        for name, info in self.inputs.items():
            for key, value in info.items():
                tags[f"data.{name}.{key}"] = str(value)
        return tags


def file_sha256(path: str | Path) -> str:
    """The data version of an input file: its SHA-256 (first 16 hex digits)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def get_embedder(model: str) -> Embedder:
    """One embedder per model and process (loading the real one takes seconds).

    ``hashing-<dim>`` names the deterministic bag-of-words embedder: no model, for smoke runs
    and tests; everything else is a sentence-transformers model resolved offline.
    """
    if model.startswith("hashing-") and model.split("-", 1)[1].isdigit():
        return HashingEmbedder(int(model.split("-", 1)[1]))
    return SentenceTransformerEmbedder(model)


def _input_info(loaded: io.Loaded, path: Path) -> dict[str, Any]:
    return {"path": str(path), "sha256": file_sha256(path), **loaded.counts()}


def _write_outputs(result: StageResult, out_dir: Path, quarantines: dict[str, pd.DataFrame]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables.items():
        io.write_table(table, out_dir, name)
    for name, document in result.artifacts.items():
        (out_dir / name).write_text(json.dumps(document, indent=2, default=json_default), encoding="utf-8")
    for name, frame in quarantines.items():
        io.write_quarantine(frame, out_dir, name)


def _account(result: StageResult, loaded: io.Loaded, prefix: str) -> None:
    for key, value in loaded.counts().items():
        result.metrics[f"{prefix}_{key}"] = float(value)
    result.warnings.extend(f"{loaded.source}: {w}" for w in loaded.warnings)


# ------------------------------------------------------------------------------------------------


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
    _account(result, loaded, "reviews")
    quarantines = {"reviews": loaded.quarantine}
    if result.quarantine is not None and len(result.quarantine):
        quarantines["reviews_stage"] = result.quarantine
    _write_outputs(result, out_dir, quarantines)
    return StageRun(INSIGHT, result, out_dir, {"reviews": _input_info(loaded, reviews.path)})


def load_series_inputs(series: list[SeriesInput]) -> tuple[pd.DataFrame, dict[str, io.Loaded]]:
    """Load several series files into one long frame; ids are prefixed by file when they clash."""
    frames, loads = [], {}
    seen: set[str] = set()
    for item in series:
        loaded = io.load_series(item.path, mapping=item.mapping, layout=item.layout)
        frame = loaded.frame.copy()
        ids = set(frame[S.UNIQUE_ID].unique())
        if ids & seen:
            stem = Path(item.path).name.split(".")[0]
            frame[S.UNIQUE_ID] = stem + ":" + frame[S.UNIQUE_ID]
            ids = set(frame[S.UNIQUE_ID].unique())
        seen |= ids
        frames.append(frame)
        loads[Path(item.path).name.split(".")[0]] = loaded
    if not frames:
        return pd.DataFrame(columns=[S.UNIQUE_ID, S.DS, S.Y]), loads
    kinds = {("int" if pd.api.types.is_integer_dtype(f[S.DS]) else "date") for f in frames}
    if len(kinds) > 1:
        raise InputError(
            "the series files mix integer periods and dates",
            file=", ".join(str(s.path) for s in series),
            column=S.DS,
            fix="forecast them in separate runs",
        )
    return pd.concat(frames, ignore_index=True), loads


def _series_table(group: pd.DataFrame) -> pd.DataFrame:
    from launchlab.trends.series import SERIES_COLUMNS

    return group[[c for c in SERIES_COLUMNS if c in group.columns]].reset_index(drop=True)


def run_trends(
    series: list[SeriesInput],
    *,
    config,
    out_dir: Path,
    insight_reviews: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    forecast: Callable[..., StageResult] | None = None,
) -> StageRun:
    """Build need series (when reviews have dates) plus external series; forecast; classify.

    ``forecast`` replaces ``forecast_trends`` (same signature), e.g. by
    ``launchlab.scaleout.chunked_forecast`` to spread the series over workers.
    """
    from launchlab.trends import forecast_trends, need_series

    frame, loads = load_series_inputs(series)
    inputs: dict[str, dict[str, Any]] = {name: _input_info(l, Path(l.source)) for name, l in loads.items()}
    warnings = []
    groups: list[pd.DataFrame] = []
    if insight_reviews is not None and S.DATE in insight_reviews and insight_reviews[S.DATE].notna().any():
        needs = need_series(insight_reviews)
        if len(needs):
            groups.append(needs)
    elif insight_reviews is not None:
        warnings.append("the reviews have no dates, so no need series were built; trends come from the external series only")
    if len(frame):
        if groups and pd.api.types.is_datetime64_any_dtype(frame[S.DS]):
            groups[0] = pd.concat([groups[0], frame], ignore_index=True)
        else:
            groups.append(frame)
    if not groups:
        raise InputError(
            "nothing to forecast: the reviews have no dates and no series file was given",
            column=S.DS,
            fix="add a series file (--series) or reviews with dates",
        )
    # Dated need series and integer-period external series cannot share a calendar: forecast
    # each group on its own and stack the tables.
    forecast = forecast or forecast_trends
    parts = [forecast(g[[S.UNIQUE_ID, S.DS, S.Y]], config=config, progress=progress) for g in groups]
    result = parts[-1]
    # The series tables keep share of voice and mean sentiment of need/category series (NaN for
    # external series): the forecasts use y only, the report and users read the rest.
    result.tables["series"] = _series_table(groups[-1])
    for part, group in zip(parts[:-1], groups[:-1]):
        for name, table in part.tables.items():
            if name == "trends":
                result.tables[name] = pd.concat([table, result.tables[name]], ignore_index=True)
            else:
                result.tables[f"need_{name}"] = table
        result.tables["need_series"] = _series_table(group)
        result.metrics.update({f"needs_{k}": v for k, v in part.metrics.items()})
        result.warnings.extend(part.warnings)
        result.models.setdefault("launchlab-forecaster", part.models.get("launchlab-forecaster"))
    result.warnings = warnings + result.warnings
    for loaded in loads.values():
        _account(result, loaded, f"series_{Path(loaded.source).name.split('.')[0]}")
    stage_rejects = [p.quarantine for p in parts if p.quarantine is not None and len(p.quarantine)]
    quarantines = {f"series_{n}": l.quarantine for n, l in loads.items()}
    if stage_rejects:  # rows the forecaster itself set aside (e.g. series with one period)
        quarantines["series_stage"] = pd.concat(stage_rejects, ignore_index=True)
    _write_outputs(result, out_dir, quarantines)
    return StageRun(TRENDS, result, out_dir, inputs)


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
    reviews = read_stage_table(insight_dir, "reviews", required=False)
    embedder = embedder or get_embedder(embedding_model)
    inputs = {"concepts": _input_info(loaded, concepts)}
    past = None
    if history is not None:
        past = io.load_concepts(history).frame if Path(history).suffix.lower() in (".yaml", ".yml") else io.read_table(history)
        inputs["history"] = {"path": str(history), "sha256": file_sha256(history), "rows_in": len(past)}
    prior_norms = None
    if norms is not None and Path(norms).exists():
        prior_norms = pd.read_parquet(norms)
        inputs["norms"] = {"path": str(norms), "sha256": file_sha256(norms), "rows_in": len(prior_norms)}
    result = score_concepts(
        loaded.frame, needs, embedder=embedder, trends=trends, config=config, reviews=reviews, norms=prior_norms, history=past
    )
    _account(result, loaded, "concepts")
    _write_outputs(result, out_dir, {"concepts": loaded.quarantine, "concepts_stage": result.quarantine})
    if norms is not None and "norms" in result.tables:
        # every scored concept is kept: the norms file grows cycle after cycle
        Path(norms).parent.mkdir(parents=True, exist_ok=True)
        result.tables["norms"].to_parquet(norms, index=False)
    return StageRun(CONCEPTS, result, out_dir, inputs)


def read_stage_table(folder: Path | None, name: str, *, required: bool = True) -> pd.DataFrame | None:
    """Read ``folder/<name>.parquet`` written by an earlier stage."""
    if folder is None:
        return None
    path = Path(folder) / f"{name}.parquet"
    if not path.exists():
        if not required:
            return None
        raise InputError(
            f"{name}.parquet not found", file=str(folder), fix=f"run the stage that writes {name}.parquet into this folder first"
        )
    return pd.read_parquet(path)


def run_incubation(
    experiment: ExperimentInput | None,
    *,
    adoption: SeriesInput | None,
    bass_config,
    out_dir: Path,
) -> StageRun:
    """Read out the launch experiment, fit the adoption curve, and decide scale/iterate/stop."""
    from launchlab.incubation import decide, fit_bass, read_out_ab

    if experiment is None and adoption is None:
        raise InputError("no launch experiment and no adoption series given", fix="add an experiment or adoption file")
    inputs: dict[str, dict[str, Any]] = {}
    quarantines: dict[str, pd.DataFrame] = {}
    ab = bass = None
    result = StageResult()
    if experiment is not None:
        ab_cfg = experiment.ab
        loaded = io.load_experiment(
            experiment.path, required=tuple(c for c in (ab_cfg.variant_col, ab_cfg.metric_col, ab_cfg.unit_col) if c)
        )
        ab = read_out_ab(loaded.frame, config=ab_cfg, source=str(experiment.path))
        inputs["experiment"] = {"path": str(experiment.path), "sha256": file_sha256(experiment.path), "rows_in": loaded.rows_in}
        result.tables.update({f"ab_{k}" if k != "readout" else k: v for k, v in ab.tables.items()})
        result.metrics.update({f"ab_{k}": v for k, v in ab.metrics.items()})
        result.params.update({f"ab.{k}": v for k, v in ab.params.items()})
        result.artifacts.update(ab.artifacts)
        result.models.update(ab.models)
        result.warnings.extend(ab.warnings)
        if ab.quarantine is not None and len(ab.quarantine):
            quarantines["experiment"] = ab.quarantine
    if adoption is not None:
        loaded_series = io.load_series(adoption.path, mapping=adoption.mapping, layout=adoption.layout)
        bass = fit_bass(loaded_series.frame[[S.UNIQUE_ID, S.DS, S.Y]], config=bass_config)
        inputs["adoption"] = _input_info(loaded_series, adoption.path)
        result.tables.update(bass.tables)
        result.metrics.update({(k if k.startswith("bass_") else f"bass_{k}"): v for k, v in bass.metrics.items()})
        result.params.update({f"bass.{k}": v for k, v in bass.params.items()})
        result.artifacts.update(bass.artifacts)
        result.models.update(bass.models)
        result.warnings.extend(bass.warnings)
        _account(result, loaded_series, "adoption")
        quarantines["adoption"] = loaded_series.quarantine
        quarantines["adoption_stage"] = bass.quarantine
    decision = decide(ab, bass) if ab is not None else {"decision": "iterate", "reasons": ["no A/B experiment was given"]}
    result.summary = {**(ab.summary if ab else {}), **({"bass": bass.summary} if bass else {}), "decision": decision}
    if "readout.json" in result.artifacts:
        result.artifacts["readout.json"] = {**result.artifacts["readout.json"], "decision": decision["decision"], "reasons": decision.get("reasons", [])}
    result.artifacts["decision.json"] = decision
    _write_outputs(result, out_dir, quarantines)
    return StageRun(INCUBATION, result, out_dir, inputs)


def cycle_paths(config: CycleConfig) -> dict[str, Path]:
    """Output folder of each stage inside the cycle's ``out_dir``."""
    base = Path(config.out_dir)
    return {INSIGHT: base / "insight", TRENDS: base / "trends", CONCEPTS: base / "concepts", INCUBATION: base / "incubation"}


ProgressFactory = Callable[[str], ProgressCallback | None]


# ------------------------------------------------------------------------------------------------
# Fingerprints: what a stage's output depends on, for caching and resuming cycles.


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def stage_fingerprint(stage: str, config: CycleConfig, code_version: str = "") -> str:
    """Hash of a stage's input files, its settings, upstream stages and the code version."""
    from launchlab import __version__

    code = [__version__, code_version]
    if stage == INSIGHT:
        parts = [stage, code, file_sha256(config.reviews.path), config.reviews.model_dump(mode="json", exclude={"path"}),
                 config.insight.model_dump(mode="json"), config.embedding_model]
    elif stage == TRENDS:
        parts = [stage, code, stage_fingerprint(INSIGHT, config, code_version),
                 [(file_sha256(s.path), s.model_dump(mode="json", exclude={"path"})) for s in config.series],
                 config.trends.model_dump(mode="json")]
    elif stage == CONCEPTS:
        parts = [stage, code, stage_fingerprint(TRENDS, config, code_version), file_sha256(config.concepts),
                 config.scoring.model_dump(mode="json"), config.embedding_model,
                 file_sha256(config.concept_history) if config.concept_history else None,
                 file_sha256(config.concept_norms) if config.concept_norms and Path(config.concept_norms).exists() else None]
    elif stage == INCUBATION:
        experiment = config.experiment
        adoption = config.adoption
        parts = [stage, code,
                 (file_sha256(experiment.path), experiment.ab.model_dump(mode="json")) if experiment else None,
                 (file_sha256(adoption.path), adoption.model_dump(mode="json", exclude={"path"})) if adoption else None,
                 config.bass.model_dump(mode="json")]
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return _digest(parts)


def run_stage(
    stage: str,
    config: CycleConfig,
    progress: ProgressCallback | None = None,
    *,
    embedder: Embedder | None = None,
    forecast: Callable[..., StageResult] | None = None,
) -> StageRun:
    """Run one stage of a cycle from its config, reading upstream stages' folders.

    ``embedder`` (insight) and ``forecast`` (trends) replace the in-process defaults, e.g. by the
    chunked ones of ``launchlab.scaleout`` that run on a cluster.
    """
    paths = cycle_paths(config)
    if stage == INSIGHT:
        return run_insight(config.reviews, config=config.insight, out_dir=paths[INSIGHT], embedder=embedder,
                           embedding_model=config.embedding_model, progress=progress)
    if stage == TRENDS:
        reviews = read_stage_table(paths[INSIGHT], "reviews", required=False)
        return run_trends(config.series, config=config.trends, out_dir=paths[TRENDS], insight_reviews=reviews, progress=progress,
                          forecast=forecast)
    if stage == CONCEPTS:
        trends_dir = paths[TRENDS] if (paths[TRENDS] / "trends.parquet").exists() else None
        return run_concepts(config.concepts, insight_dir=paths[INSIGHT], trends_dir=trends_dir, config=config.scoring,
                            out_dir=paths[CONCEPTS], embedding_model=config.embedding_model,
                            history=config.concept_history, norms=config.concept_norms)
    if stage == INCUBATION:
        return run_incubation(config.experiment, adoption=config.adoption, bass_config=config.bass, out_dir=paths[INCUBATION])
    raise ValueError(f"unknown stage {stage!r}")


STAGE_RECORD = "_stage.json"


def write_stage_record(run: StageRun, fingerprint: str, run_id: str | None) -> dict[str, Any]:
    """Write ``_stage.json`` (what the stage produced, JSON-clean) beside its outputs; return it."""
    record = {
        "stage": run.stage,
        "fingerprint": fingerprint,
        "computed_in_run": run_id,
        "out_dir": str(run.out_dir),
        "metrics": {k: float(v) for k, v in run.result.metrics.items() if _is_number(v)},
        "params": json.loads(json.dumps(run.result.params, default=json_default)),
        "summary": json.loads(json.dumps(run.result.summary, default=json_default)),
        "warnings": list(run.result.warnings),
        "inputs": json.loads(json.dumps(run.inputs, default=json_default)),
    }
    run.out_dir.mkdir(parents=True, exist_ok=True)
    (run.out_dir / STAGE_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def read_stage_record(out_dir: Path) -> dict[str, Any] | None:
    """The ``_stage.json`` of a finished stage, or None."""
    path = Path(out_dir) / STAGE_RECORD
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
