"""Running a cycle's heavy stages on Dask through prefect-dask.

``launch_cycle(..., task_runner="dask")`` runs the insight and trends stage flows with a
``DaskTaskRunner``: on the cluster at ``dask_address`` or, without one, on a local cluster started
for the cycle. Inside those flows the ``compute-stage`` task hands ``launchlab.stages.run_stage``
the chunked embedder and forecaster of ``launchlab.chunked``, whose mapper submits every chunk
as a ``chunk`` task (visible in the Prefect UI) to the flow's task runner and waits for them in
order. Results are the same as with the default runner; the stage cache keys do not include the
runner, so a cycle computed on one runner is reused on the other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from launchlab import chunked
from launchlab.config import CycleConfig
from launchlab.stages import Stage

TaskRunnerName = Literal["default", "dask"]


def local_cluster_kwargs() -> dict[str, Any]:
    """A local cluster of single-threaded worker processes: one per core (2 to 4)."""
    return {"n_workers": max(2, min(os.cpu_count() or 2, 4)), "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"}


@task(name="chunk", cache_policy=NO_CACHE, persist_result=False, retries=1, retry_delay_seconds=2)
def run_chunk(fn: Callable[..., Any], args: tuple) -> Any:
    """One chunk of a stage's work: ``fn(*args)`` on whichever worker Dask picks."""
    return fn(*args)


def prefect_map(fn: Callable[..., Any], calls: Sequence[tuple]) -> list[Any]:
    """The ``launchlab.chunked.Mapper`` of a flow run: submit each call, return results in order."""
    futures = [run_chunk.with_options(task_run_name=f"{fn.__name__}-{i}").submit(fn, args) for i, args in enumerate(calls)]
    return [future.result() for future in futures]


def _dask_client():
    """The Dask client of the current flow run's task runner, or None on the default runner."""
    if "prefect_dask" not in sys.modules:  # no DaskTaskRunner exists, and importing it costs a second
        return None
    from prefect_dask import DaskTaskRunner

    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    return runner.client if isinstance(runner, DaskTaskRunner) else None


def stage_hooks(stage: Stage, config: CycleConfig) -> dict[str, Any]:
    """``run_stage`` keyword arguments that spread ``stage`` over the Dask cluster, if any: the
    hooks its table row names (``embedder``, ``forecast``) on a Dask runner, none otherwise."""
    if not stage.hooks:
        return {}
    client = _dask_client()
    if client is None:
        return {}
    slots = max(1, sum(client.nthreads().values()))
    makers = {
        "embedder": lambda: chunked.ChunkedEmbedder(config.embedding_model, prefect_map, slots=slots),
        "forecast": lambda: chunked.chunked_forecast(prefect_map, slots=slots),
    }
    return {hook: makers[hook]() for hook in stage.hooks}


@contextmanager
def stage_task_runner(task_runner: TaskRunnerName = "default", dask_address: str | None = None) -> Iterator[Any]:
    """The task runner for the cycle's stage flows: None (default) or a ``DaskTaskRunner``.

    Without ``dask_address`` a local cluster (:func:`local_cluster_kwargs`) lives for the block.
    Workers create their task runs through the Prefect API; when the flow runs on Prefect's
    temporary local server, its address is passed on so workers do not start servers of their
    own (a cluster on other machines needs a real Prefect server: set ``PREFECT_API_URL``).
    """
    if task_runner == "default":
        if dask_address:
            raise ValueError("dask_address is only used with task_runner='dask'")
        yield None
        return
    if task_runner != "dask":
        raise ValueError(f"task_runner must be 'default' or 'dask', not {task_runner!r}")
    import distributed
    from prefect_dask import DaskTaskRunner

    with _api_url_for_workers():
        if dask_address:
            with distributed.Client(dask_address, set_as_default=False) as client:
                warming = _warm_up_workers(client)  # noqa: F841 - held so the warm-up is not cancelled
                yield DaskTaskRunner(address=dask_address)
            return
        with distributed.LocalCluster(**local_cluster_kwargs()) as cluster, distributed.Client(cluster, set_as_default=False) as client:
            warming = _warm_up_workers(client)  # noqa: F841 - held so the warm-up is not cancelled
            yield DaskTaskRunner(address=cluster.scheduler_address)


def _warm_up_workers(client) -> list:
    """Start :func:`warm_up` on every worker without waiting for it."""
    workers = list(client.scheduler_info().get("workers", {}))
    return [client.submit(warm_up, workers=[w], allow_other_workers=False, pure=False) for w in workers]


def warm_up() -> None:
    """Import what chunk tasks need on a fresh worker while the flow is still loading its inputs."""
    import prefect.task_engine  # noqa: F401
    import statsforecast  # noqa: F401

    import launchlab.chunked  # noqa: F401
    import launchlab.stages  # noqa: F401


@contextmanager
def _api_url_for_workers() -> Iterator[None]:
    """Put the temporary local API's address in the settings Prefect ships with every task."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    context = FlowRunContext.get()
    url = str(context.client.api_url).rstrip("/") if context and context.client else None
    if PREFECT_API_URL.value() or not url:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield
