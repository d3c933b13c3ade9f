"""A real-browser check of what a user sees (``make ui-check``; not part of the test suite).

It starts a Prefect server and ``launchlab serve`` (the demo deployments, outputs and MLflow store
in a temporary folder), and the MLflow UI on that store; then drives Debian's Chromium through
Playwright as a user would: opens the weekly deployment, fills the custom-run form (a name and a
300-review sample), submits, waits for the run to complete, reads the flow run's Markdown artifact,
opens the MLflow run page it links to and finds the decision there. Screenshots of every step go
to ``out/ui-check/``. Exit code 0 when every check passed.

Needs: ``apt-get install chromium`` and ``pip install playwright`` in the venv (``playwright
install`` is not needed: the system Chromium is used).

    .venv/bin/python tests/browser/ui_check.py [--fast] [--keep]

``--fast`` uses the hashing embedder instead of the real model; ``--keep`` leaves the temporary
folder in place.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "out" / "ui-check"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
RUN_NAME = "ui-trial-sample-300"
TOP_FIELDS = ("name", "reviews_file", "reviews_sample", "concepts_file", "launch_test_file", "launch_sales_file", "horizon")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=3).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    from launchlab.runtime import stop_process

    stop_process(process)


def _config(folder: Path, fast: bool) -> Path:
    """The demo cycle with its outputs and concept norms in ``folder`` (the embedding cache stays the project's)."""
    from launchlab.config import DEMO_CONFIG

    config = yaml.safe_load(yaml.safe_dump(DEMO_CONFIG))
    for key in ("reviews", "experiment", "adoption"):
        config[key]["path"] = str(REPO / config[key]["path"])
    config["concepts"] = str(REPO / config["concepts"])
    config["concept_norms"] = str(folder / "out" / "concept_norms.parquet")
    config["insight"]["cache_dir"] = str(REPO / ".cache" / "embeddings")
    config["out_dir"] = str(folder / "out" / "demo")
    if fast:
        config["embedding_model"] = "hashing-128"
    path = folder / "cycle.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        print(("ok    " if ok else "FAIL  ") + what, flush=True)
        if not ok:
            self.failed.append(what)


def drive(prefect_ui: str, api: str, mlflow_ui: str, check: Checks, timeout: float) -> None:
    """The user's path through both UIs, with a screenshot per step."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)

        def shot(name: str, full: bool = False) -> None:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)

        try:
            _path(page, shot, prefect_ui, api, mlflow_ui, check, timeout)
        except Exception:
            shot("failure")
            print(f"failed at {page.url}", flush=True)
            raise
        finally:
            browser.close()


def _path(page, shot, prefect_ui: str, api: str, mlflow_ui: str, check: Checks, timeout: float) -> None:
    if True:
        # 1. the deployment
        page.goto(f"{prefect_ui}/deployments")
        page.get_by_text("weekly-launch-cycle").first.click()
        page.wait_for_url(re.compile(r"/deployments/deployment/"))
        page.get_by_text("Next Run").first.wait_for()
        shot("01-deployment")
        page.get_by_text("Description", exact=True).first.click()
        page.get_by_text("every Monday at 06:00").first.wait_for()
        shot("01b-deployment-description")
        check("Europe/Paris" in page.inner_text("body"), "the deployment's description states the schedule with its timezone")

        # 2. Run → Custom run: the form
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Custom run", exact=True).first.click()
        page.wait_for_url(re.compile(r"/deployments/deployment/[^/]+/run"))
        page.get_by_text("reviews_sample").first.wait_for()
        shot("02-custom-run-form")
        body = page.inner_text("body")
        check(":func:" not in body and ":class:" not in body and "``" not in body, "the form shows no reStructuredText")
        top = {field: _field(page, field).input_value() for field in TOP_FIELDS}
        check(all(not value.startswith("/") for value in top.values()),
              f"the top-level fields hold no absolute path ({', '.join(f'{k}={v!r}' for k, v in top.items())})")
        labels = page.locator("span.schema-form-property__label").all_inner_texts()
        print(f"      the form has {len(labels)} fields, {len(TOP_FIELDS) + 2} at the top level", flush=True)

        # 3. fill the form and submit
        _fill(page, "name", RUN_NAME)
        _fill(page, "reviews_sample", "300")
        shot("03-form-filled")
        page.get_by_role("button", name=re.compile("^Submit")).last.click()
        page.wait_for_url(re.compile(r"/deployments/deployment/[^/]+(\?.*)?$"))  # back on the deployment's runs
        page.get_by_text(RUN_NAME, exact=True).first.click()
        page.wait_for_url(re.compile(r"/runs/flow-run/"))
        flow_run_id = page.url.rstrip("/").split("/")[-1]
        shot("04-flow-run-started")

        # 4. wait for completion (the API says when; the page shows it)
        deadline = time.monotonic() + timeout
        run: dict = {}
        while time.monotonic() < deadline:
            run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json()
            if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(5)
        state = run.get("state", {}).get("type")
        check(state == "COMPLETED", f"the custom run completed (state {state}, run time {run.get('total_run_time', 0):.0f} s)")
        page.reload()
        page.get_by_text(RUN_NAME).first.wait_for()
        shot("05-flow-run-completed")

        # 5. the flow run's artifacts: the decision summary with the link to MLflow
        page.get_by_text("Subflow Runs", exact=True).first.click()
        page.get_by_text("01-insight").first.wait_for()
        shot("05b-subflow-runs")
        subflows = page.inner_text("body")
        check(all(name in subflows for name in ("01-insight", "02-trends", "03-concepts", "04-incubation")),
              "the subflow runs are named after their stages")
        page.get_by_role("link", name="01-insight", exact=True).first.click()  # a stage's subflow holds its task
        page.wait_for_url(re.compile(r"/runs/flow-run/(?!" + flow_run_id + ")"))
        page.get_by_text("Task Runs", exact=True).first.click()
        page.get_by_text("compute 01-insight").first.wait_for()
        shot("05c-stage-task-runs")
        check(True, "the stage's task run is named after its stage (compute 01-insight)")
        page.goto(f"{prefect_ui}/runs/flow-run/{flow_run_id}")
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text("launch-decision").first.wait_for()
        shot("06-flow-run-artifacts")
        page.get_by_text("launch-decision").first.click()
        page.get_by_text("Decision:").first.wait_for()
        shot("07-decision-artifact")
        shot("07b-decision-artifact-full", full=True)
        text = page.inner_text("body")
        verdict = re.search(r"Decision:\s*([A-Za-z-]+)", text)
        check(verdict is not None, f"the Markdown artifact states the decision ({verdict.group(1) if verdict else '?'})")
        sections = ("Why:", "Needs that matter", "What is rising", "Top 5 concepts", "Links")
        check(all(section in text for section in sections), f"the artifact has {', '.join(sections)}")
        links = {a.inner_text().strip(): a.get_attribute("href") for a in page.locator("a").all()}
        mlflow_link = next((h for h in links.values() if h and "/#/experiments/" in h and h.rstrip("/").split("/")[-2] == "runs"), None)
        check(mlflow_link is not None, "the artifact links to the MLflow run")
        report_link = links.get("Report (in the MLflow run's artifacts)")
        check(report_link is not None and "Report file" in text, "the artifact links to the report")

        report_file = re.search(r"Report file:\s*(\S+report\.html)", text)
        _mlflow(page, shot, mlflow_ui, mlflow_link, verdict.group(1).lower() if verdict else "?", check)
        _report(page, shot, report_file.group(1) if report_file else None, check)


def _mlflow(page, shot, mlflow_ui: str, mlflow_link: str | None, decision: str, check: Checks) -> None:
    if True:
        # 6. the MLflow run page: name, description, decision, datasets, Prefect tags
        page.goto(mlflow_link or mlflow_ui)
        page.get_by_text(RUN_NAME).first.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        _close_assistant(page)
        shot("08-mlflow-run")
        text = page.inner_text("body")
        check(f"Decision: {decision.upper()}" in text and "decision" in text,
              f"the MLflow run shows the decision: its description opens with it, and the decision tag ({decision})")
        check("prefect.flow_run_url" in text or "prefect.flow_run_id" in text or "prefect.…" in text,
              "the MLflow run carries the Prefect flow run's tags")
        about = text.split("About this run", 1)[-1]
        datasets = about.split("Datasets", 1)[1].split("Tags", 1)[0] if "Datasets" in about else ""
        check("reviews" in datasets, f"the MLflow run lists its datasets ({' '.join(datasets.split())[:80]})")
        page.mouse.move(600, 600)
        page.mouse.wheel(0, 900)
        page.wait_for_timeout(800)
        shot("08b-mlflow-run-metrics")

        # 7. the MLflow run list of the experiment
        experiment = mlflow_link.split("/experiments/")[1].split("/")[0] if mlflow_link else "1"
        page.goto(f"{mlflow_ui}/#/experiments/{experiment}/runs")
        page.get_by_text(RUN_NAME).first.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        _close_assistant(page)
        shot("09-mlflow-run-list")
        check(True, "the MLflow run list shows the run by its name")
        # the decision is one column away: Columns → "decision" → the tag
        page.get_by_role("button", name=re.compile("Columns")).first.click()
        page.get_by_placeholder("Search columns").fill("decision")
        page.get_by_text("decision", exact=True).last.click()
        page.keyboard.press("Escape")
        page.wait_for_timeout(1500)
        shot("09b-mlflow-run-list-decision-column")
        cells = page.locator("[role='gridcell']").all_inner_texts()
        check(decision in [c.strip().lower() for c in cells], f"with the decision column added, the run list shows {decision}")

        # 8. the registry: every version says why it was or was not promoted
        page.goto(f"{mlflow_ui}/#/models/launchlab-needs")
        page.get_by_text("Version 1").first.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        _close_assistant(page)
        shot("10-registry-model")
        page.get_by_text("Version 1").first.click()
        page.wait_for_timeout(3000)
        shot("11-registry-version")
        text = page.inner_text("body")
        check("promoted" in text.lower(), "the model version's description says why it was or was not promoted")

        # 9. the report, as the MLflow run's artifact
        page.goto(f"{mlflow_link}/artifacts/report.html" if mlflow_link else mlflow_ui)
        page.wait_for_timeout(5000)
        _close_assistant(page)
        shot("12-mlflow-report-artifact")


def _report(page, shot, report_file: str | None, check: Checks) -> None:
    """The HTML report opened from its file: the answer on the first screen, then every section."""
    if not report_file:
        check(False, "the artifact names the report file")
        return
    page.goto(Path(report_file).resolve().as_uri())
    page.get_by_text("What to do and why").first.wait_for()
    shot("13-report-first-screen")
    first_screen = page.evaluate(
        "() => [...document.querySelectorAll('h1, h2, h3')].filter(e => e.getBoundingClientRect().top < innerHeight)"
        ".map(e => e.innerText)")
    check(any("What to do and why" in h for h in first_screen), f"the report's first screen answers what to do ({first_screen})")
    shot("14-report-full", full=True)


def _close_assistant(page) -> None:
    """Close MLflow's assistant side panel, which covers a third of every page."""
    close = page.locator("button[aria-label='Close']")
    if close.count():
        close.first.click()
        page.wait_for_timeout(500)


def _field(page, field: str):
    """The input of the top-level form field labelled ``field`` (Prefect labels it ``field (Optional)``)."""
    label = page.locator("span.schema-form-property__label", has_text=re.compile(rf"^{re.escape(field)}( \(Optional\))?$"))
    return page.locator("div.schema-form-property", has=label).first.locator("div.p-label__body").first.locator("input, textarea").first


def _fill(page, field: str, value: str) -> None:
    """Fill the top-level form field labelled ``field``."""
    _field(page, field).fill(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="hashing embedder instead of the real model")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the run")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="launchlab-ui-check-"))
    prefect_port, mlflow_port = _free_port(), _free_port()
    api, prefect_ui, mlflow_ui = f"http://127.0.0.1:{prefect_port}/api", f"http://127.0.0.1:{prefect_port}", f"http://127.0.0.1:{mlflow_port}"
    store = {"LAUNCHLAB_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}", "LAUNCHLAB_ARTIFACT_ROOT": str(folder / "artifacts"),
             "LAUNCHLAB_MLFLOW_UI_URL": mlflow_ui, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env = {**os.environ, **store}
    env.pop("PREFECT_API_URL", None)
    bin_dir = Path(sys.executable).parent
    processes = []
    check = Checks()
    try:
        server = _start([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)],
                        {**env, "PREFECT_HOME": str(folder / "prefect-server"), "PREFECT_UI_API_URL": api}, folder / "prefect-server.log")
        processes.append(server)
        _wait_http(f"{api}/health", 180, server)
        served = _start([str(bin_dir / "launchlab"), "serve", "--config", str(_config(folder, args.fast)), "--timezone", "Europe/Paris"],
                        {**env, "PREFECT_API_URL": api, "PREFECT_HOME": str(folder / "prefect-client")}, folder / "serve.log")
        processes.append(served)
        ui = _start([str(bin_dir / "mlflow"), "ui", "--backend-store-uri", store["LAUNCHLAB_TRACKING_URI"], "--default-artifact-root",
                     str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(mlflow_port)], env, folder / "mlflow-ui.log")
        processes.append(ui)
        _wait_http(mlflow_ui, 180, ui)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(
                d["name"] == "weekly-launch-cycle" for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()):
            time.sleep(2)
        drive(prefect_ui, api, mlflow_ui, check, args.timeout)
    except Exception as exc:  # a step that could not be done is a failed check, with its screenshot trail kept
        check(False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        for process in reversed(processes):
            _stop(process)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")
    print(f"screenshots in {SHOTS}")
    print(f"{len(check.failed)} failed" if check.failed else "all checks passed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
