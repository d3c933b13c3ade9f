"""Always-valid sequential readout (mSPRT): p-values and confidence sequences that stay valid
however often the experiment is looked at, one look per exposure date."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from launchlab.incubation import stats as st
from launchlab.incubation.arms import as_float, compare_all
from launchlab.incubation.config import ABConfig


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
