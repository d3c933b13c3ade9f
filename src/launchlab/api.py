"""The public Python facade: the CLI's operations on DataFrames.

Every function checks its input against the same contracts as the file loaders (rows that cannot
be used are returned in ``result.quarantine``, never dropped silently) and returns a
:class:`~launchlab.results.StageResult`.

    >>> from launchlab import api
    >>> needs = api.discover_needs(reviews_df).tables["needs"]           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from launchlab import io, schemas as S
from launchlab.embeddings import Embedder
from launchlab.results import StageResult


def _embedder(embedder: Embedder | None, model: str) -> Embedder:
    if embedder is not None:
        return embedder
    from launchlab.stages import get_embedder

    return get_embedder(model)


def _merge_quarantine(result: StageResult, loaded: io.Loaded, prefix: str) -> StageResult:
    parts = [q for q in (loaded.quarantine, result.quarantine) if q is not None and len(q)]
    result.quarantine = pd.concat(parts, ignore_index=True) if parts else loaded.quarantine
    for key, value in loaded.counts().items():
        result.metrics[f"{prefix}_{key}"] = float(value)
    return result


def discover_needs(
    reviews: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    config: Any = None,
    embedder: Embedder | None = None,
    model: str = "all-MiniLM-L6-v2",
    embeddings=None,
) -> StageResult:
    """Needs, sentiment and quotes from a frame of reviews (any column names; see ``mapping``)."""
    from launchlab.insight import InsightConfig, discover_needs as _discover

    loaded = io.validate_reviews(reviews, mapping=mapping)
    if embeddings is not None and len(loaded.frame) != len(reviews):
        raise ValueError("precomputed embeddings need every review to be usable; some were quarantined")
    result = _discover(loaded.frame, embedder=_embedder(embedder, model), config=config or InsightConfig(), embeddings=embeddings)
    return _merge_quarantine(result, loaded, "reviews")


def forecast_trends(series: pd.DataFrame, *, mapping: Mapping[str, str] | None = None, layout: str = "auto", config: Any = None) -> StageResult:
    """Forecasts with intervals and trend classes for long or wide series."""
    from launchlab.trends import TrendsConfig, forecast_trends as _forecast

    loaded = io.validate_series(series, mapping=mapping, layout=layout)
    result = _forecast(loaded.frame[[S.UNIQUE_ID, S.DS, S.Y]], config=config or TrendsConfig())
    return _merge_quarantine(result, loaded, "series")


def need_series(reviews_with_needs: pd.DataFrame, *, freq: str | None = None) -> pd.DataFrame:
    """Mention counts per need and period from the insight stage's reviews table."""
    from launchlab.trends import need_series as _need_series

    return _need_series(reviews_with_needs, freq=freq)


def score_concepts(
    concepts: pd.DataFrame,
    needs: pd.DataFrame,
    *,
    trends: pd.DataFrame | None = None,
    config: Any = None,
    embedder: Embedder | None = None,
    model: str = "all-MiniLM-L6-v2",
    series: pd.DataFrame | None = None,
) -> StageResult:
    """Rank concepts against a needs table (from :func:`discover_needs`), optionally with trends
    (and the need series behind them, which name the period in explanations)."""
    from launchlab.concepts import ConceptsConfig, score_concepts as _score

    loaded = io.validate_concepts(concepts)
    result = _score(
        loaded.frame, needs, embedder=_embedder(embedder, model), trends=trends, config=config or ConceptsConfig(), series=series
    )
    return _merge_quarantine(result, loaded, "concepts")


def read_out_ab(data: pd.DataFrame, **config: Any) -> StageResult:
    """A/B(/n) readout; keyword arguments are :class:`launchlab.incubation.ABConfig` fields."""
    from launchlab.incubation import ABConfig, read_out_ab as _read_out

    return _read_out(data, config=ABConfig(**config))


def fit_bass(series: pd.DataFrame, *, mapping: Mapping[str, str] | None = None, layout: str = "auto", **config: Any) -> StageResult:
    """Bass diffusion fits per series; keyword arguments are ``BassConfig`` fields."""
    from launchlab.incubation import BassConfig, fit_bass as _fit

    loaded = io.validate_series(series, mapping=mapping, layout=layout)
    result = _fit(loaded.frame[[S.UNIQUE_ID, S.DS, S.Y]], config=BassConfig(**config))
    return _merge_quarantine(result, loaded, "series")


def estimate_segments(data: pd.DataFrame, **config: Any) -> StageResult:
    """Lift per segment with intervals, adjusted p-values and shrinkage, and heterogeneity tests;
    keyword arguments are :class:`launchlab.incubation.SegmentConfig` fields (``segment_cols=``
    at least)."""
    from launchlab.incubation import SegmentConfig, estimate_segments as _estimate

    return _estimate(data, config=SegmentConfig(**config))


def fit_uplift(data: pd.DataFrame, **config: Any) -> StageResult:
    """Cross-fitted uplift model, Qini/uplift curves, top-k vs random and a 'treat the top k%'
    rule; keyword arguments are :class:`launchlab.incubation.UpliftConfig` fields
    (``covariate_cols=`` at least). ``result.models["launchlab-uplift"]`` scores new customers."""
    from launchlab.incubation import UpliftConfig, fit_uplift as _fit

    return _fit(data, config=UpliftConfig(**config))


def forecast_demand(series: pd.DataFrame, *, mapping: Mapping[str, str] | None = None, layout: str = "auto", **config: Any) -> StageResult:
    """Calibrated quantiles of cumulative demand over the next periods, per series of sales since
    launch; keyword arguments are :class:`launchlab.incubation.DemandConfig` fields."""
    from launchlab.incubation import DemandConfig, forecast_demand as _forecast

    loaded = io.validate_series(series, mapping=mapping, layout=layout)
    result = _forecast(loaded.frame[[S.UNIQUE_ID, S.DS, S.Y]], config=DemandConfig(**config))
    return _merge_quarantine(result, loaded, "series")


def plan_production(demand: StageResult | Any, **config: Any) -> dict[str, Any]:
    """Newsvendor plan: from :func:`forecast_demand`'s result, ``{series: plan}`` for every
    series; from an array of demand samples, one plan. Keyword arguments are
    :class:`launchlab.incubation.PlanConfig` fields (price, unit_cost, salvage, service_level, on_hand)."""
    from launchlab.incubation import PlanConfig, plan_production as _plan

    economics = PlanConfig(**config)
    if isinstance(demand, StageResult):
        samples = demand.tables["demand_samples"]
        return {str(sid): _plan(group["demand"].to_numpy(), config=economics) for sid, group in samples.groupby(S.UNIQUE_ID, sort=False)}
    return _plan(demand, config=economics)


def run_cycle(config=None) -> dict[str, Any]:
    """Run a full launch cycle as a Prefect flow tracked in MLflow (see ``launchlab run``)."""
    from launchlab.runtime import prepare_environment

    prepare_environment()
    from flows.launch_cycle import launch_cycle

    return launch_cycle(config)
