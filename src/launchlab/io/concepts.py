"""The concepts contract: one row per candidate product with ``concept_id, name, description``
and optionally ``claims`` (a list of texts), ``price`` and ``category``.

A concept breaks the contract when its description, id or name is empty, its price is not a
number, or its id repeats an earlier concept's (the first is kept).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError
from launchlab.io.columns import map_columns, require_mapped
from launchlab.io.contract import Loaded, Problems, require_columns, text_or_none
from launchlab.io.reading import decode, read_table, reject_lone_surrogates
from launchlab.lists import as_list

CONCEPT_ALIASES: dict[str, tuple[str, ...]] = {
    S.CONCEPT_ID: ("concept_id", "conceptid", "id", "key"),
    S.NAME: ("name", "title", "conceptname"),
    S.DESCRIPTION: ("description", "desc", "text", "concept", "pitch"),
    S.CLAIMS: ("claims", "attributes", "benefits", "features"),
    S.PRICE: ("price", "pricepoint", "msrp"),
    S.CATEGORY: ("category", "segment", "targetcategory"),
}
COLUMNS = [S.CONCEPT_ID, S.NAME, S.DESCRIPTION, S.CLAIMS, S.PRICE, S.CATEGORY, S.SOURCE_ROW]


def concept_problems(frame: pd.DataFrame, *, raw_price: pd.Series | None = None, price_name: str = S.PRICE) -> Problems:
    """The concepts contract, row by row (see the module docstring); ``raw_price`` is the price
    as written when ``frame`` holds it parsed."""
    problems = Problems(frame.index)
    problems.add("description", _blank(frame[S.DESCRIPTION]), "description is empty", S.DESCRIPTION,
                 fix="give every concept a description")
    ids = frame[S.CONCEPT_ID].map(text_or_none)
    problems.add("id", ids.isna() | (ids == ""), "concept id is empty", S.CONCEPT_ID, fix="give every concept an id")
    problems.add("name", _blank(frame[S.NAME]), "name is empty", S.NAME, fix="give every concept a name")
    problems.add("duplicate", ids.where(problems.ok).duplicated(keep="first") & problems.ok,
                 "duplicate concept id (first kept)", S.CONCEPT_ID, fix="give every concept a unique id",
                 message="the concept id repeats an earlier concept's")
    if S.PRICE in frame:
        raw_price = frame[S.PRICE] if raw_price is None else raw_price
        price = pd.to_numeric(frame[S.PRICE], errors="coerce")
        problems.add("price", raw_price.notna() & price.isna(), f"{price_name} is not a number", S.PRICE,
                     fix="write the price as a number")
    return problems


def require_concepts(
    concepts: pd.DataFrame, *, source: str = "<concepts>", allow: Collection[str] = ()
) -> tuple[pd.DataFrame, Problems]:
    """Check a concepts frame at a stage's entry, once.

    Returns a copy with ``concept_id`` as stripped text and ``claims`` as lists, and the
    problems of the rules in ``allow`` (``description``, ``id``, ``name``, ``price``,
    ``duplicate``), which the stage handles itself. A missing column, an empty table or a row
    that breaks a rule not in ``allow`` raise InputError naming the file, row and column.
    """
    if not isinstance(concepts, pd.DataFrame):
        raise InputError("concepts must be a table (pandas DataFrame)", fix="load it with launchlab's concepts loader")
    if len(concepts) == 0:
        raise InputError("the concepts table is empty", file=source, column=S.CONCEPT_ID,
                         fix="add at least one concept with an id, name and description")
    require_columns(concepts, (S.CONCEPT_ID, S.NAME, S.DESCRIPTION), source=source,
                    fix="add the column (or map yours onto it)")
    frame = concepts.reset_index(drop=True).copy()
    problems = concept_problems(frame)
    problems.raise_first(frame, source=source, allow=allow)
    frame[S.CONCEPT_ID] = frame[S.CONCEPT_ID].map(text_or_none)
    frame[S.CLAIMS] = [as_list(c) for c in frame[S.CLAIMS]] if S.CLAIMS in frame else [[] for _ in range(len(frame))]
    return frame, problems.only(allow)


def load_concepts(path: str | Path, *, mapping: Mapping[str, str] | None = None) -> Loaded:
    """Load candidate product concepts from YAML (a list, or ``concepts:`` list) or a table.

    Canonical columns: concept_id, name, description, claims (list of strings; a table cell may
    separate them with ``;`` or ``|``), price, category. Concepts with an empty description or a
    duplicated id are quarantined.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        frame = _read_yaml_concepts(path)
    else:
        frame = read_table(path)
    return validate_concepts(frame, source=str(path), mapping=mapping)


