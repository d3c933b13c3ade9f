"""Post-launch test and incubation: A/B/n readouts, adoption curves, campaign impact, the
launch decision, and incubation marketing: segment effects, uplift targeting, how many to make."""

from launchlab.incubation.ab import read_out_ab
from launchlab.incubation.bass import BassDiffusion, fit_bass, track_bass
from launchlab.incubation.config import (ABConfig, BassConfig, DemandConfig, DemandOptions, ImpactConfig, PlanConfig,
                                         ProductionConfig, SegmentConfig, SegmentOptions, UpliftConfig, UpliftOptions)
from launchlab.incubation.decision import decide
from launchlab.incubation.impact import estimate_impact
from launchlab.incubation.plan import forecast_demand, plan_production
from launchlab.incubation.segments import estimate_segments
from launchlab.incubation.uplift import UpliftModel, fit_uplift

__all__ = [
    "ABConfig",
    "BassConfig",
    "BassDiffusion",
    "DemandConfig",
    "DemandOptions",
    "ImpactConfig",
    "PlanConfig",
    "ProductionConfig",
    "SegmentConfig",
    "SegmentOptions",
    "UpliftConfig",
    "UpliftOptions",
    "UpliftModel",
    "decide",
    "estimate_impact",
    "estimate_segments",
    "fit_bass",
    "fit_uplift",
    "forecast_demand",
    "plan_production",
    "read_out_ab",
    "track_bass",
]
