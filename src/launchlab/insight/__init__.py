"""Demand insight: needs customers talk about, their sentiment and representative quotes.

``discover_needs`` is the stage function; ``NeedModel`` and ``SentimentHead`` are the fitted
scikit-learn estimators it returns (registered as ``launchlab-needs`` and ``launchlab-sentiment``).
"""

from launchlab.insight.config import InsightConfig
from launchlab.insight.needs import NeedModel
from launchlab.insight.sentiment import SentimentHead
from launchlab.insight.stage import discover_needs

__all__ = ["InsightConfig", "NeedModel", "SentimentHead", "discover_needs"]
