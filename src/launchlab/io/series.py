"""The series contract: statsforecast's long frame ``unique_id, ds, y``, one row per series and
period.

``ds`` is a date or an integer period, ``y`` a finite number, ``unique_id`` not empty, and no
``(unique_id, ds)`` repeats (the first is kept). Users' files may also be wide (a column per
period, or a column per series); :func:`load_series` turns them long.
"""

from __future__ import annotations

import io as _io
import re
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError
from launchlab.io.columns import map_columns, require_mapped
from launchlab.io.contract import Loaded, Problems, require_columns
from launchlab.io.reading import read_table
from launchlab.io.values import parse_dates

SERIES_ALIASES: dict[str, tuple[str, ...]] = {
    S.UNIQUE_ID: ("unique_id", "uniqueid", "id", "series", "seriesid", "item", "itemid", "sku", "productcode", "product", "key"),
    S.DS: ("ds", "date", "week", "month", "period", "time", "year", "timestamp", "day"),
    S.Y: ("y", "value", "sales", "units", "demand", "count", "qty", "quantity", "volume", "interest"),
}


_PERIOD_COLUMN = re.compile(r"^[A-Za-z]{0,2}[ _-]?(\d{1,4})$")
_DERIVED = re.compile(r"^(min|max|mean|avg|sum|total|normalized.*|std|rownames|index|unnamed.*|rowid|row)$", re.I)


def _looks_like_date(name: str) -> bool:
    if re.fullmatch(r"\d{4}[-/]\d{1,2}([-/]\d{1,2})?", name):
        return True
    return False


def load_series(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    layout: str = "auto",
) -> Loaded:
    """Load time series into the long ``unique_id, ds, y`` contract.

    ``layout``: ``long`` (one row per series and period), ``wide-periods`` (one row per series,
    one column per period, e.g. ``Product_Code, W0 … W51``), ``wide-series`` (one row per
    period, one column per series, with or without a date column), or ``auto`` (decided from the
    columns). Derived columns such as MIN, MAX, Normalized … in a wide file are ignored and said
    so. ``ds`` becomes a datetime or an integer period; rows with a missing or non-numeric value,
    or a duplicated (unique_id, ds), are quarantined.
    """
    frame = read_table(path)
    return validate_series(frame, source=str(path), mapping=mapping, layout=layout)


def _google_trends(frame: pd.DataFrame) -> pd.DataFrame | None:
    """A Google Trends ``multiTimeline.csv`` reads as one 'Category: …' column; re-read it."""
    if frame.shape[1] != 1 or not str(frame.columns[0]).lower().startswith("category"):
        return None
    lines = frame.iloc[:, 0].astype(str).tolist()
    text = "\n".join(line for line in lines if line.strip())
    table = pd.read_csv(_io.StringIO(text), dtype=str)
    table.columns = [re.sub(r":\s*\(.*\)$", "", c).strip() for c in table.columns]
    return table.replace({"<1": "0.5"})


RULES = ("ds", "y_number", "y_missing", "y_infinite", "id", "duplicate")
"""The series rules, in the order they are judged."""
Y_RULES = ("y_number", "y_missing", "y_infinite")
"""The rules about ``y``: a stage that treats an unusable value as a gap allows them."""


def series_problems(long: pd.DataFrame, *, raw_y: pd.Series | None = None, ds_name: str = S.DS, y_name: str = S.Y) -> Problems:
    """The series contract, row by row, on a long frame whose ``ds`` and ``y`` are parsed
    (``raw_y``: the values as the user wrote them; a value present there but missing after
    parsing is not a number)."""
    y = long[S.Y]
    raw_y = y if raw_y is None else raw_y
    problems = Problems(long.index)
    problems.add("ds", long[S.DS].isna(), f"{ds_name}: not a date or integer period", S.DS,
                 fix="use dates (2024-01-31) or integer periods (2024)")
    fix_y = "use numbers in the value column"
    problems.add("y_number", raw_y.notna() & y.isna(), f"{y_name}: value is not a number", S.Y, fix=fix_y)
    problems.add("y_missing", y.isna(), f"{y_name}: value is missing", S.Y, fix=fix_y)
    problems.add("y_infinite", ~np.isfinite(y.fillna(0.0)), f"{y_name}: value is infinite", S.Y, fix=fix_y)
    ids = long[S.UNIQUE_ID]
    problems.add("id", ids.isna() | (ids == ""), "series id is empty", S.UNIQUE_ID, fix="give every row its series id")
    repeated = long.loc[problems.ok].duplicated([S.UNIQUE_ID, S.DS], keep="first").reindex(long.index, fill_value=False)
    problems.add("duplicate", repeated,
                 "duplicate (unique_id, ds) (first kept)", S.DS, fix="keep one row per series and period",
                 message="this series has the same period twice (an earlier row has the same unique_id and ds)")
    return problems


