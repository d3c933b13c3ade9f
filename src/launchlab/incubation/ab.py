"""A/B/n readout of a launch experiment: data checks, per-variant lift with intervals, SRM,
CUPED, ratio metrics, Bayesian summaries, always-valid sequential intervals, guardrails, funnel."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from launchlab.errors import InputError
from launchlab.incubation import stats as st
from launchlab.results import StageResult
from launchlab.schemas import REASON, SOURCE_ROW

_TRUE_WORDS = frozenset({"true", "t", "yes", "y"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n"})
_BLANK_WORDS = frozenset({"", "nan", "na", "n/a", "null", "none"})

Direction = Literal["higher_is_better", "lower_is_better"]


class ABConfig(BaseModel):
    """How to read an experiment file and what to test.

    Unit-level input has one row per unit with ``variant_col`` and ``metric_col``. Aggregated
    input (``n_col`` set) has rows per variant with the number of units in ``n_col`` and the
    metric *total* in ``metric_col`` (conversions for a binary metric, the sum for a continuous
    one, which also needs ``std_col``, the per-row sample standard deviation). Several rows of
    one variant (e.g. daily counts) are pooled.
    """

    model_config = ConfigDict(extra="forbid")

    variant_col: str = "variant"
    metric_col: str = "converted"
    control: str | None = Field(
        None, description="Control variant; None means 'control' if present, else the first label in sorted order."
    )
    unit_col: str | None = Field(None, description="Randomisation unit, for duplicate and cross-arm checks.")
    metric_type: Literal["auto", "binary", "continuous", "ratio"] = "auto"
    alpha: float = Field(0.05, gt=0, lt=1)
    planned_split: dict[str, float] | None = Field(None, description="Planned share per variant; None means equal.")
    srm_alpha: float = Field(0.001, gt=0, lt=1)
    n_col: str | None = Field(None, description="Aggregated input: column with the number of units per row.")
    std_col: str | None = Field(None, description="Aggregated continuous input: per-row sample standard deviation.")
    higher_is_better: bool = True
    min_lift_rel: float = Field(
        0.0, ge=0,
        description="Smallest relative lift worth scaling; 'stop' when every variant is confidently below it.",
    )
    correction: Literal["holm", "none"] = Field("holm", description="Multiple-comparison correction over variants.")
    denominator_col: str | None = Field(
        None, description="Ratio metric: sum(metric_col) / sum(denominator_col) per arm, delta-method variance."
    )
    covariate_col: str | None = Field(
        None, description="Pre-period covariate for CUPED variance reduction (e.g. pre-period sessions or spend)."
    )
    exposure_col: str | None = Field(
        None, description="Variant the unit was actually served; rows whose exposure disagrees with the assignment "
                          "(or have none) are quarantined."
    )
    guardrails: dict[str, Direction] = Field(
        default_factory=dict, description="Guardrail metric columns and their good direction; a significant "
                                          "degradation blocks 'scale'."
    )
    secondary_metrics: dict[str, Direction] = Field(
        default_factory=dict,
        description="Further metrics to read out (not used for the decision), Holm-adjusted over all their tests.",
    )
    funnel_cols: list[str] = Field(
        default_factory=list,
        description="Ordered 0/1 stage columns after exposure (AIPL: interest, purchase, loyalty).",
    )
    sequential: bool = Field(
        False, description="Always-valid (mSPRT) p-values and intervals, safe under daily peeking; 'significant' then "
                           "uses them."
    )
    date_col: str | None = Field(None, description="Exposure date: with sequential=True, one look per date.")
    sequential_tau2: float | None = Field(
        None, gt=0, description="mSPRT mixing variance; None tunes it to the variance at the last look."
    )
    bayes_draws: int = Field(200_000, ge=1000, description="Monte Carlo draws for Beta posteriors (binary metrics).")
    seed: int = 42

    @field_validator("planned_split")
    @classmethod
    def _positive_split(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (not value or any(not (w > 0) for w in value.values())):
            raise ValueError("planned_split needs a positive share for every variant")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ABConfig:
        if self.metric_type == "ratio" and self.denominator_col is None:
            raise ValueError("metric_type='ratio' needs denominator_col")
        return self


def metric_key(name: str) -> str:
    """A variant or series name as a safe metric-key fragment (``Mens E-Mail`` → ``mens_e_mail``)."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return key or "blank"


def _row_number(data: pd.DataFrame, pos: int) -> int:
    if SOURCE_ROW in data.columns:
        value = data[SOURCE_ROW].iloc[pos]
        if pd.notna(value):
            return int(value)
    return pos + 1


