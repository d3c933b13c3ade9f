"""Column mapping: users' column names onto launchlab's canonical ones (explicit mapping first,
then known aliases)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from launchlab.errors import InputError


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def map_columns(
    frame: pd.DataFrame,
    aliases: Mapping[str, tuple[str, ...]],
    mapping: Mapping[str, str] | None,
    source: str,
) -> dict[str, str]:
    """Return ``{canonical: user column}`` from explicit ``mapping`` first, then known aliases."""
    mapping = {k: v for k, v in (mapping or {}).items() if v}
    unknown = set(mapping) - set(aliases)
    if unknown:
        raise InputError(
            f"cannot map unknown field {sorted(unknown)[0]!r}",
            file=source,
            fix=f"map one of {', '.join(aliases)}",
        )
    found: dict[str, str] = {}
    for canonical, column in mapping.items():
        if column not in frame.columns:
            raise InputError(
                f"the mapped column for {canonical} is not in the file (columns: {', '.join(map(str, frame.columns[:20]))})",
                file=source,
                column=column,
                fix="check the column flag",
            )
        found[canonical] = column
    by_norm: dict[str, str] = {}
    for column in frame.columns:
        by_norm.setdefault(_norm(column), column)
    taken = set(found.values())
    for canonical, names in aliases.items():
        if canonical in found:
            continue
        for name in names:
            column = by_norm.get(_norm(name))
            if column is not None and column not in taken:
                found[canonical] = column
                taken.add(column)
                break
    return found


def require_mapped(found: Mapping[str, str], required: tuple[str, ...], frame: pd.DataFrame, source: str, flag_hint: str) -> None:
    """Raise InputError for the first ``required`` field no column was mapped to."""
    for canonical in required:
        if canonical not in found:
            raise InputError(
                f"no {canonical} column found (columns: {', '.join(map(str, frame.columns[:20]))})",
                file=source,
                column=canonical,
                fix=f"name it with {flag_hint.format(field=canonical)}",
            )
