"""Untrusted text: the report escapes it, exported CSVs defuse formulas, user values never pick a
file path outside the output folder, and nothing unpickles a user-supplied file.

The report test runs the real stage functions (hashing embedder) on payload-laden inputs —
review text, concept names/descriptions/claims, series ids, experiment variant names — then
parses the HTML and checks the tags it actually contains, not just substrings.
"""

from __future__ import annotations

import csv
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from launchlab import io, stages
from launchlab.concepts import ConceptsConfig
from launchlab.config import CycleConfig, ExperimentInput, ReviewsInput, SeriesInput
from launchlab.incubation import BassConfig
from launchlab.insight import InsightConfig
from launchlab.report import build_report
from launchlab.trends import TrendsConfig

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
JS = '<a href="javascript:alert(3)">click</a>'
PAYLOADS = [SCRIPT, IMG, JS]
ESCAPE = "../../escape/x"
SRC = Path(__file__).resolve().parents[2] / "src"


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _payload_inputs(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    words = "zipper broke fabric thin size small love colour petite long washing shrank soft".split()
    texts = [" ".join(rng.choice(words, 7)) for _ in range(120)]
    for i, payload in enumerate(PAYLOADS * 10):  # payloads in many reviews, so quotes carry them
        texts[i] = f"{texts[i]} {payload} zipper broke"
    dates = pd.date_range("2023-01-02", periods=120, freq="3D").strftime("%Y-%m-%d")
    reviews = pd.DataFrame(
        {"review_id": [f"{ESCAPE}{i}" for i in range(120)], "text": texts, "rating": rng.integers(1, 6, 120), "date": dates}
    )
    reviews = reviews.astype({"rating": object})
    reviews.loc[120 - 1, "text"] = "=HYPERLINK(\"http://evil\",\"x\")"
    reviews.loc[120 - 2, "rating"] = "=1+1"  # quarantined: rating not a number
    reviews.loc[120 - 3, "rating"] = "@SUM(A1)"
    paths = {"reviews": folder / "reviews.csv"}
    reviews.to_csv(paths["reviews"], index=False)

    weeks = pd.date_range("2023-01-02", periods=30, freq="W-MON")
    ids = [SCRIPT, IMG, ESCAPE, "=cmd|' /C calc'!A0", "plain"]
    series = pd.DataFrame(
        [{"unique_id": uid, "ds": d.strftime("%Y-%m-%d"), "y": 10 + k * 3 + j * (1 + k)} for k, uid in enumerate(ids) for j, d in enumerate(weeks)]
    )
    series.loc[len(series)] = {"unique_id": "-2+3", "ds": "2023-01-02", "y": "not a number"}
    paths["series"] = folder / "series.csv"
    series.to_csv(paths["series"], index=False)

    concepts = [
        {"concept_id": ESCAPE, "name": SCRIPT, "description": f"A dress that fixes the zipper {IMG}", "claims": [JS, "soft fabric"], "price": 80},
        {"concept_id": "c2", "name": IMG, "description": "Petite length dress, true to size", "claims": ["+1 size"], "price": 60},
        {"concept_id": "c3", "name": "javascript:alert(4)", "description": f"Thin fabric summer top {SCRIPT}", "claims": ["@home"], "price": 30},
        {"concept_id": "c3", "name": "=duplicate", "description": "duplicate id", "claims": []},
    ]
    paths["concepts"] = folder / "concepts.yaml"
    paths["concepts"].write_text(yaml.safe_dump(concepts))

    n = 600
    experiment = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "variant": np.where(np.arange(n) % 2 == 0, "control", SCRIPT),
            "converted": rng.binomial(1, np.where(np.arange(n) % 2 == 0, 0.1, 0.14)),
        }
    )
    experiment.loc[n] = {"user_id": "u0", "variant": SCRIPT, "converted": 1}  # a unit in both arms
    paths["experiment"] = folder / "experiment.csv"
    experiment.to_csv(paths["experiment"], index=False)

    t = np.arange(1, 16)
    adoption = pd.DataFrame({IMG: (1000 * (np.exp(-0.3 * t) - np.exp(-0.3 * (t + 1))) * 40).round(), ESCAPE: np.linspace(5, 80, 15).round()})
    paths["adoption"] = folder / "adoption.csv"
    adoption.to_csv(paths["adoption"], index=False)
    return paths


@pytest.fixture(scope="module")
def payload_cycle(tmp_path_factory):
    """All four stages and the report on payload-laden inputs; returns (config, files before)."""
    root = tmp_path_factory.mktemp("payload")
    inputs = root / "inputs"
    inputs.mkdir()
    paths = _payload_inputs(inputs)
    cwd = root / "cwd"
    cwd.mkdir()
    before = {p for p in root.rglob("*")}
    config = CycleConfig(
        name="payload",
        reviews={"path": paths["reviews"]},
        series=[{"path": paths["series"]}],
        concepts=paths["concepts"],
        experiment={"path": paths["experiment"], "ab": {"variant_col": "variant", "metric_col": "converted", "unit_col": "user_id"}},
        adoption={"path": paths["adoption"]},
        out_dir=root / "out",
    )
    mp = pytest.MonkeyPatch()
    mp.chdir(cwd)  # a relative write would land here
    try:
        folders = stages.cycle_paths(config)
        insight = stages.run_insight(
            ReviewsInput(path=paths["reviews"]), config=InsightConfig(seed=1), out_dir=folders[stages.INSIGHT], embedding_model="hashing-128"
        )
        stages.run_trends(
            [SeriesInput(path=paths["series"])], config=TrendsConfig(horizon=4), out_dir=folders[stages.TRENDS],
            insight_reviews=insight.result.tables["reviews"],
        )
        stages.run_concepts(
            paths["concepts"], insight_dir=folders[stages.INSIGHT], trends_dir=folders[stages.TRENDS], config=ConceptsConfig(),
            out_dir=folders[stages.CONCEPTS], embedding_model="hashing-128",
        )
        stages.run_incubation(
            ExperimentInput.model_validate(config.experiment.model_dump()), adoption=SeriesInput(path=paths["adoption"]),
            bass_config=BassConfig(n_bootstrap=50), out_dir=folders[stages.INCUBATION],
        )
        report = build_report(config, {}, cycle_id=f"payload-{SCRIPT}")
    finally:
        mp.undo()
    return root, config, report, before


