"""Loaders and data contracts: the one place where users' files become canonical frames.

Every loader reads CSV/TSV, Parquet or JSON Lines (gzip allowed), maps the user's column names
onto launchlab's canonical ones (known aliases and the Amazon review dump format without flags,
anything else through an explicit ``mapping``), checks each row and returns a :class:`Loaded`:
the usable rows, the quarantined rows with their reason, and the counts
(``rows_in == rows_used + rows_quarantined``). Problems with the file as a whole raise
:class:`~launchlab.errors.InputError`.
"""

from __future__ import annotations

import gzip
import io as _io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")


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


# --------------------------------------------------------------------------------------------
# Reading files


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _stem_and_suffix(path: Path) -> tuple[str, str]:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return path.name.split(".")[0], (suffixes[-1] if suffixes else "")


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError("is not a valid gzip file", file=str(path), fix="re-export it") from exc
    return raw


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"line {line} has bytes that are not UTF-8 (byte offset {exc.start})",
            file=str(path),
            fix="save the file as UTF-8",
        ) from None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV, Parquet or JSON Lines file (optionally gzipped) into a DataFrame.

    All columns of text files are read as strings, so that values are checked by the contracts
    rather than guessed by the parser. Raises InputError for a missing, empty or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path), fix="check the path")
    if path.is_dir():
        raise InputError("is a folder, not a file", file=str(path), fix="name a CSV, Parquet or JSON Lines file")
    _, suffix = _stem_and_suffix(path)
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a broken file
            raise InputError(
                f"cannot be read as Parquet ({type(exc).__name__})", file=str(path), fix="re-export it"
            ) from None
    elif suffix in (".jsonl", ".ndjson", ".json"):
        frame = _read_json(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        frame = _read_csv(path)
    else:
        raise InputError(
            f"has an unsupported extension {suffix or '(none)'!r}",
            file=str(path),
            fix="use .csv, .tsv, .parquet or .jsonl (optionally .gz)",
        )
    if frame.columns.size == 0:
        raise InputError("has no columns", file=str(path), fix="add a header row")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise InputError(
            "the header repeats a column name", file=str(path), column=duplicated[0], fix="rename one of them"
        )
    if frame.empty:
        raise InputError("has a header but no data rows", file=str(path), fix="add data rows")
    return frame.reset_index(drop=True)


def _read_csv(path: Path) -> pd.DataFrame:
    text = _decode(_read_bytes(path), path)
    if not text.strip():
        raise InputError("is empty", file=str(path), fix="export the data again")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) or first.count("\t") > first.count(",") else ","
    if delimiter == "," and first.count(";") > first.count(","):
        delimiter = ";"
    import csv

    header = next(csv.reader([first.rstrip("\r")], delimiter=delimiter), [])
    seen: set[str] = set()
    for name in header:
        if name.strip() in seen:
            raise InputError("the header repeats a column name", file=str(path), column=name.strip(), fix="rename one of them")
        seen.add(name.strip())
    try:
        return pd.read_csv(
            _io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_values=[""]
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        row = int(match.group(1)) - 1 if match else None
        raise InputError(
            f"a line has a different number of fields than the header ({delimiter!r}-separated)",
            file=str(path),
            row=row,
            fix="quote fields that contain the delimiter",
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError("is empty", file=str(path), fix="export the data again") from None


def _read_json(path: Path) -> pd.DataFrame:
    text = _decode(_read_bytes(path), path)
    stripped = text.strip()
    if not stripped:
        raise InputError("is empty", file=str(path), fix="export the data again")
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"is not valid JSON ({exc.msg}, line {exc.lineno})", file=str(path)) from None
    else:
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"line {lineno} is not valid JSON ({exc.msg})",
                    file=str(path),
                    row=len(records) + 1,
                    fix="write one JSON object per line (JSON Lines)",
                ) from None
    if not all(isinstance(r, dict) for r in records):
        raise InputError("must hold one JSON object per row", file=str(path), fix="write JSON Lines of objects")
    if _SURROGATE_ESCAPE.search(text):
        _reject_lone_surrogates(records, path)
    return pd.DataFrame.from_records(records)


