"""Helpers of the flow tests: a real Prefect server on a port it picks itself, and small cycle
configs on the bundled data (as dicts, YAML files or ``CycleConfig``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from launchlab.config import CycleConfig
from launchlab.runtime import start_prefect_server, stop_process, wait_for_prefect


def _listening_port(process, timeout: float) -> int:
    """The TCP port a server process (or one of its children) listens on, once it has bound one."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode} before it listened")
        try:
            parent = psutil.Process(process.pid)
            for proc in (parent, *parent.children(recursive=True)):
                for connection in proc.net_connections(kind="tcp"):
                    if connection.status == psutil.CONN_LISTEN:
                        return connection.laddr.port
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not listen on a port within {timeout:.0f} s")


@contextmanager
def _prefect_server(home: Path) -> Iterator[tuple[Any, str]]:
    """`prefect server start` on 127.0.0.1, on a free port the server binds itself (port 0: no
    other process can take the port between choosing and binding it); yields (process, API URL)
    once it answers, and stops it afterwards."""
    process, _ = start_prefect_server(home, port=0)
    try:
        api = f"http://127.0.0.1:{_listening_port(process, timeout=180)}/api"
        wait_for_prefect(api, timeout=180, process=process)
        yield process, api
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> Iterator[str]:
    """A real Prefect server for the tests that start `launchlab` in subprocesses (one per module)."""
    with _prefect_server(tmp_path_factory.mktemp("prefect-server")) as (_, api):
        yield api


@pytest.fixture
def prefect_server():
    """``prefect_server(home)``: a context manager running a real Prefect server (see
    :func:`_prefect_server`), for a test that stops it itself."""
    return _prefect_server


class SmallCycle:
    """Small cycle configs on the bundled data: the clothing reviews (sampled), the first rows of
    the UCI weekly sales, the demo concepts, launch experiment and IBM adoption series."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def config(
        self,
        folder: Path,
        name: str,
        *,
        sample: int = 100,
        series_rows: int = 12,
        embedding_model: str = "hashing-64",
        horizon: int | None = 3,
        out: str = "out",
        experiment: bool = True,
        adoption: bool = True,
    ) -> dict[str, Any]:
        """The config as in a cycle YAML; the series file is written into ``folder``."""
        sales = folder / f"sales-{series_rows}.csv"
        if not sales.exists():
            pd.read_csv(self.repo / "data" / "uci_sales_weekly.csv").head(series_rows).to_csv(sales, index=False)
        data = self.repo / "data"
        config: dict[str, Any] = {
            "name": name,
            "reviews": {"path": str(data / "womens_clothing_reviews.parquet"), "sample": sample},
            "series": [{"path": str(sales)}],
            "concepts": str(data / "concepts.yaml"),
            "embedding_model": embedding_model,
            "out_dir": str(folder / out),
        }
        if experiment:
            config["experiment"] = {
                "path": str(data / "launch_experiment.csv"),
                "ab": {"variant_col": "variant", "metric_col": "converted", "control": "control", "unit_col": "user_id"},
            }
        if adoption:
            config["adoption"] = {"path": str(data / "ibm_mainframe_generations.csv")}
        if horizon is not None:
            config["trends"] = {"horizon": horizon}
        return config

    def model(self, folder: Path, name: str, **options: Any) -> CycleConfig:
        return CycleConfig.model_validate(self.config(folder, name, **options))

    def yaml(self, folder: Path, name: str, **options: Any) -> Path:
        """The config written to ``folder/<name>.yaml``."""
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(self.config(folder, name, **options)))
        return path


@pytest.fixture
def small_cycle(repo) -> SmallCycle:
    return SmallCycle(repo)
