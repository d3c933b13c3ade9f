"""Parsing cell values the contracts share: dates in the many ways users write them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates written as ISO strings, common formats or Unix epoch seconds/milliseconds."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, errors="coerce").dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    as_num = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and as_num[values.notna()].notna().all():
        magnitude = as_num.abs()
        if magnitude.max() > 1e8:
            # The unit follows the typical value, so one absurd cell cannot turn seconds into
            # milliseconds; values beyond what a timestamp can hold become NaT (quarantined).
            unit = "ms" if magnitude[np.isfinite(magnitude)].median() > 1e11 else "s"
            limit = 9.2e15 if unit == "ms" else 9.2e9
            return pd.to_datetime(as_num.where(magnitude < limit), unit=unit, errors="coerce")
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    missing = parsed.isna() & text.notna()
    if missing.any():
        parsed[missing] = pd.to_datetime(text[missing], errors="coerce", format="mixed")
    missing = parsed.isna() & text.notna()
    if missing.any():
        parsed[missing] = pd.to_datetime(text[missing], errors="coerce", format="%b-%y")
    out = pd.to_datetime(parsed, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out.astype("datetime64[ns]")


def is_calendar_date(value: object) -> bool:
    """True for text that is a real calendar date, even one pandas cannot hold (year 9999)."""
    if not isinstance(value, str) or not any(ch.isdigit() for ch in value) or len(value) > 40:
        return False
    from dateutil import parser as dateutil_parser

    try:
        dateutil_parser.parse(value)
    except (ValueError, OverflowError):
        return False
    return True