def _require_columns(data: pd.DataFrame, columns: list[tuple[str, str | None]], source: str) -> None:
    available = ", ".join(repr(c) for c in data.columns if c != SOURCE_ROW)
    for option, col in columns:
        if col is not None and col not in data.columns:
            raise InputError(
                f"missing column {col!r} (available columns: {available})",
                file=source,
                column=col,
                fix=f"pass {option}= naming the column that holds it",
            )


def _variant_labels(values: pd.Series) -> pd.Series:
    """Variant labels as stripped strings; integral floats lose their '.0' (1.0 → '1')."""
    out = pd.Series(pd.NA, index=values.index, dtype="object")
    present = values.notna()
    if pd.api.types.is_float_dtype(values) and present.any():
        vals = values[present]
        if np.all(np.mod(vals.to_numpy(), 1) == 0):
            out[present] = vals.astype("int64").astype(str)
            return out
    text = values[present].astype(str).str.strip()
    out[present] = text.where(text != "", pd.NA)
    return out


def coerce_metric(data: pd.DataFrame, col: str, source: str) -> tuple[pd.Series, bool]:
    """The metric as floats (NaN where missing) and whether it was written as booleans.

    ``TRUE``/``FALSE``/``yes``/``no`` (any case) and bool columns become 1/0; any other text
    that is not a number raises ``InputError`` naming the first offending row.
    """
    s = data[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64"), True
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64"), False
    text = s.astype("string").str.strip()
    low = text.str.lower()
    out = pd.to_numeric(text, errors="coerce").astype("float64")
    is_true, is_false = low.isin(_TRUE_WORDS).fillna(False), low.isin(_FALSE_WORDS).fillna(False)
    out[is_true.to_numpy()] = 1.0
    out[is_false.to_numpy()] = 0.0
    blank = (text.isna() | low.isin(_BLANK_WORDS)).fillna(True).to_numpy()
    bad = np.flatnonzero(out.isna().to_numpy() & ~blank)
    if bad.size:
        pos = int(bad[0])
        raise InputError(
            f"value {s.iloc[pos]!r} is not a number",
            file=source,
            row=_row_number(data, pos),
            column=col,
            fix="use numbers (or TRUE/FALSE for a binary metric) in the metric column",
        )
    words = (is_true | is_false).to_numpy()
    boolean_words = bool(words[~blank].all()) and bool(words.any())
    return out, boolean_words


def _is01(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return bool(np.isin(finite, (0.0, 1.0)).all())


def _check_binary(data: pd.DataFrame, values: np.ndarray, col: str, source: str) -> None:
    bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (0.0, 1.0)))
    if bad.size:
        pos = int(bad[0])
        raise InputError(
            f"value {data[col].iloc[pos]!r} is not 0/1 in a binary metric",
            file=source,
            row=_row_number(data, pos),
            column=col,
            fix="fix the value, or set metric_type='continuous' if the metric is not a conversion",
        )


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


def _numeric_column(data: pd.DataFrame, col: str, source: str) -> pd.Series:
    values, _ = coerce_metric(data, col, source)
    return values