def validate_concepts(frame: pd.DataFrame, *, source: str = "<concepts>", mapping: Mapping[str, str] | None = None) -> Loaded:
    """Map a frame onto the concepts contract and set aside the rows that break it (see
    :func:`load_concepts`)."""
    original = frame.reset_index(drop=True)
    found = map_columns(original, CONCEPT_ALIASES, mapping, source)
    require_mapped(found, (S.DESCRIPTION,), original, source, "a mapping {field}: <your column>")
    out = pd.DataFrame(index=original.index)
    out[S.SOURCE_ROW] = original.index + 1
    out[S.CONCEPT_ID] = original[found[S.CONCEPT_ID]].map(text_or_none) if S.CONCEPT_ID in found else [
        f"c{i}" for i in out[S.SOURCE_ROW]]
    out[S.DESCRIPTION] = original[found[S.DESCRIPTION]].map(lambda v: " ".join(v.split()) if isinstance(v, str) else None)
    out[S.NAME] = (
        original[found[S.NAME]].map(lambda v: None if text_or_none(v) is None else " ".join(str(v).split()))
        if S.NAME in found
        else out[S.CONCEPT_ID]
    )
    out[S.NAME] = out[S.NAME].where(out[S.NAME] != "").fillna(out[S.CONCEPT_ID])
    out[S.CLAIMS] = original[found[S.CLAIMS]].map(as_list) if S.CLAIMS in found else [[] for _ in range(len(out))]
    out[S.PRICE] = pd.to_numeric(original[found[S.PRICE]], errors="coerce").astype(float) if S.PRICE in found else np.nan
    out[S.CATEGORY] = original[found[S.CATEGORY]].map(text_or_none) if S.CATEGORY in found else None
    raw_price = original[found[S.PRICE]] if S.PRICE in found else None
    problems = concept_problems(out, raw_price=raw_price, price_name=found.get(S.PRICE, S.PRICE))
    quarantine = problems.quarantine_file(original)
    out = out[problems.ok.to_numpy()]
    if out.empty:
        raise InputError(
            f"no usable concepts ({quarantine[S.REASON].iloc[0]})", file=source, column=found[S.DESCRIPTION], fix="fill in the descriptions"
        )
    return Loaded(out[COLUMNS].reset_index(drop=True), quarantine, source, rows_in=len(original), mapping=dict(found))


def _blank(values: pd.Series) -> pd.Series:
    return values.map(lambda v: text_or_none(v) in (None, ""))


def _read_yaml_concepts(path: Path) -> pd.DataFrame:
    import yaml

    if not path.exists():
        raise InputError("file not found", file=str(path), fix="check the path")
    try:
        doc = yaml.safe_load(decode(path.read_bytes(), path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"is not valid YAML{where} ({getattr(exc, 'problem', exc)})", file=str(path)) from None
    if isinstance(doc, dict) and "concepts" in doc:
        doc = doc["concepts"]
    if isinstance(doc, list):
        reject_lone_surrogates(doc, path)
    if not isinstance(doc, list) or not doc:
        raise InputError("must hold a list of concepts (or a 'concepts:' list)", file=str(path), fix="see data/concepts.yaml")
    for i, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise InputError("is not a mapping of fields", file=str(path), row=i, fix="write each concept as key: value pairs")
    return pd.DataFrame.from_records(doc)
