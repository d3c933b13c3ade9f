"""The launch-cycle flow and its four stage flows.

Each stage flow opens its MLflow child run (under ``parent_run_id`` when it is part of a cycle),
calls the pure stage step, logs what it produced and returns a small JSON-able summary. Stage
flows pass each other folders, not DataFrames, so every stage also runs on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from launchlab import __version__, stages
from launchlab.config import CycleConfig, Settings, default_cycle_config
from launchlab.provenance import git_commit
from launchlab.report import build_report
from launchlab.tracking import Tracker


def _progress(label: str):
    """Log embedding/forecast progress at every tenth of the work (a bar on a terminal)."""
    if sys.stderr.isatty():
        return _terminal_progress(label)
    logger = get_run_logger()
    marks: set[int] = set()

    def report(done: int, total: int) -> None:
        tenth = int(10 * done / max(total, 1))
        if tenth not in marks:
            marks.add(tenth)
            logger.info("%s: %d/%d (%d%%)", label, done, total, 100 * done // max(total, 1))

    return report


def _terminal_progress(label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True))
    task = progress.add_task(label, total=None)

    def report(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total)
        if done >= total:
            progress.stop()

    return report


def _tracked(stage: str, parent_run_id: str | None, step: Callable[[], stages.StageRun]) -> dict[str, Any]:
    """Run ``step`` inside the stage's MLflow run; FAILED on any exception, then re-raise."""
    logger = get_run_logger()
    tracker = Tracker(Settings()).connect()
    run_id = tracker.start_stage(parent_run_id, stage)
    try:
        run = step()
        tracker.set_tags(run_id, run.input_tags())
        versions = tracker.log_stage_result(run_id, run.result, run.out_dir)
    except BaseException:
        tracker.end_run(run_id, "FAILED")
        raise
    tracker.end_run(run_id, "FINISHED")
    for warning in run.result.warnings:
        logger.warning("%s: %s", stage, warning)
    logger.info("%s finished: %s", stage, {k: round(v, 4) for k, v in list(run.result.metrics.items())[:8]})
    return {
        "stage": stage,
        "run_id": run_id,
        "out_dir": str(run.out_dir),
        "metrics": run.result.metrics,
        "summary": run.result.summary,
        "warnings": run.result.warnings,
        "models": versions,
        "inputs": run.inputs,
    }


@flow(name="insight", log_prints=True)
def insight_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Demand insight: reviews → needs, sentiment, quotes."""
    config = config or default_cycle_config()
    out = stages.cycle_paths(config)[stages.INSIGHT]
    return _tracked(
        stages.INSIGHT,
        parent_run_id,
        lambda: stages.run_insight(
            config.reviews, config=config.insight, out_dir=out, embedding_model=config.embedding_model, progress=_progress("embedding reviews")
        ),
    )


@flow(name="trends", log_prints=True)
def trends_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Trend forecasting: need volumes (when reviews are dated) and external series."""
    config = config or default_cycle_config()
    paths = stages.cycle_paths(config)
    reviews = stages.read_stage_table(paths[stages.INSIGHT], "reviews", required=False)
    return _tracked(
        stages.TRENDS,
        parent_run_id,
        lambda: stages.run_trends(config.series, config=config.trends, out_dir=paths[stages.TRENDS], insight_reviews=reviews),
    )


@flow(name="concepts", log_prints=True)
def concepts_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Concept scoring against the needs and trends of the earlier stages."""
    config = config or default_cycle_config()
    paths = stages.cycle_paths(config)
    trends_dir = paths[stages.TRENDS] if (paths[stages.TRENDS] / "trends.parquet").exists() else None
    return _tracked(
        stages.CONCEPTS,
        parent_run_id,
        lambda: stages.run_concepts(
            config.concepts,
            insight_dir=paths[stages.INSIGHT],
            trends_dir=trends_dir,
            config=config.scoring,
            out_dir=paths[stages.CONCEPTS],
            embedding_model=config.embedding_model,
        ),
    )


@flow(name="incubation", log_prints=True)
def incubation_flow(config: CycleConfig | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Post-launch readout: A/B test, adoption curve, scale / iterate / stop."""
    config = config or default_cycle_config()
    out = stages.cycle_paths(config)[stages.INCUBATION]
    return _tracked(
        stages.INCUBATION,
        parent_run_id,
        lambda: stages.run_incubation(config.experiment, adoption=config.adoption, bass_config=config.bass, out_dir=out),
    )


@flow(name="launch-cycle", log_prints=True)
def launch_cycle(config: CycleConfig | None = None) -> dict[str, Any]:
    """A full launch cycle: insight → trends → concepts → incubation, one MLflow parent run."""
    logger = get_run_logger()
    config = config or default_cycle_config()
    started = datetime.now(UTC)
    cycle_id = f"{config.name}-{started:%Y%m%dT%H%M%SZ}"
    tracker = Tracker(Settings()).connect()
    parent = tracker.start_cycle(
        cycle_id,
        tags={"launchlab.cycle_id": cycle_id, "mlflow.source.git.commit": git_commit(), "launchlab.config_name": config.name},
        params=config.model_dump(mode="json"),
    )
    logger.info("cycle %s: MLflow run %s", cycle_id, parent)
    stage_results: dict[str, dict[str, Any]] = {}
    try:
        for stage_flow in (insight_flow, trends_flow, concepts_flow, incubation_flow):
            result = stage_flow(config, parent_run_id=parent)
            stage_results[result["stage"]] = result
            tracker.set_tags(parent, {f"run.{result['stage']}": result["run_id"]})
            tracker.set_tags(parent, {f"model.{k}": v for k, v in result["models"].items()})
            for name, info in result["inputs"].items():
                tracker.set_tags(parent, {f"data.{name}.sha256": info.get("sha256", "")})
        report = build_report(config, stage_results, cycle_id=cycle_id)
        tracker.log_artifact(parent, report)
        decision = stage_results[stages.INCUBATION]["summary"].get("decision", {})
        tracker.set_tags(parent, {"decision": decision.get("decision", "none")})
        tracker.log_dict(parent, {k: {"summary": v["summary"], "metrics": v["metrics"]} for k, v in stage_results.items()}, "cycle_summary.json")
        tracker.log_metrics(parent, {"duration_s": (datetime.now(UTC) - started).total_seconds()})
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


if __name__ == "__main__":  # pragma: no cover - manual use: python flows/launch_cycle.py
    print(launch_cycle(), file=sys.stderr)
