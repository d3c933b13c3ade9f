"""The launch-cycle flow, the readout flow and the four stage flows.

Each stage flow (a subflow named after its stage, ``01-insight`` …) opens its MLflow child run
and calls the ``compute <stage>`` task, which runs the pure stage step, registers the fitted
models under the champion policy and returns a JSON summary. That task is cached on the stage's
fingerprint (its input files' hashes, settings, upstream stages and code version) and output
folder, so a re-run with unchanged data reuses finished stages and a cycle killed in the middle
resumes after its last finished stage. Stage flows pass each other folders, not DataFrames, so
every stage also runs on its own.

Two entry points run a cycle: :func:`launch_cycle` takes a :class:`~launchlab.config.CycleConfig`
(the CLI, YAML files, tests) and :func:`launch_cycle_form` takes the form of
:mod:`launchlab.form` (the deployments, so the Prefect UI shows a form a person can fill). Both
name the MLflow parent run after the Prefect flow run, tag it with the flow run's id and URL,
give it the cycle's summary as its description, and leave that summary on the flow run as a
Markdown artifact with table artifacts beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import TaskRunContext

from flows import scaleout
from launchlab import __version__, stages, summary as cycle_summary
from launchlab.config import DEMO_CONFIG, CycleConfig, Settings, default_cycle_config, find_project_dir
from launchlab.errors import InputError
from launchlab.form import (
    PROMOTE_WHEN_UNCHANGED, AdvancedSettings, CycleForm, PromoteChoice, cycle_name, form_from_config,
)
from launchlab.provenance import git_commit
from launchlab.report import build_report
from launchlab.stages.evidence import input_examples
from launchlab.tracking import Tracker

WEEKLY_CYCLE = "weekly-launch-cycle"
DAILY_READOUT = "daily-incubation-readout"
RUN_NAME_PREFIX = {WEEKLY_CYCLE: "weekly", DAILY_READOUT: "readout"}
"""How runs of each deployment are named when the form names no cycle (``weekly 2026-12-07``)."""

EXPERIMENT_DESCRIPTION = """Launch cycles of launchlab: one parent run per cycle (named after its Prefect flow run), with a
child run per stage: 01-insight, 02-trends, 03-concepts, 04-incubation. Daily readouts are parent runs of kind
`readout` with their 04-incubation child.

Read a cycle in the run list: the `decision` tag and param (scale / iterate / stop, or pre-launch), the metric
`decision_code` (stop 0, iterate 1, scale 2) for sorting, and headline metrics named `<stage>.<metric>`, with
`- higher is better` or `- lower is better` where a direction applies. The run's description is the cycle's
summary; `report.html` is the full report. Registered models carry a `champion` alias that moves only when a
new version beats the champion beyond noise on at least as much data; each version's description says why."""


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
    out = str(stages.cycle_paths(parameters["config"])[parameters["stage"]].resolve())
    return f"launchlab-{parameters['stage']}-{parameters['fingerprint']}-{hashlib.sha256(out.encode()).hexdigest()[:12]}"


def _data_key(run: stages.StageRun, config: CycleConfig, spec: stages.Stage) -> str:
    """What a stage's models were evaluated on: its input files' contents and the rows used, and
    the data of the stages it reads (same key: like with like, whatever else changed)."""
    paths = stages.cycle_paths(config)
    upstream = [(stages.read_stage_record(paths[u]) or {}).get("data_key") for u in spec.upstream]
    inputs = {name: [info.get("sha256"), info.get("rows_used", info.get("rows_in"))] for name, info in sorted(run.inputs.items())}
    return hashlib.sha256(json.dumps([inputs, upstream], sort_keys=True, default=str).encode()).hexdigest()[:16]


