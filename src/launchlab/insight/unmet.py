"""Unmet needs and delights: which needs are talked about a lot, negatively, and increasingly."""

from __future__ import annotations

import numpy as np
import pandas as pd

PRIOR_WEIGHT = 10.0
MIN_PERIOD_ROWS = 20


def need_scores(
    units: pd.DataFrame, *, neg_threshold: float = -0.2, date_col: str = "date"
) -> pd.DataFrame:
    """Per need: share of voice, negativity, positivity, recent growth, unmet and delight scores.

    ``units`` has one row per opinion unit (review or mention) with ``need_id``, ``sentiment``
    and optionally a date column. Negativity and positivity are shrunk towards the corpus rate
    with :data:`PRIOR_WEIGHT` pseudo-units, so a tiny need cannot top the ranking by chance.
    ``growth`` compares the need's share of voice in the latest quarter of the dated units with
    its share before (NaN without enough dates). ``unmet_score`` (0-100) is negativity times the
    square root of relative share of voice, boosted by up to 50% for growth (cut by up to 50%
    for decline); ``delight_score`` is the same with positivity. Ranks: 1 = most unmet.
    """
    units = units[units["need_id"] >= 0]
    if units.empty:
        return pd.DataFrame(columns=["need_id", "share_of_voice", "negativity", "positivity", "growth",
                                     "unmet_score", "delight_score", "unmet_rank"])
    neg = (units["sentiment"] < neg_threshold).astype(float)
    pos = (units["sentiment"] > -neg_threshold).astype(float)
    g = pd.DataFrame({"need_id": units["need_id"].to_numpy(), "neg": neg.to_numpy(), "pos": pos.to_numpy()})
    agg = g.groupby("need_id").agg(n=("neg", "size"), n_neg=("neg", "sum"), n_pos=("pos", "sum"))
    prior_neg, prior_pos = float(neg.mean()), float(pos.mean())
    out = pd.DataFrame(index=agg.index)
    out["share_of_voice"] = agg["n"] / agg["n"].sum()
    out["negativity"] = (agg["n_neg"] + PRIOR_WEIGHT * prior_neg) / (agg["n"] + PRIOR_WEIGHT)
    out["positivity"] = (agg["n_pos"] + PRIOR_WEIGHT * prior_pos) / (agg["n"] + PRIOR_WEIGHT)
    out["growth"] = _growth(units, date_col).reindex(out.index)
    weight = np.sqrt(out["share_of_voice"] / out["share_of_voice"].max())
    trend = 1.0 + 0.5 * out["growth"].clip(-1.0, 1.0).fillna(0.0)
    out["unmet_score"] = 100.0 * out["negativity"] * weight * trend / 1.5
    out["delight_score"] = 100.0 * out["positivity"] * weight * trend / 1.5
    out["unmet_rank"] = out["unmet_score"].rank(ascending=False, method="first").astype(int)
    return out.reset_index()


def _growth(units: pd.DataFrame, date_col: str) -> pd.Series:
    """Relative change of each need's share of voice: latest quarter of dated units vs the rest."""
    if date_col not in units.columns:
        return pd.Series(dtype=float)
    dates = pd.to_datetime(units[date_col], errors="coerce")
    dated = units.assign(_d=dates)[dates.notna()]
    if len(dated) < 2 * MIN_PERIOD_ROWS or dated["_d"].nunique() < 2:
        return pd.Series(dtype=float)
    cutoff = dated["_d"].quantile(0.75)
    recent = dated["_d"] > cutoff
    if recent.sum() < MIN_PERIOD_ROWS or (~recent).sum() < MIN_PERIOD_ROWS:
        return pd.Series(dtype=float)
    now = dated[recent]["need_id"].value_counts(normalize=True)
    before = dated[~recent]["need_id"].value_counts(normalize=True)
    ids = before.index.union(now.index)
    now, before = now.reindex(ids, fill_value=0.0), before.reindex(ids, fill_value=0.0)
    return (now - before) / before.where(before > 0, np.nan)


def breakdown(units: pd.DataFrame, by: list[str], *, neg_threshold: float = -0.2) -> pd.DataFrame:
    """Needs per product / category: ``dimension, value, need_id, n, share, sentiment_mean, neg_share``.

    ``share`` is the need's share of the value's assigned units, so a product's needs sum to 1.
    """
    frames = []
    units = units[units["need_id"] >= 0]
    for dim in by:
        if dim not in units.columns or units[dim].isna().all():
            continue
        u = units[units[dim].notna()].assign(
            value=lambda d: d[dim].astype(str), neg=lambda d: (d["sentiment"] < neg_threshold).astype(float)
        )
        agg = u.groupby(["value", "need_id"], sort=True).agg(
            n=("sentiment", "size"), sentiment_mean=("sentiment", "mean"), neg_share=("neg", "mean")
        ).reset_index()
        agg["share"] = agg["n"] / agg.groupby("value")["n"].transform("sum")
        agg.insert(0, "dimension", dim)
        frames.append(agg[["dimension", "value", "need_id", "n", "share", "sentiment_mean", "neg_share"]])
    if not frames:
        return pd.DataFrame(columns=["dimension", "value", "need_id", "n", "share", "sentiment_mean", "neg_share"])
    return pd.concat(frames, ignore_index=True)
