"""Hypothesis strategies for malformed user files, and the row-accounting checks shared by the
fuzz tests.

A generated file is a ``(name, bytes)`` pair: a table drawn from column names that launchlab
recognises (and some it does not) filled with hostile cells (empty, NaN/inf, huge numbers,
dates out of range, duplicated ids, HTML, formulas, non-ASCII, multi-MB text), serialised as
CSV/TSV/JSON Lines/Parquet (optionally gzipped), then optionally damaged: a UTF-8 BOM,
non-UTF-8 bytes, mixed delimiters, a truncated tail, only the header, empty, or pure garbage.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import json
import os
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from launchlab.errors import InputError

# ``RELIABILITY_FUZZ_SCALE=10 pytest tests/reliability`` multiplies the budget and draws new
# random cases; the default run is derandomised, so the suite is reproducible.
SCALE = float(os.environ.get("RELIABILITY_FUZZ_SCALE", "1"))
CASES: collections.Counter[str] = collections.Counter()


def fuzz_settings(examples: int) -> settings:
    """``examples`` cases (times the scale), no deadline, no example database in the repo."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


EVIL_CELLS = [
    "",
    " ",
    "NaN",
    "nan",
    "null",
    "None",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e20",
    "0",
    "-1",
    "3",
    "5",
    "4.5",
    "2.000000001",
    "99999999999999999999999",
    "2024-01-31",
    "2023-13-45",
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "2262-04-12",
    "31/12/2021",
    "Jan-21",
    "1700000000",
    "1700000000000",
    "-99999999999",
    "2020",
    "2020.5",
    "W3",
    "true",
    "=HYPERLINK(\"http://x\")",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "../../etc/passwd",
    "é ü 中文 🙂",
    "\u200b",
    "a;b|c",
    "line\nbreak",
    "quote \" inside",
    "tab\tinside",
    "comma, inside",
    "dress runs small, zipper broke",
    "love the fabric and the colour",
    "too long for petite frames",
]

# Column names launchlab maps (reviews, series, concepts, experiments) plus noise.
COLUMNS = [
    "review_id", "id", "text", "reviewText", "summary", "title", "rating", "overall", "stars", "date",
    "unixReviewTime", "product", "asin", "category", "unique_id", "ds", "y", "week", "value", "sales",
    "Product_Code", "W0", "W1", "W2", "W3", "2020-01", "2020-02", "2020-03", "concept_id", "name",
    "description", "claims", "price", "variant", "converted", "user_id", "revenue", "MIN", "Unnamed: 0",
    "", " text ", "TEXT", "Category: All categories", "x",
]

SUFFIXES = [".csv", ".tsv", ".jsonl", ".json", ".parquet", ".csv.gz", ".jsonl.gz", ".txt", ".xlsx", ""]

BIG_TEXT = ("zipper broke again " * 200_000)[:3_500_000]  # ~3.5 MB, one cell


WORDS = "zipper broke fabric thin size small love colour petite long washing shrank soft runs true".split()

