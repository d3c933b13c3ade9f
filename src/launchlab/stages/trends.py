"""Stage 2, trends: need series (from dated reviews) and external series → forecasts and classes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from launchlab import io, schemas as S
from launchlab.config import CycleConfig, SeriesInput
from launchlab.embeddings import ProgressCallback
from launchlab.errors import InputError
from launchlab.results import StageResult
from launchlab.stages.base import INSIGHT, TRENDS, StageInputs, StageRun, account, input_info, read_stage_table, write_outputs


def inputs(config: CycleConfig) -> StageInputs:
    """The series files, how each is read, and the trend settings (the insight stage is upstream)."""
    return StageInputs(
        files={f"series.{i}.path": s.path for i, s in enumerate(config.series)},
        settings={
            "series": [s.model_dump(mode="json", exclude={"path"}) for s in config.series],
            "trends": config.trends,
        },
    )


def run(
    config: CycleConfig,
    paths: Mapping[str, Path],
    *,
    progress: ProgressCallback | None = None,
    forecast: Callable[..., StageResult] | None = None,
) -> StageRun:
    """The trends stage of a cycle, on the insight stage's reviews; ``forecast`` replaces ``forecast_trends``."""
    reviews = read_stage_table(paths[INSIGHT], "reviews", required=False)
    return run_trends(config.series, config=config.trends, out_dir=paths[TRENDS], insight_reviews=reviews, progress=progress,
                      forecast=forecast)


def load_series_inputs(series: list[SeriesInput]) -> tuple[pd.DataFrame, dict[str, io.Loaded]]:
    """Load several series files into one long frame; ids are prefixed by file when they clash."""
    frames, loads = [], {}
    seen: set[str] = set()
    for item in series:
        loaded = io.load_series(item.path, mapping=item.mapping, layout=item.layout)
        frame = loaded.frame.copy()
        ids = set(frame[S.UNIQUE_ID].unique())
        if ids & seen:
            stem = Path(item.path).name.split(".")[0]
            frame[S.UNIQUE_ID] = stem + ":" + frame[S.UNIQUE_ID]
            ids = set(frame[S.UNIQUE_ID].unique())
        seen |= ids
        frames.append(frame)
        loads[Path(item.path).name.split(".")[0]] = loaded
    if not frames:
        return pd.DataFrame(columns=[S.UNIQUE_ID, S.DS, S.Y]), loads
    kinds = {("int" if pd.api.types.is_integer_dtype(f[S.DS]) else "date") for f in frames}
    if len(kinds) > 1:
        raise InputError(
            "the series files mix integer periods and dates",
            file=", ".join(str(s.path) for s in series),
            column=S.DS,
            fix="forecast them in separate runs",
        )
    return pd.concat(frames, ignore_index=True), loads


def _series_table(group: pd.DataFrame) -> pd.DataFrame:
    from launchlab.trends.series import SERIES_COLUMNS

    return group[[c for c in SERIES_COLUMNS if c in group.columns]].reset_index(drop=True)


def run_trends(
    series: list[SeriesInput],
    *,
    config,
    out_dir: Path,
    insight_reviews: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    forecast: Callable[..., StageResult] | None = None,
) -> StageRun:
    """Build need series (when reviews have dates) plus external series; forecast; classify.

    ``forecast`` replaces ``forecast_trends`` (same signature), e.g. by
    ``launchlab.chunked.chunked_forecast`` to spread the series over workers.
    """
    from launchlab.trends import forecast_trends, need_series

    frame, loads = load_series_inputs(series)
    inputs: dict[str, dict[str, Any]] = {name: input_info(l, Path(l.source)) for name, l in loads.items()}
    warnings = []
    groups: list[pd.DataFrame] = []
    if insight_reviews is not None and S.DATE in insight_reviews and insight_reviews[S.DATE].notna().any():
        needs = need_series(insight_reviews)
        if len(needs):
            groups.append(needs)
    elif insight_reviews is not None:
        warnings.append("the reviews have no dates, so no need series were built; trends come from the external series only")
    if len(frame):
        if groups and pd.api.types.is_datetime64_any_dtype(frame[S.DS]):
            groups[0] = pd.concat([groups[0], frame], ignore_index=True)
        else:
            groups.append(frame)
    if not groups:
        raise InputError(
            "nothing to forecast: the reviews have no dates and no series file was given",
            column=S.DS,
            fix="add a series file (--series) or reviews with dates",
        )
    # Dated need series and integer-period external series cannot share a calendar: forecast
    # each group on its own and stack the tables.
    forecast = forecast or forecast_trends
    parts = [forecast(g[[S.UNIQUE_ID, S.DS, S.Y]], config=config, progress=progress) for g in groups]
    result = parts[-1]
    # The series tables keep share of voice and mean sentiment of need/category series (NaN for
    # external series): the forecasts use y only, the report and users read the rest.
    result.tables["series"] = _series_table(groups[-1])
    for part, group in zip(parts[:-1], groups[:-1]):
        for name, table in part.tables.items():
            if name == "trends":
                result.tables[name] = pd.concat([table, result.tables[name]], ignore_index=True)
            else:
                result.tables[f"need_{name}"] = table
        result.tables["need_series"] = _series_table(group)
        result.metrics.update({f"needs_{k}": v for k, v in part.metrics.items()})
        result.warnings.extend(part.warnings)
        result.models.setdefault("launchlab-forecaster", part.models.get("launchlab-forecaster"))
    result.warnings = warnings + result.warnings
    for loaded in loads.values():
        account(result, loaded, f"series_{Path(loaded.source).name.split('.')[0]}")
    stage_rejects = [p.quarantine for p in parts if p.quarantine is not None and len(p.quarantine)]
    quarantines = {f"series_{n}": l.quarantine for n, l in loads.items()}
    if stage_rejects:  # rows the forecaster itself set aside (e.g. series with one period)
        quarantines["series_stage"] = pd.concat(stage_rejects, ignore_index=True)
    write_outputs(result, out_dir, quarantines)
    return StageRun(TRENDS, result, out_dir, inputs)
