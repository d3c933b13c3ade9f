"""Chunked work for scale-out: split embedding and forecasting work into chunks and put the
results back together exactly as one call would have produced them.

Nothing here knows how chunks are run. A :data:`Mapper` does that: ``mapper(fn, calls)`` runs
``fn(*args)`` for every ``args`` in ``calls`` and returns the results in the same order. The
in-process :func:`local_map` is the reference; ``flows/scaleout.py`` submits each call as a
Prefect task on a Dask cluster. ``fn`` is always a module-level function of this module, so a
worker only needs launchlab installed.

Embeddings are computed per text; :class:`ChunkedEmbedder` cuts its chunks at whole batches of
the length-sorted texts, so the sentence-transformers model sees (and pads) exactly the batches
of one call and the vectors are bit-identical, as they are with the hashing embedder. Forecasts
are per series too, but ``forecast_trends`` also makes
pooled decisions over all series (the calendar, each route's model combination, the interval
calibration), so chunking the *stage* would change results. :class:`ChunkedForecaster` chunks only
the statsforecast work inside it — the backtest and the final forecast — and leaves the pooled
decisions to the one central call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from launchlab.embeddings import ProgressCallback
from launchlab.results import StageResult
from launchlab.schemas import DS, UNIQUE_ID
from launchlab.trends.forecaster import TIERS, Forecaster

R = TypeVar("R")

Mapper = Callable[[Callable[..., R], Sequence[tuple]], list[R]]
"""``mapper(fn, calls)`` → ``[fn(*args) for args in calls]``, run wherever the mapper runs them."""

EMBED_MAX_TEXTS = 4096
EMBED_MIN_TEXTS = 64
FORECAST_MAX_SERIES = 500


def local_map(fn: Callable[..., R], calls: Sequence[tuple]) -> list[R]:
    """The in-process mapper: every call in turn."""
    return [fn(*args) for args in calls]


def chunk_bounds(n: int, *, slots: int = 1, max_size: int, min_size: int = 1) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` ranges covering ``range(n)``, as even as possible.

    Two chunks per worker slot (so one slow chunk does not leave the other workers idle), more
    when a chunk would exceed ``max_size``, fewer when one would fall below ``min_size``.
    """
    if n <= 0:
        return []
    k = max(-(-n // max_size), min(2 * max(slots, 1), n // max(min_size, 1)), 1)
    k = min(k, n)
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]


# ------------------------------------------------------------------------------------------------
# Embeddings


def embed_texts(model: str, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Embed one chunk with ``model``; the embedder is loaded once per process (worker)."""
    from launchlab.stages import get_embedder

    return np.asarray(get_embedder(model).encode(texts, batch_size=batch_size), dtype=np.float32)


class ChunkedEmbedder:
    """An :class:`~launchlab.embeddings.Embedder` that embeds chunks of texts through a mapper.

    ``model`` is a name :func:`launchlab.stages.get_embedder` resolves (each worker loads it once);
    ``model_id`` and ``dim`` are read from a local instance, which for the default
    sentence-transformers model does not load the weights.
    """

    def __init__(
        self,
        model: str,
        mapper: Mapper = local_map,
        *,
        slots: int = 1,
        max_texts: int = EMBED_MAX_TEXTS,
        min_texts: int = EMBED_MIN_TEXTS,
    ) -> None:
        from launchlab.stages import get_embedder

        local = get_embedder(model)
        self.model = model
        self.model_id = local.model_id
        self.dim = local.dim
        self.mapper = mapper
        self.slots = slots
        self.max_texts = max_texts
        self.min_texts = min_texts
        self.n_chunks = 0

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The sentence-transformers embedder sorts texts by length and pads each batch to its
        # longest: chunks cut from the same sorted order at whole batches hold exactly the
        # batches one call would, so the vectors match one call's.
        order = np.argsort([len(t) for t in texts], kind="stable")
        n_batches = -(-len(texts) // batch_size)
        bounds = [
            (a * batch_size, min(b * batch_size, len(texts)))
            for a, b in chunk_bounds(n_batches, slots=self.slots, max_size=max(self.max_texts // batch_size, 1),
                                     min_size=max(self.min_texts // batch_size, 1))
        ]
        self.n_chunks += len(bounds)
        parts = self.mapper(embed_texts, [(self.model, [texts[i] for i in order[a:b]], batch_size) for a, b in bounds])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for (a, b), part in zip(bounds, parts):
            out[order[a:b]] = part
        if progress:
            progress(len(texts), len(texts))
        return out


# ------------------------------------------------------------------------------------------------
# Forecasts


def forecaster_call(part: Forecaster, method: str, *args: Any) -> Any:
    """Run ``Forecaster.<method>(*args)`` on a forecaster restricted to one chunk of series."""
    return getattr(Forecaster, method)(part, *args)


class ChunkedForecaster(Forecaster):
    """A :class:`~launchlab.trends.Forecaster` whose ``backtest`` and ``predict`` run in chunks of
    series through a mapper (set by :func:`chunked_forecaster`), with the results reassembled
    in the order one call returns them. Every statsforecast model is fit per series, so each
    series' numbers are the same; ``select`` and ``calibrate`` still see all series at once.
    """

    # How to run, not what was learned: set on the instance by the factory, dropped by to_forecaster.
    _mapper: Mapper = staticmethod(local_map)
    _slots: int = 1
    _max_series: int = FORECAST_MAX_SERIES

    def _parts(self) -> list[Forecaster]:
        plain = self.to_forecaster()
        ids = self.routes_[UNIQUE_ID].sort_values().to_numpy()
        parts = []
        for a, b in chunk_bounds(len(ids), slots=self._slots, max_size=self._max_series):
            part = copy.copy(plain)
            part.n_jobs = 1  # the chunks are the parallelism: no process pool inside a worker
            chunk = set(ids[a:b])
            part.routes_ = plain.routes_[plain.routes_[UNIQUE_ID].isin(chunk)].reset_index(drop=True)
            part.train_ = plain.train_[plain.train_[UNIQUE_ID].isin(chunk)].reset_index(drop=True)
            parts.append(part)
        return parts

    def predict(self, h: int) -> pd.DataFrame:
        parts = self._parts()
        if len(parts) <= 1:
            return super().predict(h)
        out = pd.concat(self._mapper(forecaster_call, [(p, "predict", h) for p in parts]), ignore_index=True)
        return out.sort_values([UNIQUE_ID, DS], kind="stable").reset_index(drop=True)

    def backtest(self, h: int, n_windows: int = 2) -> tuple[pd.DataFrame, list[str]]:
        parts = self._parts()
        if len(parts) <= 1:
            return super().backtest(h, n_windows)
        results = self._mapper(forecaster_call, [(p, "backtest", h, n_windows) for p in parts])
        skipped = sorted(s for _, chunk_skipped in results for s in chunk_skipped)
        frames = [frame for frame, _ in results if len(frame)]
        if not frames:
            return results[0][0], skipped
        return _one_call_order(frames, self.routes_), skipped

    def to_forecaster(self) -> Forecaster:
        """The same fitted state as a plain :class:`Forecaster` (what gets logged and pickled)."""
        plain = Forecaster(**self.get_params())
        plain.__dict__.update(self.__dict__)
        for name in ("_mapper", "_slots", "_max_series"):
            plain.__dict__.pop(name, None)
        return plain


def _one_call_order(frames: list[pd.DataFrame], routes: pd.DataFrame) -> pd.DataFrame:
    """Chunks' backtest frames in one call's order: by route, then model block, then series.

    Within a chunk the frame is route by route, each route a block per model (the combination
    last), series sorted inside a block; chunks hold consecutive sorted ids, so a stable sort on
    (route, block) restores the single-call order.
    """
    route_of = routes.set_index(UNIQUE_ID)["route"]
    block_rank: dict[tuple[str, str], int] = {}
    for frame in frames:
        keys = pd.DataFrame({"route": frame[UNIQUE_ID].map(route_of), "model": frame["model"]}).drop_duplicates()
        for route, model in keys.itertuples(index=False):
            block_rank.setdefault((route, model), sum(1 for r, _ in block_rank if r == route))
    out = pd.concat(frames, ignore_index=True)
    route = out[UNIQUE_ID].map(route_of)
    order = pd.DataFrame(
        {
            "route": route.map({r: i for i, r in enumerate(TIERS)}).to_numpy(),
            "block": [block_rank[(r, m)] for r, m in zip(route, out["model"])],
        }
    )
    index = order.sort_values(["route", "block"], kind="stable").index
    return out.loc[index].reset_index(drop=True)


def chunked_forecaster(mapper: Mapper, *, slots: int = 1, max_series: int = FORECAST_MAX_SERIES) -> Callable[..., Forecaster]:
    """A factory building :class:`ChunkedForecaster` from the usual ``Forecaster`` parameters."""

    def make(**params: Any) -> Forecaster:
        forecaster = ChunkedForecaster(**params)
        forecaster._mapper = mapper
        forecaster._slots = slots
        forecaster._max_series = max_series
        return forecaster

    return make


def forecast_trends_chunked(
    series: pd.DataFrame,
    *,
    config=None,
    progress: ProgressCallback | None = None,
    mapper: Mapper = local_map,
    slots: int = 1,
    max_series: int = FORECAST_MAX_SERIES,
) -> StageResult:
    """``forecast_trends`` with its backtest and forecasts run in chunks of series by ``mapper``.

    Same tables, metrics and summary as ``forecast_trends(series, config=config)``: the stage
    still runs once over all series (so its pooled choices and aggregate metrics are computed as
    before); only the per-series statsforecast work is spread out. The logged model is a plain
    ``Forecaster``.
    """
    from launchlab.trends import forecast_trends

    result = forecast_trends(
        series, config=config, progress=progress, make_forecaster=chunked_forecaster(mapper, slots=slots, max_series=max_series)
    )
    model = result.models.get("launchlab-forecaster")
    if isinstance(model, ChunkedForecaster):
        result.models["launchlab-forecaster"] = model.to_forecaster()
    return result


def chunked_forecast(mapper: Mapper, *, slots: int = 1, max_series: int = FORECAST_MAX_SERIES) -> Callable[..., StageResult]:
    """A drop-in for ``forecast_trends`` (the ``forecast=`` hook of ``stages.run_trends``)."""
    return partial(forecast_trends_chunked, mapper=mapper, slots=slots, max_series=max_series)