# A \uD800-\uDFFF escape: half of a UTF-16 pair, valid JSON but not text when it stands alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _reject_lone_surrogates(records: list, path: Path) -> None:
    """Raise InputError naming the first record holding a lone surrogate (it cannot be written
    to Parquet or CSV, so it would fail at the end of the stage instead of here)."""
    for row, record in enumerate(records, start=1):
        try:
            json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                "has a \\u escape that is half of a UTF-16 surrogate pair (not valid text)",
                file=str(path),
                row=row,
                fix="re-export the file as UTF-8 text",
            ) from None


# --------------------------------------------------------------------------------------------
# Column mapping


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

SERIES_ALIASES: dict[str, tuple[str, ...]] = {
    S.UNIQUE_ID: ("unique_id", "uniqueid", "id", "series", "seriesid", "item", "itemid", "sku", "productcode", "product", "key"),
    S.DS: ("ds", "date", "week", "month", "period", "time", "year", "timestamp", "day"),
    S.Y: ("y", "value", "sales", "units", "demand", "count", "qty", "quantity", "volume", "interest"),
}

CONCEPT_ALIASES: dict[str, tuple[str, ...]] = {
    S.CONCEPT_ID: ("concept_id", "conceptid", "id", "key"),
    S.NAME: ("name", "title", "conceptname"),
    S.DESCRIPTION: ("description", "desc", "text", "concept", "pitch"),
    S.CLAIMS: ("claims", "attributes", "benefits", "features"),
    S.PRICE: ("price", "pricepoint", "msrp"),
    S.CATEGORY: ("category", "segment", "targetcategory"),
}


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


def _require(found: Mapping[str, str], required: tuple[str, ...], frame: pd.DataFrame, source: str, flag_hint: str) -> None:
    for canonical in required:
        if canonical not in found:
            raise InputError(
                f"no {canonical} column found (columns: {', '.join(map(str, frame.columns[:20]))})",
                file=source,
                column=canonical,
                fix=f"name it with {flag_hint.format(field=canonical)}",
            )


def _quarantine(frame: pd.DataFrame, mask: pd.Series, reason: str | pd.Series, bucket: list[pd.DataFrame]) -> pd.DataFrame:
    """Move the rows under ``mask`` into ``bucket`` with their reason; return the rest."""
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        rejected = frame.loc[mask].copy()
        rejected[S.REASON] = reason[mask] if isinstance(reason, pd.Series) else reason
        bucket.append(rejected)
    return frame.loc[~mask]


def _finish(frame: pd.DataFrame, bucket: list[pd.DataFrame], original: pd.DataFrame) -> pd.DataFrame:
    if not bucket:
        return pd.DataFrame(columns=[S.SOURCE_ROW, S.REASON, *map(str, original.columns)])
    rejected = pd.concat(bucket)
    out = original.loc[rejected.index].copy()
    out.insert(0, S.REASON, rejected[S.REASON].values)
    out.insert(0, S.SOURCE_ROW, rejected.index.values + 1)
    return out.sort_values(S.SOURCE_ROW, kind="stable").reset_index(drop=True)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


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


def _is_calendar_date(value: object) -> bool:
    """True for text that is a real calendar date, even one pandas cannot hold (year 9999)."""
    if not isinstance(value, str) or not any(ch.isdigit() for ch in value) or len(value) > 40:
        return False
    from dateutil import parser as dateutil_parser

    try:
        dateutil_parser.parse(value)
    except (ValueError, OverflowError):
        return False
    return True


# --------------------------------------------------------------------------------------------
# Reviews


