"""The four stages as file-in, file-out steps: load and check inputs, call the pure stage
function, write its tables and quarantine files. Used by the CLI and by the Prefect flows;
nothing here talks to Prefect or MLflow.

:data:`STAGES` is the stage table (``launchlab.stages.table``): name, folder, upstream stages,
``run(config, paths, **hooks)`` and ``inputs(config)`` (from the stage's module), headline and
champion metrics, progress label. ``run_insight`` … ``run_incubation`` are the public runners the
CLI's single-stage commands call.
"""

from launchlab.stages.base import (
    CONCEPTS,
    INCUBATION,
    INSIGHT,
    TRENDS,
    ChampionMetric,
    Headline,
    Stage,
    StageInputs,
    StageRun,
    file_sha256,
    get_embedder,
    read_stage_table,
    write_outputs,
)
from launchlab.stages.concepts import run_concepts
from launchlab.stages.cycle import (
    STAGE_RECORD,
    cycle_paths,
    read_stage_record,
    run_stage,
    skip_stage,
    stage_fingerprint,
    write_stage_record,
)
from launchlab.stages.incubation import PRE_LAUNCH, cycle_decision, run_incubation
from launchlab.stages.insight import run_insight
from launchlab.stages.table import CHAMPION_METRICS, STAGE_NAMES, STAGES, downstream, get_stage
from launchlab.stages.trends import load_series_inputs, run_trends

__all__ = [
    "CHAMPION_METRICS",
    "CONCEPTS",
    "INCUBATION",
    "INSIGHT",
    "PRE_LAUNCH",
    "STAGES",
    "STAGE_NAMES",
    "STAGE_RECORD",
    "TRENDS",
    "ChampionMetric",
    "Headline",
    "Stage",
    "StageInputs",
    "StageRun",
    "cycle_decision",
    "cycle_paths",
    "downstream",
    "file_sha256",
    "get_embedder",
    "get_stage",
    "load_series_inputs",
    "read_stage_record",
    "read_stage_table",
    "run_concepts",
    "run_incubation",
    "run_insight",
    "run_stage",
    "run_trends",
    "skip_stage",
    "stage_fingerprint",
    "write_outputs",
    "write_stage_record",
]
