"""Writing outputs: stage tables as Parquet, quarantined rows as spreadsheet-safe CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells (and column names) a spreadsheet would run as a formula with a quote
    (CSV injection). Text in ``string`` columns counts as much as in ``object`` ones."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object).map(_defuse)
    out.columns = [_defuse(str(c)) for c in out.columns]
    return out


def _plain_name(name: str) -> str:
    """Output files are named by launchlab, never by user data: refuse anything but a plain name."""
    if not name or name in (".", "..") or any(ch in name for ch in ("/", "\\", "\x00")) or Path(name).is_absolute():
        raise ValueError(f"not a plain file name: {name!r}")
    return name


def write_quarantine(quarantine: pd.DataFrame, out_dir: str | Path, name: str) -> Path | None:
    """Write quarantined rows to ``out_dir/quarantine/<name>.csv``; return the path (None if none)."""
    if quarantine is None or quarantine.empty:
        return None
    folder = Path(out_dir) / "quarantine"
    path = folder / f"{_plain_name(name)}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    frame = quarantine.copy()
    for column in frame.columns:
        frame[column] = frame[column].map(lambda v: json.dumps(list(v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    # CRLF line ends (RFC 4180) make the writer quote any cell holding a bare CR, which would
    # otherwise start a new row in a spreadsheet (and smuggle a formula past the prefixing).
    neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\r\n")
    return path


def write_table(frame: pd.DataFrame, out_dir: str | Path, name: str) -> Path:
    """Write one output table as ``out_dir/<name>.parquet``."""
    folder = Path(out_dir)
    path = folder / f"{_plain_name(name)}.parquet"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


PREVIEW_ROWS = 1000
"""Tables up to this many rows are previewed in full; longer ones by their first rows."""


def write_preview(frame: pd.DataFrame, out_dir: str | Path, name: str, max_rows: int = PREVIEW_ROWS) -> Path:
    """Write ``out_dir/preview/<name>.csv``: the table (or its first ``max_rows`` rows) as
    spreadsheet-safe CSV that the MLflow UI and a spreadsheet can show. Lists become JSON text;
    embedding vectors (numeric arrays of more than 16 values) are left out: they live in the Parquet."""
    folder = Path(out_dir) / "preview"
    path = folder / f"{_plain_name(name)}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    head = frame.head(max_rows).copy()
    for column in list(head.columns):
        cells = head[column]
        if cells.map(lambda v: isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size > 16).any():
            head = head.drop(columns=column)
            continue
        head[column] = cells.map(lambda v: json.dumps(_plain(v)) if isinstance(v, (list, tuple, np.ndarray, dict)) else v)
    neutralise_formulas(head).to_csv(path, index=False, lineterminator="\r\n")
    return path


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
