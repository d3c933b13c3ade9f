"""The experiment's rows, cleaned for a readout: which rows are usable (the rest are quarantined
with the reason), the variant of each row, the metric as numbers, and per-arm totals of
aggregated rows. Used by the A/B readout and its further metrics (guardrails, funnel)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.incubation import stats as st
from launchlab.incubation.config import ABConfig
from launchlab.io import row_number
from launchlab.schemas import SOURCE_ROW

_TRUE_WORDS = frozenset({"true", "t", "yes", "y"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n"})
_BLANK_WORDS = frozenset({"", "nan", "na", "n/a", "null", "none"})


def require_experiment(data: pd.DataFrame, cfg: ABConfig, source: str) -> pd.DataFrame:
    """Check the experiment as a whole before its rows: the configured columns exist, options
    that need unit-level rows are not set on aggregated ones, and there are rows of at least two
    variants. Returns the rows with a fresh index; raises InputError naming the file and column."""
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

    labels = variant_labels(data[cfg.variant_col]).dropna().unique()
    if len(labels) < 2:
        raise InputError(
            f"only one variant ({', '.join(map(str, labels)) or 'none'}) found; "
            "a readout needs a control and at least one treatment",
            file=source,
            column=cfg.variant_col,
            fix="check that variant_col names the assignment column and the file holds every arm",
        )
    return data


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


def variant_labels(values: pd.Series) -> pd.Series:
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
            row=row_number(data, pos),
            column=col,
            fix="use numbers (or TRUE/FALSE for a binary metric) in the metric column",
        )
    words = (is_true | is_false).to_numpy()
    boolean_words = bool(words[~blank].all()) and bool(words.any())
    return out, boolean_words


def is01(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return bool(np.isin(finite, (0.0, 1.0)).all())


def check_binary(data: pd.DataFrame, values: np.ndarray, col: str, source: str) -> None:
    bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (0.0, 1.0)))
    if bad.size:
        pos = int(bad[0])
        raise InputError(
            f"value {data[col].iloc[pos]!r} is not 0/1 in a binary metric",
            file=source,
            row=row_number(data, pos),
            column=col,
            fix="fix the value, or set metric_type='continuous' if the metric is not a conversion",
        )


def coerce_covariate(values: pd.Series) -> pd.Series:
    """A customer column as the segment and uplift analyses read it: numbers when every filled
    cell is one (files are read as text), text otherwise; blank cells and words such as ``NA``
    are missing."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    text = values.astype("string").str.strip()
    blank = (text.isna() | text.str.lower().isin(_BLANK_WORDS)).fillna(True).to_numpy()
    numbers = pd.to_numeric(text.mask(blank), errors="coerce").astype("float64")
    if (~blank).any() and numbers[~blank].notna().all():
        return numbers
    return text.astype(object).mask(blank)


def numeric_column(data: pd.DataFrame, col: str, source: str) -> pd.Series:
    values, _ = coerce_metric(data, col, source)
    return values


def clean_unit_level(data: pd.DataFrame, cfg: ABConfig, source: str) -> tuple[pd.Series, pd.Series, pd.Series, str]:
    """Checks and quarantine for unit-level data.

    Returns the per-row reason (NA where the row is used), the variant labels, the metric
    values and the metric kind (binary, continuous or ratio).
    """
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    variants = variant_labels(data[cfg.variant_col])
    reasons[variants.isna()] = f"missing variant in column {cfg.variant_col!r}"

    if cfg.exposure_col is not None:
        exposed = variant_labels(data[cfg.exposure_col])
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
        kind = "binary" if boolean_words or is01(metric.to_numpy()) else "continuous"
    else:
        kind = cfg.metric_type
    if kind == "binary":
        check_binary(data, metric.to_numpy(), cfg.metric_col, source)

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
        den = numeric_column(data, cfg.denominator_col, source)
        reasons[reasons.isna() & den.isna()] = f"missing value in denominator column {cfg.denominator_col!r}"
        reasons[reasons.isna() & (den < 0)] = f"negative denominator in column {cfg.denominator_col!r}"
    if cfg.covariate_col is not None:
        cov = numeric_column(data, cfg.covariate_col, source)
        reasons[reasons.isna() & cov.isna()] = f"missing covariate in column {cfg.covariate_col!r}"
    if cfg.sequential and cfg.date_col is not None:
        dates = pd.to_datetime(data[cfg.date_col], errors="coerce")
        reasons[reasons.isna() & dates.isna()] = f"missing or unreadable date in column {cfg.date_col!r}"
    return reasons, variants, metric, kind


def clean_aggregated(
    data: pd.DataFrame, cfg: ABConfig, source: str
) -> tuple[pd.Series, pd.DataFrame, dict[str, st.ArmSummary], bool]:
    """Checks, quarantine and per-arm summaries for aggregated input (rows of counts)."""
    assert cfg.n_col is not None
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    variants = variant_labels(data[cfg.variant_col])
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
            raise InputError(message, file=source, row=row_number(data, pos), column=col, fix=fix)

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
    return reasons, frame, pool(frame[ok], binary), binary


def pool(frame: pd.DataFrame, binary: bool) -> dict[str, st.ArmSummary]:
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
