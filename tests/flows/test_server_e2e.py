"""End to end on a real Prefect server: serve the deployments, trigger a cycle through the API
exactly as the UI's "Run" button does (with non-default parameters), wait for COMPLETED, and
check the MLflow runs it created. Everything lives in a temporary folder; processes are stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from launchlab.config import Settings
from launchlab.runtime import stop_process
from launchlab.tracking import CHAMPION, Tracker


def _retrying(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """Send like Prefect's own client does: a 503 means SQLite was busy (the server rolled the
    request back and asks for a retry), so back off and send again for up to a minute."""
    delay, deadline = 0.5, time.monotonic() + 60
    while True:
        response = client.request(method, url, **kwargs)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(delay)
        delay = min(delay * 2, 8)


def _wait(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
def test_ui_triggered_cycle_runs_on_a_served_deployment(tmp_path, monkeypatch, small_cycle, prefect_server):
    config = small_cycle.yaml(tmp_path, "e2e-default", sample=120, series_rows=15, embedding_model="hashing-128", horizon=None)
    store = {
        "LAUNCHLAB_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "LAUNCHLAB_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "LAUNCHLAB_EXPERIMENT": "e2e",
    }
    with prefect_server(tmp_path / "prefect-server") as (server, api):
        env = {**os.environ, **store, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "prefect-client")}
        launchlab = Path(sys.executable).with_name("launchlab")
        served = subprocess.Popen(
            [str(launchlab), "serve", "--config", str(config), "--timezone", "Europe/Paris"],
            env=env, cwd=tmp_path, stdout=open(tmp_path / "serve.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            http = httpx.Client(base_url=api, timeout=30)

            def deployments():
                response = _retrying(http, "POST", "/deployments/filter", json={})
                found = {d["name"]: d for d in response.json()} if response.status_code == 200 else {}
                return found if {"weekly-launch-cycle", "daily-incubation-readout"} <= set(found) else None

            found = _wait(deployments, 120, "the served deployments")
            weekly = found["weekly-launch-cycle"]
            schedule = weekly["schedules"][0]["schedule"]
            assert schedule["cron"] == "0 6 * * 1" and schedule["timezone"] == "Europe/Paris"
            assert "every Monday at 06:00 (Europe/Paris)" in weekly["description"]
            # the form: the few fields a person changes on top, the stage settings under "advanced"
            form = weekly["parameter_openapi_schema"]["properties"]
            assert list(form)[:8] == ["name", "reviews_file", "reviews_sample", "concepts_file", "launch_test_file",
                                      "launch_sales_file", "horizon", "promote_models"]
            assert all(":func:" not in str(v) and "``" not in str(v) for v in weekly["parameter_openapi_schema"]["definitions"].values())
            assert weekly["parameters"]["reviews_sample"] == 120 and weekly["parameters"]["name"] == ""

            # what the UI's Run button sends: the form's full parameters, edited (a trial)
            custom = dict(weekly["parameters"])
            custom.update(name="e2e-custom", horizon=3, reviews_sample=90)
            response = _retrying(http, "POST", f"/deployments/{weekly['id']}/create_flow_run", json={"parameters": custom})
            assert response.status_code in (200, 201), response.text
            flow_run_id = response.json()["id"]

            def finished():
                response = _retrying(http, "GET", f"/flow_runs/{flow_run_id}")
                state = response.json()["state"] if response.status_code == 200 else {"type": None}
                return state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

            state = _wait(finished, 400, "the triggered flow run", interval=2)
            assert state["type"] == "COMPLETED", (state, (tmp_path / "serve.log").read_text()[-3000:])
            run = _retrying(http, "GET", f"/flow_runs/{flow_run_id}").json()
            assert run["name"] == "e2e-custom"
            artifacts = _retrying(http, "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}).json()
            assert "launch-decision" in {a["key"] for a in artifacts}
        finally:
            stop_process(served)

    for key, value in store.items():
        monkeypatch.setenv(key, value)
    tracker = Tracker(Settings()).connect()
    cycles = tracker.recent_cycles()
    assert len(cycles) == 1
    parent = cycles[0]
    assert parent.info.status == "FINISHED" and parent.info.run_name == "e2e-custom"
    assert parent.data.tags["prefect.flow_run_id"] == flow_run_id and flow_run_id in parent.data.tags["prefect.flow_run_url"]
    assert parent.data.tags["prefect.deployment"] == "weekly-launch-cycle"
    assert parent.data.params["trends.horizon"] == "3" and parent.data.params["reviews.sample"] == "90"
    assert parent.data.params["decision"] == parent.data.tags["decision"]
    assert parent.data.tags["mlflow.note.content"].startswith("# e2e-custom")
    _, children = tracker.cycle_runs(parent.info.run_id)
    assert [c.info.run_name for c in children] == ["01-insight", "02-trends", "03-concepts", "04-incubation"]
    assert all(c.info.status == "FINISHED" for c in children)
    assert children[0].data.metrics["reviews_rows_used"] == 90
    assert children[1].data.metrics["horizon"] == 3
    # a trial with changed settings registers its models but promotes none of them
    assert parent.data.tags["launchlab.promote"] == "false"
    for model in tracker.client.search_registered_models():
        assert CHAMPION not in (model.aliases or {}), model.name
        assert "promotion is off" in tracker.client.get_model_version(model.name, "1").description
    assert server.poll() is not None
