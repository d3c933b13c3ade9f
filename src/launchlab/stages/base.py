"""What every stage shares: the stage names, the shape of a stage's declaration and of its run,
and the file helpers every stage step uses (hash an input, write the outputs, read an upstream
table). Nothing here talks to Prefect or MLflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from launchlab import io
from launchlab.embeddings import Embedder, HashingEmbedder, load_embedder
from launchlab.errors import InputError
from launchlab.jsonable import json_default
from launchlab.results import StageResult

INSIGHT, TRENDS, CONCEPTS, INCUBATION = "01-insight", "02-trends", "03-concepts", "04-incubation"


@dataclass(frozen=True)
class StageInputs:
    """What a stage's output depends on, by dotted path in the cycle config.

    ``files``: input files, covered by their content (SHA-256), not their path; ``state``: files
    the stage reads and rewrites (the concept norms), covered when they exist; ``settings``:
    JSON-able settings (pydantic models are dumped).
    """

    files: Mapping[str, Path] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Path] = field(default_factory=dict)


class ChampionMetric(NamedTuple):
    """The logged metric that decides whether a new model version takes the ``champion`` alias.

    ``se`` and ``n`` name the logged metrics holding its standard error and the size of the
    evaluation it was measured on: a candidate wins only beyond noise and on at least as much data
    (see :func:`launchlab.tracking.champion.judge`). ``absent`` says, for the version's
    description, why a run may not log the metric.
    """

    metric: str
    higher_is_better: bool = True
    se: str | None = None
    n: str | None = None
    absent: str | None = None


class Headline(NamedTuple):
    """A stage metric copied to the cycle's parent run under a readable name, with its direction
    (``higher`` or ``lower`` is better; None for counts)."""

    metric: str
    name: str
    better: str | None = None

    @property
    def key(self) -> str:
        """The parent run's metric name, e.g. ``npmi_coherence - higher is better``."""
        return f"{self.name} - {self.better} is better" if self.better else self.name


@dataclass(frozen=True)
class Stage:
    """One row of the stage table (:data:`launchlab.stages.STAGES`).

    ``run(config, paths, **hooks)`` computes the stage from the cycle config into
    ``paths[name]``, reading upstream stages' folders from ``paths``; ``inputs(config)`` declares
    the files and settings its output depends on (its fingerprint covers exactly these, plus the
    upstream stages' fingerprints and the code version). ``hooks`` names the keyword arguments
    ``run`` accepts besides ``progress`` (``embedder``, ``forecast``), which a runner may supply
    to spread the work out. ``headline`` metrics are copied to the cycle's parent run;
    ``champions`` says, per registered model, which metric decides its ``champion`` alias.
    ``progress`` labels the stage's progress bar (None: the stage reports no progress).
    ``skip(config)`` gives the reason to skip the stage for this config, or None to run it.
    ``evidence(result)`` returns the metrics the champion policy reads besides the stage's own
    (standard errors, evaluation sizes; :mod:`launchlab.stages.evidence`).
    """

    name: str
    folder: str
    title: str
    run: Callable[..., StageRun]
    inputs: Callable[[Any], StageInputs]
    upstream: tuple[str, ...] = ()
    headline: tuple[str | Headline, ...] = ()
    champions: Mapping[str, ChampionMetric] = field(default_factory=dict)
    progress: str | Callable[[Any], str] | None = None
    hooks: tuple[str, ...] = ()
    skip: Callable[[Any], str | None] | None = None
    evidence: Callable[[StageResult], Mapping[str, float]] | None = None

    def progress_label(self, config: Any) -> str | None:
        """The progress bar's label for ``config`` (None: the stage reports no progress)."""
        return self.progress(config) if callable(self.progress) else self.progress


@dataclass
class StageRun:
    """What one stage did: its result, where its files are, and its inputs' row accounting."""

    stage: str
    result: StageResult
    out_dir: Path
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def file_sha256(path: str | Path) -> str:
    """The data version of an input file: its SHA-256 (first 16 hex digits)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def get_embedder(model: str) -> Embedder:
    """One embedder per model and process (loading the real one takes seconds).

    ``hashing-<dim>`` names the deterministic bag-of-words embedder: no model, for smoke runs
    and tests; everything else is a sentence-transformers model resolved offline, optionally with
    its backend (``all-MiniLM-L6-v2@torch``; see :func:`launchlab.embeddings.load_embedder`).
    """
    if model.startswith("hashing-") and model.split("-", 1)[1].isdigit():
        return HashingEmbedder(int(model.split("-", 1)[1]))
    return load_embedder(model)


def input_info(loaded: io.Loaded, path: Path) -> dict[str, Any]:
    """Path, data version and row counts of one loaded input file (tags of the stage run)."""
    return {"path": str(path), "sha256": file_sha256(path), **loaded.counts()}


def write_outputs(result: StageResult, out_dir: Path, quarantines: Mapping[str, pd.DataFrame | None]) -> None:
    """Write a stage result's tables (Parquet, and a CSV preview in ``preview/`` that the MLflow UI
    shows), JSON artifacts and quarantine files into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables.items():
        io.write_table(table, out_dir, name)
        io.write_preview(table, out_dir, name)
    for name, document in result.artifacts.items():
        (out_dir / name).write_text(json.dumps(document, indent=2, default=json_default), encoding="utf-8")
    for name, frame in quarantines.items():
        io.write_quarantine(frame, out_dir, name)


def account(result: StageResult, loaded: io.Loaded, prefix: str) -> None:
    """Add an input file's row counts to the metrics and its loader warnings to the warnings."""
    for key, value in loaded.counts().items():
        result.metrics[f"{prefix}_{key}"] = float(value)
    result.warnings.extend(f"{loaded.source}: {w}" for w in loaded.warnings)


def read_stage_table(folder: Path | None, name: str, *, required: bool = True) -> pd.DataFrame | None:
    """Read ``folder/<name>.parquet`` written by an earlier stage."""
    if folder is None:
        return None
    path = Path(folder) / f"{name}.parquet"
    if not path.exists():
        if not required:
            return None
        raise InputError(
            f"{name}.parquet not found", file=str(folder), fix=f"run the stage that writes {name}.parquet into this folder first"
        )
    return pd.read_parquet(path)