# Plausible values per kind of file, so that most generated rows pass and the quarantine and
# success paths are exercised, not only the rejections.
SCHEMAS: dict[str, dict[str, st.SearchStrategy]] = {
    "reviews": {
        "review_id": st.integers(0, 30).map(lambda i: f"r{i}"),
        "text": st.lists(st.sampled_from(WORDS), min_size=2, max_size=8).map(" ".join),
        "rating": st.sampled_from(["1", "2", "3", "4", "5", "4.0"]),
        "date": st.dates(min_value=pd.Timestamp("2015-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()).map(str),
        "summary": st.sampled_from(WORDS),
        "category": st.sampled_from(["Dresses", "Tops"]),
    },
    "series": {
        "unique_id": st.sampled_from(["A", "B", "C"]),
        "ds": st.integers(0, 24).map(lambda w: str(pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=w))[:10]),
        "y": st.floats(0, 100, allow_nan=False).map(lambda v: f"{v:.2f}"),
    },
    "wide": {
        "Product_Code": st.integers(0, 6).map(lambda i: f"P{i}"),
        **{f"W{i}": st.integers(0, 30).map(str) for i in range(8)},
    },
    "concepts": {
        "concept_id": st.integers(0, 12).map(lambda i: f"CON-{i}"),
        "name": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
        "description": st.lists(st.sampled_from(WORDS), min_size=3, max_size=10).map(" ".join),
        "claims": st.lists(st.sampled_from(WORDS), min_size=0, max_size=3).map(";".join),
        "price": st.integers(5, 300).map(str),
    },
    "experiment": {
        "user_id": st.integers(0, 400).map(lambda i: f"u{i}"),
        "variant": st.sampled_from(["control", "treatment"]),
        "converted": st.sampled_from(["0", "1"]),
    },
    "customers": {
        "user_id": st.integers(0, 5000).map(lambda i: f"u{i}"),
        "variant": st.sampled_from(["control", "treatment"]),
        "converted": st.sampled_from(["0", "1"]),
        "channel": st.sampled_from(["app", "web", "email"]),
        "petite": st.sampled_from(["0", "1"]),
        "recency_days": st.integers(1, 365).map(str),
    },
}
SCHEMAS["any"] = {name: st.sampled_from(EVIL_CELLS) for name in COLUMNS}


@st.composite
def tables(draw, kind: str = "any", min_rows: int = 0, max_rows: int = 40, big: bool = True) -> pd.DataFrame:
    """A table of strings in the shape of ``kind`` with some columns dropped, renamed or added,
    and hostile cells mixed in (rows repeated now and then, so ids are duplicated)."""
    schema = SCHEMAS[kind]
    names = list(schema) if kind != "any" else draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True))
    if kind != "any" and draw(st.integers(0, 5)) == 0:
        names.remove(draw(st.sampled_from(names)))  # a missing column
    if draw(st.integers(0, 5)) == 0:
        names.append(draw(st.sampled_from(COLUMNS)))  # an extra (maybe clashing) column
    names = list(dict.fromkeys(names)) or ["x"]
    n = draw(st.integers(min_rows, max_rows))
    evil = st.one_of(st.sampled_from(EVIL_CELLS), st.text(max_size=12), st.floats().map(repr))
    evil_rate = draw(st.sampled_from([0.0, 0.05, 0.2, 1.0]))
    data = {}
    for name in names:
        good = schema.get(name, st.sampled_from(EVIL_CELLS))
        data[name] = [draw(evil) if draw(st.floats(0, 1)) < evil_rate else draw(good) for _ in range(n)]
    frame = pd.DataFrame(data, columns=names)
    if n > 1 and draw(st.integers(0, 3)) == 0:
        frame = pd.concat([frame, frame.iloc[: draw(st.integers(1, n))]], ignore_index=True)
    if big and len(frame) and draw(st.integers(0, 11)) == 0:
        frame.iloc[draw(st.integers(0, len(frame) - 1)), draw(st.integers(0, len(names) - 1))] = BIG_TEXT
    if kind != "any" and draw(st.integers(0, 9)) == 0:
        frame = frame.rename(columns={names[0]: draw(st.sampled_from(COLUMNS))})  # a wrong column name
    return frame


def _csv_bytes(frame: pd.DataFrame, sep: str) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=sep, quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


