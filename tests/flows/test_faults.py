"""Faults and concurrency: a cycle SIGKILLed in each stage leaves the MLflow store consistent and
resumes; two cycles started at once on one SQLite store both complete with all their runs."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from launchlab.config import Settings
from launchlab.stages import STAGE_NAMES as STAGES
from launchlab.tracking import Tracker

# Loaded as `sitecustomize` by the `launchlab run` processes of the SIGKILL test: when the named
# stage has computed and written its outputs (its MLflow run is RUNNING, nothing recorded yet),
# it says so through a FIFO and waits there to be killed, so the kill lands inside that stage
# every time, however fast the stage is.
HOLD = """
import os

if os.environ.get("LAUNCHLAB_TEST_HOLD_STAGE"):
    import signal

    import launchlab.stages as stages

    def run_stage(stage, config, **hooks):
        run = compute(stage, config, **hooks)
        if stage == os.environ["LAUNCHLAB_TEST_HOLD_STAGE"]:
            with open(os.environ["LAUNCHLAB_TEST_HOLD_FIFO"], "w") as fifo:
                fifo.write(stage)
            while True:
                signal.pause()
        return run

    compute, stages.run_stage = stages.run_stage, run_stage
"""


def _start(config: Path, folder: Path, log: str, api: str, *, hold: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PREFECT_HOME"] = str(folder / "prefect")
    env["PREFECT_API_URL"] = api  # one server for all the runs: no ephemeral start-up per run
    if hold:
        hooks = folder / "hold-hook"
        hooks.mkdir(exist_ok=True)
        (hooks / "sitecustomize.py").write_text(HOLD)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hooks), env.get("PYTHONPATH")) if p)
        env["LAUNCHLAB_TEST_HOLD_STAGE"] = hold
        env["LAUNCHLAB_TEST_HOLD_FIFO"] = str(folder / "held")
    launchlab = Path(sys.executable).with_name("launchlab")
    return subprocess.Popen(
        [str(launchlab), "run", "--config", str(config)],
        cwd=folder, env=env, stdout=open(folder / f"{log}.out", "wb"), stderr=open(folder / f"{log}.err", "wb"), start_new_session=True,
    )


def _held_in(fifo: Path, process: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for the held process to say which stage it is in (or to die, or time out)."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready and (said := os.read(fd, 100).decode()):
                return said
        return ""
    finally:
        os.close(fd)


def _running_stages(tracker: Tracker) -> set[str]:
    runs = tracker.client.search_runs([tracker.experiment_id], filter_string="attributes.status = 'RUNNING'")
    return {r.info.run_name for r in runs} & set(STAGES)


@pytest.mark.slow
def test_sigkill_in_each_stage_then_rerun_resumes_and_store_stays_consistent(isolated_store, prefect_api, small_cycle):
    config = small_cycle.yaml(isolated_store, "faults")
    tracker = Tracker(Settings()).connect()
    os.mkfifo(isolated_store / "held")
    killed_in = []
    for stage in STAGES:
        process = _start(config, isolated_store, f"kill-{stage}", prefect_api, hold=stage)
        held = _held_in(isolated_store / "held", process)
        if held != stage:
            process.kill()
            raise AssertionError(f"never held in {stage}; stderr: {(isolated_store / f'kill-{stage}.err').read_text()[-2000:]}")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        killed_in.append(stage)
        # the killed runs stay RUNNING until the next start notices their process is dead
        assert _running_stages(tracker) == {stage}

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
def test_two_cycles_started_at_once_on_one_sqlite_store_both_complete(isolated_store, prefect_api, small_cycle):
    first = small_cycle.yaml(isolated_store, "alpha", out="out-alpha")
    second = small_cycle.yaml(isolated_store, "beta", out="out-beta")
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
