"""Reading users' files: CSV/TSV, Parquet, JSON Lines and YAML (gzip allowed) into a raw frame.

Text files are read as strings, so that values are checked by the contracts rather than guessed
by the parser; a file that cannot be read as a whole raises :class:`~launchlab.errors.InputError`.
"""

from __future__ import annotations

import csv
import gzip
import io as _io
import json
import re
from pathlib import Path

import pandas as pd

from launchlab.errors import InputError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")


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


def decode(raw: bytes, path: Path) -> str:
    """The bytes of ``path`` as UTF-8 text (a BOM is dropped); InputError naming the line otherwise."""
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
    text = decode(_read_bytes(path), path)
    if not text.strip():
        raise InputError("is empty", file=str(path), fix="export the data again")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) or first.count("\t") > first.count(",") else ","
    if delimiter == "," and first.count(";") > first.count(","):
        delimiter = ";"
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
    text = decode(_read_bytes(path), path)
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
        reject_lone_surrogates(records, path)
    return pd.DataFrame.from_records(records)


# A \uD800-\uDFFF escape: half of a UTF-16 pair, valid JSON but not text when it stands alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def reject_lone_surrogates(records: list, path: Path) -> None:
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
