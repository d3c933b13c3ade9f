"""Segment effects of a launch experiment: where does the treatment work better?

For each declared segment column (channel, past category buyer, recency band ...) and each of
its levels: the lift of every treatment arm over control with its interval, whether the level
differs from the rest of the customers, a false-discovery-rate adjustment over all segments,
empirical-Bayes shrinkage towards the overall effect (so a small segment with a lucky draw does
not look like a win) and tests of whether the effect varies at all.

Multiple testing uses Benjamini-Hochberg by default, not Holm: segment analysis screens many
segments for where to push next, a false lead costs a wasted campaign cell rather than a wrong
launch, and Holm's family-wise control loses most real segment differences once there are a
few dozen segments. The launch decision itself stays Holm-adjusted in the A/B readout.
``correction="holm"`` is there when a segment finding decides something irreversible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from launchlab.errors import InputError
from launchlab.incubation import stats as st
from launchlab.incubation.config import SegmentConfig
from launchlab.incubation.units import Arms, split_arms
from launchlab.jsonable import metric_key, to_jsonable
from launchlab.results import StageResult

OTHER = "(other)"
ALL = "(all columns)"


def _fmt_edge(x: float) -> str:
    return f"{x:g}"


def segment_levels(values: pd.Series, column: str, cfg: SegmentConfig) -> pd.Series:
    """The segment label of each row: the value itself, or its band for many-valued numbers."""
    if column in cfg.bands:
        edges = sorted(float(e) for e in cfg.bands[column])
        full = [-math.inf, *edges, math.inf]
        labels = []
        for lo, hi in zip(full[:-1], full[1:]):
            labels.append(f"< {_fmt_edge(hi)}" if lo == -math.inf else
                          f">= {_fmt_edge(lo)}" if hi == math.inf else f"{_fmt_edge(lo)}-<{_fmt_edge(hi)}")
        return pd.Series(pd.cut(values.astype(float), full, right=False, labels=labels).astype(str), index=values.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) \
            and values.nunique() > cfg.max_levels:
        edges = np.unique(np.quantile(values.astype(float), np.linspace(0, 1, cfg.n_bands + 1)))
        cut = pd.cut(values.astype(float), edges, include_lowest=True, duplicates="drop")
        names = {iv: f"{_fmt_edge(iv.left)}-{_fmt_edge(iv.right)}" for iv in cut.cat.categories}
        return pd.Series(cut.map(names).astype(str), index=values.index)
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.to_numpy(), 1) == 0):
        return values.astype("int64").astype(str)
    return values.astype(str).str.strip()


def _pool_small(levels: pd.Series, t: np.ndarray, min_units: int) -> pd.Series:
    """Levels with fewer than ``min_units`` units in either arm go to '(other)'."""
    counts = pd.crosstab(levels, t)
    small = [lv for lv in counts.index if counts.loc[lv].min() < min_units]
    return levels.where(~levels.isin(small), OTHER) if small else levels


def _order(levels: list[str]) -> list[str]:
    def key(lv: str) -> tuple[int, float, str]:
        if lv == OTHER:
            return (2, 0.0, lv)
        head = lv.lstrip("<>= ").split("-")[0]
        try:
            return (0 if not lv.startswith("<") else -1, float(head), lv)
        except ValueError:
            return (1, 0.0, lv)
    return sorted(levels, key=key)


def _effect(y: np.ndarray, t: np.ndarray, binary: bool, alpha: float) -> dict[str, float]:
    """Treatment minus control in one group of units, with interval and p-value."""
    yt, yc = y[t == 1], y[t == 0]
    if binary:
        a, b = st.binary_summary(yt.sum(), yt.size), st.binary_summary(yc.sum(), yc.size)
        comp = st.compare_proportions(a, b, alpha)
    else:
        a, b = st.summarise(yt), st.summarise(yc)
        comp = st.compare_welch(a, b, alpha)
    f = lambda x: float(np.asarray(x, dtype=float))  # noqa: E731
    return {"n_treatment": int(yt.size), "n_control": int(yc.size), "mean_treatment": f(a.mean),
            "mean_control": f(b.mean), "lift_abs": f(comp.diff), "se": f(comp.se), "ci_low": f(comp.ci_low),
            "ci_high": f(comp.ci_high), "p_value": f(comp.p_value), "lift_rel": f(comp.lift_rel)}


def _dummies(levels: dict[str, pd.Series]) -> np.ndarray:
    """One-hot segment indicators, first level of each column dropped (the intercept's)."""
    blocks = [pd.get_dummies(lv, drop_first=True, dtype=float).to_numpy() for lv in levels.values()]
    blocks = [b for b in blocks if b.shape[1]]
    return np.hstack(blocks) if blocks else np.zeros((len(next(iter(levels.values()))), 0))


def _analyse_pair(arms: Arms, treatment: str, cfg: SegmentConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                          dict[str, Any]]:
    frame, y, t = arms.pair(treatment)
    z = float(stats.norm.ppf(1 - cfg.alpha / 2))
    overall = _effect(y, t, arms.binary, cfg.alpha)
    rows: list[dict[str, Any]] = []
    het: list[dict[str, Any]] = []
    all_levels: dict[str, pd.Series] = {}
    for col in cfg.segment_cols:
        levels = _pool_small(segment_levels(frame[col], col, cfg), t, cfg.min_units)
        all_levels[col] = levels
        lv_arr = levels.to_numpy()
        names = _order(list(pd.unique(lv_arr)))
        col_rows = []
        for lv in names:
            inside = lv_arr == lv
            e = _effect(y[inside], t[inside], arms.binary, cfg.alpha)
            ok = inside.sum() and min(e["n_treatment"], e["n_control"]) >= 2 and e["se"] > 0
            rest = _effect(y[~inside], t[~inside], arms.binary, cfg.alpha) if (~inside).any() else None
            row = {"variant": treatment, "control": arms.control, "column": col, "level": lv,
                   "share": float(inside.mean()), **e, "tested": bool(ok)}
            if rest is not None and ok and rest["se"] > 0:
                diff = e["lift_abs"] - rest["lift_abs"]
                se = math.hypot(e["se"], rest["se"])
                row.update(rest_lift_abs=rest["lift_abs"], diff_vs_rest=diff, diff_ci_low=diff - z * se,
                           diff_ci_high=diff + z * se, diff_p_value=float(2 * stats.norm.sf(abs(diff) / se)))
            col_rows.append(row)
        tested = [r for r in col_rows if r["tested"]]
        if len(tested) >= 2:
            d = np.array([r["lift_abs"] for r in tested])
            v = np.array([r["se"] ** 2 for r in tested])
            re = st.random_effects(d, v)
            est, sd, b = st.shrink(d, v, overall["lift_abs"], re.tau2)
            for r, e_, s_, b_ in zip(tested, est, sd, b):
                r.update(shrunk_lift_abs=float(e_), shrunk_ci_low=float(e_ - z * s_), shrunk_ci_high=float(e_ + z * s_),
                         shrinkage=float(b_))
            het.append({"variant": treatment, "column": col, "levels": len(tested), "statistic": re.q,
                        "df": re.df, "p_value": re.p_value, "tau": math.sqrt(re.tau2), "i2": re.i2,
                        "test": "Cochran's Q"})
        rows.extend(col_rows)
    X = _dummies(all_levels) if all_levels else np.zeros((len(y), 0))
    stat, df, p = st.interaction_test(X[t == 1], y[t == 1], X[t == 0], y[t == 0]) if X.shape[1] else (0.0, 0, math.nan)
    het.append({"variant": treatment, "column": ALL, "levels": int(X.shape[1]) + len(all_levels), "statistic": stat,
                "df": df, "p_value": p, "tau": math.nan, "i2": math.nan,
                "test": "Wald test of treatment x segment interactions (HC2)"})
    return rows, het, overall


def _finding(row: pd.Series, binary: bool) -> str:
    unit = (lambda x: f"{x * 100:+.2f} pp") if binary else (lambda x: f"{x:+.4g}")  # noqa: E731
    better = "better" if row["diff_vs_rest"] > 0 else "worse"
    return (f"{row['variant']} works {better} for {row['column']} = {row['level']} "
            f"({unit(row['lift_abs'])}, CI {unit(row['ci_low'])} to {unit(row['ci_high'])}) than for the rest "
            f"({unit(row['rest_lift_abs'])}): difference {unit(row['diff_vs_rest'])}, CI {unit(row['diff_ci_low'])} "
            f"to {unit(row['diff_ci_high'])}, adjusted p = {row['diff_p_value_adj']:.2g}")


def estimate_segments(data: pd.DataFrame, *, config: SegmentConfig | None = None,
                      source: str = "<experiment>") -> StageResult:
    """Lift per segment for every treatment arm, with intervals, adjusted p-values and shrinkage.

    ``data`` is a unit-level experiment (one row per unit: variant, outcome, segment columns).
    Numeric segment columns with many values are cut into ``bands`` (or ``n_bands`` quantile
    bands); levels with fewer than ``min_units`` units in an arm are pooled into '(other)'.

    ``tables["segments"]``: one row per treatment, column and level with the lift
    (``lift_abs``, ``ci_low``, ``ci_high``, ``p_value``, ``p_value_adj``), the lift among the
    other units (``rest_lift_abs``), the difference from them (``diff_vs_rest`` with its interval,
    ``diff_p_value``, ``diff_p_value_adj``, ``differs``) and the empirical-Bayes estimate pulled
    towards the overall lift (``shrunk_lift_abs``, ``shrunk_ci_low``, ``shrunk_ci_high``,
    ``shrinkage``). ``tables["heterogeneity"]``: per column Cochran's Q test of one common
    effect, and for all columns at once a Wald test of the treatment-by-segment interactions.
    ``artifacts["segments.json"]`` summarises the findings; metrics count segments and hold the
    heterogeneity p-value per treatment.
    """
    cfg = config or SegmentConfig()
    if not cfg.segment_cols:
        raise InputError("no segment columns given", file=source,
                         fix="pass segment_cols= naming customer columns such as channel or recency")
    arms = split_arms(data, cfg, covariates=list(cfg.segment_cols), treatments=cfg.treatments, source=source)
    rows: list[dict[str, Any]] = []
    het: list[dict[str, Any]] = []
    overall: dict[str, dict[str, Any]] = {}
    for treatment in arms.treatments:
        r, h, o = _analyse_pair(arms, treatment, cfg)
        rows += r
        het += h
        overall[treatment] = o
    table = pd.DataFrame(rows)
    for col in ("rest_lift_abs", "diff_vs_rest", "diff_ci_low", "diff_ci_high", "diff_p_value", "shrunk_lift_abs",
                "shrunk_ci_low", "shrunk_ci_high", "shrinkage"):
        if col not in table.columns:
            table[col] = np.nan
    adjust = st.benjamini_hochberg if cfg.correction == "bh" else st.holm
    if len(table):
        table["p_value_adj"] = adjust(table["p_value"].where(table["tested"]).tolist())
        # A two-level column holds one comparison, not two: adjust it once.
        pairs = table["tested"] & (table.groupby(["variant", "column"])["tested"].transform("sum") == 2)
        twin = pairs & table[["variant", "column"]].where(pairs).duplicated(keep="first")
        adj = pd.Series(adjust(table["diff_p_value"].where(~twin).tolist()), index=table.index)
        first = table[pairs & ~twin].set_index(["variant", "column"])
        fill = [first.index.get_loc((v, c)) for v, c in zip(table.loc[twin, "variant"], table.loc[twin, "column"])]
        adj[twin] = adj[pairs & ~twin].to_numpy()[fill]
        table["diff_p_value_adj"] = adj
        table["significant"] = table["p_value_adj"] < cfg.alpha
        table["differs"] = table["diff_p_value_adj"] < cfg.alpha
    heterogeneity = pd.DataFrame(het)

    findings: dict[str, list[str]] = {}
    summary: dict[str, Any] = {}
    for treatment in arms.treatments:
        sub = table[(table["variant"] == treatment) & table["differs"]] if len(table) else table
        # In a two-level column the worse level mirrors the better one: name only the better.
        sub = sub[~((sub.groupby("column")["level"].transform("size") == 2) & (sub["diff_vs_rest"] < 0))]
        sub = sub.sort_values("diff_vs_rest", ascending=False)
        findings[treatment] = [_finding(r, arms.binary) for _, r in sub.iterrows()]
        joint = heterogeneity[(heterogeneity["variant"] == treatment) & (heterogeneity["column"] == ALL)].iloc[0]
        tested = table[(table["variant"] == treatment) & table["tested"]]
        best = tested.sort_values("shrunk_lift_abs", ascending=False).head(3)
        summary[treatment] = {
            "overall": overall[treatment],
            "heterogeneity": {"statistic": joint["statistic"], "df": int(joint["df"]), "p_value": joint["p_value"],
                              "heterogeneous": bool(joint["p_value"] < cfg.alpha)},
            "findings": findings[treatment],
            "best_segments": [{k: r[k] for k in ("column", "level", "lift_abs", "shrunk_lift_abs", "shrunk_ci_low",
                                                  "shrunk_ci_high", "share")} for _, r in best.iterrows()],
        }
    metrics: dict[str, float] = {
        "rows_in": float(arms.rows_in), "rows_used": float(len(arms.frame)),
        "rows_quarantined": float(len(arms.quarantine)), "rows_other_arms": float(arms.rows_other_arms),
        "segments_tested": float(table["tested"].sum()) if len(table) else 0.0,
        "segments_significant": float(table["significant"].sum()) if len(table) else 0.0,
        "segments_differing": float(table["differs"].sum()) if len(table) else 0.0,
    }
    for treatment, s in summary.items():
        p = s["heterogeneity"]["p_value"]
        if p == p:
            metrics[f"heterogeneity_p_value_{metric_key(treatment)}"] = float(p)
    warnings = []
    if len(arms.quarantine):
        warnings.append(f"{len(arms.quarantine)} of {arms.rows_in} rows quarantined: "
                        + "; ".join(f"{r} ({k})" for r, k in arms.quarantine["reason"].value_counts().items()))
    artifact = {"metric": cfg.metric_col, "metric_type": "binary" if arms.binary else "continuous",
                "control": arms.control, "alpha": cfg.alpha,
                "correction": "Benjamini-Hochberg" if cfg.correction == "bh" else "Holm",
                "segment_cols": list(cfg.segment_cols), "treatments": summary}
    return StageResult(
        tables={"segments": table, "heterogeneity": heterogeneity},
        metrics=metrics,
        params={"segment_cols": ",".join(cfg.segment_cols), "min_units": cfg.min_units,
                "correction": cfg.correction, "n_bands": cfg.n_bands},
        quarantine=arms.quarantine,
        summary=to_jsonable({t: {"heterogeneity_p_value": s["heterogeneity"]["p_value"], "findings": s["findings"][:3]}
                        for t, s in summary.items()}),
        artifacts={"segments.json": to_jsonable(artifact)},
        warnings=warnings,
    )
