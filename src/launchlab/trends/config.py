"""Typed configuration of the trend stage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

DEFAULT_MODELS = ["AutoETSDamped", "DynamicOptimizedTheta"]
DEFAULT_INTERMITTENT_MODELS = ["ADIDA", "IMAPA", "TSB"]
# Tried by the backtest in both routes. The Croston family (and ADIDA/IMAPA's temporal
# aggregation) are level models for noisy low-volume demand, where a fitted trend is mostly noise:
# on series with few zeros they act as (bias-corrected, multi-level) simple exponential smoothing.
DEFAULT_CANDIDATES = ["HistoricAverage", "CrostonClassic", "CrostonSBA", "ADIDA", "IMAPA", "TSB"]


class TrendsConfig(BaseModel):
    """How to forecast series and classify their trends.

    ``freq`` and ``season_length`` are inferred from ``ds`` when left ``None`` (weekly → 52,
    monthly → 12, quarterly → 4, daily → 7, yearly and integer periods → 1). ``fill`` says what a
    missing period inside a series becomes: ``interpolate`` (linear, the default: a gap in a
    supplied series is missing data), ``zero`` (counts: nothing happened) or ``ffill``.
    """

    horizon: int = Field(8, ge=1, le=1000, description="Periods to forecast.")
    freq: str | None = Field(None, description="Pandas offset alias such as 'W-MON' or 'MS'; None infers it.")
    season_length: int | None = Field(None, ge=1, description="Periods per season; None derives it from freq.")
    levels: list[int] = Field(default_factory=lambda: [80, 95], description="Prediction-interval levels in percent.")
    seed: int = 42
    models: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MODELS),
        description="statsforecast models combined (mean) for regular series.",
    )
    intermittent_models: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INTERMITTENT_MODELS),
        description="statsforecast models combined for intermittent series (many zero periods).",
    )
    candidates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATES),
        description="Extra models the backtest tries in both routes when selecting combinations.",
    )
    select_combination: bool = Field(
        True, description="Per route, keep the backtest's best combination of up to max_members pool models."
    )
    max_members: int = Field(3, ge=1, le=5)
    min_select_series: int = Field(
        30, ge=1, description="A route's default combination is only replaced when it has this many backtested series."
    )
    select_alpha: float = Field(
        0.05, gt=0.0, lt=1.0, description="…and only by a subset that beats the default's MASE significantly at this level (paired t-test over series, Bonferroni over the subsets tried) and in every backtest window."
    )
    intermittent_threshold: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of zero periods from which a non-negative series counts as intermittent."
    )
    min_length: int = Field(
        10, ge=2, description="Series (current regimes) shorter than this are forecast with the naive model (and a warning)."
    )
    regime_zeros: int | None = Field(
        None, ge=2, description="A run of this many zero periods ends a regime: a series non-zero since is fitted and routed on what follows it (a new, growing series, not intermittent demand); None: half a season, at least min_length."
    )
    fit_seasons: float | None = Field(
        8, gt=0, description="Fit the models on at most the last this many seasons (at least min_fit periods) of each series, in the forecast and at every backtest origin; None: the whole history (or current regime)."
    )
    min_fit: int = Field(60, ge=4, description="Fewest periods a fit window may hold.")
    fill: Literal["interpolate", "zero", "ffill"] = "interpolate"
    backtest_windows: int = Field(2, ge=0, le=20, description="Rolling-origin backtest windows; 0 skips the backtest.")
    backtest_max_series: int | None = Field(
        300, ge=30, description="Series per route the backtest runs on: a seeded random sample when a route has more; None: all."
    )
    calibrate_intervals: bool = Field(
        True, description="Rescale interval widths so they would have held their level in the backtest."
    )
    trend_window: int | None = Field(
        None, ge=4, description="Recent periods the trend test looks at; None: 1.5 seasons up to monthly (18), half a season beyond (weekly 26), at least 8."
    )
    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="Significance level of the trend test.")
    min_change: float = Field(
        0.1, ge=0.0, description="Smallest relative change over the trend window that counts as rising or declining."
    )
    seasonal_strength: float = Field(
        0.6, ge=0.0, le=1.0, description="Seasonal strength from which a trendless series is classed seasonal."
    )
    emerging_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="A rising series whose earlier level is at most this share of its recent level is emerging."
    )
    top_k: int = Field(5, ge=1, description="Series listed per class in the summary.")
    n_jobs: int = Field(
        -1, description="Processes statsforecast uses (-1: all cores; routes of fewer than 50 series run in-process). Results are identical for any value."
    )

    @field_validator("levels")
    @classmethod
    def _levels_in_range(cls, levels: list[int]) -> list[int]:
        if not levels or any(not 0 < level < 100 for level in levels):
            raise ValueError("levels must be a non-empty list of integers between 1 and 99")
        return sorted(set(levels))

    @field_validator("models", "intermittent_models", "candidates")
    @classmethod
    def _known_models(cls, names: list[str], info: ValidationInfo) -> list[str]:
        from launchlab.trends.models import KNOWN_MODELS

        unknown = [name for name in names if name not in KNOWN_MODELS]
        if unknown:
            raise ValueError(f"{info.field_name} must name models from {sorted(KNOWN_MODELS)}; unknown: {unknown}")
        if not names and info.field_name != "candidates":
            raise ValueError(f"{info.field_name} must name at least one model")
        return list(dict.fromkeys(names))