def require_series(
    series: pd.DataFrame, *, source: str = "<series>", allow: Collection[str] = ()
) -> tuple[pd.DataFrame, Problems]:
    """Check a long ``unique_id, ds, y`` frame at a stage's entry, once.

    Returns a parsed copy (``unique_id`` text, ``ds`` dates or integer periods, ``y`` floats;
    other columns kept) and the problems of the rules in ``allow`` (see :data:`RULES`), which
    the stage handles itself; a ``y`` that breaks a rule is NaN in the copy. A missing column, an
    empty frame, a ``ds`` column with neither dates nor periods, or a row that breaks a rule not
    in ``allow`` raise InputError naming the file, row and column.
    """
    require_columns(series, (S.UNIQUE_ID, S.DS, S.Y), source=source,
                    fix="give a long frame with unique_id, ds and y (the loaders convert wide files)")
    if len(series) == 0:
        raise InputError("the series frame has no rows", file=source, fix="supply at least one series")
    frame = series.reset_index(drop=True).copy()
    raw_y = frame[S.Y]
    frame[S.UNIQUE_ID] = frame[S.UNIQUE_ID].map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    frame[S.DS] = parse_ds(frame[S.DS])
    if frame[S.DS].isna().all() and series[S.DS].notna().any():
        raise InputError("ds holds neither dates nor integer periods", file=source, column=S.DS,
                         fix="use dates (2024-01-31) or integers (2024)")
    y = pd.to_numeric(raw_y, errors="coerce").astype(np.float64)
    frame[S.Y] = y.where(np.isfinite(y))
    problems = series_problems(frame.assign(**{S.Y: y}), raw_y=raw_y)
    problems.raise_first(frame, source=source, allow=allow)
    return frame, problems.only(allow)


def validate_series(
    frame: pd.DataFrame,
    *,
    source: str = "<series>",
    mapping: Mapping[str, str] | None = None,
    layout: str = "auto",
) -> Loaded:
    """Map a frame onto the long series contract and set aside the rows that break it (see
    :func:`load_series`)."""
    warnings: list[str] = []
    original = frame.reset_index(drop=True)
    gt = _google_trends(original)
    if gt is not None:
        original = gt
        warnings.append("read as a Google Trends export; '<1' read as 0.5")
    found = map_columns(original, SERIES_ALIASES, mapping, source)
    long, layout, ds_column, y_column = _to_long(original, found, layout, source, warnings)
    raw_y = long[S.Y]
    long[S.DS] = parse_ds(long[S.DS])
    long[S.Y] = pd.to_numeric(raw_y, errors="coerce").astype(float)
    problems = series_problems(long, raw_y=raw_y, ds_name=ds_column, y_name=y_column)
    bad = ~problems.ok.to_numpy()
    quarantine = long[bad].copy()
    by_ds = (problems.rule == "ds").to_numpy()
    if by_ds.any():
        # Rows set aside for their ds are reported before y is read, with the value as written.
        quarantine[S.Y] = quarantine[S.Y].astype(object)
        quarantine.loc[by_ds[bad], S.Y] = raw_y[by_ds]
    quarantine[S.REASON] = problems.reason[bad].to_numpy()
    rank = problems.rule[bad].map({rule: i for i, rule in enumerate(RULES)}).to_numpy()
    quarantine = quarantine.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    long = long[~bad]
    if long.empty:
        first = quarantine[S.REASON].iloc[0] if len(quarantine) else "no rows"
        raise InputError(f"no usable series values ({first})", file=source, fix="check the layout and column flags")
    long = long.sort_values([S.UNIQUE_ID, S.DS], kind="stable").reset_index(drop=True)
    long[S.UNIQUE_ID] = long[S.UNIQUE_ID].astype(str)
    loaded = Loaded(long[[S.UNIQUE_ID, S.DS, S.Y, S.SOURCE_ROW]], quarantine, source, rows_in=len(problems.ok),
                    mapping=dict(found), warnings=warnings)
    loaded.warnings.append(f"layout {layout}: {long[S.UNIQUE_ID].nunique()} series")
    return loaded


