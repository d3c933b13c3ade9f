"""What users see of a cycle in the tools they use, read through those tools' own clients: the
MLflow client (run name, description, decision, Prefect tags, datasets, previews, the champions a
smaller trial leaves alone) and the Prefect client (the flow run's artifacts, its subflows and
tasks named after their stage). Cycles run in-process against a temporary Prefect home and MLflow
store, with the hashing embedder."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launchlab.config import CycleConfig, Settings
from launchlab.stages import STAGE_NAMES
from launchlab.tracking import CHAMPION, Tracker


def _prefect_view(flow_run_id: str) -> dict:
    """The flow run, its artifacts, subflow runs and task runs, as the Prefect API returns them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterParentFlowRunId

    async def read() -> dict:
        async with get_client() as client:
            run = await client.read_flow_run(flow_run_id)
            artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
            subflows = await client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])))
            tasks = []
            for sub in subflows:
                tasks += await client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [sub.id]}))
            return {"run": run, "artifacts": artifacts, "subflows": subflows, "tasks": tasks}

    return asyncio.run(read())


@pytest.mark.slow
def test_a_cycle_shows_its_decision_and_links_in_both_uis_and_a_smaller_trial_moves_no_champion(repo, isolated_store, small_cycle):
    from flows.launch_cycle import launch_cycle, launch_cycle_form

    base = small_cycle.config(isolated_store, "unused", sample=120, series_rows=12, embedding_model="hashing-64")
    result = launch_cycle_form(
        name="ui links", reviews_file=base["reviews"]["path"], reviews_sample=120, concepts_file=base["concepts"],
        launch_test_file=base["experiment"]["path"], launch_sales_file=base["adoption"]["path"], horizon=3,
        advanced={"signal_files": [base["series"][0]["path"]], "embedding_model": "hashing-64", "output_root": str(isolated_store / "out"),
                  "launch_test": base["experiment"]["ab"]},
    )
    # each cycle writes to its own folder, named after the cycle
    assert Path(result["report"]).parent == isolated_store / "out" / "ui-links"

    tracker = Tracker(Settings()).connect()
    client = tracker.client
    parent = client.get_run(result["parent_run_id"])
    decision = parent.data.tags["decision"]
    assert parent.info.run_name == "ui links" == parent.data.tags["prefect.flow_run_name"]
    assert decision in {"scale", "iterate", "stop"} and parent.data.params["decision"] == decision
    assert parent.data.metrics["decision_code"] == {"stop": 0, "iterate": 1, "scale": 2}[decision]
    description = parent.data.tags["mlflow.note.content"]
    assert description.startswith("# ui links") and f"**Decision: {decision.upper()}**" in description
    assert "## Needs that matter" in description and "## Top 5 concepts" in description and "MLflow run" in description
    assert "insight.npmi_coherence - higher is better" in parent.data.metrics
    assert "trends.backtest_mase - lower is better" in parent.data.metrics
    assert "prefect flow launch-cycle" == parent.data.tags["mlflow.source.name"]
    assert "one parent run per cycle" in client.get_experiment(tracker.experiment_id).tags["mlflow.note.content"]
    _, children = tracker.cycle_runs(parent.info.run_id)
    assert [c.info.run_name for c in children] == list(STAGE_NAMES)
    by_stage = {c.info.run_name: c for c in children}
    assert {d.dataset.name for d in by_stage["01-insight"].inputs.dataset_inputs} == {"reviews"}
    assert {d.dataset.name for d in by_stage["04-incubation"].inputs.dataset_inputs} == {"experiment", "adoption"}
    assert by_stage["01-insight"].inputs.dataset_inputs[0].dataset.digest == by_stage["01-insight"].data.tags["data.reviews.sha256"]
    in_parent = {(d.dataset.name, next(t.value for t in d.tags if t.key == "mlflow.data.context")) for d in parent.inputs.dataset_inputs}
    assert {("reviews", "01-insight"), ("concepts", "03-concepts"), ("experiment", "04-incubation"), ("adoption", "04-incubation")} <= in_parent
    previews = {a.path for a in client.list_artifacts(by_stage["01-insight"].info.run_id, "outputs/preview")}
    assert {"outputs/preview/needs.csv", "outputs/preview/reviews.csv"} <= previews

    # Prefect: the flow run's summary and tables, its subflows and tasks named after their stage
    flow_run_id = parent.data.tags["prefect.flow_run_id"]
    prefect = _prefect_view(flow_run_id)
    assert prefect["run"].name == "ui links"
    artifacts = {a.key: a for a in prefect["artifacts"]}
    assert {"launch-decision", "top-needs", "concept-ranking"} <= set(artifacts)
    markdown = artifacts["launch-decision"].data
    assert f"**Decision: {decision.upper()}**" in markdown and parent.info.run_id in markdown
    assert artifacts["launch-decision"].type == "markdown" and artifacts["concept-ranking"].type == "table"
    assert sorted(s.name for s in prefect["subflows"]) == list(STAGE_NAMES)
    assert {t.name for t in prefect["tasks"]} == {f"compute {stage}" for stage in STAGE_NAMES}

    champions = {m.name: client.get_model_version_by_alias(m.name, CHAMPION).version for m in client.search_registered_models()}
    assert len(champions) == 5

    # a smaller trial on the same files, even allowed to promote, moves no champion: it was
    # evaluated on less data; each new version says why it was not promoted
    trial = CycleConfig.model_validate(small_cycle.config(isolated_store, "trial", sample=60, series_rows=12,
                                                         embedding_model="hashing-64", out="out-trial"))
    second = launch_cycle(trial)
    after = {m.name: client.get_model_version_by_alias(m.name, CHAMPION).version for m in client.search_registered_models()}
    assert after == champions
    for name, version in second["stages"]["01-insight"]["models"].items():
        described = client.get_model_version(name, version)
        assert described.description.startswith("Not promoted"), (name, described.description)
        assert described.tags["launchlab.promoted"] == "false"


@pytest.mark.slow
def test_an_input_error_inside_a_stage_prints_one_line_on_the_console(repo, tmp_path, small_cycle):
    """The traceback of a stage that fails on bad input goes to the Prefect log, not the console."""
    import yaml

    broken = tmp_path / "reviews.csv"
    broken.write_text("id,body\n1,fits well\n2,runs small\n")
    config = small_cycle.config(tmp_path, "broken", embedding_model="hashing-64")
    config["reviews"] = {"path": str(broken), "mapping": {"text": "comment"}}  # no such column: the stage's loader says so
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "LAUNCHLAB_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "LAUNCHLAB_ARTIFACT_ROOT": str(tmp_path / "a"),
           "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "200"}
    done = subprocess.run([str(Path(sys.executable).with_name("launchlab")), "run", "--config", str(path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "InputError" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "reviews.csv" in errors[0], done.stderr[-3000:]