def load_reviews(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sample: int | None = None,
    seed: int = 42,
    rating_range: tuple[float, float] = (1.0, 5.0),
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
    rating_range: tuple[float, float] = (1.0, 5.0),
) -> Loaded:
    """Apply the reviews contract to an in-memory frame (see :func:`load_reviews`)."""
    original = frame.reset_index(drop=True)
    found = map_columns(original, REVIEW_ALIASES, mapping, source)
    _require(found, (S.TEXT,), original, source, "--text-col (or a mapping {field}: <your column>)")
    out = pd.DataFrame(index=original.index)
    out[S.SOURCE_ROW] = original.index + 1
    bucket: list[pd.DataFrame] = []
    warnings: list[str] = []

    text = original[found[S.TEXT]]
    not_text = text.notna() & ~text.map(_is_text)
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
        ids = original[found[S.REVIEW_ID]].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        out[S.REVIEW_ID] = ids
    else:
        stem = Path(source).name.split(".")[0] or "review"
        out[S.REVIEW_ID] = [f"{stem}-{i}" for i in out[S.SOURCE_ROW]]

    if S.RATING in found:
        raw = original[found[S.RATING]]
        rating = pd.to_numeric(raw, errors="coerce").astype(float)
        out[S.RATING] = rating
    if S.DATE in found:
        out[S.DATE] = parse_dates(original[found[S.DATE]])
    for optional in (S.PRODUCT, S.CATEGORY, "age"):
        if optional in found:
            values = original[found[optional]]
            out[optional] = values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())

    out = _quarantine(out, not_text & out[S.TEXT].isna(), f"{found[S.TEXT]} is not text", bucket)
    out = _quarantine(out, out[S.TEXT].isna() | (out[S.TEXT].str.len() == 0), f"{found[S.TEXT]} is empty", bucket)
    out = _quarantine(out, out[S.REVIEW_ID].isna() | (out[S.REVIEW_ID] == ""), "review id is empty", bucket)
    if S.RATING in found:
        raw = original.loc[out.index, found[S.RATING]]
        bad = raw.notna() & out[S.RATING].isna()
        out = _quarantine(out, bad, f"{found[S.RATING]} is not a number", bucket)
        lo, hi = rating_range
        out = _quarantine(
            out, out[S.RATING].notna() & ~out[S.RATING].between(lo, hi), f"{found[S.RATING]} outside {lo:g}-{hi:g}", bucket
        )
    if S.DATE in found:
        raw = original.loc[out.index, found[S.DATE]]
        failed = raw.notna() & out[S.DATE].isna()
        beyond = failed & raw.map(_is_calendar_date)
        out = _quarantine(out, beyond, f"{found[S.DATE]} is out of range (before 1990 or in the future)", bucket)
        out = _quarantine(out, failed & ~beyond, f"{found[S.DATE]} is not a date", bucket)
        out = _quarantine(
            out,
            out[S.DATE].notna() & ((out[S.DATE] < pd.Timestamp("1990-01-01")) | (out[S.DATE] > pd.Timestamp.now() + pd.Timedelta(days=2))),
            f"{found[S.DATE]} is out of range (before 1990 or in the future)",
            bucket,
        )
    out = _quarantine(out, out[S.REVIEW_ID].duplicated(keep="first"), "duplicate review id (first kept)", bucket)

    quarantine = _finish(out, bucket, original)
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


# --------------------------------------------------------------------------------------------
# Series


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