def _to_long(
    original: pd.DataFrame, found: dict[str, str], layout: str, source: str, warnings: list[str]
) -> tuple[pd.DataFrame, str, str, str]:
    """The user's frame as raw long rows ``source_row, unique_id, ds, y``, with the layout used
    and the names of the ds and y columns as the user knows them."""
    if layout == "auto":
        if S.UNIQUE_ID in found and S.DS in found and S.Y in found:
            layout = "long"
        elif S.DS in found and S.UNIQUE_ID not in found:
            layout = "wide-series"
        elif sum(bool(_PERIOD_COLUMN.match(str(c)) or _looks_like_date(str(c))) for c in original.columns) >= 3 and (
            S.UNIQUE_ID in found or any(pd.to_numeric(original[c], errors="coerce").isna().mean() > 0.5 for c in original.columns)
        ):
            layout = "wide-periods"
        elif S.DS in found and S.Y in found:
            layout = "long"
        else:
            layout = "wide-series"
    if layout == "long":
        if S.UNIQUE_ID not in found:
            original = original.assign(**{"__series": Path(source).name.split(".")[0]})
            found[S.UNIQUE_ID] = "__series"
        require_mapped(found, S.SERIES_REQUIRED, original, source, "--id-col/--ds-col/--y-col ({field})")
        long = pd.DataFrame(
            {
                S.SOURCE_ROW: original.index + 1,
                S.UNIQUE_ID: original[found[S.UNIQUE_ID]].astype("string").str.strip(),
                S.DS: original[found[S.DS]],
                S.Y: original[found[S.Y]],
            }
        )
        ds_column, y_column = found[S.DS], found[S.Y]
    elif layout == "wide-periods":
        id_col = found.get(S.UNIQUE_ID) or original.columns[0]
        periods = [c for c in original.columns if c != id_col and (_PERIOD_COLUMN.match(str(c)) or _looks_like_date(str(c)))]
        ignored = [c for c in original.columns if c != id_col and c not in periods]
        if ignored:
            warnings.append(f"ignored {len(ignored)} non-period columns: {', '.join(map(str, ignored[:6]))}{' …' if len(ignored) > 6 else ''}")
        if not periods:
            raise InputError("no period columns found in a wide file", file=source, fix="use --layout long with --ds-col and --y-col")
        long = _stack(original[periods], {S.UNIQUE_ID: original[id_col]}, var_name=S.DS)
        long[S.UNIQUE_ID] = long[S.UNIQUE_ID].astype("string").str.strip()
        if all(_PERIOD_COLUMN.match(str(p)) for p in periods):
            long[S.DS] = long[S.DS].map(lambda c: int(_PERIOD_COLUMN.match(str(c)).group(1)))
        ds_column, y_column = "period columns", "period columns"
    elif layout == "wide-series":
        ds_col = found.get(S.DS)
        value_cols = [c for c in original.columns if c != ds_col and not _DERIVED.match(str(c))]
        numeric = [c for c in value_cols if pd.to_numeric(original[c], errors="coerce").notna().mean() > 0.5]
        ignored = [c for c in original.columns if c != ds_col and c not in numeric]
        if ignored:
            warnings.append(f"ignored {len(ignored)} non-numeric columns: {', '.join(map(str, ignored[:6]))}")
        if not numeric:
            raise InputError("no numeric series columns found", file=source, fix="use --layout long with --id-col, --ds-col and --y-col")
        long = _stack(original[numeric], {S.DS: original[ds_col] if ds_col else original.index + 1}, var_name=S.UNIQUE_ID)
        long[S.UNIQUE_ID] = long[S.UNIQUE_ID].astype("string")
        ds_column, y_column = ds_col or "row order", "series columns"
    else:
        raise InputError(f"unknown layout {layout!r}", file=source, fix="use auto, long, wide-periods or wide-series")
    return long.reset_index(drop=True), layout, ds_column, y_column


def _stack(values: pd.DataFrame, fixed: Mapping[str, object], *, var_name: str) -> pd.DataFrame:
    """Wide → long, column by column (as ``melt``), with ``source_row`` and ``y``.

    Built from arrays rather than ``DataFrame.melt`` so that user columns named like the
    canonical ones (``y``, ``ds``, ``source_row``) cannot clash with the output columns.
    """
    n, k = values.shape
    long = pd.DataFrame({S.SOURCE_ROW: np.tile(np.arange(1, n + 1), k)})
    for name, column in fixed.items():
        long[name] = np.tile(np.asarray(column), k)
    long[var_name] = np.repeat(np.asarray([str(c) for c in values.columns], dtype=object), n)
    long[S.Y] = values.to_numpy(dtype=object).ravel(order="F")
    return long


def parse_ds(values: pd.Series) -> pd.Series:
    """``ds`` as integer periods (which stay integers), decimal years (month starts) or dates;
    NaT/NA where a cell is none of them."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return parse_dates(values)
    as_num = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and as_num[values.notna()].notna().all():
        whole = np.isclose(as_num, np.round(as_num))
        small = as_num.abs() < 1e8
        if whole[values.notna()].all() and small[values.notna()].all():
            return as_num.round().astype("Int64").astype("int64", errors="ignore")
        if small[values.notna()].all():
            years = np.floor(as_num)
            months = np.round((as_num - years) * 12).astype(int)
            dates = pd.to_datetime(
                {"year": years.astype(int), "month": months.clip(0, 11) + 1, "day": 1}, errors="coerce"
            )
            return dates
    return parse_dates(values)
