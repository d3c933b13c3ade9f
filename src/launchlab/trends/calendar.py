"""Time axis of a long series frame: infer the frequency, align timestamps, fill gaps.

Every series of one frame shares one frequency. Datetime ``ds`` gets a pandas offset alias
(``D``, ``W-MON``, ``MS``, ``QS-JAN``, ``YS-JAN`` …); integer ``ds`` (years, period numbers) gets
an integer step. Timestamps off that calendar are moved to the period they fall in, and rows that
then collide are quarantined rather than silently summed or averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from launchlab.errors import InputError
from launchlab.schemas import DS, REASON, UNIQUE_ID, Y

ROW_KEY = "_row"
"""Optional column carried through :func:`regularise` so callers can map rows back to their input."""

_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


@dataclass
class Regular:
    """A regularised frame plus what was done to get it."""

    frame: pd.DataFrame
    freq: str | int
    quarantine: pd.DataFrame
    n_snapped: int = 0
    n_filled: int = 0
    notes: list[str] = field(default_factory=list)


def is_int_ds(ds: pd.Series) -> bool:
    """True when ``ds`` holds integer periods (years, period numbers) rather than dates."""
    return pd.api.types.is_integer_dtype(ds) or (
        pd.api.types.is_float_dtype(ds) and bool(np.all(np.mod(ds.dropna(), 1) == 0))
    )


def season_length_for(freq: str | int) -> int:
    """Periods per season: weekly 52, monthly 12, quarterly 4, daily 7, business-daily 5, hourly 24, else 1."""
    if isinstance(freq, int):
        return 1
    offset = to_offset(freq)
    kinds = (
        ((pd.offsets.Week,), 52),
        ((pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin, pd.offsets.BusinessMonthEnd), 12),
        ((pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin, pd.offsets.BQuarterEnd), 4),
        ((pd.offsets.BusinessDay,), 5),
        ((pd.offsets.Day,), 7),
        ((pd.offsets.Hour,), 24),
    )
    for types, length in kinds:
        if isinstance(offset, types):
            return length
    return 1


def infer_freq(ds: pd.Series, ids: pd.Series | None = None) -> str | int:
    """The frequency of ``ds`` (pooled over series when ``ids`` is given).

    Integers get their greatest common step; dates are classified by the median spacing between
    consecutive timestamps of a series and anchored on the most common weekday / period position.
    """
    ids = ids if ids is not None else pd.Series(0, index=ds.index)
    frame = pd.DataFrame({"id": ids.to_numpy(), "ds": ds.to_numpy()}).dropna().sort_values(["id", "ds"])
    if is_int_ds(frame["ds"]):
        diffs = frame.groupby("id")["ds"].diff().dropna().astype(np.int64)
        diffs = diffs[diffs > 0].unique()
        return int(reduce(math.gcd, diffs.tolist(), 0)) or 1
    dates = pd.DatetimeIndex(frame["ds"])
    diffs = frame.groupby("id")["ds"].diff().dropna()
    diffs = diffs[diffs > pd.Timedelta(0)]
    if diffs.empty:
        raise InputError(
            "cannot infer the frequency from a single timestamp per series",
            column=DS,
            fix="pass the frequency explicitly (e.g. freq='MS' or 'W-MON')",
        )
    days = diffs.median() / pd.Timedelta(days=1)
    if days < 1:
        inferred = pd.infer_freq(pd.DatetimeIndex(sorted(set(dates[:1000]))))
        if inferred:
            return inferred
        raise InputError(
            "cannot infer a sub-daily frequency", column=DS, fix="pass the frequency explicitly (e.g. freq='h')"
        )
    if days < 1.5:
        return "D"
    if 5 <= days <= 9:
        return f"W-{_WEEKDAYS[int(pd.Series(dates.weekday).mode().iloc[0])]}"
    month_end = float(np.mean(dates.is_month_end))
    if 26 <= days <= 35:
        return "ME" if month_end > 0.5 else "MS"
    if 80 <= days <= 100:
        return "QE-DEC" if month_end > 0.5 else "QS-JAN"
    if 350 <= days <= 380:
        return "YE-DEC" if month_end > 0.5 else "YS-JAN"
    raise InputError(
        f"cannot infer the frequency: the median spacing of {days:.1f} days is not daily, weekly, monthly, "
        "quarterly or yearly",
        column=DS,
        fix="pass the frequency explicitly",
    )


def snap(ds: pd.Series, freq: str | int) -> pd.Series:
    """Move each timestamp to the calendar point of the period it falls in.

    End-anchored frequencies (``ME``, ``QE``, ``YE``) roll forward, every other one rolls back,
    so a mid-month date lands on the month start for ``MS`` and on the month end for ``ME``.
    """
    if isinstance(freq, int):
        return ds.astype(np.int64)
    offset = to_offset(freq)
    values = pd.to_datetime(ds)
    if offset.name == "D":
        return values.dt.normalize()
    roll_forward = offset.name.upper().startswith(("ME", "QE", "YE", "BME", "BQE", "BYE"))
    uniques = pd.Series(values.dropna().unique())
    rolled = uniques.map(lambda t: offset.rollforward(t) if roll_forward else offset.rollback(t))
    mapping = dict(zip(uniques, pd.to_datetime(rolled).dt.normalize() if len(rolled) else rolled))
    return values.map(mapping)


def regularise(
    frame: pd.DataFrame, *, freq: str | int | None = None, fill: str = "interpolate"
) -> Regular:
    """Align ``frame`` (unique_id, ds, y) to one calendar and fill the gaps inside each series.

    Rows whose ``ds`` collides with another row of the same series after alignment are
    quarantined (keeping the first). Missing periods between a series' first and last timestamp
    are filled according to ``fill``; the number filled is reported.
    """
    frame = frame[[c for c in (UNIQUE_ID, DS, Y, ROW_KEY) if c in frame.columns]].copy()
    quarantine = []
    notes: list[str] = []
    if freq is None:
        freq = infer_freq(frame[DS], frame[UNIQUE_ID])
    elif is_int_ds(frame[DS]):
        try:
            freq = int(freq)
        except (TypeError, ValueError) as error:
            raise InputError(
                f"freq {freq!r} does not fit integer periods", column=DS, fix="use an integer step such as 1 or leave freq unset"
            ) from error
    else:
        try:
            to_offset(str(freq))
        except ValueError as error:
            raise InputError(
                f"unknown frequency {freq!r}", fix="use a pandas offset alias such as 'D', 'W-MON', 'MS' or 'QS'"
            ) from error
        freq = str(freq)
    if is_int_ds(frame[DS]):
        frame[DS] = frame[DS].astype(np.int64)
        start = frame.groupby(UNIQUE_ID)[DS].transform("min")
        snapped = start + ((frame[DS] - start) // int(freq)) * int(freq)
    else:
        frame[DS] = pd.to_datetime(frame[DS])
        snapped = snap(frame[DS], freq)
    moved = snapped.ne(frame[DS])
    n_snapped = int(moved.sum())
    if n_snapped:
        notes.append(f"{n_snapped} timestamps were off the {freq} calendar and were moved to their period")
        frame[DS] = snapped
    del snapped, moved
    if not _is_sorted(frame):
        frame = frame.sort_values([UNIQUE_ID, DS], kind="stable")
    # Sorted rows: a collision repeats the (unique_id, ds) of the row before it.
    ids, stamps = frame[UNIQUE_ID].to_numpy(), frame[DS].to_numpy()
    collide = pd.Series(np.r_[False, (ids[1:] == ids[:-1]) & (stamps[1:] == stamps[:-1])], index=frame.index)
    del ids, stamps
    if collide.any():
        bad = frame.loc[collide].copy()
        bad[REASON] = f"another row of this series falls in the same {freq} period"
        quarantine.append(bad)
        frame = frame.loc[~collide]

    full = _complete(frame, freq)
    n_filled = int(full[Y].isna().sum() - frame[Y].isna().sum())
    empty = frame.iloc[:0]
    del frame
    if n_filled:
        if fill == "zero":
            full[Y] = full[Y].fillna(0.0)
        elif fill == "ffill":
            full[Y] = full.groupby(UNIQUE_ID)[Y].ffill()
        else:
            full[Y] = full.groupby(UNIQUE_ID)[Y].transform(lambda s: s.interpolate(method="linear"))
        notes.append(f"{n_filled} missing periods inside series were filled ({fill})")
    q = pd.concat(quarantine) if quarantine else empty.assign(**{REASON: pd.Series(dtype=str)})
    if not full.index.equals(pd.RangeIndex(len(full))):
        full = full.reset_index(drop=True)
    return Regular(full, freq, q, n_snapped, n_filled, notes)


def _is_sorted(frame: pd.DataFrame) -> bool:
    """True when rows are grouped by series (ids in ascending order) with ``ds`` ascending inside each."""
    ids = frame[UNIQUE_ID].to_numpy()
    if len(ids) < 2:
        return True
    same = ids[1:] == ids[:-1]
    if not bool(np.all(ids[1:][~same] > ids[:-1][~same])):
        return False
    ds = frame[DS].to_numpy()
    return bool(np.all(ds[1:][same] > ds[:-1][same]))


def _complete(frame: pd.DataFrame, freq: str | int) -> pd.DataFrame:
    """Every period between each series' first and last timestamp (new periods get NaN y).

    ``frame`` is sorted by (unique_id, ds) without repeats; when no period is missing it is
    returned as it is (the usual case, and the cheap one: no merge over every row).
    """
    bounds = frame.groupby(UNIQUE_ID, sort=True)[DS].agg(["min", "max", "size"])
    if isinstance(freq, int):
        counts = ((bounds["max"] - bounds["min"]) // freq + 1).to_numpy()
    else:
        parts = [pd.date_range(lo, hi, freq=freq) for lo, hi in zip(bounds["min"], bounds["max"])]
        counts = np.array([len(p) for p in parts], dtype=np.int64)
    if np.array_equal(counts, bounds["size"].to_numpy()):
        return frame
    if isinstance(freq, int):
        starts = np.repeat(bounds["min"].to_numpy(), counts)
        steps = np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.array([], dtype=np.int64)
        grid_ds = starts + steps * freq
    else:
        grid_ds = np.concatenate([p.to_numpy() for p in parts]) if parts else np.array([], dtype="datetime64[ns]")
    grid = pd.DataFrame({UNIQUE_ID: np.repeat(bounds.index.to_numpy(), counts), DS: grid_ds})
    if not isinstance(freq, int):
        grid[DS] = pd.to_datetime(grid[DS]).astype(frame[DS].dtype)
    return grid.merge(frame, on=[UNIQUE_ID, DS], how="left")


def future_ds(last: pd.Series, h: int, freq: str | int) -> pd.DataFrame:
    """The next ``h`` calendar points after each series' last timestamp (``last`` indexed by id)."""
    ids = np.repeat(last.index.to_numpy(), h)
    steps = np.tile(np.arange(1, h + 1), len(last))
    if isinstance(freq, int):
        ds = np.repeat(last.to_numpy(), h) + steps * freq
    else:
        offset = to_offset(freq)
        ds = np.concatenate([pd.date_range(t, periods=h + 1, freq=offset)[1:].to_numpy() for t in last]) if len(last) else []
    return pd.DataFrame({UNIQUE_ID: ids, DS: ds})
