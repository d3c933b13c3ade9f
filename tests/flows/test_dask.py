"""A cycle on a local 2-worker Dask cluster gives the default runner's tables, and the chunking
underneath it is exact."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from launchlab import chunked
from launchlab.config import SeriesInput
from launchlab.embeddings import HashingEmbedder

# (stage folder, table): every table a later stage or a reader uses.
COMPARED = [
    ("insight", "needs"), ("insight", "reviews"), ("insight", "mentions"),
    ("trends", "forecasts"), ("trends", "trends"), ("trends", "backtest"),
    ("concepts", "scores"),
]


def _same_table(a: pd.DataFrame, b: pd.DataFrame, name: str) -> None:
    """Same rows and columns; ids, labels, classes and counts exactly equal, floats equal up to
    rounding (they come from other processes on the Dask side)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0, name
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"{name}.{column}")
        elif x.map(lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "f").any():
            for u, v in zip(x, y):
                np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12, err_msg=f"{name}.{column}")
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True, obj=f"{name}.{column}")


def _same_metrics(a: dict[str, float], b: dict[str, float], stage: str) -> None:
    assert set(a) == set(b), stage
    for key, value in a.items():
        if float(value).is_integer():  # counts: exact
            assert b[key] == value, (stage, key)
        else:
            assert b[key] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), (stage, key)


def _chunk_runs(kind: str) -> int:
    """How many ``chunk`` task runs of ``kind`` (``embed_texts``, ``forecaster_call``) exist."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=f"{kind}-")))
    return sum(1 for run in runs if run.name.rsplit("-", 1)[0] == kind)


@pytest.mark.slow
def test_a_cycle_on_dask_gives_the_same_tables_as_the_default_runner(isolated_store, small_cycle):
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from flows.launch_cycle import launch_cycle

    def cycle(name: str):
        return small_cycle.model(isolated_store, f"dask-{name}", sample=150, series_rows=20, embedding_model="hashing-128",
                                 horizon=4, out=name, experiment=False)

    default = launch_cycle(cycle("default"))
    # The runner is not part of a stage's fingerprint, so without a refresh the dask cycle would
    # reuse the stages the default cycle just computed.
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        dask = launch_cycle(cycle("dask"), task_runner="dask")

    assert not any(stage["reused"] for stage in dask["stages"].values()), {k: (s["reused"], s["out_dir"]) for k, s in dask["stages"].items()}
    for folder, table in COMPARED:
        a = pd.read_parquet(isolated_store / "default" / folder / f"{table}.parquet")
        b = pd.read_parquet(isolated_store / "dask" / folder / f"{table}.parquet")
        # every embedding and every per-series forecast is computed the same way, in other processes
        _same_table(a, b, f"{folder}/{table}")
    for stage in ("01-insight", "02-trends", "03-concepts"):
        _same_metrics(default["stages"][stage]["metrics"], dask["stages"][stage]["metrics"], stage)

    # and the work really was spread: chunk task runs (only dask cycles make them)
    assert _chunk_runs("embed_texts") >= 2 and _chunk_runs("forecaster_call") >= 4


def test_chunk_bounds_cover_the_range_evenly():
    assert chunked.chunk_bounds(0, max_size=10) == []
    assert chunked.chunk_bounds(10, slots=2, max_size=100) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert chunked.chunk_bounds(150, slots=2, max_size=4096, min_size=64) == [(0, 75), (75, 150)]
    assert chunked.chunk_bounds(10, slots=1, max_size=3) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert chunked.chunk_bounds(3, slots=8, max_size=100) == [(0, 1), (1, 2), (2, 3)]
    bounds = chunked.chunk_bounds(1001, slots=2, max_size=100)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1001 and all(b - a <= 100 for a, b in bounds)
    assert all(prev[1] == nxt[0] for prev, nxt in zip(bounds, bounds[1:]))


def test_chunked_embedder_matches_one_call(clothing_reviews):
    texts = clothing_reviews["Review Text"].tolist()
    calls = []

    def mapper(fn, batch):
        calls.append(len(batch))
        return chunked.local_map(fn, batch)

    embedder = chunked.ChunkedEmbedder("hashing-64", mapper, slots=2, min_texts=50)
    out = embedder.encode(texts, batch_size=16)
    assert calls == [4] and embedder.dim == 64 and embedder.model_id == "hashing-64"
    np.testing.assert_array_equal(out, HashingEmbedder(64).encode(texts))


def test_chunked_forecast_matches_one_call_exactly(repo, tmp_path):
    """Chunking the trend *stage* would move interval calibration and model selection (both pooled
    over all series); chunking only the forecaster's per-series work keeps every number."""
    from launchlab.stages import load_series_inputs
    from launchlab.trends import Forecaster, TrendsConfig, forecast_trends

    pd.read_csv(repo / "data" / "uci_sales_weekly.csv").head(24).to_csv(tmp_path / "s.csv", index=False)
    frame, _ = load_series_inputs([SeriesInput(path=tmp_path / "s.csv")])
    frame = frame[["unique_id", "ds", "y"]]
    config = TrendsConfig(horizon=4)
    one = forecast_trends(frame, config=config)
    seen = []

    def mapper(fn, batch):
        seen.append(sorted({uid for part, *_ in batch for uid in part.routes_["unique_id"]}))
        return chunked.local_map(fn, batch)

    spread = chunked.forecast_trends_chunked(frame, config=config, mapper=mapper, slots=2, max_series=5)
    assert len(seen) == 2 and seen[0] == sorted(frame["unique_id"].unique())  # backtest and forecast, all series
    for name, table in one.tables.items():
        pd.testing.assert_frame_equal(table, spread.tables[name], check_exact=True, obj=name)
    assert spread.metrics == one.metrics and spread.summary == one.summary and spread.warnings == one.warnings
    model = spread.models["launchlab-forecaster"]
    assert type(model) is Forecaster and "_mapper" not in vars(model)
    pd.testing.assert_frame_equal(model.predict(4), one.models["launchlab-forecaster"].predict(4), check_exact=True)


def test_run_checks_its_runner_options_before_starting(cli):
    code, _, err = cli("run", "--dask-address", "tcp://127.0.0.1:8786")
    assert code == 2 and "--task-runner dask" in err
    code, _, err = cli("run", "--task-runner", "spark")
    assert code == 2 and "spark" in err
