"""The cycle diff: what changed between two launch cycles (pure pandas; the outputs are read
back from MLflow by ``launchlab.tracking``'s queries, see :data:`DIFF_OUTPUTS`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from launchlab.stages import CONCEPTS, INSIGHT, TRENDS

if TYPE_CHECKING:
    from launchlab.tracking import RecordedCycle

# The stage outputs a diff reads, by (stage, file name).
NEEDS, TRENDS_TABLE, SCORES = (INSIGHT, "needs.parquet"), (TRENDS, "trends.parquet"), (CONCEPTS, "scores.parquet")
DIFF_OUTPUTS = (NEEDS, TRENDS_TABLE, SCORES)


@dataclass
class CycleDiff:
    """Changes from cycle A to cycle B."""

    new_needs: list[str] = field(default_factory=list)
    vanished_needs: list[str] = field(default_factory=list)
    matched_needs: list[tuple[str, str, float]] = field(default_factory=list)
    trend_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    rank_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    decision: tuple[str | None, str | None] = (None, None)


def match_needs(a: pd.DataFrame, b: pd.DataFrame, threshold: float = 0.85) -> tuple[list[tuple[str, str, float]], list[str], list[str]]:
    """Pair needs of two cycles by centroid cosine similarity (labels when there are no centroids).

    Returns (matched (label A, label B, similarity), new in B, vanished from A); each need is
    matched at most once, best pairs first.
    """
    if a.empty or b.empty:
        return [], b.get("label", pd.Series(dtype=str)).astype(str).tolist(), a.get("label", pd.Series(dtype=str)).astype(str).tolist()
    if "centroid" in a and "centroid" in b:
        ca = np.vstack([np.asarray(c, dtype=float) for c in a["centroid"]])
        cb = np.vstack([np.asarray(c, dtype=float) for c in b["centroid"]])
        ca /= np.linalg.norm(ca, axis=1, keepdims=True) + 1e-12
        cb /= np.linalg.norm(cb, axis=1, keepdims=True) + 1e-12
        sim = ca @ cb.T
    else:
        la, lb = a["label"].astype(str).to_numpy(), b["label"].astype(str).to_numpy()
        sim = (la[:, None] == lb[None, :]).astype(float)
    pairs = sorted(((sim[i, j], i, j) for i in range(sim.shape[0]) for j in range(sim.shape[1])), reverse=True)
    used_a, used_b, matched = set(), set(), []
    for s, i, j in pairs:
        if s < threshold:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched.append((str(a["label"].iloc[i]), str(b["label"].iloc[j]), float(s)))
    new = [str(b["label"].iloc[j]) for j in range(len(b)) if j not in used_b]
    vanished = [str(a["label"].iloc[i]) for i in range(len(a)) if i not in used_a]
    return matched, new, vanished


def trend_changes(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    """Series whose trend class changed (unique_id, class_a, class_b, growth_a, growth_b)."""
    if a is None or b is None or a.empty or b.empty:
        return pd.DataFrame(columns=["unique_id", "class_a", "class_b", "growth_a", "growth_b"])
    joined = a[["unique_id", "class", "growth"]].merge(b[["unique_id", "class", "growth"]], on="unique_id", how="outer", suffixes=("_a", "_b"))
    changed = joined[joined["class_a"].astype(str) != joined["class_b"].astype(str)]
    return changed.sort_values("unique_id").reset_index(drop=True)


def rank_changes(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    """Concepts with their rank and score in both cycles (NaN where a concept is new or gone)."""
    if a is None or b is None:
        return pd.DataFrame(columns=["concept_id", "name", "rank_a", "rank_b", "score_a", "score_b", "moved"])
    joined = a[["concept_id", "name", "rank", "score"]].merge(
        b[["concept_id", "name", "rank", "score"]], on="concept_id", how="outer", suffixes=("_a", "_b")
    )
    joined["name"] = joined["name_b"].fillna(joined["name_a"])
    joined["moved"] = joined["rank_a"] - joined["rank_b"]
    out = joined[["concept_id", "name", "rank_a", "rank_b", "score_a", "score_b", "moved"]]
    return out.sort_values(["rank_b", "rank_a"], na_position="last").reset_index(drop=True)


def diff_cycles(
    needs: tuple[pd.DataFrame, pd.DataFrame],
    trends: tuple[pd.DataFrame | None, pd.DataFrame | None],
    scores: tuple[pd.DataFrame | None, pd.DataFrame | None],
    models: tuple[dict[str, str], dict[str, str]],
    decisions: tuple[str | None, str | None] = (None, None),
) -> CycleDiff:
    """Everything that changed between two cycles' outputs."""
    matched, new, vanished = match_needs(*needs)
    names = sorted(set(models[0]) | set(models[1]))
    model_changes = {n: (models[0].get(n), models[1].get(n)) for n in names if models[0].get(n) != models[1].get(n)}
    return CycleDiff(new, vanished, matched, trend_changes(*trends), rank_changes(*scores), model_changes, decisions)


def diff_recorded(a: RecordedCycle, b: RecordedCycle) -> CycleDiff:
    """:func:`diff_cycles` of two cycles read back from the store with :data:`DIFF_OUTPUTS`."""

    def needs(cycle: RecordedCycle) -> pd.DataFrame:
        frame = cycle.outputs.get(NEEDS)
        return frame if frame is not None else pd.DataFrame(columns=["label"])

    return diff_cycles(
        (needs(a), needs(b)),
        (a.outputs.get(TRENDS_TABLE), b.outputs.get(TRENDS_TABLE)),
        (a.outputs.get(SCORES), b.outputs.get(SCORES)),
        (a.models, b.models),
        (a.decision, b.decision),
    )
