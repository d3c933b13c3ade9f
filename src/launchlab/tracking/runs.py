"""Runs: a cycle's parent run, its stage runs, and what gets logged to them.

Runs are addressed by id through :class:`mlflow.MlflowClient`, never through the thread-local
active-run stack, because Prefect runs tasks in worker threads. Every run carries the pid and
host of the process that opened it, so a later start can mark FAILED the runs of a dead process.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from launchlab import __version__
from launchlab.tracking.store import retry_locked


class RunLog:
    """Opening, logging to and closing runs (mixed into :class:`~launchlab.tracking.Tracker`)."""

    client: Any
    experiment_id: str

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

    def start_cycle(self, name: str, tags: Mapping[str, str], params: Mapping[str, Any], *, kind: str = "cycle") -> str:
        """Create the parent run of a launch cycle (or of another ``kind``, e.g. a readout); return its id."""
        run = retry_locked(
            self.client.create_run,
            self.experiment_id,
            run_name=name,
            tags={"launchlab.kind": kind, **_process_tags(), **{k: str(v) for k, v in tags.items()}},
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
            retry_locked(self.client.set_tag, run_id, key, str(value)[:5000] if key != "mlflow.note.content" else str(value))

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        flat = _flatten(params)
        batch = [Param(k[:250], str(v)[:6000]) for k, v in flat.items()]
        for start in range(0, len(batch), 100):
            retry_locked(self.client.log_batch, run_id, params=batch[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
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

    def log_stage_outputs(self, run_id: str, params, metrics, out_dir: Path | None, warnings: list[str]) -> None:
        """Log a stage's params, metrics, output folder and warnings to ``run_id``."""
        self.log_params(run_id, params)
        self.log_metrics(run_id, metrics)
        if out_dir is not None and Path(out_dir).exists():
            self.log_artifacts(run_id, Path(out_dir), "outputs")
        if warnings:
            self.log_dict(run_id, warnings, "warnings.json")

    def record_stage(self, run_id: str, record: Mapping[str, Any], *, reused: bool) -> None:
        """Log a stage record (``_stage.json`` plus its model versions) to its run: data versions
        and row counts, cache hit, model versions as tags; params, metrics, outputs, warnings."""
        tags = {f"data.{name}.{key}": value for name, info in record["inputs"].items() for key, value in info.items()}
        tags["launchlab.cache_hit"] = str(reused).lower()
        tags.update({f"model.{k}": v for k, v in record.get("models", {}).items()})
        if reused:
            tags["launchlab.reused_from"] = record.get("computed_in_run")
        self.set_tags(run_id, tags)
        self.log_stage_outputs(run_id, record["params"], record["metrics"], Path(record["out_dir"]), record["warnings"])
        self.log_datasets(run_id, record["inputs"])

    def log_datasets(self, run_id: str, inputs: Mapping[str, Mapping[str, Any]], context: str = "training") -> None:
        """Log the input files of a run as MLflow datasets (name, SHA-256 digest, file source, row
        counts as the profile), so the run's Datasets column and panel show them."""
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.entities import Dataset, DatasetInput, InputTag

        found = []
        for name, info in inputs.items():
            path = info.get("path")
            if not path:
                continue
            with warnings.catch_warnings():  # a local path matches MLflow's local source twice over; either is right
                warnings.simplefilter("ignore", UserWarning)
                source = resolve_dataset_source(str(Path(path).resolve()))
            meta = MetaDataset(source=source, name=name, digest=str(info.get("sha256", ""))[:36])
            entity = Dataset(name=meta.name, digest=meta.digest, source_type=meta.source._get_source_type(), source=meta.source.to_json(),
                             profile=json.dumps({k: v for k, v in info.items() if k.startswith("rows_")}))
            found.append(DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)]))
        if found:
            retry_locked(self.client.log_inputs, run_id, datasets=found)

    def describe_run(self, run_id: str, text: str) -> None:
        """Set a run's description (the MLflow UI shows it on the run page and in the run list)."""
        retry_locked(self.client.set_tag, run_id, "mlflow.note.content", text)

    def describe_experiment(self, text: str) -> None:
        """Set the experiment's description."""
        retry_locked(self.client.set_experiment_tag, self.experiment_id, "mlflow.note.content", text)

    def record_cycle_stage(self, parent_run_id: str, result: Mapping[str, Any]) -> None:
        """Tag a cycle's parent run with one finished stage (its run, cache hit, models and data
        versions) and log the stage's input files as the parent's datasets, in the stage's context."""
        stage = result["stage"]
        tags = {f"run.{stage}": result["run_id"], f"cache_hit.{stage}": str(result["reused"]).lower()}
        tags.update({f"model.{k}": v for k, v in result.get("models", {}).items()})
        tags.update({f"data.{name}.sha256": info.get("sha256", "") for name, info in result["inputs"].items()})
        self.set_tags(parent_run_id, tags)
        self.log_datasets(parent_run_id, result["inputs"], context=stage)  # the parent's Datasets panel lists the cycle's files


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(key))[:250]
