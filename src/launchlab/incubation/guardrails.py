"""Further metrics of an A/B readout, read on the same clean rows: guardrails (a significant
degradation blocks "scale") and secondary metrics (reported, Holm-adjusted as one family)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.incubation import stats as st
from launchlab.incubation.arms import arm_summaries, as_float, compare_all
from launchlab.incubation.config import ABConfig
from launchlab.incubation.experiment import coerce_metric, is01


def other_metric(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, col: str, alpha: float, source: str,
) -> tuple[str, dict[str, st.ArmSummary], dict[str, st.Comparison], int]:
    """Summaries and comparisons of a further unit-level metric on the readout's clean rows."""
    values, words = coerce_metric(data, col, source)
    ok = used & values.notna()
    y = {v: values[ok & (variants == v)].to_numpy(dtype=float) for v in sorted(variants[used].unique())}
    if any(arr.size < 2 for arr in y.values()):
        raise InputError(f"metric {col!r} has fewer than 2 values in some variant", file=source, column=col,
                         fix="check the column or drop it")
    kind = "binary" if words or is01(values.to_numpy()) else "continuous"
    sums = arm_summaries(y, kind)
    return kind, sums, compare_all(sums, control, kind, alpha), int((used & values.isna()).sum())


def read_guardrails(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, cfg: ABConfig, source: str,
) -> tuple[dict[str, Any], dict[str, list[str]], pd.DataFrame]:
    """Readout of each guardrail metric; a variant is blocked when one degrades significantly.

    Guardrails are tested at ``alpha`` without multiplicity correction: for a safety check a
    false alarm is cheaper than a missed harm.
    """
    out: dict[str, Any] = {}
    blocking: dict[str, list[str]] = {}
    rows = []
    for col, direction in cfg.guardrails.items():
        kind, sums, comps, missing = other_metric(data, used, variants, control, col, cfg.alpha, source)
        sign = 1.0 if direction == "higher_is_better" else -1.0
        per: dict[str, Any] = {}
        for v, s in sums.items():
            entry: dict[str, Any] = {"n": int(np.asarray(s.n)), "mean": as_float(s.mean)}
            if v != control:
                c = comps[v]
                p = as_float(c.p_value)
                degraded = bool(p == p and p < cfg.alpha and sign * as_float(c.diff) < 0)
                prob_worse = as_float(st.bayes_normal(c.diff, c.se, -sign)[0])
                entry.update(lift_abs=as_float(c.diff), lift_rel=as_float(c.lift_rel), ci_low=as_float(c.ci_low),
                             ci_high=as_float(c.ci_high), p_value=p, prob_worse=prob_worse, degraded=degraded)
                if degraded:
                    blocking.setdefault(v, []).append(
                        f"guardrail {col} degrades for {v}: {as_float(c.lift_rel):+.1%} relative "
                        f"({1 - cfg.alpha:.0%} CI {as_float(c.ci_low):+.4g} to {as_float(c.ci_high):+.4g}), p = {p:.4f}"
                    )
            per[v] = entry
            rows.append({"guardrail": col, "variant": v, "direction": direction, **entry})
        out[col] = {"direction": direction, "metric_type": kind, "rows_missing": missing, "variants": per}
    table = pd.DataFrame(rows)
    table["degraded"] = table["degraded"].eq(True)
    return out, blocking, table


def read_secondary(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, cfg: ABConfig, source: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Secondary metrics: every variant x metric test, Holm-adjusted as one family."""
    results = {col: other_metric(data, used, variants, control, col, cfg.alpha, source)
               for col in cfg.secondary_metrics}
    keys = [(col, v) for col, (_, _, comps, _) in results.items() for v in comps]
    p_raw = [as_float(results[col][2][v].p_value) for col, v in keys]
    p_adj = dict(zip(keys, st.holm(p_raw) if cfg.correction == "holm" else p_raw, strict=True))
    out: dict[str, Any] = {}
    rows = []
    for col, (kind, sums, comps, missing) in results.items():
        sign = 1.0 if cfg.secondary_metrics[col] == "higher_is_better" else -1.0
        per: dict[str, Any] = {}
        for v, s in sums.items():
            entry: dict[str, Any] = {"n": int(np.asarray(s.n)), "mean": as_float(s.mean)}
            if v != control:
                c = comps[v]
                pa = p_adj[(col, v)]
                entry.update(lift_abs=as_float(c.diff), lift_rel=as_float(c.lift_rel), ci_low=as_float(c.ci_low),
                             ci_high=as_float(c.ci_high), p_value=as_float(c.p_value), p_value_adj=pa,
                             significant=bool(pa == pa and pa < cfg.alpha),
                             prob_beat_control=as_float(st.bayes_normal(c.diff, c.se, sign)[0]))
            per[v] = entry
            rows.append({"metric": col, "variant": v, "direction": cfg.secondary_metrics[col], **entry})
        out[col] = {"direction": cfg.secondary_metrics[col], "metric_type": kind, "rows_missing": missing,
                    "variants": per}
    return out, pd.DataFrame(rows)
