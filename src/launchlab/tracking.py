"""MLflow bookkeeping: the only module that talks to MLflow.

A launch cycle is one parent run with a child run per stage (``01-insight`` … ``04-incubation``).
Runs are addressed by id through :class:`mlflow.MlflowClient`, never through the thread-local
active-run stack, because Prefect runs tasks in worker threads. Fitted models are logged with
``mlflow.sklearn`` and registered; the ``champion`` alias is given to the first version of a
model and afterwards moves only when a stage says its new version is better.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchlab import __version__
from launchlab.config import Settings

if TYPE_CHECKING:
    from launchlab.stages import ChampionMetric

CHAMPION = "champion"


def retry_locked(call, *args, attempts: int = 6, **kwargs):
    """Call ``call``; on a locked SQLite database wait (0.2 s, doubling) and try again."""
    delay = 0.2
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as exc:  # MLflow wraps SQLAlchemy's OperationalError in its own types
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def enable_wal(tracking_uri: str) -> None:
    """Put a SQLite store in WAL mode so concurrent cycles can write (the mode sticks to the file)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return
    path = tracking_uri[len(prefix):]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


@contextmanager
def _store_lock(tracking_uri: str) -> Iterator[None]:
    """An exclusive lock beside a SQLite store (no-op for other stores)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        yield
        return
    import fcntl

    lock_path = Path(tracking_uri[len(prefix):] + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Tracker:
    """A handle on the MLflow store of one set of :class:`Settings`."""

    settings: Settings
    experiment_id: str = ""
    _client: Any = field(default=None, repr=False)

    @property
    def client(self):
        if self._client is None:
            self.connect()
        return self._client

    def connect(self) -> Tracker:
        """Point MLflow at the store and make sure the experiment exists (artifacts under the root)."""
        import mlflow
        from mlflow import MlflowClient

        uri = self.settings.resolved_tracking_uri()
        # Two processes creating a new SQLite store at once both try to create its tables:
        # the first connection (schema creation, experiment creation) is serialised by a file lock.
        with _store_lock(uri):
            enable_wal(uri)
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            experiment = retry_locked(self._client.get_experiment_by_name, self.settings.experiment)
            if experiment is None:
                location = self.settings.resolved_artifact_root().rstrip("/") + "/" + self.settings.experiment
                self.experiment_id = retry_locked(self._client.create_experiment, self.settings.experiment, artifact_location=location)
            else:
                self.experiment_id = experiment.experiment_id
        return self

    def fail_orphaned_runs(self) -> list[str]:
        """Mark FAILED the runs left RUNNING by a launchlab process on this host that has died."""
        host = socket.gethostname()
        orphans = []
        runs = retry_locked(
            self.client.search_runs, [self.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=500
        )
        for run in runs:
            tags = run.data.tags
            pid = tags.get("launchlab.pid")
            if not pid or tags.get("launchlab.host") != host or _process_alive(int(pid)):
                continue
            retry_locked(self.client.set_tag, run.info.run_id, "launchlab.failure", "the process running it died (found by a later start)")
            retry_locked(self.client.set_terminated, run.info.run_id, status="FAILED")
            orphans.append(run.info.run_id)
        return orphans

    # ----------------------------------------------------------------------------------------
    # Runs

    def start_cycle(self, name: str, tags: Mapping[str, str], params: Mapping[str, Any]) -> str:
        """Create the parent run of a launch cycle; return its id."""
        run = retry_locked(
            self.client.create_run,
            self.experiment_id,
            run_name=name,
            tags={"launchlab.kind": "cycle", **_process_tags(), **{k: str(v) for k, v in tags.items()}},
        )
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def start_stage(self, parent_run_id: str | None, stage: str, tags: Mapping[str, str] | None = None) -> str:
        """Create a stage run, a child of ``parent_run_id`` when given; return its id."""
        all_tags = {"launchlab.kind": "stage", "launchlab.stage": stage, **_process_tags()}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        all_tags.update({k: str(v) for k, v in (tags or {}).items()})
        return retry_locked(self.client.create_run, self.experiment_id, run_name=stage, tags=all_tags).info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        retry_locked(self.client.set_terminated, run_id, status=status)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            retry_locked(self.client.set_tag, run_id, key, str(value)[:5000])

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        flat = _flatten(params)
        batch = [Param(k[:250], str(v)[:6000]) for k, v in flat.items()]
        for start in range(0, len(batch), 100):
            retry_locked(self.client.log_batch, run_id, params=batch[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = []
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                batch.append(Metric(_metric_key(key), number, now, 0))
        for start in range(0, len(batch), 500):
            retry_locked(self.client.log_batch, run_id, metrics=batch[start : start + 500])

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str | None = None) -> None:
        retry_locked(self.client.log_artifacts, run_id, str(folder), artifact_path)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        retry_locked(self.client.log_artifact, run_id, str(path), artifact_path)

    def log_dict(self, run_id: str, document: Any, name: str) -> None:
        retry_locked(self.client.log_text, run_id, json.dumps(document, indent=2, default=str), name)

    # ----------------------------------------------------------------------------------------
    # Stage results

    def log_stage_outputs(self, run_id: str, params, metrics, out_dir: Path | None, warnings: list[str]) -> None:
        """Log a stage's params, metrics, output folder and warnings to ``run_id``."""
        self.log_params(run_id, params)
        self.log_metrics(run_id, metrics)
        if out_dir is not None and Path(out_dir).exists():
            self.log_artifacts(run_id, Path(out_dir), "outputs")
        if warnings:
            self.log_dict(run_id, warnings, "warnings.json")

    def log_models(
        self, run_id: str, models: Mapping[str, Any], metrics: Mapping[str, float], champions: Mapping[str, ChampionMetric] | None = None
    ) -> dict[str, str]:
        """Log and register each fitted model; return ``{registered name: version}``.

        ``champions`` gives, per registered name, the metric that decides its ``champion`` alias
        (the stage table's ``champions``).
        """
        champions = champions or {}
        versions = {
            name: self.log_model(run_id, model, name, metrics, champions.get(name)) for name, model in models.items() if model is not None
        }
        if versions:
            self.set_tags(run_id, {f"model.{k}": v for k, v in versions.items()})
        return versions

    def log_model(
        self, run_id: str, model: Any, registered_name: str, metrics: Mapping[str, float] | None = None,
        champion: ChampionMetric | None = None,
    ) -> str:
        """Log an estimator to ``run_id`` and register it; return the new version number.

        ``champion`` goes to the first version, and afterwards to a new version only when its
        deciding metric (``champion``) beats the champion's.
        """
        import mlflow
        import mlflow.sklearn
        import sklearn

        with mlflow.start_run(run_id=run_id, nested=True):
            info = retry_locked(
                mlflow.sklearn.log_model,
                model,
                name=registered_name,
                registered_model_name=registered_name,
                serialization_format="cloudpickle",
                pip_requirements=[f"launchlab=={__version__}", f"scikit-learn=={sklearn.__version__}"],
                await_registration_for=60,
            )
        version = str(info.registered_model_version)
        if self.should_promote(registered_name, metrics or {}, champion):
            retry_locked(self.client.set_registered_model_alias, registered_name, CHAMPION, version)
        return version

    def should_promote(self, registered_name: str, metrics: Mapping[str, float], deciding: ChampionMetric | None = None) -> bool:
        """True when there is no champion yet, or the new metrics beat the champion's run on ``deciding``."""
        try:
            champion = self.client.get_model_version_by_alias(registered_name, CHAMPION)
        except Exception:
            return True
        key, higher_is_better = deciding if deciding is not None else (None, True)
        new = metrics.get(key) if key else None
        if new is None or not math.isfinite(float(new)):
            return False
        try:
            old = self.client.get_run(champion.run_id).data.metrics.get(key)
        except Exception:
            old = None
        if old is None:
            return True
        return float(new) > old if higher_is_better else float(new) < old

    # ----------------------------------------------------------------------------------------
    # Reading back

    def cycle_runs(self, parent_run_id: str):
        """The parent run and its child runs, ordered by stage name."""
        parent = self.client.get_run(parent_run_id)
        children = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'"
        )
        return parent, sorted(children, key=lambda r: r.info.run_name or "")

    def download_output(self, run_id: str, name: str):
        """Read ``outputs/<name>`` (a parquet table or JSON file) of a stage run, or None."""
        import pandas as pd

        folder = scratch_dir()
        try:
            path = Path(self.client.download_artifacts(run_id, f"outputs/{name}", str(folder)))
        except Exception:
            return None
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        return json.loads(path.read_text(encoding="utf-8"))

    def find_cycle(self, ref: str):
        """A cycle's parent run by run id, cycle id, or ``latest`` / ``previous``."""
        if ref in ("latest", "previous"):
            runs = self.recent_cycles(limit=2)
            index = 0 if ref == "latest" else 1
            return runs[index] if len(runs) > index else None
        try:
            return self.client.get_run(ref)
        except Exception:
            pass
        runs = self.client.search_runs([self.experiment_id], filter_string=f"tags.`launchlab.cycle_id` = '{ref}'", max_results=1)
        return runs[0] if runs else None

    def recent_cycles(self, limit: int = 20):
        """Parent runs of past cycles, newest first."""
        return self.client.search_runs(
            [self.experiment_id],
            filter_string="tags.`launchlab.kind` = 'cycle'",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )


def _process_tags() -> dict[str, str]:
    return {"launchlab.version": __version__, "launchlab.pid": str(os.getpid()), "launchlab.host": socket.gethostname()}


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _metric_key(key: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(key))[:250]


def scratch_dir() -> Path:
    """A temporary folder for files that only go to MLflow."""
    return Path(tempfile.mkdtemp(prefix="launchlab-"))
