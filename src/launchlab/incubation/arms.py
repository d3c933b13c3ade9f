"""Per-arm summaries of one metric and their comparisons with the control: the building blocks
the A/B readout and its further metrics (guardrails, secondary metrics, sequential looks) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from launchlab.incubation import stats as st


def as_float(x: Any) -> float:
    """A numpy or Python number (or 0-d array) as a Python float."""
    return float(np.asarray(x, dtype=float))


def arm_summaries(
    y: dict[str, np.ndarray], kind: str, den: dict[str, np.ndarray] | None = None
) -> dict[str, st.ArmSummary]:
    """Summary of each arm's values ``y`` (and denominators ``den`` for a ratio metric)."""
    if kind == "ratio":
        assert den is not None
        return {v: st.ratio_summary(y[v], den[v]) for v in y}
    if kind == "binary":
        return {v: st.binary_summary(float(y[v].sum()), y[v].size) for v in y}
    return {v: st.summarise(y[v]) for v in y}


def comparator(kind: str) -> Callable[[st.ArmSummary, st.ArmSummary, float], st.Comparison]:
    """The test of a metric kind: two proportions, Welch (also on CUPED values) or the delta method."""
    return {"binary": st.compare_proportions, "continuous": st.compare_welch, "ratio": st.compare_normal,
            "cuped": st.compare_welch}[kind]


def compare_all(
    summaries: dict[str, st.ArmSummary], control: str, kind: str, alpha: float
) -> dict[str, st.Comparison]:
    """Every treatment compared with the control."""
    compare = comparator(kind)
    return {v: compare(s, summaries[control], alpha) for v, s in summaries.items() if v != control}