@task(
    name="compute-stage",
    task_run_name="compute {stage}",
    cache_key_fn=_cache_key,
    persist_result=True,
    result_serializer="json",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=lambda task, run, state: "locked" in str(state.message or "").lower(),
)
def compute_stage(stage: str, config: CycleConfig, fingerprint: str, run_id: str, promote: bool = True) -> dict[str, Any]:
    """Run one stage, register its models in ``run_id`` (champions move only on evidence, and not
    at all without ``promote``), and record what it produced."""
    spec = stages.get_stage(stage)
    hooks = scaleout.stage_hooks(spec, config)
    label = spec.progress_label(config)
    if label:
        hooks["progress"] = _progress(label)
    run = stages.run_stage(stage, config, **hooks)
    data_key = _data_key(run, config, spec)
    tracker = Tracker(Settings()).connect()
    registered = tracker.register_models(run_id, run.result.models, run.result.metrics, spec.champions,
                                         examples=input_examples(run.result), data_key=data_key, promote=promote)
    record = stages.write_stage_record(run, fingerprint, run_id, data_key=data_key)
    record["models"] = {name: entry.version for name, entry in registered.items()}
    record["promotions"] = {name: {"promoted": entry.promoted, "reason": entry.reason} for name, entry in registered.items()}
    for name, entry in registered.items():
        get_run_logger().info("%s version %s: %s", name, entry.version, entry.reason)
    return record


def _stage_flow(stage: str, config: CycleConfig, parent_run_id: str | None, promote: bool = True) -> dict[str, Any]:
    """Open the stage's MLflow run, compute (or reuse, or skip) the stage, record it, close the run.

    A stage the config gives nothing to do (stage 4 before launch) is skipped: its run is
    FINISHED with a ``launchlab.skipped`` tag saying why.
    """
    logger = get_run_logger()
    tracker = Tracker(Settings()).connect()
    fingerprint = stages.stage_fingerprint(stage, config, git_commit())
    spec = stages.get_stage(stage)
    skipped = spec.skip(config) if spec.skip else None
    tags = {"launchlab.fingerprint": fingerprint, **_prefect_tags(), **({"launchlab.skipped": skipped} if skipped else {})}
    run_id = tracker.start_stage(parent_run_id, stage, tags=tags)
    try:
        if skipped:
            record, reused = stages.skip_stage(stage, config, skipped, fingerprint, run_id), False
        else:
            record, reused = _computed(stage, config, fingerprint, run_id, promote)
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


def _computed(stage: str, config: CycleConfig, fingerprint: str, run_id: str, promote: bool) -> tuple[dict[str, Any], bool]:
    """The stage's record, from the task cache when its fingerprint is unchanged and its output
    folder still holds that result; whether it was reused."""
    record = compute_stage(stage, config, fingerprint, run_id, promote)
    reused = record.get("computed_in_run") != run_id
    on_disk = stages.read_stage_record(Path(record["out_dir"]))
    if reused and (on_disk is None or on_disk.get("fingerprint") != fingerprint):
        get_run_logger().info("%s: cached result found but its output folder changed; computing again", stage)
        return compute_stage.with_options(refresh_cache=True)(stage, config, fingerprint, run_id, promote), False
    return record, reused


# One flow per stage, each a plain ``def`` because Prefect finds deployable flows (``prefect.yaml``
# entrypoints) by their definition in this file. Their runs are named after their stage.


@flow(name="insight", flow_run_name=stages.INSIGHT, log_prints=True)
def insight_flow(config: CycleConfig | None = None, parent_run_id: str | None = None, promote: bool = True) -> dict[str, Any]:
    """Demand insight: reviews → needs, sentiment, quotes."""
    return _stage_flow(stages.INSIGHT, config or default_cycle_config(), parent_run_id, promote)


@flow(name="trends", flow_run_name=stages.TRENDS, log_prints=True)
def trends_flow(config: CycleConfig | None = None, parent_run_id: str | None = None, promote: bool = True) -> dict[str, Any]:
    """Trend forecasting: need volumes (when reviews are dated) and external series."""
    return _stage_flow(stages.TRENDS, config or default_cycle_config(), parent_run_id, promote)


