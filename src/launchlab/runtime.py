"""Process-level set-up done by entry points (CLI, flows' ``__main__``), never at import."""

from __future__ import annotations

import os
from pathlib import Path

from launchlab.config import Settings


def prepare_environment(settings: Settings | None = None) -> None:
    """Offline model loading, and Prefect's home inside the project unless an API URL is set."""
    settings = settings or Settings()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the ephemeral API starts a server process; on a busy 2-core machine 20 s is not enough
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    home = Path(settings.prefect_home).resolve()
    if not os.environ.get("PREFECT_API_URL"):
        home.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("PREFECT_HOME", str(home))
    # Finished stages are cached as Prefect task results: keep them in the project whichever
    # process runs the flow (`launchlab run`, or `launchlab serve` with a server's API URL), so a
    # served readout reuses what `make run` computed.
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(home / "storage"))


def wait_for_prefect(api_url: str, timeout: float = 120.0, process=None) -> None:
    """Wait until a Prefect server answers ``/health``; raise RuntimeError after ``timeout``."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no Prefect server answered at {api_url} within {timeout:.0f} s")


def start_prefect_server(home: Path, port: int = 4200, log_path: Path | None = None):
    """Start ``prefect server start`` on 127.0.0.1:``port`` with its own home; return (process, api_url).

    The caller stops it (``process.terminate()``).
    """
    import subprocess
    import sys

    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    if port:  # the UI calls the API on the server's own port (Prefect's default would be 4200)
        env["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{port}/api"
    log = open(log_path or home / "server.log", "ab")
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect) if prefect.exists() else "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}/api"


def stop_process(process, timeout: float = 20.0) -> None:
    """Terminate a process group started by :func:`start_prefect_server` (kill if it lingers)."""
    import signal
    import subprocess

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
