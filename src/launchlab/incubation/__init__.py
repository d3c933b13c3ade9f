"""Post-launch test and incubation: A/B/n readouts, adoption curves, campaign impact and the
launch decision."""

from launchlab.incubation.ab import read_out_ab
from launchlab.incubation.bass import BassDiffusion, fit_bass, track_bass
from launchlab.incubation.config import ABConfig, BassConfig, ImpactConfig
from launchlab.incubation.decision import decide
from launchlab.incubation.impact import estimate_impact

__all__ = [
    "ABConfig",
    "BassConfig",
    "BassDiffusion",
    "ImpactConfig",
    "decide",
    "estimate_impact",
    "fit_bass",
    "read_out_ab",
    "track_bass",
]
