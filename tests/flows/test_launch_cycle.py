"""The whole launch_cycle flow on a small real sample with the real model, against a temporary
Prefect home and a temporary SQLite MLflow store (never the repo's mlruns/ or ~/.prefect)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from launchlab.config import CycleConfig, Settings
from launchlab.stages import STAGE_NAMES as STAGES
from launchlab.tracking import Tracker


def _small_cycle(small_cycle, folder: Path) -> CycleConfig:
    """200 real reviews and the real embedding model; the rest of the cycle small."""
    return small_cycle.model(folder, "test-cycle", sample=200, series_rows=40, embedding_model="all-MiniLM-L6-v2", horizon=4)


@pytest.mark.slow
def test_launch_cycle_records_one_parent_and_four_finished_stage_runs(repo, isolated_store, small_cycle):
    from flows.launch_cycle import launch_cycle

    repo_store = repo / "mlruns" / "mlflow.db"
    before = repo_store.stat().st_mtime if repo_store.exists() else None
    config = _small_cycle(small_cycle, isolated_store)
    result = launch_cycle(config)

    tracker = Tracker(Settings()).connect()
    assert Settings().resolved_tracking_uri().startswith(f"sqlite:///{isolated_store}")
    parent, children = tracker.cycle_runs(result["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["launchlab.cycle_id"] == result["cycle_id"]
    assert "mlflow.source.git.commit" in parent.data.tags
    assert parent.data.tags["data.reviews.sha256"] and parent.data.tags["decision"] in {"scale", "iterate", "stop"}
    assert [c.info.run_name for c in children] == list(STAGES)
    assert all(c.info.status == "FINISHED" for c in children)

    by_stage = {c.info.run_name: c for c in children}
    assert by_stage["01-insight"].data.metrics["n_needs"] >= 2
    assert by_stage["01-insight"].data.metrics["reviews_rows_used"] == 200
    assert "n_series" in by_stage["02-trends"].data.metrics
    assert by_stage["03-concepts"].data.metrics["n_concepts"] >= 8
    assert any(k.startswith("ab_") for k in by_stage["04-incubation"].data.metrics)

    artifacts = {c.info.run_name: {a.path for a in tracker.client.list_artifacts(c.info.run_id, "outputs")} for c in children}
    assert {"outputs/needs.parquet", "outputs/reviews.parquet"} <= artifacts["01-insight"]
    assert {"outputs/forecasts.parquet", "outputs/trends.parquet"} <= artifacts["02-trends"]
    assert "outputs/scores.parquet" in artifacts["03-concepts"]
    assert {"outputs/readout.json", "outputs/bass.json"} <= artifacts["04-incubation"]
    assert "report.html" in {a.path for a in tracker.client.list_artifacts(parent.info.run_id)}

    for name in ("launchlab-needs", "launchlab-sentiment", "launchlab-forecaster", "launchlab-concept-scorer", "launchlab-adoption"):
        version = tracker.client.get_model_version_by_alias(name, "champion")
        assert version.run_id in {c.info.run_id for c in children}

    # artifacts live in the temporary store, and the repo's store was not touched
    assert any((isolated_store / "artifacts").rglob("needs.parquet"))
    after = repo_store.stat().st_mtime if repo_store.exists() else None
    assert before == after
    assert os.environ["PREFECT_HOME"] != str(Path.home() / ".prefect")

    readout = json.loads((Path(config.out_dir) / "incubation" / "readout.json").read_text())
    assert readout["decision"] == parent.data.tags["decision"]
    report = (Path(config.out_dir) / "report.html").read_text()
    assert "Launch cycle" in report and "data:image/png;base64," in report


@pytest.mark.slow
def test_rerun_reuses_finished_stages_and_a_failed_cycle_resumes(repo, isolated_store, cli, small_cycle):
    from flows.launch_cycle import launch_cycle

    config = _small_cycle(small_cycle, isolated_store)
    concepts = isolated_store / "concepts.yaml"
    concepts.write_text((repo / "data" / "concepts.yaml").read_text())
    config.concepts = concepts
    first = launch_cycle(config)
    assert not any(s["reused"] for s in first["stages"].values())

    # unchanged inputs: every stage is reused, no model is registered again
    second = launch_cycle(config)
    assert all(s["reused"] for s in second["stages"].values())
    assert all(s["models"] == first["stages"][k]["models"] for k, s in second["stages"].items())
    tracker = Tracker(Settings()).connect()
    parent, children = tracker.cycle_runs(second["parent_run_id"])
    assert parent.info.status == "FINISHED" and len(children) == 4
    assert {c.data.tags["launchlab.cache_hit"] for c in children} == {"true"}
    # a reused stage run carries the metrics its original run logged
    for child in children:
        original = tracker.client.get_run(first["stages"][child.info.run_name]["run_id"])
        assert child.data.metrics == original.data.metrics and len(child.data.metrics) > 2, child.info.run_name
        assert child.data.tags["launchlab.reused_from"] == original.info.run_id
    assert children[0].data.metrics["n_needs"] == first["stages"]["01-insight"]["metrics"]["n_needs"]

    # a cycle that fails in the concepts stage leaves earlier stages finished and the parent FAILED
    concepts.write_text("concepts: [unclosed\n")
    with pytest.raises(Exception):
        launch_cycle(config)
    failed = tracker.recent_cycles(limit=1)[0]
    assert failed.info.status == "FAILED"
    _, failed_children = tracker.cycle_runs(failed.info.run_id)
    assert {c.info.run_name: c.info.status for c in failed_children} == {
        "01-insight": "FINISHED", "02-trends": "FINISHED", "03-concepts": "FAILED"
    }

    # fixed input: the cycle resumes, recomputing only the concepts stage (and what follows it)
    concepts.write_text((repo / "data" / "concepts.yaml").read_text().replace("CON-01", "CON-01b"))
    third = launch_cycle(config)
    reused = {k: s["reused"] for k, s in third["stages"].items()}
    assert reused == {"01-insight": True, "02-trends": True, "03-concepts": False, "04-incubation": True}
    assert int(third["stages"]["03-concepts"]["models"]["launchlab-concept-scorer"]) == 2

    # a trends setting recomputes trends and what reads it (concepts), nothing before, not incubation
    config.trends.horizon = 3
    fourth = launch_cycle(config)
    reused = {k: s["reused"] for k, s in fourth["stages"].items()}
    assert reused == {"01-insight": True, "02-trends": False, "03-concepts": False, "04-incubation": True}
    assert fourth["stages"]["02-trends"]["metrics"]["horizon"] == 3

    # cycle history on the command line
    code, out, err = cli("cycles")
    assert code == 0, err
    assert out.count("test-cycle-") >= 5 and "FAILED" in out and "(cached)" in out
    code, out, err = cli("diff", first["cycle_id"], third["cycle_id"])
    assert code == 0, err
    assert "CON-01b" not in out  # names, not ids, are shown
    assert "Model launchlab-concept-scorer: version 1 → 2" in out
    assert "new/gone" in out
