"""Trend stage: need series from reviews, backtested statsforecast forecasts, trend classes.

``need_series`` turns per-review need assignments into mention counts per period;
``forecast_trends`` forecasts any long ``unique_id, ds, y`` frame with intervals, backtests the
forecaster on rolling origins and classes each series rising / stable / declining.
"""

from launchlab.trends.config import TrendsConfig
from launchlab.trends.forecaster import Forecaster
from launchlab.trends.series import need_series
from launchlab.trends.stage import forecast_trends

__all__ = ["Forecaster", "TrendsConfig", "forecast_trends", "need_series"]
