"""Candidate statsforecast models, wrapped so one failing series never fails a whole run.

Each candidate runs inside :class:`Guarded`, a statsforecast-compatible model that returns NaN
forecasts when the wrapped model raises (the combination then averages the members that
worked, and the stage reports how many fell back) and that adds prediction intervals to models
without native ones (the Croston family) from the spread of their in-sample residuals.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

# name -> (needs season_length, has native intervals)
KNOWN_MODELS: dict[str, tuple[bool, bool]] = {
    "AutoETS": (True, True),
    "AutoETSDamped": (True, True),
    "AutoARIMA": (True, True),
    "AutoTheta": (True, True),
    "AutoCES": (True, True),
    "DynamicOptimizedTheta": (True, True),
    "OptimizedTheta": (True, True),
    "Theta": (True, True),
    "SeasonalNaive": (True, True),
    "Naive": (False, True),
    "RandomWalkWithDrift": (False, True),
    "HistoricAverage": (False, True),
    "CrostonClassic": (False, False),
    "CrostonOptimized": (False, False),
    "CrostonSBA": (False, False),
    "ADIDA": (False, False),
    "IMAPA": (False, False),
    "TSB": (False, False),
}


LEVEL_MODELS = frozenset(
    {"Naive", "SeasonalNaive", "HistoricAverage", "CrostonClassic", "CrostonOptimized", "CrostonSBA", "ADIDA", "IMAPA", "TSB"}
)
"""Models whose forecast is a level (flat, or a repeated season): they cannot express a trend."""


def expresses_trend(label: str) -> bool:
    """Whether a forecast labelled ``label`` (a model name or ``mean(A,B,…)``) can follow a trend:
    some member is not a level model. A trend test should not be vetoed by a forecast that cannot."""
    members = label.removeprefix("mean(").removesuffix(")").split(",")
    return any(name not in LEVEL_MODELS for name in members)


def build(name: str, season_length: int) -> Any:
    """Instantiate a statsforecast model by name with launchlab's defaults."""
    from statsforecast import models

    seasonal, _ = KNOWN_MODELS[name]
    if name == "AutoETSDamped":
        # Damped trends only: half the model search of AutoETS and, on M3 monthly, more accurate.
        return models.AutoETS(season_length=season_length, damped=True, alias=name)
    if name == "TSB":
        return models.TSB(alpha_d=0.1, alpha_p=0.1)
    if name == "SeasonalNaive":
        return models.SeasonalNaive(season_length=season_length)
    if seasonal:
        return getattr(models, name)(season_length=season_length)
    return getattr(models, name)()


class Guarded:
    """A statsforecast model that never raises: failures become NaN forecasts.

    Only ``forecast`` (fit and predict in one pass, nothing stored) is implemented, which is all
    ``StatsForecast.forecast`` and ``StatsForecast.cross_validation`` use.
    """

    uses_exog = False

    def __init__(self, name: str, season_length: int = 1) -> None:
        self.name = name
        self.season_length = season_length
        self.alias = name

    def __repr__(self) -> str:
        return self.alias

    def new(self) -> Guarded:
        return Guarded(self.name, self.season_length)

    def forecast(
        self,
        y: np.ndarray,
        h: int,
        X: np.ndarray | None = None,
        X_future: np.ndarray | None = None,
        level: list[int] | None = None,
        fitted: bool = False,
    ) -> dict[str, np.ndarray]:
        levels = sorted(level or [])
        y = np.asarray(y, dtype=np.float64)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = self._forecast(y, h, levels)
            if not np.all(np.isfinite(out["mean"])):
                raise FloatingPointError("non-finite forecast")
        except Exception:  # noqa: BLE001 - any model failure means "no forecast from this member"
            out = {"mean": np.full(h, np.nan)}
            for lv in levels:
                out[f"lo-{lv}"] = np.full(h, np.nan)
                out[f"hi-{lv}"] = np.full(h, np.nan)
        ordered = {"mean": out["mean"]}
        for lv in levels:
            ordered[f"lo-{lv}"] = np.asarray(out[f"lo-{lv}"], dtype=np.float64)
            ordered[f"hi-{lv}"] = np.asarray(out[f"hi-{lv}"], dtype=np.float64)
        return ordered

    def _forecast(self, y: np.ndarray, h: int, levels: list[int]) -> dict[str, np.ndarray]:
        if self.name == "Naive":
            return naive(y, h, levels)
        model = build(self.name, self.season_length)
        _, native = KNOWN_MODELS[self.name]
        if native or not levels:
            return model.forecast(y=y, h=h, level=levels or None)
        out = model.forecast(y=y, h=h, fitted=True)
        residuals = y - out["fitted"]
        residuals = residuals[np.isfinite(residuals)]
        sigma = float(np.std(residuals, ddof=1)) if residuals.size > 1 else float(np.std(y))
        # A flat intermittent forecast's uncertainty is dominated by the period-to-period demand
        # noise, which does not grow with the horizon.
        for lv in levels:
            z = stats.norm.ppf(0.5 + lv / 200)
            out[f"lo-{lv}"] = out["mean"] - z * sigma
            out[f"hi-{lv}"] = out["mean"] + z * sigma
        return out


def naive(y: np.ndarray, h: int, levels: list[int]) -> dict[str, np.ndarray]:
    """The random-walk forecast with its textbook intervals (sigma * sqrt(step)).

    Same numbers as statsforecast's ``Naive``, without its per-call overhead: the naive model is
    the safety net run on every series, so its cost matters.
    """
    out = {"mean": np.full(h, y[-1])}
    steps = np.sqrt(np.arange(1, h + 1))
    diffs = np.diff(y)
    sigma = float(np.sqrt(np.mean(diffs**2))) if diffs.size else np.nan
    for lv in levels:
        z = stats.norm.ppf(0.5 + lv / 200)
        out[f"lo-{lv}"] = out["mean"] - z * sigma * steps
        out[f"hi-{lv}"] = out["mean"] + z * sigma * steps
    return out
