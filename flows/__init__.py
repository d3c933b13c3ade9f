"""Prefect flows of launchlab: thin shells over ``launchlab.stages`` and ``launchlab.tracking``."""