@flow(name="concepts", flow_run_name=stages.CONCEPTS, log_prints=True)
def concepts_flow(config: CycleConfig | None = None, parent_run_id: str | None = None, promote: bool = True) -> dict[str, Any]:
    """Concept scoring against the needs and trends of the earlier stages."""
    return _stage_flow(stages.CONCEPTS, config or default_cycle_config(), parent_run_id, promote)


@flow(name="incubation", flow_run_name=stages.INCUBATION, log_prints=True)
def incubation_flow(config: CycleConfig | None = None, parent_run_id: str | None = None, promote: bool = True) -> dict[str, Any]:
    """Post-launch readout: A/B test, adoption curve, scale / iterate / stop."""
    return _stage_flow(stages.INCUBATION, config or default_cycle_config(), parent_run_id, promote)


_FLOW_OF_STAGE = {stages.INSIGHT: insight_flow, stages.TRENDS: trends_flow, stages.CONCEPTS: concepts_flow,
                  stages.INCUBATION: incubation_flow}
STAGE_FLOWS = tuple(_FLOW_OF_STAGE[stage.name] for stage in stages.STAGES)
"""The stage flows in the stage table's order (a stage without a flow fails at import)."""


def _config_run_name() -> str:
    """A CLI or Python run is named after its cycle config and start time."""
    config = runtime.flow_run.parameters.get("config")
    name = config.get("name") if isinstance(config, dict) else getattr(config, "name", None)
    return f"{name or DEMO_CONFIG['name']} {datetime.now(UTC):%Y-%m-%d %H:%M}"


@flow(name="launch-cycle", flow_run_name=_config_run_name, log_prints=True)
def launch_cycle(
    config: CycleConfig | None = None,
    task_runner: Literal["default", "dask"] = "default",
    dask_address: str | None = None,
    promote: bool = True,
) -> dict[str, Any]:
    """A full launch cycle: insight → trends → concepts → incubation, one MLflow parent run.

    ``task_runner="dask"`` spreads embedding batches and forecast chunks over a Dask cluster: the
    one at ``dask_address`` (``tcp://host:8786``), else a local one started for the cycle.
    ``promote=False`` registers the models without letting them take the ``champion`` alias.
    """
    config = config or default_cycle_config()
    return _run_cycle(config, run_name=runtime.flow_run.name or config.name, promote=promote, task_runner=task_runner,
                      dask_address=dask_address)


# The form flows: their parameters are the fields of launchlab.form.CycleForm, flat, so the Prefect
# UI's "Custom run" shows the few fields a person changes and one "advanced" section. The UI reads
# each field's help from the docstring's Args (the same sentences as CycleForm's descriptions; a
# test keeps them equal) and the defaults from the signature, so both are written out literally.

_DEFAULT_FORM = form_from_config(CycleConfig.model_validate(DEMO_CONFIG), Path("."))


def _form_run_name() -> str:
    """The run's name: the form's name, else ``weekly 2026-12-07`` / ``readout 2026-12-08`` for a
    deployment's run with its own settings, ``trial 2026-12-04 14:05`` for one with changed settings."""
    parameters = runtime.flow_run.parameters
    if str(parameters.get("name") or "").strip():
        return cycle_name(parameters["name"])
    start = runtime.flow_run.scheduled_start_time or datetime.now(UTC)
    defaults = _deployment_parameters()
    if defaults is not None and not _same_settings(parameters, defaults):
        return f"trial {start:%Y-%m-%d %H:%M}"
    prefix = RUN_NAME_PREFIX.get(runtime.deployment.name or "", runtime.flow_run.flow_name or "cycle")
    return f"{prefix} {start:%Y-%m-%d}"


