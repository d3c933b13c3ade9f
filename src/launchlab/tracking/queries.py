"""Reading cycles back from the store: recent cycles with the time each stage took, one cycle's
runs, and stage outputs downloaded from a recorded cycle (what ``launchlab cycles`` and
``launchlab diff`` show)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchlab.tracking.store import scratch_dir


@dataclass(frozen=True)
class StageTime:
    """How long a cycle's stage run took, and whether it reused an earlier result."""

    seconds: float
    cached: bool


@dataclass(frozen=True)
class CycleEntry:
    """One recorded cycle: its parent run, tags and the time of each stage (by stage name)."""

    run_id: str
    cycle_id: str
    status: str
    started: datetime
    tags: Mapping[str, str]
    stages: Mapping[str, StageTime] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedCycle:
    """A recorded cycle's parent-run tags and the stage outputs asked for, by (stage, file name)
    (None where the stage or file is missing)."""

    run_id: str
    cycle_id: str
    tags: Mapping[str, str]
    outputs: Mapping[tuple[str, str], Any]

    @property
    def models(self) -> dict[str, str]:
        """Registered model versions of the cycle, by model name."""
        return {k[len("model."):]: v for k, v in self.tags.items() if k.startswith("model.")}

    @property
    def decision(self) -> str | None:
        return self.tags.get("decision")


class Queries:
    """Read-only questions to the store (mixed into :class:`~launchlab.tracking.Tracker`)."""

    client: Any
    experiment_id: str

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

    def cycle_history(self, limit: int = 20) -> list[CycleEntry]:
        """The ``limit`` most recent cycles, newest first, with the time each stage run took."""
        entries = []
        for run in self.recent_cycles(limit=limit):
            _, children = self.cycle_runs(run.info.run_id)
            times = {
                child.info.run_name: StageTime(
                    ((child.info.end_time or child.info.start_time) - child.info.start_time) / 1000,
                    child.data.tags.get("launchlab.cache_hit") == "true",
                )
                for child in children
            }
            entries.append(
                CycleEntry(
                    run_id=run.info.run_id,
                    cycle_id=run.data.tags.get("launchlab.cycle_id", run.info.run_name or ""),
                    status=run.info.status,
                    started=datetime.fromtimestamp(run.info.start_time / 1000, UTC),
                    tags=dict(run.data.tags),
                    stages=times,
                )
            )
        return entries

    def recorded_cycle(self, ref: str, outputs: Iterable[tuple[str, str]]) -> RecordedCycle | None:
        """The cycle ``ref`` (see :meth:`find_cycle`) with the stage outputs ``(stage, file name)``
        downloaded from its stage runs; None when there is no such cycle."""
        run = self.find_cycle(ref)
        if run is None:
            return None
        _, children = self.cycle_runs(run.info.run_id)
        by_stage = {c.info.run_name: c.info.run_id for c in children}
        return RecordedCycle(
            run_id=run.info.run_id,
            cycle_id=run.data.tags.get("launchlab.cycle_id", run.info.run_id),
            tags=dict(run.data.tags),
            outputs={
                (stage, name): self.download_output(by_stage[stage], name) if stage in by_stage else None for stage, name in outputs
            },
        )
