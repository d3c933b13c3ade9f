"""Stage 4, incubation: launch experiment and adoption series → readout, Bass fit and decision,
then whom to target (segment effects, uplift model) and how many to make (demand forecast,
newsvendor plan).

Before launch a cycle has neither: the stage is skipped (:func:`skip`) and the cycle's decision
is :data:`PRE_LAUNCH` (:func:`cycle_decision`); it runs as soon as the config names either.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from launchlab import io, schemas as S
from launchlab.config import CycleConfig, ExperimentInput, SeriesInput
from launchlab.errors import InputError
from launchlab.incubation import BassConfig, ProductionConfig
from launchlab.incubation.headlines import describe_plan, expected_gain, how_many_to_make, whom_to_target
from launchlab.jsonable import to_jsonable
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
    """The experiment and adoption files, how they are read out and analysed, the Bass settings
    and the production plan."""
    files: dict[str, Path] = {}
    settings: dict[str, Any] = {"bass": config.bass, "plan": config.plan}
    if config.experiment is not None:
        files["experiment.path"] = config.experiment.path
        settings["experiment.ab"] = config.experiment.ab
        settings["experiment.segments"] = config.experiment.segments
        settings["experiment.uplift"] = config.experiment.uplift
    if config.adoption is not None:
        files["adoption.path"] = config.adoption.path
        settings["adoption"] = config.adoption.model_dump(mode="json", exclude={"path"})
    return StageInputs(files=files, settings=settings)


def run(config: CycleConfig, paths: Mapping[str, Path]) -> StageRun:
    """The incubation stage of a cycle (it reads no earlier stage)."""
    return run_incubation(config.experiment, adoption=config.adoption, bass_config=config.bass, plan=config.plan,
                          out_dir=paths[INCUBATION])


def run_incubation(
    experiment: ExperimentInput | None,
    *,
    adoption: SeriesInput | None,
    bass_config: BassConfig,
    out_dir: Path,
    plan: ProductionConfig | None = None,
) -> StageRun:
    """Read out the launch experiment, fit the adoption curve, and decide scale/iterate/stop;
    with ``experiment.segments`` / ``experiment.uplift`` also find whom to target, and with
    ``plan`` forecast demand over the adoption series and plan how many to make."""
    from launchlab.incubation import decide

    if experiment is None and adoption is None:
        raise InputError("no launch experiment and no adoption series given", fix="add an experiment or adoption file")
    stage = _Stage()
    ab = bass = None
    if experiment is not None:
        ab, clean = stage.read_out(experiment)
        stage.target(experiment, clean, ab)
    if adoption is not None:
        bass = stage.fit_adoption(adoption, bass_config)
        if plan is not None:
            stage.plan_production(bass, plan, bass_config)
    decision = decide(ab, bass) if ab is not None else {"decision": "iterate", "reasons": ["no A/B experiment was given"]}
    result = stage.result
    result.summary = {**(ab.summary if ab else {}), **stage.summary, "decision": decision,
                      "headlines": stage.headlines(experiment, adoption, plan)}
    if "readout.json" in result.artifacts:
        result.artifacts["readout.json"] = {**result.artifacts["readout.json"], "decision": decision["decision"], "reasons": decision.get("reasons", [])}
    result.artifacts["decision.json"] = decision
    write_outputs(result, out_dir, stage.quarantines)
    return StageRun(INCUBATION, result, out_dir, stage.inputs)


def _prefixed(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {(k if k.startswith(prefix) else prefix + k): v for k, v in metrics.items()}


class _Stage:
    """The stage's result as its parts are computed: each phase adds its tables, metrics,
    artifacts, warnings and quarantined rows."""

    def __init__(self) -> None:
        self.result = StageResult()
        self.inputs: dict[str, dict[str, Any]] = {}
        self.quarantines: dict[str, pd.DataFrame] = {}
        self.summary: dict[str, Any] = {}
        self.no_plan: str | None = None
        self.series: pd.DataFrame | None = None
        self.treatment: str | None = None
        self.primary: str | None = None

    def add(self, part: StageResult, *, prefix: str, tables: Mapping[str, str] | None = None) -> None:
        """Merge ``part``: metrics prefixed, params under ``prefix`` with a dot, tables renamed by ``tables``."""
        names = tables or {}
        self.result.tables.update({names.get(k, k): v for k, v in part.tables.items()})
        self.result.metrics.update(_prefixed(part.metrics, f"{prefix}_"))
        self.result.params.update({f"{prefix}.{k}": v for k, v in part.params.items()})
        self.result.artifacts.update(part.artifacts)
        self.result.models.update(part.models)
        self.result.warnings.extend(part.warnings)

    # --- the experiment ---------------------------------------------------------------------

    def read_out(self, experiment: ExperimentInput) -> tuple[StageResult, pd.DataFrame]:
        """The A/B readout; returns it and the rows it used (its checks passed)."""
        from launchlab.incubation import read_out_ab

        ab_cfg = experiment.ab
        targeting = [*(experiment.segments.segment_cols if experiment.segments else []),
                     *(experiment.uplift.covariate_cols if experiment.uplift else [])]
        if targeting and (ab_cfg.n_col is not None or ab_cfg.denominator_col is not None):
            raise InputError("segment effects and uplift models need one row per unit with a per-unit metric",
                             file=str(experiment.path), fix="drop experiment.segments / experiment.uplift, or give unit-level data")
        columns = (ab_cfg.variant_col, ab_cfg.metric_col, ab_cfg.unit_col, ab_cfg.covariate_col, ab_cfg.date_col,
                   *ab_cfg.guardrails, *ab_cfg.funnel_cols, *targeting)
        loaded = io.load_experiment(experiment.path, required=tuple(dict.fromkeys(c for c in columns if c)))
        ab = read_out_ab(loaded.frame, config=ab_cfg, source=str(experiment.path))
        self.inputs["experiment"] = {"path": str(experiment.path), "sha256": file_sha256(experiment.path), "rows_in": loaded.rows_in}
        self.add(ab, prefix="ab", tables={"readout": "readout", **{k: f"ab_{k}" for k in ab.tables if k != "readout"}})
        if ab.quarantine is not None and len(ab.quarantine):
            self.quarantines["experiment"] = ab.quarantine
        frame = loaded.frame
        if ab.quarantine is not None and len(ab.quarantine):
            frame = frame[~frame[S.SOURCE_ROW].isin(ab.quarantine[S.SOURCE_ROW])]
        return ab, frame

    def target(self, experiment: ExperimentInput, clean: pd.DataFrame, ab: StageResult) -> None:
        """Segment effects and the uplift model on the rows the readout used."""
        from launchlab.incubation import estimate_segments, fit_uplift

        source = str(experiment.path)
        segment_cfg, uplift_cfg = experiment.segment_config(), experiment.uplift_config()
        if segment_cfg is not None:
            segments = estimate_segments(clean, config=segment_cfg, source=source)
            self.add(segments, prefix="segments")
            self.summary["segments"] = segments.summary
            self._quarantine("experiment_segments", segments.quarantine)
        if uplift_cfg is not None:
            uplift = fit_uplift(clean, config=uplift_cfg, source=source)
            self.add(uplift, prefix="uplift")
            self.summary["uplift"] = uplift.summary
            self._quarantine("experiment_uplift", uplift.quarantine)
        self.treatment = ab.summary.get("best_variant")

    def _quarantine(self, name: str, frame: pd.DataFrame | None) -> None:
        if frame is not None and len(frame):
            self.quarantines[name] = frame

    # --- the adoption series ----------------------------------------------------------------

    def fit_adoption(self, adoption: SeriesInput, bass_config: BassConfig) -> StageResult:
        """The Bass fit of the adoption series."""
        from launchlab.incubation import fit_bass

        loaded = io.load_series(adoption.path, mapping=adoption.mapping, layout=adoption.layout)
        self.series = loaded.frame[[S.UNIQUE_ID, S.DS, S.Y]]
        try:
            bass = fit_bass(self.series, config=bass_config)
        except InputError as exc:  # the fit sees a frame, the user a file: name it
            raise exc if exc.file else InputError(exc.message, file=str(adoption.path), row=exc.row, column=exc.column,
                                                  fix=exc.fix) from None
        self.inputs["adoption"] = input_info(loaded, adoption.path)
        self.add(bass, prefix="bass")
        self.summary["bass"] = bass.summary
        account(self.result, loaded, "adoption")
        self.quarantines["adoption"] = loaded.quarantine
        self.quarantines["adoption_stage"] = bass.quarantine
        return bass

    def plan_production(self, bass: StageResult, plan: ProductionConfig, bass_config: BassConfig) -> None:
        """Calibrated demand quantiles over the next periods and the newsvendor plan per series."""
        from launchlab.incubation import PlanConfig, forecast_demand, plan_production

        try:
            demand = forecast_demand(self.series, config=plan.demand_config(bass_config))
        except InputError as exc:
            self.no_plan = f"no demand forecast ({exc.message})"
            self.result.warnings.append(self.no_plan)
            return
        self.add(demand, prefix="demand")
        economics = plan.economics or PlanConfig()
        forecast, samples = demand.tables["demand_forecast"], demand.tables["demand_samples"]
        plans: dict[str, Any] = {}
        for sid, entry in demand.artifacts["demand.json"].items():
            numbers = plan_production(samples.loc[samples[S.UNIQUE_ID] == sid, "demand"].to_numpy(), config=economics)
            steps = forecast[forecast[S.UNIQUE_ID] == sid].sort_values("step")[S.DS]
            from_ds, to_ds = (_date(steps.iloc[0]), _date(steps.iloc[-1])) if len(steps) else (None, None)
            plans[sid] = {**numbers, "economics": "assumed" if plan.economics is None else "given",
                          "from_period": entry["from_period"], "to_period": entry["to_period"], "from_ds": from_ds,
                          "to_ds": to_ds, "horizon": entry["horizon"],
                          "sentence": describe_plan(sid, numbers, entry, assumed=plan.economics is None,
                                                    from_ds=from_ds, to_ds=to_ds)}
        primary = bass.summary.get("primary")
        self.primary = primary if primary in plans else next(iter(plans))
        chosen = plans[self.primary]
        for key in ("stock", "make", "service_level", "expected_sales", "expected_leftover", "stockout_probability",
                    "fill_rate", "expected_profit", "profit_lo", "profit_hi"):
            self.result.metrics[f"plan_{key}"] = float(chosen[key])
        self.result.params.update({"plan.economics": "assumed" if plan.economics is None else "given",
                                   "plan.price": economics.price, "plan.unit_cost": economics.unit_cost,
                                   "plan.salvage": economics.salvage, "plan.series": self.primary})
        self.result.artifacts["plan.json"] = to_jsonable(plans)
        self.summary["demand"] = demand.summary
        self.summary["plan"] = to_jsonable({sid: {k: p[k] for k in ("stock", "make", "service_level", "stockout_probability",
                                                                      "expected_profit", "economics")}
                                            for sid, p in plans.items()})

    # --- the answers --------------------------------------------------------------------------

    def headlines(self, experiment: ExperimentInput | None, adoption: SeriesInput | None,
                  plan: ProductionConfig | None) -> dict[str, str]:
        """Whom to target, the expected gain and how many to make, one sentence each."""
        artifacts = self.result.artifacts
        out: dict[str, str] = {}
        if experiment is not None:
            out["whom_to_target"] = whom_to_target(artifacts.get("segments.json"), artifacts.get("uplift.json"),
                                                   self.treatment)
            out["expected_gain"] = expected_gain(artifacts.get("uplift.json"))
        if adoption is not None:
            reason = self.no_plan or (None if plan is not None else "no production plan was asked for")
            out["how_many_to_make"] = how_many_to_make(artifacts.get("plan.json"), self.primary, reason)
        return out


def _date(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    stamp = pd.Timestamp(value) if not isinstance(value, (int, np.integer)) else None
    return f"{stamp:%Y-%m-%d}" if stamp is not None else str(value)