@flow(name="launch-cycle", flow_run_name=_form_run_name, log_prints=True)
def launch_cycle_form(
    name: str = "",
    reviews_file: str = "data/womens_clothing_reviews_dated.parquet",
    reviews_sample: int | None = 1500,
    concepts_file: str = "data/concepts.yaml",
    launch_test_file: str | None = "data/launch_experiment.csv",
    launch_sales_file: str | None = "data/launch_adoption_weekly.csv",
    horizon: int = 8,
    promote_models: PromoteChoice = "when unchanged",
    advanced: AdvancedSettings = _DEFAULT_FORM.advanced,
) -> dict[str, Any]:
    """A full launch cycle: what customers need, what is rising, which concept to build, and (after
    launch) scale, iterate or stop.

    Args:
        name: A readable name for this cycle, e.g. ui-trial-sample-300. Leave empty to use the Prefect run's name. The cycle's tables and report go to a folder of this name.
        reviews_file: Customer reviews: a CSV, Parquet or JSON Lines file, relative to the folder the deployment runs in.
        reviews_sample: Read a random sample of this many reviews (the same sample every time). Empty: all reviews.
        concepts_file: The product concepts to rank: a YAML or CSV file.
        launch_test_file: After launch: the launch test (one row per customer, with the variant they saw and the outcome). Empty before launch.
        launch_sales_file: After launch: sales of the new product per week since launch. Empty before launch.
        horizon: How many periods (weeks or months) ahead to forecast the needs.
        promote_models: May this run's models become the registry's champions when they beat the current ones on evidence? 'when unchanged': only when the run keeps the deployment's own settings (scheduled runs do); a trial with changed settings registers its models without promoting them.
        advanced: Stage settings, for people who know why they change them; the defaults are the deployment's.
    """
    form = CycleForm(**{key: value for key, value in locals().items()})
    config = form.to_config(find_project_dir(), runtime.flow_run.name or "launch-cycle")
    return _run_cycle(config, run_name=runtime.flow_run.name or config.name, promote=_may_promote(form.promote_models),
                      task_runner=form.advanced.task_runner, dask_address=form.advanced.dask_address)


@flow(name="launch-readout", flow_run_name=_form_run_name, log_prints=True)
def launch_readout(
    name: str = "",
    reviews_file: str = "data/womens_clothing_reviews_dated.parquet",
    reviews_sample: int | None = 1500,
    concepts_file: str = "data/concepts.yaml",
    launch_test_file: str | None = "data/launch_experiment.csv",
    launch_sales_file: str | None = "data/launch_adoption_weekly.csv",
    horizon: int = 8,
    promote_models: PromoteChoice = "when unchanged",
    advanced: AdvancedSettings = _DEFAULT_FORM.advanced,
) -> dict[str, Any]:
    """The readout of the running launch: the launch test and the adoption curve read out again,
    scale / iterate / stop. Its runs share one folder (``<output_root>/readout`` unless named), so a
    day without new data reuses the last readout.

    Args:
        name: A readable name for this cycle, e.g. ui-trial-sample-300. Leave empty to use the Prefect run's name. The cycle's tables and report go to a folder of this name.
        reviews_file: Customer reviews: a CSV, Parquet or JSON Lines file, relative to the folder the deployment runs in.
        reviews_sample: Read a random sample of this many reviews (the same sample every time). Empty: all reviews.
        concepts_file: The product concepts to rank: a YAML or CSV file.
        launch_test_file: After launch: the launch test (one row per customer, with the variant they saw and the outcome). Empty before launch.
        launch_sales_file: After launch: sales of the new product per week since launch. Empty before launch.
        horizon: How many periods (weeks or months) ahead to forecast the needs.
        promote_models: May this run's models become the registry's champions when they beat the current ones on evidence? 'when unchanged': only when the run keeps the deployment's own settings (scheduled runs do); a trial with changed settings registers its models without promoting them.
        advanced: Stage settings, for people who know why they change them; the defaults are the deployment's.
    """
    form = CycleForm(**{key: value for key, value in locals().items()})
    config = form.to_config(find_project_dir(), form.name or "readout")
    return _run_cycle(config, run_name=runtime.flow_run.name or config.name, promote=_may_promote(form.promote_models),
                      stage_flows=(incubation_flow,), kind="readout")


