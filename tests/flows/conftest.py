"""A real Prefect server for the tests that start `launchlab` in subprocesses (one per module)."""

from __future__ import annotations

import socket

import pytest

from launchlab.runtime import start_prefect_server, stop_process, wait_for_prefect


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> str:
    """Start `prefect server start` on a free 127.0.0.1 port with its own home; stop it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process, api = start_prefect_server(tmp_path_factory.mktemp("prefect-server"), port=port)
    try:
        wait_for_prefect(api, timeout=180, process=process)
        yield api
    finally:
        stop_process(process)
