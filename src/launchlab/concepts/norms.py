"""Norms: each concept's score as a percentile against past concepts of the same category.

Concept-testing houses (Zappi, BASES) read a score against norms, not on its own, and Zappi asks
for at least 20 past concepts in a norm; fewer are reported with a flag. Every scored concept is
added to the norms table the stage returns, so a team builds its own norms cycle after cycle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.concepts.config import COMPONENTS
from launchlab.errors import InputError
from launchlab.schemas import CATEGORY, CONCEPT_ID, NAME

NORM_COLUMNS = (CONCEPT_ID, NAME, CATEGORY, "score", *COMPONENTS, "embedder")
"""Columns of the norms table (``score`` and ``concept_id`` are required in a supplied one)."""


def validate_norms(norms: pd.DataFrame) -> pd.DataFrame:
    """Check a supplied norms table; return it with canonical columns (missing ones as NaN)."""
    for col in (CONCEPT_ID, "score"):
        if col not in norms:
            raise InputError(
                "the norms table has no such column",
                column=col,
                fix="pass the norms table a previous concepts run wrote (norms.parquet)",
            )
    out = norms.copy()
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    bad = out["score"].isna() | ~out["score"].between(0, 100)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError("score is not a number between 0 and 100", row=row, column="score", fix="fix or drop that norm")
    for col in NORM_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out[CONCEPT_ID] = out[CONCEPT_ID].astype(str)
    return out[list(NORM_COLUMNS)].reset_index(drop=True)


def _category_key(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower()
    return text or None


def percentile(value: float, reference: np.ndarray) -> float:
    """Share (0–100) of ``reference`` below ``value``, ties counting half."""
    if len(reference) == 0:
        return float("nan")
    return float(100.0 * (np.sum(reference < value) + 0.5 * np.sum(reference == value)) / len(reference))


def apply_norms(
    scores: pd.DataFrame, norms: pd.DataFrame | None, *, embedder_id: str, min_norms: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Add ``norm_percentile, norm_n, norm_basis, norm_enough`` to ``scores``.

    The reference of a concept is the past concepts of its category (case-insensitive) scored
    with the same embedder, itself excluded; when its category has none, all past concepts
    (``norm_basis == "all"``). Returns the scores, the norms table with this run's concepts
    added (a concept scored again replaces its older row) and warnings.
    """
    warnings: list[str] = []
    past = validate_norms(norms) if norms is not None else pd.DataFrame(columns=list(NORM_COLUMNS))
    if len(past) and past["embedder"].notna().any():
        same = past["embedder"].astype(str) == embedder_id
        if (~same).any():
            warnings.append(
                f"{int((~same).sum())} norms were scored with another embedding model and are not compared"
            )
        usable = past[same]
    else:
        usable = past
    keys = usable[CATEGORY].map(_category_key)
    pct, n_ref, basis = [], [], []
    for row in scores.itertuples(index=False):
        others = usable[usable[CONCEPT_ID] != str(getattr(row, CONCEPT_ID))]
        cat = _category_key(getattr(row, CATEGORY, None))
        ref = others[keys.loc[others.index] == cat] if cat is not None else others.iloc[:0]
        b = "category"
        if len(ref) == 0:
            ref, b = others, "all"
        if len(ref) == 0:
            b = "none"
        pct.append(percentile(float(row.score), ref["score"].to_numpy(dtype=float)))
        n_ref.append(len(ref))
        basis.append(b)
    out = scores.copy()
    out["norm_percentile"] = np.round(pct, 1)
    out["norm_n"] = n_ref
    out["norm_basis"] = basis
    out["norm_enough"] = out["norm_n"] >= min_norms
    if norms is None:
        warnings.append("no norms given: percentiles against past concepts are not reported (norms.parquet starts here)")
    elif not out["norm_enough"].all():
        few = out.loc[~out["norm_enough"], CONCEPT_ID].tolist()
        warnings.append(f"fewer than {min_norms} past concepts to compare {few} with: read their percentiles with care")

    new = scores.reindex(columns=[c for c in NORM_COLUMNS if c != "embedder"]).assign(embedder=embedder_id)
    kept = past[~past[CONCEPT_ID].isin(set(new[CONCEPT_ID].astype(str)))]
    updated = pd.concat([kept, new], ignore_index=True) if len(kept) else new.reset_index(drop=True)
    return out, updated[list(NORM_COLUMNS)], warnings
