"""Every loader on malformed files: a clear one-line InputError, or rows fully accounted for.

Any other exception (a traceback for the user) fails the test with the file that caused it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, note

from launchlab import io
from launchlab.errors import InputError
from malformed import CASES, SUFFIXES, check_input_error, check_loaded, fuzz_settings, malformed_files, write

LOADERS = {
    "reviews": (io.load_reviews, SUFFIXES),
    "series": (io.load_series, SUFFIXES),
    "wide": (io.load_series, SUFFIXES),
    "concepts": (io.load_concepts, [*SUFFIXES, ".yaml"]),
    "experiment": (io.load_experiment, SUFFIXES),
    "any": (io.read_table, SUFFIXES),
}


def _load(kind: str, path: Path):
    loader = LOADERS[kind][0]
    try:
        return loader(path)
    except InputError as exc:
        check_input_error(exc)
        return None


@pytest.mark.parametrize("kind", list(LOADERS))
def test_loader_on_malformed_files_errors_clearly_or_accounts_for_every_row(tmp_path, kind):
    @fuzz_settings(60)
    @given(malformed_files(kind=kind, suffixes=LOADERS[kind][1]))
    def check(case):
        name, raw, damage = case
        note(f"{name} ({damage}): {raw[:400]!r}")
        CASES[f"load_{kind}"] += 1
        path = write(Path(tempfile.mkdtemp(dir=tmp_path)), name, raw)
        loaded = _load(kind, path)
        if loaded is None or kind == "any":
            return
        check_loaded(loaded)
        if kind != "experiment":
            # a quarantined row names its source row, and the loader kept the user's columns
            assert {"source_row", "reason"} <= set(loaded.quarantine.columns) or loaded.rows_quarantined == 0

    check()


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("r.csv", b"", "is empty"),
        ("r.csv", b"text,rating\n", "no data rows"),
        ("r.csv", b"\xef\xbb\xbftext,rating\n", "no data rows"),
        ("r.csv", b"text,rating\ncaf\xe9,5\n", "not UTF-8"),
        ("r.csv", b"text,text\na,b\n", "repeats a column name"),
        ("r.jsonl", b'{"text": "a \\udc80"}\n', "surrogate"),
        ("r.csv.gz", b"text\nnot gzip\n", "not a valid gzip"),
        ("r.parquet", b"PAR1 garbage", "cannot be read as Parquet"),
        ("r.xlsx", b"PK\x03\x04", "unsupported extension"),
        ("r.csv", b"notes\nhello\n", "no text column"),
    ],
)
def test_known_bad_files_give_the_expected_one_line_error(tmp_path, name, raw, message):
    with pytest.raises(InputError) as info:
        io.load_reviews(write(tmp_path, name, raw))
    check_input_error(info.value)
    assert message in str(info.value) and name in str(info.value)


def test_bom_and_blank_lines_still_load(tmp_path):
    loaded = io.load_reviews(write(tmp_path, "r.csv", b"\xef\xbb\xbfid,text\r\n\r\n1,fits well\r\n2,too small\r\n"))
    assert loaded.mapping["review_id"] == "id"  # the BOM did not stick to the first column name
    assert loaded.frame["text"].tolist() == ["fits well", "too small"]


def test_nan_inf_and_out_of_range_values_are_quarantined_with_reasons(tmp_path):
    raw = (
        "id,text,rating,date\n"
        "1,fits well,5,2021-03-01\n"
        "2,too small,inf,2021-03-02\n"
        "3,zipper broke,NaN,2021-03-03\n"
        "4,love it,4,9999-12-31\n"
        "5,thin fabric,3,1850-01-01\n"
        "6,great,1e309,2021-03-04\n"
        "1,duplicate id,5,2021-03-05\n"
        "7,epoch overflow,5,99999999999999999999999\n"
    ).encode()
    loaded = io.load_reviews(write(tmp_path, "r.csv", raw))
    check_loaded(loaded)
    assert loaded.frame["review_id"].tolist() == ["1"]
    reasons = dict(zip(loaded.quarantine["source_row"], loaded.quarantine["reason"]))
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8}
    assert "not a number" in reasons[3]  # a literal 'NaN' is not a rating
    assert "outside 1-5" in reasons[2] and ("outside 1-5" in reasons[6] or "not a number" in reasons[6])
    assert "out of range" in reasons[5] and "out of range" in reasons[4]  # 9999-12-31 is a date, beyond what we accept
    assert "duplicate" in reasons[7]
    assert "not a date" in reasons[8]


@pytest.mark.parametrize("clash", ["y", "source_row", "unique_id"])
def test_wide_series_with_columns_named_like_canonical_ones(tmp_path, clash):
    """A wide file whose series are named like output columns must not collide with them."""
    raw = f"week,{clash},other\n2024-01-01,1,2\n2024-01-08,3,4\n2024-01-15,5,x\n".encode()
    loaded = io.load_series(write(tmp_path, "s.csv", raw), layout="wide-series")
    check_loaded(loaded)
    assert loaded.rows_in == 6 and loaded.rows_quarantined == 1
    assert set(loaded.frame["unique_id"]) == {clash, "other"}
    assert loaded.frame.loc[loaded.frame["unique_id"] == clash, "y"].tolist() == [1.0, 3.0, 5.0]