def test_report_contains_no_live_markup_from_untrusted_text(payload_cycle):
    _, _, report, _ = payload_cycle
    page = report.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(page)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "a", "form", "svg", "math", "base", "link")]
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith(("javascript:", "vbscript:")), (tag, name, value)
            if tag == "img" and name == "src":
                assert value.startswith("data:image/png;base64,")
    for payload in PAYLOADS:
        assert payload not in page
    # the payloads did reach the report, escaped: review quotes, concept names, series ids, variants
    assert html.escape(SCRIPT) in page
    assert html.escape(IMG) in page
    assert page.count(html.escape(SCRIPT)) >= 3
    # the Content-Security-Policy forbids scripts even if escaping were ever missed
    assert "default-src 'none'" in page


def test_payloads_reach_every_report_section(payload_cycle):
    """Guard against a vacuous pass: the untrusted strings are really in the stage outputs."""
    root, config, _, _ = payload_cycle
    folders = stages.cycle_paths(config)
    needs = pd.read_parquet(folders[stages.INSIGHT] / "needs.parquet")
    assert any(SCRIPT in q or IMG in q or JS in q for quotes in needs["quotes"] for q in quotes)
    scores = pd.read_parquet(folders[stages.CONCEPTS] / "scores.parquet")
    assert {SCRIPT, IMG} <= set(scores["name"])
    trends = pd.read_parquet(folders[stages.TRENDS] / "trends.parquet")
    assert {SCRIPT, IMG, ESCAPE} <= set(trends["unique_id"])
    readout = (folders[stages.INCUBATION] / "readout.json").read_text()
    assert "<script>" in readout


def test_no_file_is_written_outside_the_output_folder(payload_cycle):
    root, config, _, before = payload_cycle
    out = Path(config.out_dir).resolve()
    created = {p for p in root.rglob("*")} - before
    outside = [p for p in created if p.resolve() != out and out not in p.resolve().parents]
    assert not outside, outside
    assert not (root / "escape").exists() and not (root.parent / "escape").exists()
    assert not list((root / "cwd").iterdir())


def test_quarantine_csvs_neutralise_formulas(payload_cycle):
    root, config, _, _ = payload_cycle
    files = list(Path(config.out_dir).rglob("quarantine/*.csv"))
    assert files
    cells = []
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        cells += [c for column in frame.columns for c in frame[column].tolist()] + list(frame.columns)
    assert any(c.startswith("'=") or c.startswith("'@") or c.startswith("'-") for c in cells), "no formula reached a quarantine file"
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not dangerous, dangerous


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"])
@pytest.mark.parametrize("dtype", [object, "string"])
def test_write_quarantine_defuses_every_formula_prefix(tmp_path, value, dtype):
    frame = pd.DataFrame({"source_row": [1], "reason": [value], value: pd.Series([value], dtype=dtype)})
    path = io.write_quarantine(frame, tmp_path, "q")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 2
    for cell in rows[0] + rows[1]:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), rows
    assert rows[1][2] == "'" + value


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", "x\x00y", "/abs"])
def test_writers_refuse_names_that_are_not_plain_file_names(tmp_path, name):
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError):
        io.write_table(frame, tmp_path / "out", name)
    with pytest.raises(ValueError):
        io.write_quarantine(frame.assign(reason="r"), tmp_path / "out", name)
    assert not (tmp_path / "x.parquet").exists()


UNSAFE_LOADS = re.compile(
    r"\b(pickle|cloudpickle|dill|joblib|marshal|shelve)\.(load|loads|Unpickler)\b"
    r"|\bpd\.read_pickle\b|\bread_pickle\(|allow_pickle\s*=\s*True|\btorch\.load\("
    r"|\byaml\.(load|unsafe_load|full_load)\(|\bmlflow\.(pyfunc|sklearn)\.load_model\b|\beval\(|\bexec\("
)


def test_nothing_in_the_library_unpickles_or_evaluates_user_files():
    """No pickle-family load, unsafe YAML, eval/exec anywhere in src/ or flows/.

    MLflow model loading (which unpickles) would only be acceptable inside tracking.py for
    models launchlab registered itself; today there is none at all.
    """
    offenders = []
    for folder in (SRC, SRC.parent / "flows"):
        for path in folder.rglob("*.py"):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if UNSAFE_LOADS.search(line.split("#", 1)[0]):
                    offenders.append(f"{path.relative_to(SRC.parent)}:{lineno}: {line.strip()}")
    assert not offenders, offenders


def test_the_pattern_catches_what_it_should():
    for line in ["pickle.load(f)", "joblib.load(path)", "np.load(p, allow_pickle=True)", "yaml.load(s)", "cloudpickle.loads(b)", "pd.read_pickle(p)", "mlflow.sklearn.load_model(uri)"]:
        assert UNSAFE_LOADS.search(line), line
    for line in ["yaml.safe_load(s)", "np.load(path)", "json.loads(s)"]:
        assert not UNSAFE_LOADS.search(line), line
