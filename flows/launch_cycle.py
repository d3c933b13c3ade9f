"""The launch-cycle flow and its four stage flows.

Each stage flow opens its MLflow child run (under ``parent_run_id`` when it is part of a cycle)
and calls the ``compute-stage`` task, which runs the pure stage step, logs and registers the
fitted models and returns a JSON summary. That task is cached on the stage's fingerprint (its
input files' hashes, settings, upstream stages and code version), so a re-run with unchanged
data reuses finished stages and a cycle killed in the middle resumes after its last finished
stage. Stage flows pass each other folders, not DataFrames, so every stage also runs on its own.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.context import TaskRunContext

from flows import scaleout
from launchlab import __version__, stages
from launchlab.config import CycleConfig, Settings, default_cycle_config
from launchlab.provenance import git_commit
from launchlab.report import build_report
from launchlab.tracking import Tracker


def _progress(label: str):
    """The console's progress bar on a terminal, else a log line at every tenth of the work."""
    if sys.stderr.isatty():
        from launchlab.console import ProgressBar

        return ProgressBar(label)
    logger = get_run_logger()
    marks: set[int] = set()

    def report(done: int, total: int) -> None:
        tenth = int(10 * done / max(total, 1))
        if tenth not in marks:
            marks.add(tenth)
            logger.info("%s: %d/%d (%d%%)", label, done, total, 100 * done // max(total, 1))

    return report


def _cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Stages are reused by fingerprint (see ``launchlab.stages.stage_fingerprint``) and output folder."""
    import hashlib

    out = str(stages.cycle_paths(parameters["config"])[parameters["stage"]].resolve())
    return f"launchlab-{parameters['stage']}-{parameters['fingerprint']}-{hashlib.sha256(out.encode()).hexdigest()[:12]}"


@task(
    name="compute-stage",
    cache_key_fn=_cache_key,
    persist_result=True,
    result_serializer="json",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=lambda task, run, state: "locked" in str(state.message or "").lower(),
)
def compute_stage(stage: str, config: CycleConfig, fingerprint: str, run_id: str) -> dict[str, Any]:
    """Run one stage, register its models in ``run_id``, and record what it produced."""
    spec = stages.get_stage(stage)
    hooks = scaleout.stage_hooks(spec, config)
    if spec.progress:
        hooks["progress"] = _progress(spec.progress)
    run = stages.run_stage(stage, config, **hooks)
    tracker = Tracker(Settings()).connect()
    versions = tracker.log_models(run_id, run.result.models, run.result.metrics, spec.champions)
    record = stages.write_stage_record(run, fingerprint, run_id)
    record["models"] = versions
    return record


def _stage_flow(stage: str, config: CycleConfig, parent_run_id: str | None) -> dict[str, Any]:
    """Open the stage's MLflow run, compute (or reuse, or skip) the stage, record it, close the run.

    A stage the config gives nothing to do (stage 4 before launch) is skipped: its run is
    FINISHED with a ``launchlab.skipped`` tag saying why.
    """
    logger = get_run_logger()
    tracker = Tracker(Settings()).connect()
    fingerprint = stages.stage_fingerprint(stage, config, git_commit())
    spec = stages.get_stage(stage)
    skipped = spec.skip(config) if spec.skip else None
    tags = {"launchlab.fingerprint": fingerprint, **({"launchlab.skipped": skipped} if skipped else {})}
    run_id = tracker.start_stage(parent_run_id, stage, tags=tags)
    try:
        if skipped:
            record, reused = stages.skip_stage(stage, config, skipped, fingerprint, run_id), False
        else:
            record, reused = _computed(stage, config, fingerprint, run_id)
        tracker.record_stage(run_id, record, reused=reused)
    except BaseException:
        tracker.end_run(run_id, "FAILED")
        raise
    tracker.end_run(run_id, "FINISHED")
    if skipped:
        logger.info("%s skipped: %s", stage, skipped)
    if reused:
        logger.info("%s unchanged since run %s: reused its outputs", stage, record.get("computed_in_run"))
    for warning in record["warnings"]:
        logger.warning("%s: %s", stage, warning)
    return {**record, "run_id": run_id, "reused": reused}


def _computed(stage: str, config: CycleConfig, fingerprint: str, run_id: str) -> tuple[dict[str, Any], bool]:
    """The stage's record, from the task cache when its fingerprint is unchanged and its output
    folder still holds that result; whether it was reused."""
    record = compute_stage(stage, config, fingerprint, run_id)
    reused = record.get("computed_in_run") != run_id
    on_disk = stages.read_stage_record(Path(record["out_dir"]))
    if reused and (on_disk is None or on_disk.get("fingerprint") != fingerprint):
        get_run_logger().info("%s: cached result found but its output folder changed; computing again", stage)
        return compute_stage.with_options(refresh_cache=True)(stage, config, fingerprint, run_id), False
    return record, reused


# One flow per stage, each a plain ``def`` because Prefect finds deployable flows (``prefect.yaml``
# entrypoints) by their definition in this file.


@flow(name="insight", log_prints=True)
def insight_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Demand insight: reviews → needs, sentiment, quotes."""
    return _stage_flow(stages.INSIGHT, config or default_cycle_config(), parent_run_id)


@flow(name="trends", log_prints=True)
def trends_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Trend forecasting: need volumes (when reviews are dated) and external series."""
    return _stage_flow(stages.TRENDS, config or default_cycle_config(), parent_run_id)


@flow(name="concepts", log_prints=True)
def concepts_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Concept scoring against the needs and trends of the earlier stages."""
    return _stage_flow(stages.CONCEPTS, config or default_cycle_config(), parent_run_id)


@flow(name="incubation", log_prints=True)
def incubation_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Post-launch readout: A/B test, adoption curve, scale / iterate / stop."""
    return _stage_flow(stages.INCUBATION, config or default_cycle_config(), parent_run_id)


_FLOW_OF_STAGE = {stages.INSIGHT: insight_flow, stages.TRENDS: trends_flow, stages.CONCEPTS: concepts_flow,
                  stages.INCUBATION: incubation_flow}
STAGE_FLOWS = tuple(_FLOW_OF_STAGE[stage.name] for stage in stages.STAGES)
"""The stage flows in the stage table's order (a stage without a flow fails at import)."""


@flow(name="launch-cycle", log_prints=True)
def launch_cycle(
    config: CycleConfig | None = None,
    task_runner: Literal["default", "dask"] = "default",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """A full launch cycle: insight → trends → concepts → incubation, one MLflow parent run.

    ``task_runner="dask"`` spreads embedding batches and forecast chunks over a Dask cluster: the
    one at ``dask_address`` (``tcp://host:8786``), else a local one started for the cycle.
    """
    logger = get_run_logger()
    config = config or default_cycle_config()
    started = datetime.now(UTC)
    cycle_id = f"{config.name}-{started:%Y%m%dT%H%M%S%fZ}"
    tracker = Tracker(Settings()).connect()
    orphans = tracker.fail_orphaned_runs()
    if orphans:
        logger.warning("marked %d run(s) of dead processes FAILED: %s", len(orphans), ", ".join(orphans))
    commit = git_commit()
    parent = tracker.start_cycle(
        cycle_id,
        tags={"launchlab.cycle_id": cycle_id, "mlflow.source.git.commit": commit, "launchlab.config_name": config.name,
              "launchlab.task_runner": task_runner},
        params=config.model_dump(mode="json"),
    )
    logger.info("cycle %s: MLflow run %s", cycle_id, parent)
    stage_results: dict[str, dict[str, Any]] = {}
    try:
        with scaleout.stage_task_runner(task_runner, dask_address) as runner:
            for stage_flow in STAGE_FLOWS:
                result = (stage_flow.with_options(task_runner=runner) if runner else stage_flow)(config, parent_run_id=parent)
                stage_results[result["stage"]] = result
                tracker.record_cycle_stage(parent, result)
        report = build_report(config, stage_results, cycle_id=cycle_id)
        tracker.log_artifact(parent, report)
        decision = stages.cycle_decision(stage_results)
        tracker.set_tags(parent, {"decision": decision.get("decision", "none"), "report": str(report)})
        tracker.log_dict(parent, {k: {"summary": v["summary"], "metrics": v["metrics"]} for k, v in stage_results.items()}, "cycle_summary.json")
        tracker.log_metrics(parent, _headline_metrics(stage_results) | {"duration_s": (datetime.now(UTC) - started).total_seconds()})
    except BaseException:
        tracker.end_run(parent, "FAILED")
        raise
    tracker.end_run(parent, "FINISHED")
    return {
        "cycle_id": cycle_id,
        "parent_run_id": parent,
        "experiment_id": tracker.experiment_id,
        "tracking_uri": Settings().resolved_tracking_uri(),
        "report": str(report),
        "launchlab_version": __version__,
        "stages": stage_results,
    }


def _headline_metrics(stage_results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """A few numbers per stage on the parent run, so cycles compare at a glance in the MLflow UI."""
    out = {}
    for stage in stages.STAGES:
        metrics = stage_results.get(stage.name, {}).get("metrics", {})
        for key in stage.headline:
            if key in metrics:
                out[f"{stage.folder}.{key}"] = metrics[key]
    return out


if __name__ == "__main__":  # pragma: no cover - manual use: python flows/launch_cycle.py
    from launchlab.runtime import prepare_environment

    prepare_environment()
    print(launch_cycle(), file=sys.stderr)
