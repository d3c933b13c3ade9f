"""Loaders and contracts: good files in every format, bad files with clear errors, row accounting."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from launchlab import io
from launchlab.errors import InputError


def _accounted(loaded: io.Loaded) -> bool:
    c = loaded.counts()
    return c["rows_in"] == c["rows_used"] + c["rows_quarantined"] + c.get("rows_sampled_out", 0)


# ---------------------------------------------------------------------------------------------
# reviews


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "jsonl.gz", "tsv"])
def test_reviews_load_from_every_format_with_same_content(tmp_path, fmt):
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "review": ["Fits well", "Zipper broke", "Love the colour"], "stars": [5, 1, 4]}
    )
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        path.write_bytes(gzip.compress(frame.to_json(orient="records", lines=True).encode()))
    loaded = io.load_reviews(path)
    assert loaded.frame["review_id"].tolist() == ["a", "b", "c"]
    assert loaded.frame["text"].tolist() == ["Fits well", "Zipper broke", "Love the colour"]
    assert loaded.frame["rating"].tolist() == [5.0, 1.0, 4.0]
    assert loaded.mapping == {"review_id": "id", "text": "review", "rating": "stars"}


def test_amazon_dump_is_recognised_without_flags(shared_data):
    loaded = io.load_reviews(shared_data / "reviews" / "amazon2018_all_beauty_5core.json.gz")
    assert loaded.mapping["text"] == "reviewText"
    assert loaded.mapping["rating"] == "overall"
    assert loaded.mapping["date"] == "unixReviewTime"
    assert loaded.mapping["product"] == "asin"
    assert loaded.frame["date"].min() >= pd.Timestamp("2004-01-01")
    assert loaded.frame["date"].max() <= pd.Timestamp("2019-01-01")
    # the summary is prepended to the text
    assert loaded.frame["text"].iloc[0].startswith("Five Stars. ")
    assert _accounted(loaded)


def test_clothing_reviews_quarantine_rows_without_text(repo):
    loaded = io.load_reviews(repo / "data" / "womens_clothing_reviews.parquet")
    assert loaded.rows_in == 23486
    # 845 rows have no Review Text; those with a Title keep the title as their text
    assert 0 < loaded.rows_quarantined <= 845
    assert set(loaded.quarantine["reason"]) == {"Review Text is empty"}
    assert _accounted(loaded)
    assert loaded.frame["category"].notna().mean() > 0.99


def test_column_mapping_flags_and_unknown_column(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"what_they_said": ["good", "bad"], "when": ["2024-01-02", "2024-02-03"]}).to_csv(path, index=False)
    loaded = io.load_reviews(path, mapping={"text": "what_they_said", "date": "when"})
    assert loaded.frame["text"].tolist() == ["good", "bad"]
    assert loaded.frame["date"].dt.month.tolist() == [1, 2]
    with pytest.raises(InputError) as err:
        io.load_reviews(path, mapping={"text": "body"})
    assert "column 'body'" in str(err.value) and "mine.csv" in str(err.value)


def test_missing_text_column_names_the_file_and_fix(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"foo": [1], "bar": [2]}).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        io.load_reviews(path)
    message = str(err.value)
    assert "r.csv" in message and "'text'" in message and "--text-col" in message
    assert "\n" not in message


def test_bad_rows_are_quarantined_with_reasons_and_counted(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "review_id": ["1", "2", "3", "3", "5", "6", "7"],
            "text": ["ok", "   ", "fine", "dup", "great", "nice", "meh"],
            "rating": ["5", "4", "9", "3", "x", "2", "1"],
            "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "not a date", "1850-01-01"],
        }
    ).to_csv(path, index=False)
    loaded = io.load_reviews(path)
    # row 4 repeats the id of row 3, which is unusable, so row 4 is the copy kept
    assert loaded.frame["review_id"].tolist() == ["1", "3"]
    assert loaded.frame["text"].tolist() == ["ok", "dup"]
    reasons = dict(zip(loaded.quarantine["source_row"], loaded.quarantine["reason"]))
    assert reasons[2] == "text is empty"
    assert reasons[3] == "rating outside 1-5"
    assert 4 not in reasons
    assert reasons[5] == "rating is not a number"
    assert reasons[6] == "date is not a date"
    assert "out of range" in reasons[7]
    assert _accounted(loaded)
    path_out = io.write_quarantine(loaded.quarantine, tmp_path / "out", "reviews")
    written = pd.read_csv(path_out)
    assert len(written) == loaded.rows_quarantined and {"source_row", "reason"} <= set(written.columns)


def test_duplicate_ids_keep_the_first(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"review_id": ["x", "y", "x"], "text": ["one", "two", "three"]}).to_csv(path, index=False)
    loaded = io.load_reviews(path)
    assert loaded.frame["text"].tolist() == ["one", "two"]
    assert loaded.quarantine[["source_row", "reason"]].values.tolist() == [[3, "duplicate review id (first kept)"]]


def test_nothing_usable_is_an_error_not_an_empty_run(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"text": ["", " "]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="no usable reviews"):
        io.load_reviews(path)


def test_sampling_is_seeded_and_accounted(repo):
    a = io.load_reviews(repo / "data" / "womens_clothing_reviews.parquet", sample=100, seed=1)
    b = io.load_reviews(repo / "data" / "womens_clothing_reviews.parquet", sample=100, seed=1)
    assert a.frame["review_id"].tolist() == b.frame["review_id"].tolist()
    assert a.rows_used == 100 and a.rows_sampled_out > 0 and _accounted(a)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"text\n", "no data rows"),
        (b"text,text\nx,y\n", "repeats a column name"),
        (b"text\n\xff\xfe bad bytes\n", "not UTF-8"),
        (b"\x00\x01\x02garbage\x00", None),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        io.load_reviews(path)
    message = str(err.value)
    assert "bad.csv" in message and "\n" not in message
    if expected:
        assert expected in message


def test_bom_and_semicolons_are_read(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("\ufefftext;rating\nnice;5\nawful;1\n".encode("utf-8"))
    loaded = io.load_reviews(path)
    assert loaded.frame["text"].tolist() == ["nice", "awful"]


def test_broken_json_lines_names_the_row(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"text": "a"}) + "\n{not json\n")
    with pytest.raises(InputError) as err:
        io.load_reviews(path)
    assert "row 2" in str(err.value)


def test_missing_file_and_unsupported_extension(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        io.load_reviews(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported extension"):
        io.load_reviews(tmp_path / "x.xlsx")


# ---------------------------------------------------------------------------------------------
# series


def test_wide_periods_file_becomes_long_and_ignores_derived_columns(repo):
    loaded = io.load_series(repo / "data" / "uci_sales_weekly.csv")
    frame = loaded.frame
    assert frame["unique_id"].nunique() == 811
    assert frame.groupby("unique_id").size().eq(52).all()
    assert frame["ds"].min() == 0 and frame["ds"].max() == 51
    assert pd.api.types.is_integer_dtype(frame["ds"])
    assert any("MIN" in w for w in loaded.warnings)
    p1 = frame[frame["unique_id"] == "P1"].sort_values("ds")["y"].tolist()
    raw = pd.read_csv(repo / "data" / "uci_sales_weekly.csv").set_index("Product_Code").loc["P1", [f"W{i}" for i in range(52)]]
    assert p1 == raw.astype(float).tolist()


def test_wide_series_with_dates_and_missing_values(shared_data):
    loaded = io.load_series(shared_data / "series" / "australian_wines_monthly.csv.gz")
    assert set(loaded.frame["unique_id"]) == {"Fortified", "Red", "Rose", "sparkling", "Sweet white", "Dry white"}
    assert loaded.frame["ds"].min() == pd.Timestamp("1980-01-01")
    assert loaded.rows_quarantined == 2 and _accounted(loaded)


def test_wide_series_without_dates_uses_row_order(repo):
    loaded = io.load_series(repo / "data" / "assassins_creed_weekly_sales.csv")
    assert sorted(loaded.frame["unique_id"].unique()) == [f"ac{i}" for i in range(1, 9)]
    assert loaded.frame["ds"].min() == 1 and len(loaded.frame) == 8 * 380


def test_decimal_years_become_months(shared_data):
    loaded = io.load_series(shared_data / "series" / "fpp2_a10_drug_sales_monthly.csv")
    assert loaded.frame["ds"].iloc[0] == pd.Timestamp("1991-07-01")
    assert loaded.frame["ds"].diff().dropna().dt.days.between(28, 31).all()


def test_long_series_with_aliases_int_years_and_bad_rows(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame(
        {
            "series": ["a", "a", "a", "a", "b", "b"],
            "year": [2001, 2002, 2002, 2003, 2001, 2002],
            "sales": ["1", "2", "2.5", "oops", "inf", ""],
        }
    ).to_csv(path, index=False)
    loaded = io.load_series(path)
    assert loaded.frame[["unique_id", "ds", "y"]].values.tolist() == [["a", 2001, 1.0], ["a", 2002, 2.0]]
    reasons = sorted(loaded.quarantine["reason"])
    assert any("duplicate" in r for r in reasons)
    assert any("not a number" in r for r in reasons)
    assert any("infinite" in r for r in reasons)
    assert any("missing" in r for r in reasons)
    assert _accounted(loaded)


def test_google_trends_export_is_recognised(tmp_path):
    path = tmp_path / "multiTimeline.csv"
    path.write_text("Category: All categories\n\nWeek,linen dress: (United States)\n2024-01-07,12\n2024-01-14,<1\n2024-01-21,30\n")
    loaded = io.load_series(path)
    assert loaded.frame["unique_id"].unique().tolist() == ["linen dress"]
    assert loaded.frame["y"].tolist() == [12.0, 0.5, 30.0]


# ---------------------------------------------------------------------------------------------
# concepts and experiments


def test_bundled_concepts_yaml(repo):
    loaded = io.load_concepts(repo / "data" / "concepts.yaml")
    assert loaded.rows_quarantined == 0 and loaded.rows_used >= 8
    assert loaded.frame["concept_id"].is_unique
    assert all(isinstance(c, list) for c in loaded.frame["claims"])


def test_concepts_csv_with_claims_and_bad_rows(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame(
        {
            "concept_id": ["a", "b", "a", "d"],
            "name": ["A", "B", "A again", "D"],
            "description": ["stretch denim", "", "dup", "soft tee"],
            "claims": ["no gaping; true to size", "", "", "organic | breathable"],
            "price": ["49", "10", "1", "cheap"],
        }
    ).to_csv(path, index=False)
    loaded = io.load_concepts(path)
    assert loaded.frame["concept_id"].tolist() == ["a"]
    assert loaded.frame["claims"].iloc[0] == ["no gaping", "true to size"]
    assert sorted(loaded.quarantine["reason"]) == ["description is empty", "duplicate concept id (first kept)", "price is not a number"]
    assert _accounted(loaded)


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("concepts:\n  - concept_id: a\n    description: [unclosed\n")
    with pytest.raises(InputError, match=r"not valid YAML at line \d+"):
        io.load_concepts(path)


def test_experiment_requires_named_columns(tmp_path):
    path = tmp_path / "e.csv"
    pd.DataFrame({"variant": ["a", "b"], "y": [1, 0]}).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        io.load_experiment(path, required=("variant", "converted"))
    assert "column 'converted'" in str(err.value) and "variant" in str(err.value)
    loaded = io.load_experiment(path, required=("variant", "y"))
    assert loaded.frame["source_row"].tolist() == [1, 2]


def test_csv_formulas_are_neutralised():
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+1", "@SUM(A1)", "fine", "-2"], "n": [1, 2, 3, 4, 5]})
    safe = io.neutralise_formulas(frame)
    assert safe["text"].tolist() == ["'=HYPERLINK(\"x\")", "'+1", "'@SUM(A1)", "fine", "'-2"]
    assert safe["n"].tolist() == [1, 2, 3, 4, 5]


def test_parse_dates_handles_epochs_and_formats():
    values = pd.Series(["1472688000", "1384387200"])
    assert io.parse_dates(values).dt.year.tolist() == [2016, 2013]
    mixed = pd.Series(["2024-03-01", "Mar 5, 2024", None])
    parsed = io.parse_dates(mixed)
    assert parsed.iloc[0] == pd.Timestamp("2024-03-01") and parsed.iloc[1] == pd.Timestamp("2024-03-05")
    assert pd.isna(parsed.iloc[2])
    assert np.issubdtype(parsed.dtype, np.datetime64)


# ---------------------------------------------------------------------------------------------
# require_*: the strict form of each contract, called at a stage function's entry


def test_require_series_types_the_frame_and_names_file_row_and_column_of_a_break():
    frame = pd.DataFrame({"unique_id": [1, 1, 2], "ds": ["2024-01-01", "2024-02-01", "2024-01-01"], "y": ["3", "4.5", "n/a"],
                          "source_row": [7, 8, 9]})
    with pytest.raises(InputError, match=r"^s\.csv, row 9, column 'y': y: value is not a number"):
        io.require_series(frame, source="s.csv")
    typed, problems = io.require_series(frame, source="s.csv", allow=("y_number",))
    assert typed["unique_id"].tolist() == ["1", "1", "2"] and typed["ds"].dtype.kind == "M"
    assert typed["y"].tolist()[:2] == [3.0, 4.5] and np.isnan(typed["y"].iloc[2])
    assert problems.reason.dropna().tolist() == ["y: value is not a number"]
    repeated = pd.concat([frame.iloc[:2], frame.iloc[:1]], ignore_index=True)
    with pytest.raises(InputError, match=r"row 7, column 'ds': .*same period twice"):
        io.require_series(repeated.assign(source_row=[5, 6, 7]))
    with pytest.raises(InputError, match=r"column 'ds': ds holds neither dates nor integer periods"):
        io.require_series(frame.assign(ds="soon"))


def test_require_reviews_and_concepts_apply_the_same_rules_as_the_loaders(tmp_path):
    reviews = pd.DataFrame({"review_id": ["a", "b", "c"], "text": ["fits", "  ", "runs small"], "rating": [5.0, 4.0, 7.0]})
    path = tmp_path / "r.csv"
    reviews.to_csv(path, index=False)
    loaded = io.load_reviews(path)
    assert loaded.quarantine["reason"].tolist() == ["text is empty", "rating outside 1-5"]
    with pytest.raises(InputError, match=r"row 2, column 'text': text is empty"):
        io.require_reviews(reviews)
    assert io.require_reviews(reviews.iloc[[0]]) is not None
    concepts = pd.DataFrame({"concept_id": ["x", "x"], "name": ["A", "B"], "description": ["one", "two"]})
    with pytest.raises(InputError, match=r"row 2, column 'concept_id': the concept id repeats"):
        io.require_concepts(concepts)
    assert io.validate_concepts(concepts).quarantine["reason"].tolist() == ["duplicate concept id (first kept)"]
