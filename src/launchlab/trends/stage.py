"""The trend stage: forecast every series, backtest the forecaster, classify trends."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.io import require_series
from launchlab.io.series import RULES as SERIES_RULES
from launchlab.results import StageResult
from launchlab.schemas import DS, REASON, UNIQUE_ID, Y
from launchlab.trends.backtest import score, summarise
from launchlab.trends.calendar import ROW_KEY, is_int_ds, regularise
from launchlab.trends.config import TrendsConfig
from launchlab.trends.detect import (
    CLASSES,
    DECLINING,
    EMERGING,
    RISING,
    can_express_trend,
    classify,
    forecast_sd,
    forecast_season,
    growth_z,
    onset_statistics,
    trend_statistics,
)
from launchlab.trends.forecaster import COMBINED, Forecaster

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each step of the stage."""

_STEPS = 4


def forecast_trends(
    series: pd.DataFrame,
    *,
    config: TrendsConfig | None = None,
    progress: ProgressCallback | None = None,
    make_forecaster: Callable[..., Forecaster] = Forecaster,
) -> StageResult:
    """Forecast each series ``config.horizon`` periods ahead with intervals and classify its trend.

    ``series`` is a long frame ``unique_id, ds, y`` (``ds`` datetime or integer periods; extra
    columns such as ``source_row`` are carried into the quarantine only). Rows with a missing
    ``ds`` or ``y``, repeated ``(unique_id, ds)`` and rows colliding after calendar alignment are
    quarantined; series left with fewer than two periods are quarantined whole. Gaps inside a
    series are filled per ``config.fill``; series shorter than ``config.min_length`` get the naive
    forecast. Every such decision is listed in ``warnings``.

    Tables: ``forecasts`` (unique_id, ds, yhat, yhat_lo_<l>, yhat_hi_<l>…, model), ``trends``
    (unique_id, class, growth, growth_z, slope, p_value, velocity, change, acceleration,
    p_acceleration, prior_level, onset_p_value, onset_window, base_level, recent_level,
    last_value, base_mean, forecast_mean, model, route, n_obs, window, seasonal_strength, p_seasonal) and ``backtest`` (unique_id, model, mase, smape, coverage_<l>…, n_points;
    ``model == "launchlab"`` is the forecaster as used, the other rows the models of its pool).

    With a backtest (``config.backtest_windows`` > 0) each route's combination is chosen on it
    (``select_combination``) and interval widths are rescaled to its coverage
    (``calibrate_intervals``); the ``launchlab`` backtest scores are then in-sample for that
    choice, so slightly optimistic, and ``coverage_<l>`` is measured before the rescaling. A
    route with more than ``config.backtest_max_series`` series is backtested on a seeded random
    sample of that many (``n_backtest_series``; the backtest table lists those): the choices
    are pooled per route, so a sample serves them and keeps the backtest's cost bounded.
    """
    config = config or TrendsConfig()
    step = _stepper(progress)
    rows_in = len(series)
    original = series.reset_index(drop=True)
    work, quarantine = _usable(original)
    warnings: list[str] = []
    if work.empty:
        raise InputError("no row of the series frame is usable", column=Y, fix="check the ds and y columns")

    reg = regularise(work, freq=config.freq, fill=config.fill)
    del work
    warnings += reg.notes
    quarantine.append(_rows(original, reg.quarantine[ROW_KEY], reg.quarantine[REASON]))
    clean = reg.frame[reg.frame[Y].notna()]
    observed = clean[ROW_KEY].notna().groupby(clean[UNIQUE_ID]).sum()
    too_short = observed.index[observed < 2]
    if len(too_short):
        rows = clean.loc[clean[UNIQUE_ID].isin(too_short) & clean[ROW_KEY].notna(), ROW_KEY]
        quarantine.append(_rows(original, rows, "series has fewer than 2 usable periods; cannot forecast it"))
        warnings.append(f"{len(too_short)} series with fewer than 2 usable periods were quarantined")
        clean = clean[~clean[UNIQUE_ID].isin(too_short)]
    if clean.empty:
        raise InputError("no series has two or more usable periods", column=Y, fix="supply longer series")
    clean = clean[[UNIQUE_ID, DS, Y]]
    reg.frame = reg.frame.iloc[:0]  # its rows live on in clean: free the rest early (10,000-series runs)
    del original
    step(1)

    forecaster = make_forecaster(
        freq=reg.freq,
        season_length=config.season_length,
        levels=tuple(config.levels),
        models=tuple(config.models),
        intermittent_models=tuple(config.intermittent_models),
        intermittent_threshold=config.intermittent_threshold,
        min_length=config.min_length,
        fill=config.fill,
        n_jobs=config.n_jobs,
        candidates=tuple(config.candidates),
        max_members=config.max_members,
        min_select_series=config.min_select_series,
        select_alpha=config.select_alpha,
        backtest_max_series=config.backtest_max_series,
        seed=config.seed,
        regime_zeros=config.regime_zeros,
        fit_seasons=config.fit_seasons,
        min_fit=config.min_fit,
    ).fit(clean)
    del clean
    routes = forecaster.routes_

    cv, backtest, backtest_summary, skipped = _backtest(forecaster, config)
    if skipped:
        warnings.append(
            f"{len(skipped)} series are too short for a {config.backtest_windows}-window backtest of horizon "
            f"{config.horizon} and were left out of it"
        )
    if config.calibrate_intervals and not cv.empty:
        forecaster.calibrate(cv)
    step(2)

    forecasts = forecaster.predict(config.horizon)
    n_short = int((routes["route"] == "short").sum())
    if n_short:
        ids = routes.loc[routes["route"] == "short", UNIQUE_ID].tolist()
        warnings.append(
            f"{n_short} series shorter than {config.min_length} periods were forecast with the naive model: "
            + _few(ids)
        )
    failed = forecasts.loc[forecasts["n_failed_members"] > 0, UNIQUE_ID].unique()
    if len(failed):
        warnings.append(
            f"some member models failed on {len(failed)} series; their forecasts combine the members that worked "
            "(naive when none did): " + _few(list(failed))
        )
    step(3)

    trends = _trends(forecaster, forecasts, config)
    step(4)

    q = pd.concat([part for part in quarantine if len(part)], ignore_index=True) if any(len(p) for p in quarantine) else None
    rows_quarantined = 0 if q is None else len(q)
    if rows_quarantined:
        warnings.append(f"{rows_quarantined} rows were quarantined (see the quarantine table for reasons)")
    counts = trends["class"].value_counts()
    metrics: dict[str, float] = {
        "rows_in": float(rows_in),
        "rows_used": float(rows_in - rows_quarantined),
        "rows_quarantined": float(rows_quarantined),
        "n_series": float(len(routes)),
        "horizon": float(config.horizon),
        "season_length": float(forecaster.season_length_),
        "n_gaps_filled": float(reg.n_filled),
        "n_snapped": float(reg.n_snapped),
        "n_short": float(n_short),
        "n_intermittent": float((routes["route"] == "intermittent").sum()),
        "n_member_failures": float(len(failed)),
        **{f"n_{cls}": float(counts.get(cls, 0)) for cls in CLASSES},
    }
    if not backtest_summary.empty:
        metrics["n_backtest_series"] = float(backtest.loc[backtest["model"] == COMBINED, UNIQUE_ID].nunique())
        for _, row in backtest_summary.iterrows():
            suffix = "" if row["model"] == COMBINED else f"_{row['model']}"
            metrics[f"backtest_mase{suffix}"] = float(row["mase"])
            metrics[f"backtest_smape{suffix}"] = float(row["smape"])
            if suffix == "":
                for lv in config.levels:
                    metrics[f"coverage_{lv}"] = float(row[f"coverage_{lv}"])
    scales = getattr(forecaster, "interval_scale_", None)
    if scales is not None:
        for row in scales.itertuples():
            metrics[f"interval_scale_{row.route}_{row.level}"] = float(row.scale)
    metrics = {k: v for k, v in metrics.items() if np.isfinite(v)}
    return StageResult(
        tables={
            "forecasts": forecasts.drop(columns=["n_failed_members"]),
            "trends": trends,
            "backtest": backtest,
        },
        metrics=metrics,
        params={**config.model_dump(), "freq_used": str(forecaster.freq_), "season_length_used": forecaster.season_length_},
        models={"launchlab-forecaster": forecaster},
        quarantine=q,
        summary=_summary(trends, config.top_k),
        warnings=warnings,
    )