def _may_promote(choice: str) -> bool:
    """'yes' / 'no', or for 'when unchanged': promote unless the run changed its deployment's settings."""
    if choice != PROMOTE_WHEN_UNCHANGED:
        return choice == "yes"
    defaults = _deployment_parameters()
    return defaults is None or _same_settings(runtime.flow_run.parameters, defaults)


def _deployment_parameters() -> dict[str, Any] | None:
    """The parameters of the deployment this run came from, or None outside a deployment."""
    deployment_id = runtime.deployment.id
    if not deployment_id:
        return None
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return dict(client.read_deployment(deployment_id).parameters or {})


def _same_settings(parameters: dict[str, Any], defaults: dict[str, Any]) -> bool:
    """Whether a run's form equals its deployment's, its name and promotion choice aside."""
    def settings(values: dict[str, Any]) -> dict[str, Any]:
        known = {k: v for k, v in {**_DEFAULT_FORM.model_dump(), **values}.items() if k in CycleForm.model_fields}
        return CycleForm(**known).model_dump(mode="json", exclude={"name", "promote_models"})

    return settings(parameters) == settings(defaults)


def _prefect_tags() -> dict[str, str]:
    """Tags that lead from an MLflow run back to its Prefect flow run."""
    tags = {"prefect.flow_run_id": runtime.flow_run.id, "prefect.flow_run_name": runtime.flow_run.name,
            "prefect.flow_run_url": runtime.flow_run.ui_url, "prefect.deployment": runtime.deployment.name}
    return {key: str(value) for key, value in tags.items() if value and "None" not in str(value)}


