"""The reviews contract: one row per review with ``review_id, text`` and optionally ``rating,
date, product, category, age``.

A review breaks the contract when its text is not text or is empty, its id is empty, its rating
is not a number or lies outside ``rating_range``, its date is not a date or lies before 1990 or
in the future, or its id repeats an earlier review's (the first is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError
from launchlab.io.columns import map_columns, require_mapped
from launchlab.io.contract import Loaded, Problems, require_columns, text_or_none
from launchlab.io.reading import read_table
from launchlab.io.values import is_calendar_date, parse_dates

RATING_RANGE = (1.0, 5.0)
"""Star ratings a review may carry; others are set aside."""
FIRST_DATE = pd.Timestamp("1990-01-01")

REVIEW_ALIASES: dict[str, tuple[str, ...]] = {
    S.REVIEW_ID: ("review_id", "reviewid", "id", "review", "reviewkey", "uuid"),
    S.TEXT: ("text", "reviewtext", "review_text", "reviewbody", "body", "content", "comment", "comments", "reviews_text", "review"),
    "title": ("title", "summary", "reviewtitle", "headline", "subject"),
    S.RATING: ("rating", "overall", "stars", "starrating", "score", "reviewrating", "reviewsrating"),
    S.DATE: ("unixreviewtime", "date", "reviewdate", "reviewtime", "timestamp", "time", "createdat", "submissiontime", "reviewsdate"),
    S.PRODUCT: ("product", "productid", "asin", "parentasin", "clothingid", "itemid", "sku", "productname"),
    S.CATEGORY: ("category", "classname", "departmentname", "productcategory", "maincategory", "categories"),
    "age": ("age", "reviewerage", "ageband"),
}


def review_problems(
    frame: pd.DataFrame,
    *,
    rating_range: tuple[float, float] = RATING_RANGE,
    raw: pd.DataFrame | None = None,
    names: Mapping[str, str] | None = None,
) -> Problems:
    """The reviews contract, row by row (see the module docstring).

    ``frame`` has the canonical columns; ``raw`` the cells as the user wrote them, when ``frame``
    holds them parsed (a rating or date present in ``raw`` but missing in ``frame`` did not
    parse); ``names`` the user's column names, for the reasons.
    """
    raw = frame if raw is None else raw
    name = {c: c for c in (S.TEXT, S.RATING, S.DATE)} | dict(names or {})
    problems = Problems(frame.index)
    text, raw_text = frame[S.TEXT], raw[S.TEXT]
    is_text = text.map(lambda t: isinstance(t, str))
    problems.add("text", raw_text.notna() & ~raw_text.map(lambda t: isinstance(t, str)) & ~is_text,
                 f"{name[S.TEXT]} is not text", S.TEXT, fix="give every review its text")
    problems.add("text", ~text.map(lambda t: isinstance(t, str) and bool(t.strip())),
                 f"{name[S.TEXT]} is empty", S.TEXT, fix="give every review its text")
    ids = frame[S.REVIEW_ID].map(text_or_none)
    problems.add("id", ids.isna() | (ids == ""), "review id is empty", S.REVIEW_ID, fix="give every review an id")
    if S.RATING in frame:
        rating = pd.to_numeric(frame[S.RATING], errors="coerce").astype(float)
        fix = f"use ratings from {rating_range[0]:g} to {rating_range[1]:g}"
        problems.add("rating", raw[S.RATING].notna() & rating.isna(), f"{name[S.RATING]} is not a number", S.RATING, fix=fix)
        lo, hi = rating_range
        problems.add("rating", rating.notna() & ~rating.between(lo, hi), f"{name[S.RATING]} outside {lo:g}-{hi:g}", S.RATING,
                     fix=fix)
    if S.DATE in frame:
        dates = frame[S.DATE] if pd.api.types.is_datetime64_any_dtype(frame[S.DATE]) else parse_dates(frame[S.DATE])
        failed = raw[S.DATE].notna() & dates.isna()
        beyond = failed & raw[S.DATE].map(is_calendar_date)
        out_of_range = f"{name[S.DATE]} is out of range (before 1990 or in the future)"
        fix = "use dates from 1990 to today"
        problems.add("date", beyond, out_of_range, S.DATE, fix=fix)
        problems.add("date", failed, f"{name[S.DATE]} is not a date", S.DATE, fix=fix)
        future = pd.Timestamp.now() + pd.Timedelta(days=2)
        problems.add("date", dates.notna() & ((dates < FIRST_DATE) | (dates > future)), out_of_range, S.DATE, fix=fix)
    problems.add("duplicate", ids.where(problems.ok).duplicated(keep="first") & problems.ok,
                 "duplicate review id (first kept)", S.REVIEW_ID, fix="give every review a unique id",
                 message="the review id repeats an earlier review's")
    return problems


def require_reviews(
    frame: pd.DataFrame, *, source: str = "<reviews>", rating_range: tuple[float, float] = RATING_RANGE
) -> pd.DataFrame:
    """The reviews frame if every row keeps the contract (see the module docstring); else
    InputError naming the file, row and column of the first row that breaks it."""
    require_columns(frame, (S.REVIEW_ID, S.TEXT), source=source, fix="map your columns to review_id and text")
    review_problems(frame, rating_range=rating_range).raise_first(frame, source=source)
    return frame


def load_reviews(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sample: int | None = None,
    seed: int = 42,
    rating_range: tuple[float, float] = RATING_RANGE,
) -> Loaded:
    """Load a review file into the reviews contract.

    Canonical columns: review_id, text, rating, date, product, category, age (optional ones may
    be missing). A ``title``/``summary`` column is prepended to the text. Reviews without an id
    get ``<file stem>-<row>``. ``sample`` keeps a seeded random subset of the usable rows (the
    rest are not quarantined: they are reported as ``rows_sampled_out`` in the warnings).
    """
    frame = read_table(path)
    return validate_reviews(frame, source=str(path), mapping=mapping, sample=sample, seed=seed, rating_range=rating_range)


def validate_reviews(
    frame: pd.DataFrame,
    *,
    source: str = "<reviews>",
    mapping: Mapping[str, str] | None = None,
    sample: int | None = None,
    seed: int = 42,
    rating_range: tuple[float, float] = RATING_RANGE,
) -> Loaded:
    """Map a frame of reviews onto the contract and set aside the rows that break it (see
    :func:`load_reviews`)."""
    original = frame.reset_index(drop=True)
    found = map_columns(original, REVIEW_ALIASES, mapping, source)
    require_mapped(found, (S.TEXT,), original, source, "--text-col (or a mapping {field}: <your column>)")
    out = pd.DataFrame(index=original.index)
    out[S.SOURCE_ROW] = original.index + 1
    warnings: list[str] = []

    text = original[found[S.TEXT]]
    if "title" in found:
        title = original[found["title"]].where(original[found["title"]].map(_is_text), None)
        body = text.where(text.map(_is_text), None)
        combined = [
            (t.strip().rstrip(".!?") + ". " + b.strip()) if isinstance(t, str) and t.strip() and isinstance(b, str) and b.strip()
            else (b if isinstance(b, str) and b.strip() else t)
            for t, b in zip(title, body)
        ]
        out[S.TEXT] = pd.Series(combined, index=original.index, dtype=object)
    else:
        out[S.TEXT] = text.where(text.map(_is_text), None)
    out[S.TEXT] = out[S.TEXT].map(lambda t: " ".join(t.split()) if isinstance(t, str) else None)

    if S.REVIEW_ID in found:
        out[S.REVIEW_ID] = original[found[S.REVIEW_ID]].map(text_or_none)
    else:
        stem = Path(source).name.split(".")[0] or "review"
        out[S.REVIEW_ID] = [f"{stem}-{i}" for i in out[S.SOURCE_ROW]]
    if S.RATING in found:
        out[S.RATING] = pd.to_numeric(original[found[S.RATING]], errors="coerce").astype(float)
    if S.DATE in found:
        out[S.DATE] = parse_dates(original[found[S.DATE]])
    for optional in (S.PRODUCT, S.CATEGORY, "age"):
        if optional in found:
            out[optional] = original[found[optional]].map(text_or_none)

    raw = pd.DataFrame({c: original[found[c]] for c in (S.TEXT, S.RATING, S.DATE) if c in found})
    problems = review_problems(out, rating_range=rating_range, raw=raw, names=found)
    quarantine = problems.quarantine_file(original)
    out = out[problems.ok.to_numpy()]
    if out.empty:
        raise InputError(
            f"no usable reviews: all {len(original)} rows were quarantined (first reason: {quarantine[S.REASON].iloc[0]})",
            file=source,
            column=found[S.TEXT],
            fix="check the text column mapping",
        )
    out = out.reset_index(drop=True)
    sampled_out = 0
    if sample is not None and len(out) > sample:
        warnings.append(f"sampled {sample} of {len(out)} usable reviews (seed {seed})")
        sampled_out = len(out) - sample
        out = out.sample(n=sample, random_state=seed).sort_values(S.SOURCE_ROW).reset_index(drop=True)
    columns = [S.REVIEW_ID, S.TEXT] + [c for c in (S.RATING, S.DATE, S.PRODUCT, S.CATEGORY, "age") if c in out] + [S.SOURCE_ROW]
    return Loaded(
        out[columns], quarantine, source, rows_in=len(original), mapping=dict(found), warnings=warnings, rows_sampled_out=sampled_out
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str)
