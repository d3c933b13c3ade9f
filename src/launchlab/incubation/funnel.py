"""The AIPL funnel of an A/B readout: per variant, how many exposed units reach each stage, the
step and overall conversion, and each step's lift over the control."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from launchlab.incubation import stats as st
from launchlab.incubation.arms import as_float
from launchlab.incubation.config import ABConfig
from launchlab.incubation.experiment import check_binary, coerce_metric


def read_funnel(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, cfg: ABConfig, source: str,
) -> tuple[dict[str, Any], pd.DataFrame, list[str]]:
    """AIPL funnel per variant: stage counts, step and overall conversion, step lift vs control."""
    names = sorted(variants[used].unique())
    stages = {}
    warnings = []
    for col in cfg.funnel_cols:
        values, _ = coerce_metric(data, col, source)
        check_binary(data, values.to_numpy(), col, source)
        missing = int((used & values.isna()).sum())
        if missing:
            warnings.append(f"funnel stage {col!r}: {missing} used rows have no value and count as not reached")
        stages[col] = values.fillna(0.0).to_numpy(dtype=float)
    reached_prev = np.ones(len(data))
    rows = []
    out: dict[str, Any] = {"stages": ["exposed", *cfg.funnel_cols], "variants": {v: [] for v in names}}
    used_np = used.to_numpy()
    var_np = variants.astype(str).to_numpy()
    for v in names:
        m = used_np & (var_np == v)
        out["variants"][v].append({"stage": "exposed", "n": int(m.sum()), "rate_step": 1.0, "rate_overall": 1.0})
    prev_name = "exposed"
    for col, reached in stages.items():
        inconsistent = int((used_np & (reached > 0) & (reached_prev == 0)).sum())
        if inconsistent:
            warnings.append(f"funnel stage {col!r}: {inconsistent} units reached it without reaching "
                            f"{prev_name!r}; they count as not reached for the step rate")
        step_units = {v: used_np & (var_np == v) & (reached_prev > 0) for v in names}
        sums = {v: st.binary_summary(float((reached[step_units[v]] > 0).sum()), int(step_units[v].sum()))
                for v in names}
        comps = {v: st.compare_proportions(sums[v], sums[control], cfg.alpha) for v in names if v != control}
        for v in names:
            exposed_n = int((used_np & (var_np == v)).sum())
            s = sums[v]
            entry: dict[str, Any] = {
                "stage": col, "n": int(as_float(s.successes)), "rate_step": as_float(s.mean),
                "rate_overall": as_float(s.successes) / exposed_n if exposed_n else None,
            }
            if v != control and as_float(s.n) > 0 and as_float(sums[control].n) > 0:
                c = comps[v]
                entry.update(lift_abs_step=as_float(c.diff), lift_rel_step=as_float(c.lift_rel), ci_low=as_float(c.ci_low),
                             ci_high=as_float(c.ci_high), p_value=as_float(c.p_value))
            out["variants"][v].append(entry)
        reached_prev = reached_prev * (reached > 0)
        prev_name = col
    for v, stage_list in out["variants"].items():
        for entry in stage_list:
            rows.append({"variant": v, **entry})
    table = pd.DataFrame(rows)
    for col in ("lift_abs_step", "lift_rel_step", "ci_low", "ci_high", "p_value"):
        if col not in table.columns:
            table[col] = np.nan
    return out, table, warnings