def _run_cycle(
    config: CycleConfig,
    *,
    run_name: str,
    promote: bool,
    task_runner: str = "default",
    dask_address: str | None = None,
    stage_flows: tuple = STAGE_FLOWS,
    kind: str = "cycle",
) -> dict[str, Any]:
    """Open the parent run, run the stage flows, record the outcome where users look, close the run."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    cycle_id = f"{config.name}-{started:%Y%m%dT%H%M%S%fZ}"
    settings = Settings()
    tracker = Tracker(settings).connect()
    orphans = tracker.fail_orphaned_runs()
    if orphans:
        logger.warning("marked %d run(s) of dead processes FAILED: %s", len(orphans), ", ".join(orphans))
    tracker.describe_experiment(EXPERIMENT_DESCRIPTION)
    parent = tracker.start_cycle(
        run_name,
        tags={"launchlab.cycle_id": cycle_id, "mlflow.source.git.commit": git_commit(), "launchlab.config_name": config.name,
              "launchlab.task_runner": task_runner, "launchlab.promote": str(promote).lower(),
              "mlflow.source.name": f"prefect flow {runtime.flow_run.flow_name or 'launch-cycle'}", "mlflow.source.type": "JOB",
              **_prefect_tags()},
        params=config.model_dump(mode="json"),
        kind=kind,
    )
    run_url = f"{settings.mlflow_ui_url.rstrip('/')}/#/experiments/{tracker.experiment_id}/runs/{parent}"
    logger.info("cycle %s: MLflow run %s (%s)%s", run_name, parent, run_url, "" if promote else "; models will not be promoted")
    stage_results: dict[str, dict[str, Any]] = {}
    try:
        with scaleout.stage_task_runner(task_runner, dask_address) as runner:
            for stage_flow in stage_flows:
                result = (stage_flow.with_options(task_runner=runner) if runner else stage_flow)(config, parent_run_id=parent,
                                                                                                 promote=promote)
                stage_results[result["stage"]] = result
                tracker.record_cycle_stage(parent, result)
        report = build_report(config, stage_results, cycle_id=run_name)
        tracker.log_artifact(parent, report)
        found = cycle_summary.read_summary(config)
        found.name = run_name
        links = {"MLflow run": run_url, "Report (in the MLflow run's artifacts)": f"{run_url}/artifacts/report.html",
                 "Report file": str(report), "MLflow UI": settings.mlflow_ui_url}
        if runtime.flow_run.ui_url:
            links["Prefect flow run"] = runtime.flow_run.ui_url
        text = cycle_summary.markdown(found, links)
        summary_file = cycle_summary.summary_path(config)
        summary_file.write_text(text, encoding="utf-8")
        tracker.describe_run(parent, text)
        tracker.set_tags(parent, {"decision": found.decision, "report": str(report)})
        tracker.log_params(parent, {"decision": found.decision})
        tracker.log_dict(parent, {k: {"summary": v["summary"], "metrics": v["metrics"]} for k, v in stage_results.items()}, "cycle_summary.json")
        tracker.log_metrics(parent, _headline_metrics(stage_results)
                            | ({"decision_code": found.decision_code} if found.decision_code is not None else {})
                            | {"duration_s": (datetime.now(UTC) - started).total_seconds()})
        _publish(found, text, logger)
    except BaseException:
        tracker.end_run(parent, "FAILED")
        raise
    tracker.end_run(parent, "FINISHED")
    return {
        "cycle_id": cycle_id,
        "run_name": run_name,
        "parent_run_id": parent,
        "experiment_id": tracker.experiment_id,
        "tracking_uri": settings.resolved_tracking_uri(),
        "mlflow_run_url": run_url,
        "report": str(report),
        "summary": str(summary_file),
        "launchlab_version": __version__,
        "stages": stage_results,
    }


def _publish(found: cycle_summary.CycleSummary, text: str, logger) -> None:
    """The summary on the Prefect flow run: log lines, a Markdown artifact, table artifacts."""
    for line in cycle_summary.log_lines(found):
        logger.info("%s", line)
    create_markdown_artifact(markdown=text, key="launch-decision", description=f"{found.name}: {found.headline}"[:500])
    for key, rows in cycle_summary.tables(found).items():
        if rows:
            create_table_artifact(table=rows, key=key, description=f"{found.name}: {key.replace('-', ' ')}")


def _headline_metrics(stage_results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """A few numbers per stage on the parent run under readable names with their direction, so
    cycles compare at a glance in the MLflow run list (``insight.npmi_coherence - higher is better``)."""
    out = {}
    for stage in stages.STAGES:
        metrics = stage_results.get(stage.name, {}).get("metrics", {})
        for entry in stage.headline:
            headline = entry if isinstance(entry, stages.Headline) else stages.Headline(entry, entry)
            if headline.metric in metrics:
                out[f"{stage.folder}.{headline.key}"] = metrics[headline.metric]
    return out


def form_parameters(config: CycleConfig) -> dict[str, Any]:
    """A deployment's parameters: the form prefilled from ``config``, paths relative to the project."""
    return form_from_config(config, find_project_dir()).model_dump(mode="json")


__all__ = [
    "DAILY_READOUT", "STAGE_FLOWS", "WEEKLY_CYCLE", "compute_stage", "form_parameters", "launch_cycle",
    "launch_cycle_form", "launch_readout", "quiet_input_errors_on_console",
]


class _NoInputErrors(logging.Filter):
    """Drops the records of a run that failed on bad input (they repeat the error with a traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, InputError) and "InputError" not in record.getMessage()


@contextmanager
def quiet_input_errors_on_console() -> Iterator[None]:
    """While the block runs, Prefect's console handlers leave out the records of a failure on bad
    input: the CLI prints its one-line ``error:`` instead. The records still reach the Prefect API,
    so the traceback is in the flow run's log in the UI."""
    from prefect.logging.handlers import PrefectConsoleHandler

    quiet = _NoInputErrors()
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in logging.root.manager.loggerDict if n.startswith("prefect"))]
    handlers = {id(h): h for logger in loggers for h in getattr(logger, "handlers", []) if isinstance(h, PrefectConsoleHandler)}
    for handler in handlers.values():
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers.values():
            handler.removeFilter(quiet)


if __name__ == "__main__":  # pragma: no cover - manual use: python flows/launch_cycle.py
    from launchlab.runtime import prepare_environment

    prepare_environment()
    print(launch_cycle(), file=sys.stderr)