def _clean_unit_level(data: pd.DataFrame, cfg: ABConfig, source: str) -> tuple[pd.Series, pd.Series, pd.Series, str]:
    """Checks and quarantine for unit-level data.

    Returns the per-row reason (NA where the row is used), the variant labels, the metric
    values and the metric kind (binary, continuous or ratio).
    """
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    variants = _variant_labels(data[cfg.variant_col])
    reasons[variants.isna()] = f"missing variant in column {cfg.variant_col!r}"

    if cfg.exposure_col is not None:
        exposed = _variant_labels(data[cfg.exposure_col])
        free = reasons.isna()
        reasons[free & exposed.isna()] = f"no exposure logged in column {cfg.exposure_col!r}"
        mismatch = reasons.isna() & exposed.notna() & (exposed.astype(str) != variants.astype(str))
        reasons[mismatch] = [
            f"assigned {a!r} but exposed to {e!r}" for a, e in zip(variants[mismatch], exposed[mismatch])
        ]

    metric, boolean_words = coerce_metric(data, cfg.metric_col, source)
    if cfg.denominator_col is not None:
        kind = "ratio"
    elif cfg.metric_type == "auto":
        kind = "binary" if boolean_words or _is01(metric.to_numpy()) else "continuous"
    else:
        kind = cfg.metric_type
    if kind == "binary":
        _check_binary(data, metric.to_numpy(), cfg.metric_col, source)

    if cfg.unit_col is not None:
        units = data[cfg.unit_col]
        reasons[reasons.isna() & units.isna()] = f"missing unit id in column {cfg.unit_col!r}"
        ok = reasons.isna()
        frame = pd.DataFrame({"unit": units[ok], "variant": variants[ok]})
        n_arms = frame.groupby("unit", sort=False)["variant"].nunique()
        crossed_units = n_arms.index[n_arms > 1]
        if len(crossed_units):
            sub = frame[frame["unit"].isin(crossed_units)]
            crossed = sub.groupby("unit", sort=False)["variant"].agg(lambda v: tuple(sorted(set(v))))
            hit = frame["unit"].map(crossed)
            hit = hit[hit.notna()]
            reasons[hit.index] = ["unit in more than one variant (" + ", ".join(arms) + ")" for arms in hit]
        ok = reasons.isna()
        frame = pd.DataFrame({"unit": units[ok], "variant": variants[ok]})
        dup = frame.duplicated(["unit", "variant"], keep="first")
        dup_idx = dup[dup].index
        reasons[dup_idx] = [f"duplicate unit in variant {variants[i]!r} (first row kept)" for i in dup_idx]

    reasons[reasons.isna() & metric.isna()] = f"missing value in metric column {cfg.metric_col!r}"
    if cfg.denominator_col is not None:
        den = _numeric_column(data, cfg.denominator_col, source)
        reasons[reasons.isna() & den.isna()] = f"missing value in denominator column {cfg.denominator_col!r}"
        reasons[reasons.isna() & (den < 0)] = f"negative denominator in column {cfg.denominator_col!r}"
    if cfg.covariate_col is not None:
        cov = _numeric_column(data, cfg.covariate_col, source)
        reasons[reasons.isna() & cov.isna()] = f"missing covariate in column {cfg.covariate_col!r}"
    if cfg.sequential and cfg.date_col is not None:
        dates = pd.to_datetime(data[cfg.date_col], errors="coerce")
        reasons[reasons.isna() & dates.isna()] = f"missing or unreadable date in column {cfg.date_col!r}"
    return reasons, variants, metric, kind


def _aggregated(
    data: pd.DataFrame, cfg: ABConfig, source: str
) -> tuple[pd.Series, pd.DataFrame, dict[str, st.ArmSummary], bool]:
    """Checks, quarantine and per-arm summaries for aggregated input (rows of counts)."""
    assert cfg.n_col is not None
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    variants = _variant_labels(data[cfg.variant_col])
    reasons[variants.isna()] = f"missing variant in column {cfg.variant_col!r}"
    n = pd.to_numeric(data[cfg.n_col], errors="coerce")
    total, _ = coerce_metric(data, cfg.metric_col, source)
    if cfg.metric_type == "continuous" and cfg.std_col is None:
        raise InputError(
            "aggregated continuous metrics need a per-row standard deviation column",
            file=source,
            column=cfg.metric_col,
            fix="pass std_col= naming it (metric_col holds the sum)",
        )
    binary = cfg.metric_type == "binary" or (cfg.metric_type == "auto" and cfg.std_col is None)
    std = pd.to_numeric(data[cfg.std_col], errors="coerce") if (cfg.std_col and not binary) else None

    reasons[reasons.isna() & n.isna()] = f"missing count in column {cfg.n_col!r}"
    reasons[reasons.isna() & total.isna()] = f"missing total in metric column {cfg.metric_col!r}"
    if std is not None:
        reasons[reasons.isna() & std.isna() & (n > 1)] = f"missing standard deviation in column {cfg.std_col!r}"
    ok = reasons.isna().to_numpy()

    def fail(mask: np.ndarray, col: str, message: str, fix: str) -> None:
        bad = np.flatnonzero(mask & ok)
        if bad.size:
            pos = int(bad[0])
            raise InputError(message, file=source, row=_row_number(data, pos), column=col, fix=fix)

    nv, tv = n.to_numpy(dtype=float), total.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        fail(nv < 0, cfg.n_col, "negative count", "counts of units must be 0 or more")
        fail(np.mod(nv, 1) != 0, cfg.n_col, "count is not a whole number", "counts of units must be integers")
        if binary:
            fail(tv < 0, cfg.metric_col, "negative conversions", "conversion counts must be 0 or more")
            fail(np.mod(tv, 1) != 0, cfg.metric_col, "conversions are not a whole number",
                 "a binary metric needs conversion counts (or pass std_col= for a continuous sum)")
            fail(tv > nv, cfg.metric_col, "more conversions than units", "check the count and conversion columns")
        if std is not None:
            fail(std.to_numpy(dtype=float) < 0, cfg.std_col, "negative standard deviation", "fix the value")

    frame = pd.DataFrame({"v": variants, "n": n, "t": total})
    if std is not None:
        # Pool rows through sums of squares: sumsq = (n-1) sd^2 + sum^2 / n.
        frame["ss"] = (n - 1).clip(lower=0) * std.fillna(0) ** 2 + total**2 / n.where(n > 0)
    return reasons, frame, _pool(frame[ok], binary), binary