def validate_series(
    frame: pd.DataFrame,
    *,
    source: str = "<series>",
    mapping: Mapping[str, str] | None = None,
    layout: str = "auto",
) -> Loaded:
    """Apply the series contract to an in-memory frame (see :func:`load_series`)."""
    warnings: list[str] = []
    original = frame.reset_index(drop=True)
    gt = _google_trends(original)
    if gt is not None:
        original = gt
        warnings.append("read as a Google Trends export; '<1' read as 0.5")
    found = map_columns(original, SERIES_ALIASES, mapping, source)
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
        _require(found, S.SERIES_REQUIRED, original, source, "--id-col/--ds-col/--y-col ({field})")
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

    long = long.reset_index(drop=True)
    bucket: list[pd.DataFrame] = []
    long[S.DS], bad_ds = _parse_ds(long[S.DS])
    long = _quarantine(long, bad_ds, f"{ds_column}: not a date or integer period", bucket)
    y = pd.to_numeric(long[S.Y], errors="coerce").astype(float)
    raw_y = long[S.Y]
    long[S.Y] = y
    long = _quarantine(long, raw_y.notna() & y.isna(), f"{y_column}: value is not a number", bucket)
    long = _quarantine(long, long[S.Y].isna(), f"{y_column}: value is missing", bucket)
    long = _quarantine(long, ~np.isfinite(long[S.Y]), f"{y_column}: value is infinite", bucket)
    long = _quarantine(long, long[S.UNIQUE_ID].isna() | (long[S.UNIQUE_ID] == ""), "series id is empty", bucket)
    long = _quarantine(long, long.duplicated([S.UNIQUE_ID, S.DS], keep="first"), "duplicate (unique_id, ds) (first kept)", bucket)

    rows_in = len(long) + sum(len(b) for b in bucket)
    quarantine = pd.concat(bucket).reset_index(drop=True) if bucket else pd.DataFrame(columns=[*long.columns, S.REASON])
    if long.empty:
        first = quarantine[S.REASON].iloc[0] if len(quarantine) else "no rows"
        raise InputError(f"no usable series values ({first})", file=source, fix="check the layout and column flags")
    long = long.sort_values([S.UNIQUE_ID, S.DS], kind="stable").reset_index(drop=True)
    long[S.UNIQUE_ID] = long[S.UNIQUE_ID].astype(str)
    loaded = Loaded(long[[S.UNIQUE_ID, S.DS, S.Y, S.SOURCE_ROW]], quarantine, source, rows_in=rows_in, mapping=dict(found), warnings=warnings)
    loaded.warnings.append(f"layout {layout}: {long[S.UNIQUE_ID].nunique()} series")
    return loaded


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


