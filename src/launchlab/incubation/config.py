"""Settings of the incubation stage: the A/B readout, the Bass adoption fit, the campaign
impact, segment effects, uplift targeting, the demand forecast and the production plan, each a
pydantic model (validated, rendered as a form by Prefect)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Direction = Literal["higher_is_better", "lower_is_better"]


class ABConfig(BaseModel):
    """How to read an experiment file and what to test.

    Unit-level input has one row per unit with ``variant_col`` and ``metric_col``. Aggregated
    input (``n_col`` set) has rows per variant with the number of units in ``n_col`` and the
    metric *total* in ``metric_col`` (conversions for a binary metric, the sum for a continuous
    one, which also needs ``std_col``, the per-row sample standard deviation). Several rows of
    one variant (e.g. daily counts) are pooled.
    """

    model_config = ConfigDict(extra="forbid")

    variant_col: str = "variant"
    metric_col: str = "converted"
    control: str | None = Field(
        None, description="Control variant; None means 'control' if present, else the first label in sorted order."
    )
    unit_col: str | None = Field(None, description="Randomisation unit, for duplicate and cross-arm checks.")
    metric_type: Literal["auto", "binary", "continuous", "ratio"] = "auto"
    alpha: float = Field(0.05, gt=0, lt=1)
    planned_split: dict[str, float] | None = Field(None, description="Planned share per variant; None means equal.")
    srm_alpha: float = Field(0.001, gt=0, lt=1)
    n_col: str | None = Field(None, description="Aggregated input: column with the number of units per row.")
    std_col: str | None = Field(None, description="Aggregated continuous input: per-row sample standard deviation.")
    higher_is_better: bool = True
    min_lift_rel: float = Field(
        0.0, ge=0,
        description="Smallest relative lift worth scaling; 'stop' when every variant is confidently below it.",
    )
    correction: Literal["holm", "none"] = Field("holm", description="Multiple-comparison correction over variants.")
    denominator_col: str | None = Field(
        None, description="Ratio metric: sum(metric_col) / sum(denominator_col) per arm, delta-method variance."
    )
    covariate_col: str | None = Field(
        None, description="Pre-period covariate for CUPED variance reduction (e.g. pre-period sessions or spend)."
    )
    exposure_col: str | None = Field(
        None, description="Variant the unit was actually served; rows whose exposure disagrees with the assignment "
                          "(or have none) are quarantined."
    )
    guardrails: dict[str, Direction] = Field(
        default_factory=dict, description="Guardrail metric columns and their good direction; a significant "
                                          "degradation blocks 'scale'."
    )
    secondary_metrics: dict[str, Direction] = Field(
        default_factory=dict,
        description="Further metrics to read out (not used for the decision), Holm-adjusted over all their tests.",
    )
    funnel_cols: list[str] = Field(
        default_factory=list,
        description="Ordered 0/1 stage columns after exposure (AIPL: interest, purchase, loyalty).",
    )
    sequential: bool = Field(
        False, description="Always-valid (mSPRT) p-values and intervals, safe under daily peeking; 'significant' then "
                           "uses them."
    )
    date_col: str | None = Field(None, description="Exposure date: with sequential=True, one look per date.")
    sequential_tau2: float | None = Field(
        None, gt=0, description="mSPRT mixing variance; None tunes it to the variance at the last look."
    )
    bayes_draws: int = Field(200_000, ge=1000, description="Monte Carlo draws for Beta posteriors (binary metrics).")
    seed: int = 42

    @field_validator("planned_split")
    @classmethod
    def _positive_split(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (not value or any(not (w > 0) for w in value.values())):
            raise ValueError("planned_split needs a positive share for every variant")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ABConfig:
        if self.metric_type == "ratio" and self.denominator_col is None:
            raise ValueError("metric_type='ratio' needs denominator_col")
        return self


class BassConfig(BaseModel):
    """Options for :func:`fit_bass`."""

    model_config = ConfigDict(extra="forbid")

    cumulative: bool = Field(False, description="y holds cumulative adoptions instead of per-period ones.")
    n_bootstrap: int = Field(200, ge=0, description="Residual-bootstrap refits for the intervals (0 = none).")
    seed: int = 42
    interval: float = Field(0.9, gt=0, lt=1, description="Coverage of the bootstrap intervals.")
    m_max_factor: float = Field(100.0, gt=1, description="Upper bound of m as a multiple of adoptions so far.")
    p_bounds: tuple[float, float] = (1e-6, 1.0)
    q_bounds: tuple[float, float] = (0.0, 3.0)
    fit_periods: int | None = Field(
        None, ge=3, description="Fit on only the first k periods after launch (the rest is kept to check the forecast)."
    )
    horizon: int = Field(12, ge=0, description="Periods forecast beyond the data in tables['bass_fit'].")
    primary_series: str | None = Field(None, description="Series whose model is registered; default the first one.")
    min_points: int = Field(3, ge=3)


class ImpactConfig(BaseModel):
    """Options for :func:`estimate_impact`."""

    model_config = ConfigDict(extra="forbid")

    treated: str = Field(description="unique_id of the series that got the campaign.")
    controls: list[str] | None = Field(None, description="Control series; None means every other series.")
    intervention: str | int | float = Field(description="First ds of the campaign (date or integer period).")
    alpha: float = Field(0.05, gt=0, lt=1)
    ridge: float = Field(0.0, ge=0, description="Ridge penalty on standardised controls (0 = ordinary least squares).")
    min_pre_periods: int = Field(8, ge=3)


class ExperimentColumns(BaseModel):
    """Which columns of a unit-level experiment hold the arm and the outcome."""

    model_config = ConfigDict(extra="forbid")

    variant_col: str = "variant"
    metric_col: str = "converted"
    control: str | None = Field(
        None, description="Control variant; None means 'control' if present, else the first label in sorted order."
    )


class SegmentOptions(BaseModel):
    """What :func:`estimate_segments` analyses, apart from the experiment's columns (a cycle takes
    those from its A/B readout)."""

    model_config = ConfigDict(extra="forbid")

    segment_cols: list[str] = Field(default_factory=list, description="Columns whose levels are the segments.")
    treatments: list[str] | None = Field(None, description="Treatment arms to analyse; None means every arm but control.")
    bands: dict[str, list[float]] = Field(
        default_factory=dict, description="Cut points per numeric column, e.g. {'recency': [0, 3, 6, 12]}."
    )
    n_bands: int = Field(4, ge=2, description="Quantile bands for numeric columns with more than max_levels values.")
    max_levels: int = Field(12, ge=2, description="Numeric columns with more distinct values are banded.")
    min_units: int = Field(30, ge=2, description="Units per arm a level needs; smaller levels are pooled into '(other)'.")
    alpha: float = Field(0.05, gt=0, lt=1)
    correction: Literal["bh", "holm"] = Field(
        "bh", description="Across all segments: Benjamini-Hochberg (false discovery rate) or Holm (family-wise)."
    )


class SegmentConfig(ExperimentColumns, SegmentOptions):
    """Options for :func:`estimate_segments`: the experiment's columns and the segment options."""


