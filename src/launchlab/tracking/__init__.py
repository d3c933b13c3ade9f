"""MLflow bookkeeping: the only package that talks to MLflow.

A launch cycle is one parent run with a child run per stage (``01-insight`` … ``04-incubation``).
By concern: ``store`` (connection, SQLite WAL, lock, retry), ``runs`` (opening, logging,
closing runs), ``registry`` (registered models), ``champion`` (the champion policy), ``queries`` (reading
cycles back). :class:`Tracker` is all four on one connection.
"""

from __future__ import annotations

from launchlab.tracking.queries import CycleEntry, Queries, RecordedCycle, StageTime
from launchlab.tracking.champion import Evidence, Verdict, judge
from launchlab.tracking.registry import CHAMPION, Registered, Registry
from launchlab.tracking.runs import RunLog
from launchlab.tracking.store import Store, enable_wal, retry_locked, scratch_dir


class Tracker(Queries, Registry, RunLog, Store):
    """A handle on the MLflow store of one set of :class:`~launchlab.config.Settings`:
    ``Tracker(Settings()).connect()``."""


__all__ = [
    "CHAMPION",
    "CycleEntry",
    "Evidence",
    "RecordedCycle",
    "Registered",
    "StageTime",
    "Tracker",
    "Verdict",
    "enable_wal",
    "judge",
    "retry_locked",
    "scratch_dir",
]
