"""Stage 4, incubation: launch experiment and adoption series → readout, Bass fit and decision.

Before launch a cycle has neither: the stage is skipped (:func:`skip`) and the cycle's decision
is :data:`PRE_LAUNCH` (:func:`cycle_decision`); it runs as soon as the config names either.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from launchlab import io, schemas as S
from launchlab.config import CycleConfig, ExperimentInput, SeriesInput
from launchlab.errors import InputError
from launchlab.results import StageResult
from launchlab.stages.base import INCUBATION, StageInputs, StageRun, account, file_sha256, input_info, write_outputs


PRE_LAUNCH = "pre-launch: concepts ranked"
NOT_LAUNCHED = "not launched yet: the cycle config names no launch experiment and no adoption series"


def skip(config: CycleConfig) -> str | None:
    """Why the stage does not run for ``config`` (nothing launched yet), or None."""
    return NOT_LAUNCHED if config.experiment is None and config.adoption is None else None


def cycle_decision(results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The cycle's decision from its stage results (or records) by stage name: the incubation
    stage's scale / iterate / stop, or :data:`PRE_LAUNCH` when it was skipped; {} when unknown."""
    incubation = results.get(INCUBATION) or {}
    if incubation.get("skipped"):
        return {"decision": PRE_LAUNCH, "reasons": [incubation["skipped"]]}
    return dict(incubation.get("summary", {}).get("decision", {}))


def inputs(config: CycleConfig) -> StageInputs:
    """The experiment and adoption files, how they are read out, and the Bass settings."""
    files: dict[str, Path] = {}
    settings: dict[str, Any] = {"bass": config.bass}
    if config.experiment is not None:
        files["experiment.path"] = config.experiment.path
        settings["experiment.ab"] = config.experiment.ab
    if config.adoption is not None:
        files["adoption.path"] = config.adoption.path
        settings["adoption"] = config.adoption.model_dump(mode="json", exclude={"path"})
    return StageInputs(files=files, settings=settings)


def run(config: CycleConfig, paths: Mapping[str, Path]) -> StageRun:
    """The incubation stage of a cycle (it reads no earlier stage)."""
    return run_incubation(config.experiment, adoption=config.adoption, bass_config=config.bass, out_dir=paths[INCUBATION])


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
        columns = (ab_cfg.variant_col, ab_cfg.metric_col, ab_cfg.unit_col, ab_cfg.covariate_col, ab_cfg.date_col,
                   *ab_cfg.guardrails, *ab_cfg.funnel_cols)
        loaded = io.load_experiment(experiment.path, required=tuple(c for c in columns if c))
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
        inputs["adoption"] = input_info(loaded_series, adoption.path)
        result.tables.update(bass.tables)
        result.metrics.update({(k if k.startswith("bass_") else f"bass_{k}"): v for k, v in bass.metrics.items()})
        result.params.update({f"bass.{k}": v for k, v in bass.params.items()})
        result.artifacts.update(bass.artifacts)
        result.models.update(bass.models)
        result.warnings.extend(bass.warnings)
        account(result, loaded_series, "adoption")
        quarantines["adoption"] = loaded_series.quarantine
        quarantines["adoption_stage"] = bass.quarantine
    decision = decide(ab, bass) if ab is not None else {"decision": "iterate", "reasons": ["no A/B experiment was given"]}
    result.summary = {**(ab.summary if ab else {}), **({"bass": bass.summary} if bass else {}), "decision": decision}
    if "readout.json" in result.artifacts:
        result.artifacts["readout.json"] = {**result.artifacts["readout.json"], "decision": decision["decision"], "reasons": decision.get("reasons", [])}
    result.artifacts["decision.json"] = decision
    write_outputs(result, out_dir, quarantines)
    return StageRun(INCUBATION, result, out_dir, inputs)
