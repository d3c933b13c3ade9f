"""The MLflow store: connecting to it, and surviving a busy SQLite file.

Several processes (two cycles at once, Dask workers, the CLI) may write one SQLite store: it is
put in WAL mode, its first connection (schema and experiment creation) is serialised by a file
lock beside it, and every call that may meet a locked database goes through :func:`retry_locked`.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchlab.config import Settings

_SQLITE = "sqlite:///"


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
    if not tracking_uri.startswith(_SQLITE):
        return
    path = tracking_uri[len(_SQLITE):]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


@contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """An exclusive lock beside a SQLite store (no-op for other stores)."""
    if not tracking_uri.startswith(_SQLITE):
        yield
        return
    import fcntl

    lock_path = Path(tracking_uri[len(_SQLITE):] + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def scratch_dir() -> Path:
    """A temporary folder for files that only go to MLflow."""
    return Path(tempfile.mkdtemp(prefix="launchlab-"))


@dataclass
class Store:
    """A connection to the MLflow store of one set of :class:`Settings` and its experiment."""

    settings: Settings
    experiment_id: str = ""
    _client: Any = field(default=None, repr=False)

    @property
    def client(self):
        """The ``MlflowClient`` of the store (connecting on first use)."""
        if self._client is None:
            self.connect()
        return self._client

    def connect(self):
        """Point MLflow at the store and make sure the experiment exists (artifacts under the root)."""
        import mlflow
        from mlflow import MlflowClient

        uri = self.settings.resolved_tracking_uri()
        # Two processes creating a new SQLite store at once both try to create its tables:
        # the first connection (schema creation, experiment creation) is serialised by a file lock.
        with store_lock(uri):
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
