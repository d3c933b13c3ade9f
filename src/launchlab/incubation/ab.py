"""A/B/n readout of a launch experiment: per-variant lift with intervals, SRM, CUPED, ratio
metrics, Bayesian summaries, and the A/B verdict; guardrails and secondary metrics
(:mod:`.guardrails`), the funnel (:mod:`.funnel`) and always-valid sequential intervals
(:mod:`.sequential`) are read on the same clean rows (:mod:`.experiment`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.incubation import stats as st
from launchlab.incubation.arms import arm_summaries, as_float, compare_all
from launchlab.incubation.config import ABConfig
from launchlab.incubation.decision import ab_verdict
from launchlab.incubation.experiment import (
    clean_aggregated,
    clean_unit_level,
    numeric_column,
    pool,
    require_experiment,
    variant_labels,
)
from launchlab.incubation.funnel import read_funnel
from launchlab.incubation.guardrails import read_guardrails, read_secondary
from launchlab.incubation.sequential import Look, pooled_looks, read_sequential, unit_looks
from launchlab.jsonable import metric_key, to_jsonable
from launchlab.results import StageResult
from launchlab.schemas import REASON

__all__ = ["ABConfig", "read_out_ab"]


def _choose_control(variants: list[str], cfg: ABConfig, variant_col: str, source: str) -> tuple[str, str]:
    if cfg.control is not None:
        if cfg.control not in variants:
            raise InputError(
                f"control variant {cfg.control!r} is not among the variants {variants}",
                file=source,
                column=variant_col,
                fix="pass control= with one of these labels",
            )
        return cfg.control, "given in the config"
    if "control" in variants:
        return "control", "the variant labelled 'control'"
    return variants[0], "first variant in sorted order (no 'control' label; set control= to choose)"


def _planned_shares(variants: list[str], cfg: ABConfig, variant_col: str, source: str) -> dict[str, float]:
    if cfg.planned_split is None:
        return {v: 1.0 / len(variants) for v in variants}
    split = {str(k): float(v) for k, v in cfg.planned_split.items()}
    unknown = sorted(set(variants) - set(split))
    if unknown:
        raise InputError(
            f"variants {unknown} have no planned share (planned_split has {sorted(split)})",
            file=source,
            column=variant_col,
            fix="give planned_split a share for every variant",
        )
    empty = sorted(set(split) - set(variants))
    if empty:
        raise InputError(
            f"planned variants {empty} have no usable rows",
            file=source,
            column=variant_col,
            fix="check the variant labels, or drop those arms from planned_split",
        )
    total = sum(split[v] for v in variants)
    return {v: split[v] / total for v in variants}


def _entries(
    summaries: dict[str, st.ArmSummary], comps: dict[str, st.Comparison], control: str, cfg: ABConfig,
) -> dict[str, dict[str, Any]]:
    treatments = [v for v in summaries if v != control]
    p_raw = [as_float(comps[v].p_value) for v in treatments]
    p_adj = st.holm(p_raw) if cfg.correction == "holm" else p_raw
    out: dict[str, dict[str, Any]] = {}
    for v, s in summaries.items():
        var = as_float(s.var)
        entry: dict[str, Any] = {
            "n": int(np.asarray(s.n)), "mean": as_float(s.mean), "std": math.sqrt(var) if var == var and var >= 0 else None,
            "is_control": v == control,
            "lift_abs": None, "lift_rel": None, "ci_low": None, "ci_high": None,
            "lift_rel_ci_low": None, "lift_rel_ci_high": None,
            "p_value": None, "p_value_adj": None, "significant": False,
        }
        if v != control:
            c = comps[v]
            pa = p_adj[treatments.index(v)]
            entry.update(
                lift_abs=as_float(c.diff), lift_rel=as_float(c.lift_rel), ci_low=as_float(c.ci_low), ci_high=as_float(c.ci_high),
                lift_rel_ci_low=as_float(c.lift_rel_ci_low), lift_rel_ci_high=as_float(c.lift_rel_ci_high),
                p_value=as_float(c.p_value), p_value_adj=pa, significant=bool(pa == pa and pa < cfg.alpha),
            )
        out[v] = entry
    return out


def _bayes(
    entries: dict[str, dict[str, Any]], summaries: dict[str, st.ArmSummary], comps: dict[str, st.Comparison],
    control: str, kind: str, cfg: ABConfig,
) -> str:
    """Adds ``prob_beat_control`` and ``expected_loss`` to each treatment; returns the method."""
    sign = 1.0 if cfg.higher_is_better else -1.0
    method = "Beta(1,1) posteriors, Monte Carlo" if kind == "binary" else "flat prior, normal posterior"
    c = summaries[control]
    for i, (v, comp) in enumerate(comps.items()):
        s = summaries[v]
        if kind == "binary":
            prob, loss = st.bayes_beta(as_float(s.successes), as_float(s.n), as_float(c.successes), as_float(c.n), sign=sign,
                                       draws=cfg.bayes_draws, seed=cfg.seed + i)
        else:
            prob, loss = (as_float(x) for x in st.bayes_normal(comp.diff, comp.se, sign))
        entries[v]["prob_beat_control"] = prob
        entries[v]["expected_loss"] = loss
    return method


def read_out_ab(data: pd.DataFrame, *, config: ABConfig | None = None, source: str = "<data>") -> StageResult:
    """Read out an A/B/n launch experiment against its control.

    Unit-level rows are checked first: rows with a missing variant, unit id, metric value,
    denominator, covariate or date, rows whose logged exposure disagrees with the assignment,
    units seen in more than one variant (all their rows) and repeated units within a variant
    (all but the first row) are quarantined with the reason, and the readout is computed on the
    clean rows. Binary metrics (auto-detected from 0/1 or TRUE/FALSE values) use the
    two-proportion z-test (pooled p-value, unpooled Wald interval); continuous metrics use
    Welch's t-test and interval; ratio metrics (``denominator_col``) the delta method. With
    ``covariate_col`` the metric is CUPED-adjusted (``readout["cuped"]`` reports the variance
    reduction and the unadjusted numbers). Intervals are on the absolute lift ``mean_variant -
    mean_control``; the relative lift has a delta-method interval. With several treatment arms
    the p-values are Holm-adjusted (``p_value_adj``) and ``significant`` uses the adjusted value
    (or, with ``sequential=True``, the always-valid mSPRT p-value). Each treatment also gets the
    Bayesian probability to beat control and expected loss. Arm sizes are tested against the
    planned split (chi-square; alarm below ``srm_alpha``). Guardrail metrics that degrade
    significantly block "scale"; ``funnel_cols`` add an AIPL funnel.

    The control's own entry has ``lift_*``, ``ci_*`` and ``p_value*`` set to null and
    ``significant`` false.

    Returns a ``StageResult`` with ``artifacts["readout.json"]``, ``tables["readout"]`` (one row
    per variant; plus ``guardrails``, ``funnel``, ``sequential`` when asked), ``metrics``
    (``rows_in``, ``rows_used``, ``rows_quarantined``, ``srm_p_value``, ``srm_alarm`` and per
    variant ``n_<v>``, ``mean_<v>``, ``lift_abs_<v>``, ``lift_rel_<v>``, ``p_value_<v>``,
    ``prob_beat_control_<v>``; ``cuped_variance_reduction``) and the quarantined rows.

    Raises ``InputError`` for a missing column, a single variant, an empty arm, non-binary
    values in a binary metric, text in a numeric metric, and negative or impossible counts.
    """
    cfg = config or ABConfig()
    data = require_experiment(data, cfg, source)
    arms = _aggregated_arms(data, cfg, source) if cfg.n_col is not None else _unit_arms(data, cfg, source)
    names, control, control_rule = _arms_and_control(data, arms, cfg, source)
    shares = _planned_shares(names, cfg, cfg.variant_col, source)
    srm_p = st.srm_test(np.array([as_float(arms.summaries[v].n) for v in names]), np.array([shares[v] for v in names]))
    variants_out, comps, extras = _compare(arms, names, control, cfg)
    bayes_method = _bayes(variants_out, arms.summaries, comps, control, "binary" if arms.test_kind == "binary" else "normal",
                          cfg)
    tables: dict[str, pd.DataFrame] = {}
    if cfg.sequential:
        extras["sequential"], tables["sequential"] = read_sequential(
            variants_out, arms.looks or [("final", arms.summaries)], control, arms.test_kind, cfg)
    more, blocking, more_tables, warnings = _further_metrics(data, arms, control, cfg, source)
    extras.update(more)
    tables.update(more_tables)

    quarantine = data[arms.reasons.notna()].copy()
    quarantine[REASON] = arms.reasons[arms.reasons.notna()].astype(str)
    readout = _readout(cfg, arms, variants_out, control, control_rule, shares, srm_p, bayes_method, quarantine, extras,
                       blocking)
    if control_rule.startswith("first"):
        warnings.insert(0, f"control not given: using {control!r}, the {control_rule}")
    if len(quarantine):
        warnings.append(
            f"{len(quarantine)} of {len(data)} rows quarantined: "
            + "; ".join(f"{r} ({k})" for r, k in readout["quarantine_reasons"].items())
        )
    decision, reasons, best = ab_verdict(readout)
    readout["decision"], readout["reasons"] = decision, reasons
    return StageResult(
        tables={"readout": _readout_table(variants_out), **tables},
        metrics=_metrics(readout, variants_out, control),
        params={
            "variant_col": cfg.variant_col, "metric_col": cfg.metric_col, "control": control,
            "unit_col": cfg.unit_col or "", "metric_type": arms.kind, "alpha": cfg.alpha,
            "srm_alpha": cfg.srm_alpha, "aggregated": cfg.n_col is not None, "correction": readout["correction"],
            "covariate_col": cfg.covariate_col or "", "sequential": cfg.sequential,
            "guardrails": ",".join(cfg.guardrails), "funnel_cols": ",".join(cfg.funnel_cols),
            "secondary_metrics": ",".join(cfg.secondary_metrics),
        },
        quarantine=quarantine.reset_index(drop=True),
        artifacts={"readout.json": to_jsonable(readout)},
        summary=to_jsonable({
            "decision": decision,
            "reasons": reasons,
            "metric": cfg.metric_col,
            "control": control,
            "best_variant": best,
            "lift_rel": variants_out[best]["lift_rel"] if best else None,
            "srm_alarm": readout["srm_alarm"],
        }),
        warnings=warnings,
    )


@dataclass
class _Arms:
    """The experiment's usable rows as per-arm summaries of the metric.

    ``reasons``: why each row was set aside (NA where it is used); ``summaries``: what is tested
    (CUPED-adjusted when a covariate is given, then ``raw_summaries`` are the unadjusted ones);
    ``kind``: binary, continuous or ratio, ``test_kind`` the same or ``cuped``; ``looks``: the
    summaries at each exposure date, for the sequential readout; ``variants``: the variant of
    each row (unit-level data only)."""

    reasons: pd.Series
    summaries: dict[str, st.ArmSummary]
    kind: str
    test_kind: str
    looks: list[Look] = field(default_factory=list)
    variants: pd.Series | None = None
    cuped: dict[str, Any] | None = None
    raw_summaries: dict[str, st.ArmSummary] | None = None


def _aggregated_arms(data: pd.DataFrame, cfg: ABConfig, source: str) -> _Arms:
    """Arms from rows of counts per variant (pooled over rows, e.g. days)."""
    reasons, agg_rows, summaries, binary = clean_aggregated(data, cfg, source)
    kind = "binary" if binary else "continuous"
    looks: list[Look] = []
    if cfg.sequential and cfg.date_col is not None:
        dates = pd.to_datetime(data[cfg.date_col], errors="coerce").dt.normalize()
        reasons[reasons.isna() & dates.isna()] = f"missing or unreadable date in column {cfg.date_col!r}"
        ok_rows = reasons.isna()
        summaries = pool(agg_rows[ok_rows], binary)
        looks = pooled_looks(agg_rows, dates, ok_rows, binary, len(summaries))
    return _Arms(reasons, summaries, kind, kind, looks)


def _unit_arms(data: pd.DataFrame, cfg: ABConfig, source: str) -> _Arms:
    """Arms from one row per unit: the rows' checks, the metric per arm (a ratio of sums with a
    denominator), CUPED with a covariate, and one look per exposure date when sequential."""
    reasons, variants, metric, kind = clean_unit_level(data, cfg, source)
    used = reasons.isna()
    names_used = sorted(variants[used].astype(str).unique())

    def per_arm(values: pd.Series, rows: pd.Series) -> dict[str, np.ndarray]:
        return {v: values[rows & (variants == v)].to_numpy(dtype=float) for v in names_used}

    y = per_arm(metric, used)
    den_all = den = None
    if kind == "ratio":
        den_all = numeric_column(data, cfg.denominator_col, source)  # type: ignore[arg-type]
        den = per_arm(den_all, used)
        zero = [v for v in names_used if den[v].sum() <= 0]
        if zero:
            raise InputError(f"the denominator sums to 0 in variant(s) {zero}", file=source,
                             column=cfg.denominator_col, fix="check the denominator column")
    arms = _Arms(reasons, arm_summaries(y, kind, den), kind, kind, variants=variants)
    adjust = None
    if cfg.covariate_col is not None:
        adjust = _cuped(arms, data, y, per_arm, used, cfg, source)

    if cfg.sequential and cfg.date_col is not None:
        def summarise(upto: pd.Series) -> dict[str, st.ArmSummary] | None:
            yy = per_arm(metric, upto)
            if any(arr.size < 2 for arr in yy.values()):
                return None
            if adjust is not None:
                # theta from all the data: it is estimated within arms, so it carries no information on the lift.
                return {v: st.summarise(a) for v, a in adjust(yy, upto).items()}
            return arm_summaries(yy, kind, per_arm(den_all, upto) if kind == "ratio" else None)

        dates = pd.to_datetime(data[cfg.date_col], errors="coerce").dt.normalize()
        arms.looks = unit_looks(dates, used, summarise)
    return arms


def _cuped(arms: _Arms, data: pd.DataFrame, y: dict[str, np.ndarray], per_arm: Callable, used: pd.Series, cfg: ABConfig,
           source: str) -> Callable[[dict[str, np.ndarray], pd.Series], dict[str, np.ndarray]]:
    """Adjust the arms for the pre-period covariate (CUPED); returns the adjustment, for the looks."""
    if arms.kind == "ratio":
        raise InputError("CUPED is not supported for ratio metrics", file=source, column=cfg.covariate_col,
                         fix="drop covariate_col or use a per-unit metric")
    names_used = list(y)
    x_all = numeric_column(data, cfg.covariate_col, source)  # type: ignore[arg-type]
    xs = per_arm(x_all, used)
    theta = as_float(st.cuped_theta([y[v] for v in names_used], [xs[v] for v in names_used]))
    x_mean = float(x_all[used].mean())

    def adjust(values: dict[str, np.ndarray], rows: pd.Series) -> dict[str, np.ndarray]:
        x = per_arm(x_all, rows)
        return {v: values[v] - theta * (x[v] - x_mean) for v in names_used}

    cuped_sums = {v: st.summarise(a) for v, a in adjust(y, used).items()}
    var_raw = sum(as_float(st.summarise(y[v]).var) * (y[v].size - 1) for v in names_used)
    var_adj = sum(as_float(cuped_sums[v].var) * (y[v].size - 1) for v in names_used)
    reduction = 1 - var_adj / var_raw if var_raw > 0 else 0.0
    arms.cuped = {"covariate": cfg.covariate_col, "theta": theta, "variance_reduction": reduction}
    arms.raw_summaries, arms.summaries, arms.test_kind = arms.summaries, cuped_sums, "cuped"
    return adjust


def _arms_and_control(data: pd.DataFrame, arms: _Arms, cfg: ABConfig, source: str) -> tuple[list[str], str, str]:
    """The arms read out (every variant of the file must keep two usable units) and the control."""
    raw_labels = variant_labels(data[cfg.variant_col]).dropna().unique()
    all_labels = sorted(str(v) for v in raw_labels)
    empty = [v for v in all_labels if v not in arms.summaries]
    if empty:
        raise InputError(
            f"variant(s) {empty} have no usable rows after the data checks",
            file=source,
            column=cfg.variant_col,
            fix="see the quarantine file for why their rows were set aside",
        )
    names = sorted(arms.summaries)
    control, control_rule = _choose_control(names, cfg, cfg.variant_col, source)
    small = [v for v in names if int(np.asarray(arms.summaries[v].n)) < 2]
    if small:
        raise InputError(
            f"variant(s) {small} have fewer than 2 usable units",
            file=source,
            column=cfg.variant_col,
            fix="collect more data before reading out the test",
        )
    return names, control, control_rule


def _compare(
    arms: _Arms, names: list[str], control: str, cfg: ABConfig
) -> tuple[dict[str, dict[str, Any]], dict[str, st.Comparison], dict[str, Any]]:
    """Each variant's entry (lift, interval, p-values), the comparisons behind them and the CUPED
    report (unadjusted figures)."""
    comps = compare_all(arms.summaries, control, arms.test_kind, cfg.alpha)
    variants_out = _entries(arms.summaries, comps, control, cfg)
    extras: dict[str, Any] = {}
    if arms.cuped is not None and arms.raw_summaries is not None:
        extras["cuped"] = arms.cuped
        raw_comps = compare_all(arms.raw_summaries, control, arms.kind, cfg.alpha)
        raw_entries = _entries(arms.raw_summaries, raw_comps, control, cfg)
        extras["cuped"]["unadjusted"] = {
            v: {k: e[k] for k in ("mean", "std", "lift_abs", "lift_rel", "ci_low", "ci_high", "p_value")}
            for v, e in raw_entries.items()
        }
        for v in names:
            variants_out[v]["mean"] = raw_entries[v]["mean"]
            variants_out[v]["mean_adjusted"] = as_float(arms.summaries[v].mean)
            variants_out[v]["std"] = raw_entries[v]["std"]
        ci_raw = [raw_entries[v]["ci_high"] - raw_entries[v]["ci_low"] for v in names if v != control]
        ci_adj = [variants_out[v]["ci_high"] - variants_out[v]["ci_low"] for v in names if v != control]
        extras["cuped"]["ci_width_ratio"] = float(np.mean(np.array(ci_adj) / np.array(ci_raw)))
    return variants_out, comps, extras


def _further_metrics(
    data: pd.DataFrame, arms: _Arms, control: str, cfg: ABConfig, source: str
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, pd.DataFrame], list[str]]:
    """Guardrails, secondary metrics and the funnel, read on the same usable rows (unit-level
    data only)."""
    extras: dict[str, Any] = {}
    blocking: dict[str, list[str]] = {}
    tables: dict[str, pd.DataFrame] = {}
    warnings: list[str] = []
    if arms.variants is None:
        return extras, blocking, tables, warnings
    used, variants = arms.reasons.isna(), arms.variants
    if cfg.guardrails:
        extras["guardrails"], blocking, tables["guardrails"] = read_guardrails(data, used, variants, control, cfg, source)
    if cfg.secondary_metrics:
        extras["secondary"], tables["secondary"] = read_secondary(data, used, variants, control, cfg, source)
    if cfg.funnel_cols:
        extras["funnel"], tables["funnel"], funnel_warn = read_funnel(data, used, variants, control, cfg, source)
        warnings.extend(funnel_warn)
    return extras, blocking, tables, warnings


_TEST_LABEL = {"binary": "two-proportion z-test", "continuous": "Welch t-test",
               "ratio": "delta-method z-test (ratio of sums)", "cuped": "Welch t-test on CUPED-adjusted values"}


def _readout(
    cfg: ABConfig, arms: _Arms, variants_out: dict[str, dict[str, Any]], control: str, control_rule: str,
    shares: dict[str, float], srm_p: float, bayes_method: str, quarantine: pd.DataFrame, extras: dict[str, Any],
    blocking: dict[str, list[str]],
) -> dict[str, Any]:
    """The readout document (``readout.json``); its decision is filled in by the caller."""
    rows_in, n_quarantined = len(arms.reasons), len(quarantine)
    treatments = [v for v in variants_out if v != control]
    readout: dict[str, Any] = {
        "metric": cfg.metric_col,
        "metric_type": arms.kind,
        "test": _TEST_LABEL[arms.test_kind],
        "control": control,
        "control_rule": control_rule,
        "alpha": cfg.alpha,
        "correction": cfg.correction if len(treatments) > 1 else "none",
        "higher_is_better": cfg.higher_is_better,
        "min_lift_rel": cfg.min_lift_rel,
        "variants": variants_out,
        "planned_split": shares,
        "srm_p_value": srm_p,
        "srm_alpha": cfg.srm_alpha,
        "srm_alarm": bool(srm_p < cfg.srm_alpha),
        "bayes_method": bayes_method,
        "decision": None,
        "reasons": [],
        "rows_in": rows_in,
        "rows_used": rows_in - n_quarantined,
        "rows_quarantined": n_quarantined,
        "quarantine_reasons": quarantine[REASON].value_counts().to_dict() if n_quarantined else {},
        **extras,
    }
    if arms.kind == "ratio":
        readout["denominator"] = cfg.denominator_col
    if blocking:
        readout["guardrails_blocking"] = blocking
    if cfg.n_col is not None:
        readout["units"] = int(sum(as_float(s.n) for s in arms.summaries.values()))
    return readout


def _readout_table(variants_out: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per variant, numbers as floats."""
    table = pd.DataFrame([{"variant": v, **e} for v, e in variants_out.items()])
    for col in table.columns:
        if col not in ("variant", "n", "is_control", "significant", "fixed_significant"):
            table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    return table


def _metrics(readout: dict[str, Any], variants_out: dict[str, dict[str, Any]], control: str) -> dict[str, float]:
    """Row accounting, the sample-ratio check and per-variant figures, for MLflow."""
    srm_p = readout["srm_p_value"]
    metrics: dict[str, float] = {
        "rows_in": float(readout["rows_in"]),
        "rows_used": float(readout["rows_used"]),
        "rows_quarantined": float(readout["rows_quarantined"]),
        "srm_p_value": srm_p,
        "srm_alarm": float(srm_p < readout["srm_alpha"]),
    }
    if "cuped" in readout:
        metrics["cuped_variance_reduction"] = float(readout["cuped"]["variance_reduction"])
    for v, e in variants_out.items():
        k = metric_key(v)
        metrics[f"n_{k}"] = float(e["n"])
        metrics[f"mean_{k}"] = float(e["mean"])
        if v != control:
            for field_name in ("lift_abs", "lift_rel", "p_value", "prob_beat_control", "seq_p_value"):
                if e.get(field_name) is not None and math.isfinite(e[field_name]):
                    metrics[f"{field_name}_{k}"] = float(e[field_name])
    return metrics