class UpliftOptions(BaseModel):
    """What :func:`fit_uplift` models, apart from the experiment's columns (a cycle takes those
    from its A/B readout)."""

    model_config = ConfigDict(extra="forbid")

    covariate_cols: list[str] = Field(
        default_factory=list,
        description="Pre-treatment customer columns the model may use (never outcomes measured after assignment).",
    )
    treatment: str | None = Field(None, description="Treatment arm to model; None: the only one, or the best on average.")
    learner: Literal["t", "x"] = "x"
    n_folds: int = Field(5, ge=2, le=20, description="Cross-fitting folds for the out-of-sample evaluation.")
    target_share: float = Field(0.3, gt=0, le=1, description="The targeting rule: treat the top share of customers.")
    shares: list[float] = Field(default_factory=lambda: [0.1, 0.2, 0.3, 0.5], description="Depths in the table.")
    population: float | None = Field(
        None, gt=0, description="Customers the rule is applied to (default: the experiment's size)."
    )
    alpha: float = Field(0.05, gt=0, lt=1)
    n_bootstrap: int = Field(400, ge=50)
    seed: int = 42


class UpliftConfig(ExperimentColumns, UpliftOptions):
    """Options for :func:`fit_uplift`: the experiment's columns and the uplift options."""


# Split-conformal stretches of the bootstrap's log distances below / above the median, found on
# 200 simulated Bass curves (bench/bench_incubation.py --part calibrate; seeds disjoint from the
# evaluation): 3.797 below, 0.818 above. Calibration only ever widens: simulations are the Bass
# model's own world, real launches bend away from it, so a side the simulations would narrow
# keeps the bootstrap's width (1.0).
SCALE_LOW, SCALE_HIGH = 3.797, 1.0