def _pool(frame: pd.DataFrame, binary: bool) -> dict[str, st.ArmSummary]:
    """Per-arm summaries from aggregated rows (columns v, n, t and, for continuous, ss)."""
    summaries: dict[str, st.ArmSummary] = {}
    for name, grp in frame.groupby("v", sort=True):
        arm_n = int(grp["n"].sum())
        if arm_n == 0:
            continue
        if binary:
            summaries[str(name)] = st.binary_summary(float(grp["t"].sum()), arm_n)
        else:
            s, ss = float(grp["t"].sum()), float(grp["ss"].fillna(0).sum())
            var = (ss - s**2 / arm_n) / (arm_n - 1) if arm_n > 1 else math.nan
            var = max(var, 0.0)
            summaries[str(name)] = st.ArmSummary(arm_n, s / arm_n, var, var / arm_n, arm_n - 1)
    return summaries


def _clean(x: Any) -> Any:
    """JSON-able: numpy scalars to Python, NaN/inf to None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def _f(x: Any) -> float:
    return float(np.asarray(x, dtype=float))


# --- per-metric analysis -----------------------------------------------------------------------


def _summaries(
    y: dict[str, np.ndarray], kind: str, den: dict[str, np.ndarray] | None = None
) -> dict[str, st.ArmSummary]:
    if kind == "ratio":
        assert den is not None
        return {v: st.ratio_summary(y[v], den[v]) for v in y}
    if kind == "binary":
        return {v: st.binary_summary(float(y[v].sum()), y[v].size) for v in y}
    return {v: st.summarise(y[v]) for v in y}


def _comparator(kind: str) -> Callable[[st.ArmSummary, st.ArmSummary, float], st.Comparison]:
    return {"binary": st.compare_proportions, "continuous": st.compare_welch, "ratio": st.compare_normal,
            "cuped": st.compare_welch}[kind]


def _compare_all(
    summaries: dict[str, st.ArmSummary], control: str, kind: str, alpha: float
) -> dict[str, st.Comparison]:
    compare = _comparator(kind)
    return {v: compare(s, summaries[control], alpha) for v, s in summaries.items() if v != control}


def _entries(
    summaries: dict[str, st.ArmSummary], comps: dict[str, st.Comparison], control: str, cfg: ABConfig,
) -> dict[str, dict[str, Any]]:
    treatments = [v for v in summaries if v != control]
    p_raw = [_f(comps[v].p_value) for v in treatments]
    p_adj = st.holm(p_raw) if cfg.correction == "holm" else p_raw
    out: dict[str, dict[str, Any]] = {}
    for v, s in summaries.items():
        var = _f(s.var)
        entry: dict[str, Any] = {
            "n": int(np.asarray(s.n)), "mean": _f(s.mean), "std": math.sqrt(var) if var == var and var >= 0 else None,
            "is_control": v == control,
            "lift_abs": None, "lift_rel": None, "ci_low": None, "ci_high": None,
            "lift_rel_ci_low": None, "lift_rel_ci_high": None,
            "p_value": None, "p_value_adj": None, "significant": False,
        }
        if v != control:
            c = comps[v]
            pa = p_adj[treatments.index(v)]
            entry.update(
                lift_abs=_f(c.diff), lift_rel=_f(c.lift_rel), ci_low=_f(c.ci_low), ci_high=_f(c.ci_high),
                lift_rel_ci_low=_f(c.lift_rel_ci_low), lift_rel_ci_high=_f(c.lift_rel_ci_high),
                p_value=_f(c.p_value), p_value_adj=pa, significant=bool(pa == pa and pa < cfg.alpha),
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
            prob, loss = st.bayes_beta(_f(s.successes), _f(s.n), _f(c.successes), _f(c.n), sign=sign,
                                       draws=cfg.bayes_draws, seed=cfg.seed + i)
        else:
            prob, loss = (_f(x) for x in st.bayes_normal(comp.diff, comp.se, sign))
        entries[v]["prob_beat_control"] = prob
        entries[v]["expected_loss"] = loss
    return method


def _sequential(
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
    final_comps = _compare_all(final, control, kind, cfg.alpha)
    for v in treatments:
        tau2_used[v] = cfg.sequential_tau2 or _f(st.msprt_tau2(_f(final_comps[v].se) ** 2, cfg.alpha))
    for look_id, summaries in looks:
        comps = _compare_all(summaries, control, kind, cfg.alpha)
        for v in treatments:
            comp = comps[v]
            var = _f(comp.se) ** 2
            tau2 = tau2_used[v]
            if var > 0 and math.isfinite(var):
                p = _f(st.msprt_pvalue(comp.diff, var, tau2))
                half = _f(st.msprt_halfwidth(var, tau2, cfg.alpha))
                d = _f(comp.diff)
                state[v]["p"] = min(state[v]["p"], p)
                state[v]["lo"] = max(state[v]["lo"], d - half)
                state[v]["hi"] = min(state[v]["hi"], d + half)
            rows.append({
                "look": look_id, "variant": v, "n": int(np.asarray(summaries[v].n)),
                "n_control": int(np.asarray(summaries[control].n)),
                "lift_abs": _f(comp.diff), "ci_low": _f(comp.ci_low), "ci_high": _f(comp.ci_high),
                "p_value": _f(comp.p_value), "seq_ci_low": state[v]["lo"], "seq_ci_high": state[v]["hi"],
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


def _other_metric(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, col: str, alpha: float, source: str,
) -> tuple[str, dict[str, st.ArmSummary], dict[str, st.Comparison], int]:
    """Summaries and comparisons of a further unit-level metric on the readout's clean rows."""
    values, words = coerce_metric(data, col, source)
    ok = used & values.notna()
    y = {v: values[ok & (variants == v)].to_numpy(dtype=float) for v in sorted(variants[used].unique())}
    if any(arr.size < 2 for arr in y.values()):
        raise InputError(f"metric {col!r} has fewer than 2 values in some variant", file=source, column=col,
                         fix="check the column or drop it")
    kind = "binary" if words or _is01(values.to_numpy()) else "continuous"
    sums = _summaries(y, kind)
    return kind, sums, _compare_all(sums, control, kind, alpha), int((used & values.isna()).sum())


