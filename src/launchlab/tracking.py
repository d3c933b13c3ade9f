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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchlab import __version__
from launchlab.config import Settings
from launchlab.results import StageResult

STAGES = ("01-insight", "02-trends", "03-concepts", "04-incubation")
CHAMPION = "champion"


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
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = self._client.get_experiment_by_name(self.settings.experiment)
        if experiment is None:
            location = self.settings.resolved_artifact_root().rstrip("/") + "/" + self.settings.experiment
            self.experiment_id = self._client.create_experiment(self.settings.experiment, artifact_location=location)
        else:
            self.experiment_id = experiment.experiment_id
        return self

    # ----------------------------------------------------------------------------------------
    # Runs

    def start_cycle(self, name: str, tags: Mapping[str, str], params: Mapping[str, Any]) -> str:
        """Create the parent run of a launch cycle; return its id."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={"launchlab.kind": "cycle", "launchlab.version": __version__, **{k: str(v) for k, v in tags.items()}},
        )
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def start_stage(self, parent_run_id: str | None, stage: str, tags: Mapping[str, str] | None = None) -> str:
        """Create a stage run, a child of ``parent_run_id`` when given; return its id."""
        all_tags = {"launchlab.kind": "stage", "launchlab.stage": stage, "launchlab.version": __version__}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        all_tags.update({k: str(v) for k, v in (tags or {}).items()})
        return self.client.create_run(self.experiment_id, run_name=stage, tags=all_tags).info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        self.client.set_terminated(run_id, status=status)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, str(value)[:5000])

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        flat = _flatten(params)
        batch = [Param(k[:250], str(v)[:6000]) for k, v in flat.items()]
        for start in range(0, len(batch), 100):
            self.client.log_batch(run_id, params=batch[start : start + 100])

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
            self.client.log_batch(run_id, metrics=batch[start : start + 500])

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_dict(self, run_id: str, document: Any, name: str) -> None:
        self.client.log_text(run_id, json.dumps(document, indent=2, default=str), name)

    # ----------------------------------------------------------------------------------------
    # Stage results

    def log_stage_result(self, run_id: str, result: StageResult, out_dir: Path | None = None) -> dict[str, str]:
        """Log a stage's params, metrics, tables, documents and models; return model versions."""
        self.log_params(run_id, result.params)
        self.log_metrics(run_id, result.metrics)
        if out_dir is not None and Path(out_dir).exists():
            self.log_artifacts(run_id, Path(out_dir), "outputs")
        for name, document in result.artifacts.items():
            self.log_dict(run_id, document, name)
        if result.warnings:
            self.log_dict(run_id, result.warnings, "warnings.json")
        versions = {}
        for name, model in result.models.items():
            versions[name] = self.log_model(run_id, model, name, better=result.params.get("_champion_better"))
        if versions:
            self.set_tags(run_id, {f"model.{k}": v for k, v in versions.items()})
        return versions

    def log_model(self, run_id: str, model: Any, registered_name: str, better: bool | None = None) -> str:
        """Log an estimator to ``run_id`` and register it; return the new version number.

        ``champion`` goes to the first version, or to a new one when ``better`` is true.
        """
        import mlflow
        import mlflow.sklearn
        import sklearn

        with mlflow.start_run(run_id=run_id, nested=True):
            info = mlflow.sklearn.log_model(
                model,
                name=registered_name,
                registered_model_name=registered_name,
                serialization_format="cloudpickle",
                pip_requirements=[f"launchlab=={__version__}", f"scikit-learn=={sklearn.__version__}"],
                await_registration_for=60,
            )
        version = str(info.registered_model_version)
        try:
            self.client.get_model_version_by_alias(registered_name, CHAMPION)
            has_champion = True
        except Exception:
            has_champion = False
        if not has_champion or better:
            self.client.set_registered_model_alias(registered_name, CHAMPION, version)
        return version

    # ----------------------------------------------------------------------------------------
    # Reading back

    def cycle_runs(self, parent_run_id: str):
        """The parent run and its child runs, ordered by stage name."""
        parent = self.client.get_run(parent_run_id)
        children = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'"
        )
        return parent, sorted(children, key=lambda r: r.info.run_name or "")

    def recent_cycles(self, limit: int = 20):
        """Parent runs of past cycles, newest first."""
        return self.client.search_runs(
            [self.experiment_id],
            filter_string="tags.`launchlab.kind` = 'cycle'",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )


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