class DemandOptions(BaseModel):
    """How the demand forecast of the new product is made, apart from how the series is read (a
    cycle takes that from its Bass settings)."""

    model_config = ConfigDict(extra="forbid")

    horizon: int = Field(12, ge=1, description="Periods ahead to forecast cumulative demand over.")
    interval: float = Field(0.9, gt=0, lt=1, description="Coverage of the reported (and calibrated) interval.")
    n_bootstrap: int = Field(400, ge=50, description="Bootstrap replicates of the demand path.")
    scale_low: float = Field(
        SCALE_LOW, gt=0, description="Stretch of the log distance from the median to the lower quantiles (calibration)."
    )
    scale_high: float = Field(
        SCALE_HIGH, gt=0, description="Stretch of the log distance from the median to the upper quantiles (calibration)."
    )
    seed: int = 42


class DemandConfig(DemandOptions):
    """Options for :func:`forecast_demand`."""

    cumulative: bool = Field(False, description="y holds cumulative adoptions instead of per-period ones.")
    fit_periods: int | None = Field(None, ge=3, description="Use only the first k periods after launch.")


class PlanConfig(BaseModel):
    """Economics of the production plan (the newsvendor rule), per unit, in any currency."""

    model_config = ConfigDict(extra="forbid")

    price: float = Field(1.0, gt=0, description="Selling price per unit.")
    unit_cost: float = Field(0.6, ge=0, description="Cost to make one unit.")
    salvage: float = Field(0.0, ge=0, description="Value of an unsold unit at the end of the horizon.")
    service_level: float | None = Field(
        None, gt=0, lt=1, description="Chance of meeting all demand; None: the profit-maximising critical ratio."
    )
    on_hand: float = Field(0.0, ge=0, description="Stock already made; the plan makes the rest.")

    @model_validator(mode="after")
    def _economics(self) -> PlanConfig:
        if not self.salvage <= self.unit_cost < self.price:
            raise ValueError("need salvage <= unit_cost < price, or no quantity is worth making")
        return self


class ProductionConfig(BaseModel):
    """How many to make, in a cycle: the demand forecast over the adoption series and the
    newsvendor's economics."""

    model_config = ConfigDict(extra="forbid")

    demand: DemandOptions = Field(default_factory=DemandOptions)
    economics: PlanConfig | None = Field(
        None, description="Price, unit cost, salvage (and service level, stock on hand) per unit; None: PlanConfig's "
                          "defaults (a 40% margin), reported as assumed."
    )

    def demand_config(self, bass: BassConfig) -> DemandConfig:
        """The demand forecast's settings, reading the adoption series as the Bass fit ``bass`` does."""
        return DemandConfig(**self.demand.model_dump(), cumulative=bass.cumulative, fit_periods=bass.fit_periods)
