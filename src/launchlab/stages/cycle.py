"""A cycle's stages from its config, by looping over the stage table: output folders,
fingerprints (what a stage's output depends on, for caching and resuming cycles), running one
stage, and the ``_stage.json`` record a finished stage leaves beside its outputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from launchlab.config import CycleConfig
from launchlab.jsonable import json_default
from launchlab.stages.base import StageRun, file_sha256
from launchlab.stages.table import STAGES, get_stage

STAGE_RECORD = "_stage.json"


def cycle_paths(config: CycleConfig) -> dict[str, Path]:
    """Output folder of each stage inside the cycle's ``out_dir``."""
    base = Path(config.out_dir)
    return {stage.name: base / stage.folder for stage in STAGES}


def stage_fingerprint(stage: str, config: CycleConfig, code_version: str = "") -> str:
    """Hash of a stage's declared input files and settings, its upstream stages and the code version."""
    return _fingerprint(stage, config, code_version, {})


def _fingerprint(name: str, config: CycleConfig, code_version: str, done: dict[str, str]) -> str:
    from launchlab import __version__

    if name not in done:
        stage = get_stage(name)
        declared = stage.inputs(config)
        parts = [
            stage.name,
            [__version__, code_version],
            [_fingerprint(u, config, code_version, done) for u in stage.upstream],
            {key: file_sha256(path) for key, path in sorted(declared.files.items())},
            {key: file_sha256(path) if Path(path).exists() else None for key, path in sorted(declared.state.items())},
            {key: _settings_json(value) for key, value in sorted(declared.settings.items())},
        ]
        done[name] = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return done[name]


def _settings_json(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def run_stage(stage: str, config: CycleConfig, **hooks: Any) -> StageRun:
    """Run one stage of a cycle from its config, reading upstream stages' folders.

    ``hooks`` are the stage's optional keyword arguments: ``progress`` when the stage has a
    progress label, and those its table row names (``embedder``, ``forecast``), e.g. the chunked
    ones of ``launchlab.chunked`` that run on a cluster. The stage's evidence metrics (what its
    models' champion policy reads) are added to its result's metrics.
    """
    spec = get_stage(stage)
    run = spec.run(config, cycle_paths(config), **hooks)
    if spec.evidence is not None:
        run.result.metrics.update(spec.evidence(run.result))
    return run


def skip_stage(stage: str, config: CycleConfig, reason: str, fingerprint: str, run_id: str | None) -> dict[str, Any]:
    """Record that ``stage`` was skipped (``reason``): earlier outputs of the stage are removed
    from its folder, and its ``_stage.json`` says ``skipped``; return that record."""
    out_dir = cycle_paths(config)[stage]
    for path in (*out_dir.glob("*.parquet"), *out_dir.glob("*.json"), *out_dir.glob("quarantine/*.csv"), *out_dir.glob("preview/*.csv")):
        path.unlink()
    record = {"stage": stage, "skipped": reason, "fingerprint": fingerprint, "computed_in_run": run_id, "out_dir": str(out_dir),
              "metrics": {}, "params": {}, "summary": {}, "warnings": [], "inputs": {}, "models": {}}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STAGE_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def write_stage_record(run: StageRun, fingerprint: str, run_id: str | None, **extra: Any) -> dict[str, Any]:
    """Write ``_stage.json`` (what the stage produced, JSON-clean, plus ``extra``) beside its outputs; return it."""
    record = {
        "stage": run.stage,
        "fingerprint": fingerprint,
        "computed_in_run": run_id,
        "out_dir": str(run.out_dir),
        "metrics": {k: float(v) for k, v in run.result.metrics.items() if _is_number(v)},
        "params": json.loads(json.dumps(run.result.params, default=json_default)),
        "summary": json.loads(json.dumps(run.result.summary, default=json_default)),
        "warnings": list(run.result.warnings),
        "inputs": json.loads(json.dumps(run.inputs, default=json_default)),
        **json.loads(json.dumps(extra, default=json_default)),
    }
    run.out_dir.mkdir(parents=True, exist_ok=True)
    (run.out_dir / STAGE_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def read_stage_record(out_dir: Path) -> dict[str, Any] | None:
    """The ``_stage.json`` of a finished stage, or None."""
    path = Path(out_dir) / STAGE_RECORD
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