def _parse_ds(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integer periods stay integers; decimal years become month starts; the rest are dates."""
    as_num = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and as_num[values.notna()].notna().all():
        whole = np.isclose(as_num, np.round(as_num))
        small = as_num.abs() < 1e8
        if whole[values.notna()].all() and small[values.notna()].all():
            return as_num.round().astype("Int64").astype("int64", errors="ignore"), as_num.isna()
        if small[values.notna()].all():
            years = np.floor(as_num)
            months = np.round((as_num - years) * 12).astype(int)
            dates = pd.to_datetime(
                {"year": years.astype(int), "month": months.clip(0, 11) + 1, "day": 1}, errors="coerce"
            )
            return dates, dates.isna()
    dates = parse_dates(values)
    return dates, dates.isna()


# --------------------------------------------------------------------------------------------
# Concepts


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


def _read_yaml_concepts(path: Path) -> pd.DataFrame:
    import yaml

    if not path.exists():
        raise InputError("file not found", file=str(path), fix="check the path")
    try:
        doc = yaml.safe_load(_decode(path.read_bytes(), path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"is not valid YAML{where} ({getattr(exc, 'problem', exc)})", file=str(path)) from None
    if isinstance(doc, dict) and "concepts" in doc:
        doc = doc["concepts"]
    if isinstance(doc, list):
        _reject_lone_surrogates(doc, path)
    if not isinstance(doc, list) or not doc:
        raise InputError("must hold a list of concepts (or a 'concepts:' list)", file=str(path), fix="see data/concepts.yaml")
    for i, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise InputError("is not a mapping of fields", file=str(path), row=i, fix="write each concept as key: value pairs")
    return pd.DataFrame.from_records(doc)


def _claims(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in re.split(r"[;|\n]", str(value)) if part.strip()]


def validate_concepts(frame: pd.DataFrame, *, source: str = "<concepts>", mapping: Mapping[str, str] | None = None) -> Loaded:
    """Apply the concepts contract to an in-memory frame (see :func:`load_concepts`)."""
    original = frame.reset_index(drop=True)
    found = map_columns(original, CONCEPT_ALIASES, mapping, source)
    _require(found, (S.DESCRIPTION,), original, source, "a mapping {field}: <your column>")
    out = pd.DataFrame(index=original.index)
    out[S.SOURCE_ROW] = original.index + 1
    out[S.CONCEPT_ID] = (
        original[found[S.CONCEPT_ID]].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        if S.CONCEPT_ID in found
        else [f"c{i}" for i in out[S.SOURCE_ROW]]
    )
    description = original[found[S.DESCRIPTION]].map(lambda v: " ".join(v.split()) if isinstance(v, str) else None)
    out[S.DESCRIPTION] = description
    out[S.NAME] = (
        original[found[S.NAME]].map(lambda v: " ".join(str(v).split()) if v is not None and not (isinstance(v, float) and np.isnan(v)) else None)
        if S.NAME in found
        else out[S.CONCEPT_ID]
    )
    out[S.NAME] = out[S.NAME].fillna(out[S.CONCEPT_ID])
    out[S.CLAIMS] = original[found[S.CLAIMS]].map(_claims) if S.CLAIMS in found else [[] for _ in range(len(out))]
    out[S.PRICE] = pd.to_numeric(original[found[S.PRICE]], errors="coerce").astype(float) if S.PRICE in found else np.nan
    out[S.CATEGORY] = (
        original[found[S.CATEGORY]].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        if S.CATEGORY in found
        else None
    )
    bucket: list[pd.DataFrame] = []
    out = _quarantine(out, out[S.DESCRIPTION].isna() | (out[S.DESCRIPTION] == ""), "description is empty", bucket)
    out = _quarantine(out, out[S.CONCEPT_ID].isna() | (out[S.CONCEPT_ID] == ""), "concept id is empty", bucket)
    out = _quarantine(out, out[S.CONCEPT_ID].duplicated(keep="first"), "duplicate concept id (first kept)", bucket)
    if S.PRICE in found:
        raw = original.loc[out.index, found[S.PRICE]]
        out = _quarantine(out, raw.notna() & out[S.PRICE].isna(), f"{found[S.PRICE]} is not a number", bucket)
    quarantine = _finish(out, bucket, original)
    if out.empty:
        raise InputError(
            f"no usable concepts ({quarantine[S.REASON].iloc[0]})", file=source, column=found[S.DESCRIPTION], fix="fill in the descriptions"
        )
    columns = [S.CONCEPT_ID, S.NAME, S.DESCRIPTION, S.CLAIMS, S.PRICE, S.CATEGORY, S.SOURCE_ROW]
    return Loaded(out[columns].reset_index(drop=True), quarantine, source, rows_in=len(original), mapping=dict(found))


# --------------------------------------------------------------------------------------------
# Experiments


def load_experiment(path: str | Path, *, required: tuple[str, ...] = ()) -> Loaded:
    """Load a launch experiment table as is (one row per unit, or one row per variant).

    The incubation stage checks variants, metrics and units; here only the file and the
    ``required`` columns are checked.
    """
    frame = read_table(path)
    for column in required:
        if column and column not in frame.columns:
            raise InputError(
                f"column not found (columns: {', '.join(map(str, frame.columns[:20]))})",
                file=str(path),
                column=column,
                fix="name an existing column with the flag",
            )
    frame = frame.copy()
    frame[S.SOURCE_ROW] = np.arange(1, len(frame) + 1)
    empty = pd.DataFrame(columns=[S.SOURCE_ROW, S.REASON, *frame.columns])
    return Loaded(frame, empty, str(path), rows_in=len(frame))


# --------------------------------------------------------------------------------------------
# Writing


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