def _usable(original: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Rows that keep the series contract, plus the quarantined rest (original columns + reason)."""
    typed, problems = require_series(original, allow=SERIES_RULES)
    quarantine = [problems.set_aside(original)[1]]
    work = typed.loc[problems.ok, [UNIQUE_ID, DS, Y]].assign(**{ROW_KEY: np.flatnonzero(problems.ok)})
    if is_int_ds(work[DS]):
        work[DS] = work[DS].astype(np.int64)
    return work, quarantine


def _rows(original: pd.DataFrame, positions: pd.Series, reason: str | pd.Series) -> pd.DataFrame:
    rows = original.iloc[np.asarray(positions, dtype=np.int64)].copy()
    rows[REASON] = reason.to_numpy() if isinstance(reason, pd.Series) else reason
    return rows


def _backtest(
    forecaster: Forecaster, config: TrendsConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The raw backtest frame, its per-series scores, their per-model means, and skipped ids."""
    levels = config.levels
    empty = pd.DataFrame(columns=[UNIQUE_ID, "model", "mase", "smape", *[f"coverage_{lv}" for lv in levels], "n_points"])
    if config.backtest_windows == 0:
        return pd.DataFrame(), empty, pd.DataFrame(), []
    cv, skipped = forecaster.backtest(config.horizon, config.backtest_windows)
    if cv.empty:
        return cv, empty, pd.DataFrame(), skipped
    if config.select_combination:
        cv = forecaster.select(cv).recombine(cv)
    scores = score(cv, forecaster.train_, forecaster.season_length_, levels)
    return cv, scores, summarise(scores, levels), skipped


def _trends(forecaster: Forecaster, forecasts: pd.DataFrame, config: TrendsConfig) -> pd.DataFrame:
    train = forecaster.train_
    m = forecaster.season_length_
    statistics = _in_chunks(lambda part: trend_statistics(part, m, config.trend_window, seasonal_alpha=config.alpha), train)
    g = train.groupby(UNIQUE_ID, sort=True)
    n = g.size()
    base_len = np.where((m > 1) & (n >= m), m, np.minimum(config.horizon, n))
    position_from_end = g.cumcount(ascending=False)
    in_base = position_from_end < train[UNIQUE_ID].map(pd.Series(base_len, index=n.index))
    base_mean = train.loc[in_base].groupby(UNIQUE_ID)[Y].mean()
    # Growth is judged on the seasonally adjusted forecast: a horizon shorter than a season would
    # otherwise read the season's next peak as growth.
    forecast_mean = forecasts.groupby(UNIQUE_ID)["yhat"].mean()
    season = _in_chunks(lambda part: forecast_season(part, forecasts[forecasts[UNIQUE_ID].isin(part[UNIQUE_ID].unique())], m, config.alpha), train)
    adjusted = forecast_mean - season.reindex(forecast_mean.index).fillna(0.0)
    routes = forecaster.routes_.set_index(UNIQUE_ID)
    with np.errstate(all="ignore"):
        growth = (adjusted - base_mean) / base_mean.abs()
    growth = growth.where(base_mean.abs() > 0, np.where(adjusted.abs() > 0, np.nan, 0.0))
    model = forecasts.groupby(UNIQUE_ID)["model"].first()
    statistics = statistics.join(_in_chunks(lambda part: onset_statistics(part, m), train))
    z = growth_z(adjusted, base_mean, forecast_sd(forecasts, config.levels), counts=statistics["integer"])
    statistics["class"] = classify(
        statistics, alpha=config.alpha, min_change=config.min_change, growth=growth,
        trend_capable=model.map(can_express_trend), growth_z=z, seasonal_strength=config.seasonal_strength,
        emerging_ratio=config.emerging_ratio,
    )
    out = pd.DataFrame(
        {
            "class": statistics["class"],
            "growth": growth,
            "growth_z": z,
            "slope": statistics["slope"],
            "p_value": statistics["p_value"],
            "velocity": statistics["velocity"],
            "change": statistics["change"],
            "acceleration": statistics["acceleration"],
            "p_acceleration": statistics["p_acceleration"],
            "prior_level": statistics["prior_level"],
            "onset_p_value": statistics["onset_p_value"],
            "onset_window": statistics["onset_window"],
            "base_level": statistics["base_level"],
            "recent_level": statistics["recent_level"],
            "last_value": g[Y].last(),
            "base_mean": base_mean,
            "forecast_mean": forecast_mean,
            "model": model,
            "route": routes["route"],
            "n_obs": n,
            "window": statistics["window"],
            "seasonal_strength": statistics["seasonal_strength"],
            "p_seasonal": statistics["p_seasonal"],
        }
    )
    out.index.name = UNIQUE_ID
    return out.reset_index()


def _in_chunks(fn: Callable[[pd.DataFrame], pd.DataFrame], train: pd.DataFrame, max_rows: int = 200_000) -> pd.DataFrame:
    """``fn`` (a per-series computation) on chunks of whole series, concatenated: the same rows,
    with the temporaries of one chunk at a time (the memory peak of a 10,000-series run otherwise)."""
    if len(train) <= max_rows:
        return fn(train)
    ids = train[UNIQUE_ID].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    bounds = [*starts[:: max(1, int(len(starts) * max_rows / len(train)))], len(train)]
    return pd.concat([fn(train.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a])


def _summary(trends: pd.DataFrame, top_k: int) -> dict:
    def top(classes: tuple[str, ...], ascending: bool) -> list[dict]:
        rows = trends[trends["class"].isin(classes)].sort_values(["growth", "change"], ascending=ascending, na_position="last")
        return [
            {
                "unique_id": r[UNIQUE_ID],
                "class": r["class"],
                "growth": None if pd.isna(r["growth"]) else round(float(r["growth"]), 4),
            }
            for _, r in rows.head(top_k).iterrows()
        ]

    return {
        "rising": top((EMERGING, RISING), False),
        "emerging": top((EMERGING,), False),
        "declining": top((DECLINING,), True),
        "counts": {k: int(v) for k, v in trends["class"].value_counts().items()},
    }


def _few(ids: list[str], k: int = 5) -> str:
    return ", ".join(map(str, ids[:k])) + (f" and {len(ids) - k} more" if len(ids) > k else "")


def _stepper(progress: ProgressCallback | None) -> Callable[[int], None]:
    def step(done: int) -> None:
        if progress is not None:
            progress(done, _STEPS)

    return step
