"""Faults and concurrency: a cycle SIGKILLed in each stage leaves the MLflow store consistent and
resumes; two cycles started at once on one SQLite store both complete with all their runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from launchlab.config import Settings
from launchlab.stages import STAGE_NAMES as STAGES
from launchlab.tracking import Tracker


def _write_cycle(repo: Path, folder: Path, name: str, out: str = "out") -> Path:
    sales = pd.read_csv(repo / "data" / "uci_sales_weekly.csv").head(12)
    sales.to_csv(folder / "sales.csv", index=False)
    config = {
        "name": name,
        "reviews": {"path": str(repo / "data" / "womens_clothing_reviews.parquet"), "sample": 100},
        "series": [{"path": str(folder / "sales.csv")}],
        "concepts": str(repo / "data" / "concepts.yaml"),
        "experiment": {"path": str(repo / "data" / "launch_experiment.csv"), "ab": {"variant_col": "variant", "metric_col": "converted", "unit_col": "user_id"}},
        "adoption": {"path": str(repo / "data" / "ibm_mainframe_generations.csv")},
        "embedding_model": "hashing-64",
        "trends": {"horizon": 3},
        "out_dir": str(folder / out),
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(config: Path, folder: Path, log: str, api: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PREFECT_HOME"] = str(folder / "prefect")
    env["PREFECT_API_URL"] = api  # one server for all the runs: no ephemeral start-up per run
    launchlab = Path(sys.executable).with_name("launchlab")
    return subprocess.Popen(
        [str(launchlab), "run", "--config", str(config)],
        cwd=folder, env=env, stdout=open(folder / f"{log}.out", "wb"), stderr=open(folder / f"{log}.err", "wb"), start_new_session=True,
    )


def _running_stage(tracker: Tracker) -> str | None:
    try:
        runs = tracker.client.search_runs([tracker.experiment_id], filter_string="attributes.status = 'RUNNING'")
    except Exception:
        return None
    names = {r.info.run_name for r in runs}
    return next((s for s in STAGES if s in names), None)


@pytest.mark.slow
def test_sigkill_in_each_stage_then_rerun_resumes_and_store_stays_consistent(repo, isolated_store, prefect_api):
    config = _write_cycle(repo, isolated_store, "faults")
    tracker = Tracker(Settings()).connect()
    killed_in = []
    for stage in STAGES:
        process = _start(config, isolated_store, f"kill-{stage}", prefect_api)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if _running_stage(tracker) == stage:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                killed_in.append(stage)
                break
            time.sleep(0.05)
        else:
            process.kill()
            raise AssertionError(f"never saw {stage} running; stderr: {(isolated_store / f'kill-{stage}.err').read_text()[-2000:]}")
        # the killed runs stay RUNNING until the next start notices their process is dead
        assert _running_stage(tracker) == stage

    process = _start(config, isolated_store, "final", prefect_api)
    assert process.wait(timeout=300) == 0, (isolated_store / "final.err").read_text()[-3000:]
    assert killed_in == list(STAGES)

    runs = tracker.client.search_runs([tracker.experiment_id], max_results=1000)
    assert not [r for r in runs if r.info.status == "RUNNING"], "a run was left RUNNING"
    cycles = sorted((r for r in runs if r.data.tags.get("launchlab.kind") == "cycle"), key=lambda r: r.info.start_time)
    assert [c.info.status for c in cycles] == ["FAILED"] * 4 + ["FINISHED"]
    # each killed cycle resumed after the stages finished before it
    for i, cycle in enumerate(cycles):
        _, children = tracker.cycle_runs(cycle.info.run_id)
        statuses = {c.info.run_name: c.info.status for c in children}
        expected = {s: "FINISHED" for s in STAGES[:i]}
        if i < 4:
            expected[STAGES[i]] = "FAILED"
        assert statuses == expected, (i, statuses)
        # stages that finished in an earlier cycle are reused; the one killed last time is recomputed
        reused = {c.info.run_name: c.data.tags.get("launchlab.cache_hit") for c in children if c.info.status == "FINISHED"}
        assert reused == {s: ("true" if j < i - 1 else "false") for j, s in enumerate(STAGES[:i])}, (i, reused)
    # no half-registered model: every version is READY and comes from a finished stage run
    finished = {r.info.run_id for r in runs if r.info.status == "FINISHED"}
    for model in tracker.client.search_registered_models():
        for version in tracker.client.search_model_versions(f"name = '{model.name}'"):
            assert version.status == "READY"
            assert version.run_id in finished or tracker.client.get_run(version.run_id).info.status == "FAILED"


@pytest.mark.slow
def test_two_cycles_started_at_once_on_one_sqlite_store_both_complete(repo, isolated_store, prefect_api):
    first = _write_cycle(repo, isolated_store, "alpha", out="out-alpha")
    second = _write_cycle(repo, isolated_store, "beta", out="out-beta")
    processes = [_start(first, isolated_store, "alpha", prefect_api), _start(second, isolated_store, "beta", prefect_api)]
    codes = [p.wait(timeout=400) for p in processes]
    assert codes == [0, 0], [(isolated_store / f"{n}.err").read_text()[-2000:] for n in ("alpha", "beta")]
    tracker = Tracker(Settings()).connect()
    cycles = tracker.recent_cycles()
    assert sorted(c.data.tags["launchlab.config_name"] for c in cycles) == ["alpha", "beta"]
    for cycle in cycles:
        assert cycle.info.status == "FINISHED"
        _, children = tracker.cycle_runs(cycle.info.run_id)
        assert [c.info.status for c in children] == ["FINISHED"] * 4
        assert len(children[0].data.metrics) > 3