def _serialise(frame: pd.DataFrame, suffix: str) -> bytes:
    base = suffix.removesuffix(".gz")
    if base not in (".csv", ".tsv", ".txt", ""):
        frame = frame.loc[:, ~frame.columns.duplicated()]  # JSON keys and Parquet names are unique
    if base in (".csv", ".txt", ""):
        raw = _csv_bytes(frame, ",")
    elif base == ".tsv":
        raw = _csv_bytes(frame, "\t")
    elif base in (".jsonl", ".json"):
        raw = "".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records")).encode()
    elif base in (".yaml", ".yml"):
        import yaml

        records = frame.to_dict(orient="records")
        for record in records:
            if isinstance(record.get("claims"), str):
                record["claims"] = record["claims"].split(";")
        raw = yaml.safe_dump(records, allow_unicode=True).encode("utf-8", "surrogatepass")
    elif base == ".parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        raw = buffer.getvalue()
    else:
        raw = _csv_bytes(frame, ",")
    return gzip.compress(raw, mtime=0) if suffix.endswith(".gz") else raw


DAMAGE = ["none"] * 8 + [
    "bom", "latin1", "mixed_delimiters", "truncate", "header_only", "empty",
    "garbage", "nul", "lone_surrogate", "wrong_gzip", "blank_lines", "ragged",
]


@st.composite
def malformed_files(draw, kind: str = "any", suffixes=SUFFIXES, min_rows: int = 0, max_rows: int = 40, big: bool = True) -> tuple[str, bytes, str]:
    """``(file name, bytes, damage)`` of a ``kind`` table file, possibly damaged."""
    suffix = draw(st.sampled_from(suffixes))
    frame = draw(tables(kind, min_rows=min_rows, max_rows=max_rows, big=big))
    damage = draw(st.sampled_from(DAMAGE))
    base = suffix.removesuffix(".gz")
    plain = _serialise(frame.copy(), base)
    text_like = base != ".parquet"
    if damage == "bom" and text_like:
        plain = b"\xef\xbb\xbf" + plain
    elif damage == "latin1" and text_like:
        at = draw(st.integers(0, len(plain)))
        plain = plain[:at] + "café".encode("latin-1") + plain[at:]
    elif damage == "mixed_delimiters" and text_like:
        lines = plain.split(b"\n")
        plain = b"\n".join(line.replace(b",", b";") if i % 2 else line.replace(b",", b"\t") for i, line in enumerate(lines))
    elif damage == "truncate":
        plain = plain[: draw(st.integers(0, max(0, len(plain) - 1)))]
    elif damage == "header_only" and text_like:
        plain = plain.split(b"\n", 1)[0] + b"\n"
    elif damage == "empty":
        plain = b""
    elif damage == "garbage":
        plain = draw(st.binary(min_size=1, max_size=300))
    elif damage == "nul" and text_like:
        at = draw(st.integers(0, len(plain)))
        plain = plain[:at] + b"\x00\x00" + plain[at:]
    elif damage == "lone_surrogate" and base in (".jsonl", ".json"):
        plain = plain.replace(b'"', b'"\\ud800', 1) if b'": "' not in plain else plain.replace(b'": "', b'": "\\udc80', 1)
    elif damage == "blank_lines" and text_like:
        plain = plain.replace(b"\n", b"\n\n\r\n")
    elif damage == "ragged" and text_like:
        plain = plain + b"a,b,c,d,e,f,g,h,i\n"
    if suffix.endswith(".gz") and damage != "wrong_gzip":
        raw = gzip.compress(plain, mtime=0)
    else:
        raw = plain
    return f"input{suffix}", raw, damage


def write(tmp: Path, name: str, raw: bytes) -> Path:
    path = tmp / name
    path.write_bytes(raw)
    return path


def check_loaded(loaded) -> None:
    """The loader's row accounting and quarantine contract."""
    c = loaded.counts()
    assert c["rows_in"] == c["rows_used"] + c["rows_quarantined"] + c.get("rows_sampled_out", 0), c
    assert loaded.rows_used > 0
    if loaded.rows_quarantined:
        reasons = loaded.quarantine["reason"]
        assert reasons.notna().all() and (reasons.astype(str).str.len() > 0).all()


def check_input_error(exc: InputError) -> None:
    """An InputError renders as one sentence on one line."""
    text = str(exc)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    assert "Traceback" not in text
