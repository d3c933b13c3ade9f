"""Always-valid sequential readout (mSPRT): p-values and confidence sequences that stay valid
however often the experiment is looked at, one look per exposure date."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from launchlab.incubation import stats as st
from launchlab.incubation.arms import as_float, compare_all
from launchlab.incubation.config import ABConfig
from launchlab.incubation.experiment import pool

Look = tuple[str, dict[str, st.ArmSummary]]
"""A look at the experiment: its date and the arms' summaries up to it."""


def read_sequential(
    entries: dict[str, dict[str, Any]], looks: list[tuple[Any, dict[str, st.ArmSummary]]], control: str, kind: str,
    cfg: ABConfig,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Always-valid p-values and confidence intervals (mSPRT, normal mixture) over the looks.

    The p-value is the running minimum of the per-look mSPRT p-values and the interval the
    running intersection of the per-look intervals, so both stay valid however often the
    readout was looked at.
    """
    final = looks[-1][1]
    treatments = [v for v in final if v != control]
    rows = []
    tau2_used: dict[str, float] = {}
    state = {v: {"p": 1.0, "lo": -math.inf, "hi": math.inf} for v in treatments}
    final_comps = compare_all(final, control, kind, cfg.alpha)
    for v in treatments:
        tau2_used[v] = cfg.sequential_tau2 or as_float(st.msprt_tau2(as_float(final_comps[v].se) ** 2, cfg.alpha))
    for look_id, summaries in looks:
        comps = compare_all(summaries, control, kind, cfg.alpha)
        for v in treatments:
            comp = comps[v]
            var = as_float(comp.se) ** 2
            tau2 = tau2_used[v]
            if var > 0 and math.isfinite(var):
                p = as_float(st.msprt_pvalue(comp.diff, var, tau2))
                half = as_float(st.msprt_halfwidth(var, tau2, cfg.alpha))
                d = as_float(comp.diff)
                state[v]["p"] = min(state[v]["p"], p)
                state[v]["lo"] = max(state[v]["lo"], d - half)
                state[v]["hi"] = min(state[v]["hi"], d + half)
            rows.append({
                "look": look_id, "variant": v, "n": int(np.asarray(summaries[v].n)),
                "n_control": int(np.asarray(summaries[control].n)),
                "lift_abs": as_float(comp.diff), "ci_low": as_float(comp.ci_low), "ci_high": as_float(comp.ci_high),
                "p_value": as_float(comp.p_value), "seq_ci_low": state[v]["lo"], "seq_ci_high": state[v]["hi"],
                "seq_p_value": state[v]["p"],
            })
    seq_p = [state[v]["p"] for v in treatments]
    seq_adj = st.holm(seq_p) if cfg.correction == "holm" else seq_p
    for v, pa in zip(treatments, seq_adj):
        e = entries[v]
        e["seq_p_value"] = state[v]["p"]
        e["seq_p_value_adj"] = pa
        e["seq_ci_low"], e["seq_ci_high"] = state[v]["lo"], state[v]["hi"]
        e["fixed_significant"] = e["significant"]
        e["significant"] = bool(pa < cfg.alpha)
    meta = {"method": "mSPRT, normal mixture (always-valid p-value and confidence sequence)",
            "looks": len(looks), "tau2": tau2_used}
    return meta, pd.DataFrame(rows)


def pooled_looks(rows: pd.DataFrame, dates: pd.Series, ok: pd.Series, binary: bool, n_arms: int) -> list[Look]:
    """One look per exposure date from aggregated rows (columns v, n, t): the arms' totals up to
    it, once every arm has at least 2 units."""
    looks = []
    for day in sorted(dates[ok].unique()):
        look_sums = pool(rows[ok & (dates <= day)], binary)
        if len(look_sums) == n_arms and all(as_float(s.n) >= 2 for s in look_sums.values()):
            looks.append((str(pd.Timestamp(day).date()), look_sums))
    return looks


def unit_looks(
    dates: pd.Series, used: pd.Series, summarise: Callable[[pd.Series], dict[str, st.ArmSummary] | None]
) -> list[Look]:
    """One look per exposure date from unit-level rows: ``summarise(rows)`` of the used rows
    exposed up to it (None to skip a look)."""
    looks = []
    for day in sorted(dates[used].unique()):
        look_sums = summarise(used & (dates <= day))
        if look_sums is not None:
            looks.append((str(pd.Timestamp(day).date()), look_sums))
    return looks
