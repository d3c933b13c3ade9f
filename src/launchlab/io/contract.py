"""What every data contract shares: the loaded result, the per-row problems, and how a broken
rule is reported (a quarantined row with its reason, or one ``InputError`` line)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError


@dataclass
class Loaded:
    """A loaded, validated frame and what happened to the rows of its file."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    source: str
    rows_in: int
    mapping: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows_sampled_out: int = 0

    @property
    def rows_used(self) -> int:
        return len(self.frame)

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantine)

    def counts(self) -> dict[str, int]:
        """Row accounting: rows_in = rows_used + rows_quarantined + rows_sampled_out."""
        counts = {
            "rows_in": self.rows_in,
            "rows_used": self.rows_used,
            "rows_quarantined": self.rows_quarantined,
        }
        if self.rows_sampled_out:
            counts["rows_sampled_out"] = self.rows_sampled_out
        return counts


def row_number(frame: pd.DataFrame, pos: int) -> int:
    """The 1-based data row of the user's file behind position ``pos`` (``source_row`` when the
    frame carries it, else the position)."""
    if S.SOURCE_ROW in frame.columns:
        value = frame[S.SOURCE_ROW].iloc[pos]
        if pd.notna(value):
            return int(value)
    return pos + 1


def require_columns(frame: pd.DataFrame, columns: Collection[str], *, source: str, fix: str) -> None:
    """Raise InputError naming the first of ``columns`` the frame lacks."""
    for column in columns:
        if column not in frame.columns:
            available = ", ".join(repr(c) for c in frame.columns if c != S.SOURCE_ROW)
            raise InputError(f"missing column {column!r} (available columns: {available})", file=source, column=column, fix=fix)


class Problems:
    """The rules a frame's rows break: for each row the first rule it breaks, NA where it keeps.

    A contract adds its rules in order (``add``); a row already set aside by an earlier rule is
    not judged again, so "duplicate … (first kept)" counts only rows that pass every other rule.
    ``validate_*`` functions quarantine every row with a problem (:meth:`set_aside`);
    ``require_*`` functions raise on the first (:meth:`raise_first`).
    """

    def __init__(self, index: pd.Index) -> None:
        self.rule = pd.Series(pd.NA, index=index, dtype=object)
        self.reason = pd.Series(pd.NA, index=index, dtype=object)
        self.column = pd.Series(pd.NA, index=index, dtype=object)
        self._fix: dict[str, str] = {}
        self._message: dict[str, str] = {}

    @property
    def ok(self) -> pd.Series:
        """True for the rows that break no rule so far."""
        return self.reason.isna()

    def add(
        self, rule: str, mask: pd.Series, reason: str | pd.Series, column: str, *, fix: str, message: str | None = None
    ) -> None:
        """Rows under ``mask`` that break no earlier rule break ``rule``. ``reason`` is what the
        quarantine file says; ``message`` (default: the reason) what ``raise_first`` says."""
        hit = mask.reindex(self.reason.index).fillna(False).astype(bool) & self.ok
        if hit.any():
            self.rule[hit] = rule
            self.reason[hit] = reason[hit] if isinstance(reason, pd.Series) else reason
            self.column[hit] = column
        self._fix[rule] = fix
        if message is not None:
            self._message[rule] = message

    def only(self, rules: Collection[str]) -> Problems:
        """The problems of the given rules alone (the others count as fine)."""
        out = Problems(self.reason.index)
        keep = self.rule.isin(list(rules))
        for name in ("rule", "reason", "column"):
            getattr(out, name)[keep] = getattr(self, name)[keep]
        out._fix, out._message = self._fix, self._message
        return out

    def raise_first(self, frame: pd.DataFrame, *, source: str, allow: Collection[str] = ()) -> None:
        """Raise InputError naming the file, row and column of the first row that breaks a rule
        not in ``allow``."""
        bad = np.flatnonzero((~self.ok & ~self.rule.isin(list(allow))).to_numpy())
        if bad.size:
            pos = int(bad[0])
            rule = self.rule.iloc[pos]
            raise InputError(
                self._message.get(rule, self.reason.iloc[pos]),
                file=source,
                row=row_number(frame, pos),
                column=self.column.iloc[pos],
                fix=self._fix[rule],
            )

    def set_aside(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(usable rows, quarantined rows)``; the quarantined rows keep the frame's columns
        plus ``reason`` (the form of a stage's ``StageResult.quarantine``)."""
        ok = self.ok.to_numpy()
        quarantine = frame.loc[~ok].copy()
        quarantine[S.REASON] = self.reason[~ok].to_numpy()
        return frame.loc[ok], quarantine.reset_index(drop=True)

    def quarantine_file(self, original: pd.DataFrame) -> pd.DataFrame:
        """The quarantined rows as a loader reports them: ``source_row, reason`` and the user's
        original columns, in file order."""
        bad = ~self.ok.to_numpy()
        if not bad.any():
            return pd.DataFrame(columns=[S.SOURCE_ROW, S.REASON, *map(str, original.columns)])
        out = original.loc[bad].copy()
        out.insert(0, S.REASON, self.reason[bad].to_numpy())
        out.insert(0, S.SOURCE_ROW, np.flatnonzero(bad) + 1)
        return out.reset_index(drop=True)


def text_or_none(value: object) -> str | None:
    """A cell as stripped text, None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    return str(value).strip()