def _guardrails(
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
        kind, sums, comps, missing = _other_metric(data, used, variants, control, col, cfg.alpha, source)
        sign = 1.0 if direction == "higher_is_better" else -1.0
        per: dict[str, Any] = {}
        for v, s in sums.items():
            entry: dict[str, Any] = {"n": int(np.asarray(s.n)), "mean": _f(s.mean)}
            if v != control:
                c = comps[v]
                p = _f(c.p_value)
                degraded = bool(p == p and p < cfg.alpha and sign * _f(c.diff) < 0)
                prob_worse = _f(st.bayes_normal(c.diff, c.se, -sign)[0])
                entry.update(lift_abs=_f(c.diff), lift_rel=_f(c.lift_rel), ci_low=_f(c.ci_low),
                             ci_high=_f(c.ci_high), p_value=p, prob_worse=prob_worse, degraded=degraded)
                if degraded:
                    blocking.setdefault(v, []).append(
                        f"guardrail {col} degrades for {v}: {_f(c.lift_rel):+.1%} relative "
                        f"({1 - cfg.alpha:.0%} CI {_f(c.ci_low):+.4g} to {_f(c.ci_high):+.4g}), p = {p:.4f}"
                    )
            per[v] = entry
            rows.append({"guardrail": col, "variant": v, "direction": direction, **entry})
        out[col] = {"direction": direction, "metric_type": kind, "rows_missing": missing, "variants": per}
    table = pd.DataFrame(rows)
    table["degraded"] = table["degraded"].eq(True)
    return out, blocking, table


def _secondary(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, cfg: ABConfig, source: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Secondary metrics: every variant x metric test, Holm-adjusted as one family."""
    results = {col: _other_metric(data, used, variants, control, col, cfg.alpha, source)
               for col in cfg.secondary_metrics}
    keys = [(col, v) for col, (_, _, comps, _) in results.items() for v in comps]
    p_raw = [_f(results[col][2][v].p_value) for col, v in keys]
    p_adj = dict(zip(keys, st.holm(p_raw) if cfg.correction == "holm" else p_raw, strict=True))
    out: dict[str, Any] = {}
    rows = []
    for col, (kind, sums, comps, missing) in results.items():
        sign = 1.0 if cfg.secondary_metrics[col] == "higher_is_better" else -1.0
        per: dict[str, Any] = {}
        for v, s in sums.items():
            entry: dict[str, Any] = {"n": int(np.asarray(s.n)), "mean": _f(s.mean)}
            if v != control:
                c = comps[v]
                pa = p_adj[(col, v)]
                entry.update(lift_abs=_f(c.diff), lift_rel=_f(c.lift_rel), ci_low=_f(c.ci_low),
                             ci_high=_f(c.ci_high), p_value=_f(c.p_value), p_value_adj=pa,
                             significant=bool(pa == pa and pa < cfg.alpha),
                             prob_beat_control=_f(st.bayes_normal(c.diff, c.se, sign)[0]))
            per[v] = entry
            rows.append({"metric": col, "variant": v, "direction": cfg.secondary_metrics[col], **entry})
        out[col] = {"direction": cfg.secondary_metrics[col], "metric_type": kind, "rows_missing": missing,
                    "variants": per}
    return out, pd.DataFrame(rows)


def _funnel(
    data: pd.DataFrame, used: pd.Series, variants: pd.Series, control: str, cfg: ABConfig, source: str,
) -> tuple[dict[str, Any], pd.DataFrame, list[str]]:
    """AIPL funnel per variant: stage counts, step and overall conversion, step lift vs control."""
    names = sorted(variants[used].unique())
    stages = {}
    warnings = []
    for col in cfg.funnel_cols:
        values, _ = coerce_metric(data, col, source)
        _check_binary(data, values.to_numpy(), col, source)
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
                "stage": col, "n": int(_f(s.successes)), "rate_step": _f(s.mean),
                "rate_overall": _f(s.successes) / exposed_n if exposed_n else None,
            }
            if v != control and _f(s.n) > 0 and _f(sums[control].n) > 0:
                c = comps[v]
                entry.update(lift_abs_step=_f(c.diff), lift_rel_step=_f(c.lift_rel), ci_low=_f(c.ci_low),
                             ci_high=_f(c.ci_high), p_value=_f(c.p_value))
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
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    _require_columns(
        data,
        [("variant_col", cfg.variant_col), ("metric_col", cfg.metric_col), ("unit_col", cfg.unit_col),
         ("n_col", cfg.n_col), ("std_col", cfg.std_col), ("denominator_col", cfg.denominator_col),
         ("covariate_col", cfg.covariate_col), ("exposure_col", cfg.exposure_col), ("date_col", cfg.date_col),
         *[("guardrails", g) for g in cfg.guardrails], *[("funnel_cols", f) for f in cfg.funnel_cols],
         *[("secondary_metrics", m) for m in cfg.secondary_metrics]],
        source,
    )
    if cfg.n_col is not None:
        unit_only = {"denominator_col": cfg.denominator_col, "covariate_col": cfg.covariate_col,
                     "exposure_col": cfg.exposure_col, "unit_col": cfg.unit_col,
                     "guardrails": next(iter(cfg.guardrails), None),
                     "secondary_metrics": next(iter(cfg.secondary_metrics), None),
                     "funnel_cols": next(iter(cfg.funnel_cols), None)}
        for option, value in unit_only.items():
            if value:
                raise InputError(
                    f"{option} needs unit-level data, but the experiment is aggregated (n_col={cfg.n_col!r})",
                    file=source, column=value, fix=f"give one row per unit, or drop {option}",
                )
    data = data.reset_index(drop=True)
    if len(data) == 0:
        raise InputError("the experiment has no rows", file=source, fix="check the file and its filters")

    raw_labels = _variant_labels(data[cfg.variant_col]).dropna().unique()
    if len(raw_labels) < 2:
        raise InputError(
            f"only one variant ({', '.join(map(str, raw_labels)) or 'none'}) found; "
            "a readout needs a control and at least one treatment",
            file=source,
            column=cfg.variant_col,
            fix="check that variant_col names the assignment column and the file holds every arm",
        )

    warnings: list[str] = []
    extras: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    looks: list[tuple[Any, dict[str, st.ArmSummary]]] = []
    metric = variants = None
    if cfg.n_col is not None:
        reasons, agg_rows, summaries, binary = _aggregated(data, cfg, source)
        kind = "binary" if binary else "continuous"
        test_kind = kind
        if cfg.sequential and cfg.date_col is not None:
            dates = pd.to_datetime(data[cfg.date_col], errors="coerce").dt.normalize()
            reasons[reasons.isna() & dates.isna()] = f"missing or unreadable date in column {cfg.date_col!r}"
            ok_rows = reasons.isna()
            summaries = _pool(agg_rows[ok_rows], binary)
            for day in sorted(dates[ok_rows].unique()):
                look_sums = _pool(agg_rows[ok_rows & (dates <= day)], binary)
                if len(look_sums) == len(summaries) and all(_f(s.n) >= 2 for s in look_sums.values()):
                    looks.append((str(pd.Timestamp(day).date()), look_sums))
    else:
        reasons, variants, metric, kind = _clean_unit_level(data, cfg, source)
        used = reasons.isna()
        labels = variants[used].astype(str)
        names_used = sorted(labels.unique())
        y = {v: metric[used & (variants == v)].to_numpy(dtype=float) for v in names_used}
        den = None
        if kind == "ratio":
            den_all = _numeric_column(data, cfg.denominator_col, source)  # type: ignore[arg-type]
            den = {v: den_all[used & (variants == v)].to_numpy(dtype=float) for v in names_used}
            zero = [v for v in names_used if den[v].sum() <= 0]
            if zero:
                raise InputError(f"the denominator sums to 0 in variant(s) {zero}", file=source,
                                 column=cfg.denominator_col, fix="check the denominator column")
        summaries = _summaries(y, kind, den)
        test_kind = kind
        if cfg.covariate_col is not None:
            if kind == "ratio":
                raise InputError("CUPED is not supported for ratio metrics", file=source, column=cfg.covariate_col,
                                 fix="drop covariate_col or use a per-unit metric")
            x_all = _numeric_column(data, cfg.covariate_col, source)
            xs = {v: x_all[used & (variants == v)].to_numpy(dtype=float) for v in names_used}
            theta = _f(st.cuped_theta([y[v] for v in names_used], [xs[v] for v in names_used]))
            x_mean = float(x_all[used].mean())
            adjusted = {v: y[v] - theta * (xs[v] - x_mean) for v in names_used}
            cuped_sums = {v: st.summarise(adjusted[v]) for v in names_used}
            var_raw = sum(_f(st.summarise(y[v]).var) * (y[v].size - 1) for v in names_used)
            var_adj = sum(_f(cuped_sums[v].var) * (y[v].size - 1) for v in names_used)
            reduction = 1 - var_adj / var_raw if var_raw > 0 else 0.0
            extras["cuped"] = {"covariate": cfg.covariate_col, "theta": theta, "variance_reduction": reduction}
            raw_summaries = summaries
            summaries = cuped_sums
            test_kind = "cuped"
        if cfg.sequential and cfg.date_col is not None:
            dates = pd.to_datetime(data[cfg.date_col], errors="coerce").dt.normalize()
            for day in sorted(dates[used].unique()):
                upto = used & (dates <= day)
                yy = {v: metric[upto & (variants == v)].to_numpy(dtype=float) for v in names_used}
                if any(arr.size < 2 for arr in yy.values()):
                    continue
                if test_kind == "cuped":
                    # theta from all the data: it is estimated within arms, so it carries no information on the lift.
                    xx = {v: x_all[upto & (variants == v)].to_numpy(dtype=float) for v in names_used}
                    look_sums = {v: st.summarise(yy[v] - theta * (xx[v] - x_mean)) for v in names_used}
                else:
                    dd = ({v: den_all[upto & (variants == v)].to_numpy(dtype=float) for v in names_used}
                          if kind == "ratio" else None)
                    look_sums = _summaries(yy, kind, dd)
                looks.append((str(pd.Timestamp(day).date()), look_sums))

    all_labels = sorted(str(v) for v in raw_labels)
    empty = [v for v in all_labels if v not in summaries]
    if empty:
        raise InputError(
            f"variant(s) {empty} have no usable rows after the data checks",
            file=source,
            column=cfg.variant_col,
            fix="see the quarantine file for why their rows were set aside",
        )
    names = sorted(summaries)
    control, control_rule = _choose_control(names, cfg, cfg.variant_col, source)
    small = [v for v in names if int(np.asarray(summaries[v].n)) < 2]
    if small:
        raise InputError(
            f"variant(s) {small} have fewer than 2 usable units",
            file=source,
            column=cfg.variant_col,
            fix="collect more data before reading out the test",
        )
    shares = _planned_shares(names, cfg, cfg.variant_col, source)
    srm_p = st.srm_test(np.array([_f(summaries[v].n) for v in names]), np.array([shares[v] for v in names]))

    comps = _compare_all(summaries, control, test_kind, cfg.alpha)
    variants_out = _entries(summaries, comps, control, cfg)
    if "cuped" in extras:
        raw_comps = _compare_all(raw_summaries, control, kind, cfg.alpha)
        raw_entries = _entries(raw_summaries, raw_comps, control, cfg)
        extras["cuped"]["unadjusted"] = {
            v: {k: e[k] for k in ("mean", "std", "lift_abs", "lift_rel", "ci_low", "ci_high", "p_value")}
            for v, e in raw_entries.items()
        }
        for v in names:
            variants_out[v]["mean"] = raw_entries[v]["mean"]
            variants_out[v]["mean_adjusted"] = _f(summaries[v].mean)
            variants_out[v]["std"] = raw_entries[v]["std"]
        ci_raw = [raw_entries[v]["ci_high"] - raw_entries[v]["ci_low"] for v in names if v != control]
        ci_adj = [variants_out[v]["ci_high"] - variants_out[v]["ci_low"] for v in names if v != control]
        extras["cuped"]["ci_width_ratio"] = float(np.mean(np.array(ci_adj) / np.array(ci_raw)))
    bayes_method = _bayes(variants_out, summaries, comps, control, "binary" if test_kind == "binary" else "normal", cfg)

    if cfg.sequential:
        if not looks:
            looks = [("final", summaries)]
        seq_meta, seq_table = _sequential(variants_out, looks, control, test_kind, cfg)
        extras["sequential"] = seq_meta
        tables["sequential"] = seq_table

    blocking: dict[str, list[str]] = {}
    if cfg.n_col is None and variants is not None:
        used = reasons.isna()
        if cfg.guardrails:
            extras["guardrails"], blocking, tables["guardrails"] = _guardrails(
                data, used, variants, control, cfg, source)
        if cfg.secondary_metrics:
            extras["secondary"], tables["secondary"] = _secondary(data, used, variants, control, cfg, source)
        if cfg.funnel_cols:
            extras["funnel"], tables["funnel"], funnel_warn = _funnel(data, used, variants, control, cfg, source)
            warnings.extend(funnel_warn)

    rows_in = len(data)
    n_quarantined = int(reasons.notna().sum())
    quarantine = data[reasons.notna()].copy()
    quarantine[REASON] = reasons[reasons.notna()].astype(str)
    quarantine_counts = quarantine[REASON].value_counts().to_dict() if n_quarantined else {}
    treatments = [v for v in names if v != control]

    test_label = {"binary": "two-proportion z-test", "continuous": "Welch t-test",
                  "ratio": "delta-method z-test (ratio of sums)", "cuped": "Welch t-test on CUPED-adjusted values"}
    readout: dict[str, Any] = {
        "metric": cfg.metric_col,
        "metric_type": kind,
        "test": test_label[test_kind],
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
        "quarantine_reasons": quarantine_counts,
        **extras,
    }
    if kind == "ratio":
        readout["denominator"] = cfg.denominator_col
    if blocking:
        readout["guardrails_blocking"] = blocking
    if cfg.n_col is not None:
        readout["units"] = int(sum(_f(s.n) for s in summaries.values()))

    table = pd.DataFrame([{"variant": v, **e} for v, e in variants_out.items()])
    for col in table.columns:
        if col not in ("variant", "n", "is_control", "significant", "fixed_significant"):
            table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    tables = {"readout": table, **tables}

    metrics: dict[str, float] = {
        "rows_in": float(rows_in),
        "rows_used": float(rows_in - n_quarantined),
        "rows_quarantined": float(n_quarantined),
        "srm_p_value": srm_p,
        "srm_alarm": float(srm_p < cfg.srm_alpha),
    }
    if "cuped" in extras:
        metrics["cuped_variance_reduction"] = float(extras["cuped"]["variance_reduction"])
    for v, e in variants_out.items():
        k = metric_key(v)
        metrics[f"n_{k}"] = float(e["n"])
        metrics[f"mean_{k}"] = float(e["mean"])
        if v != control:
            for field in ("lift_abs", "lift_rel", "p_value", "prob_beat_control", "seq_p_value"):
                if e.get(field) is not None and math.isfinite(e[field]):
                    metrics[f"{field}_{k}"] = float(e[field])

    if control_rule.startswith("first"):
        warnings.insert(0, f"control not given: using {control!r}, the {control_rule}")
    if n_quarantined:
        warnings.append(
            f"{n_quarantined} of {rows_in} rows quarantined: "
            + "; ".join(f"{r} ({k})" for r, k in quarantine_counts.items())
        )

    result = StageResult(
        tables=tables,
        metrics=metrics,
        params={
            "variant_col": cfg.variant_col, "metric_col": cfg.metric_col, "control": control,
            "unit_col": cfg.unit_col or "", "metric_type": kind, "alpha": cfg.alpha,
            "srm_alpha": cfg.srm_alpha, "aggregated": cfg.n_col is not None, "correction": readout["correction"],
            "covariate_col": cfg.covariate_col or "", "sequential": cfg.sequential,
            "guardrails": ",".join(cfg.guardrails), "funnel_cols": ",".join(cfg.funnel_cols),
            "secondary_metrics": ",".join(cfg.secondary_metrics),
        },
        quarantine=quarantine.reset_index(drop=True),
        artifacts={"readout.json": readout},
        warnings=warnings,
    )
    from launchlab.incubation.decision import decide

    verdict = decide(result)
    readout["decision"], readout["reasons"] = verdict["decision"], verdict["reasons"]
    result.artifacts["readout.json"] = _clean(readout)
    best = verdict.get("best_variant")
    result.summary = _clean({
        "decision": verdict["decision"],
        "reasons": verdict["reasons"],
        "metric": cfg.metric_col,
        "control": control,
        "best_variant": best,
        "lift_rel": variants_out[best]["lift_rel"] if best else None,
        "srm_alarm": readout["srm_alarm"],
    })
    return result
