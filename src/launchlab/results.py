"""The one shape every stage function returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class StageResult:
    """Output of a pure stage function.

    ``tables`` are the stage's output frames by file stem (``needs`` → ``needs.parquet``);
    ``metrics`` go to MLflow as metrics, ``params`` as params; ``models`` are the fitted
    scikit-learn-compatible estimators to log and register, by registered model name
    (``{"launchlab-needs": NeedModel(...)}``); ``quarantine`` holds the
    input rows the stage could not use, with the original columns plus ``reason``; ``summary`` is
    a small JSON-able dict for the console and the report; ``artifacts`` are extra JSON-able
    documents by file name (``readout.json`` → dict).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    quarantine: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
