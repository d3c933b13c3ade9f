"""The HTML report: every section from stage folders, and untrusted text only ever escaped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from launchlab import stages
from launchlab.config import CycleConfig
from launchlab.report import build_report, incubation_section

PAYLOADS = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '<a href="javascript:alert(3)">x</a>']


def _write_stage_folders(config: CycleConfig) -> None:
    paths = stages.cycle_paths(config)
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "need_id": [0, 1],
            "label": [PAYLOADS[0], "fit / size"],
            "keywords": [[PAYLOADS[1]], ["small", "size"]],
            "n_reviews": [10, 5],
            "share": [0.66, 0.34],
            "sentiment_mean": [-0.4, 0.5],
            "neg_share": [0.6, 0.1],
            "quotes": [[PAYLOADS[2]], ["runs small"]],
        }
    ).to_parquet(paths[stages.INSIGHT] / "needs.parquet")
    ds = np.arange(20)
    pd.DataFrame({"unique_id": PAYLOADS[1], "ds": ds, "y": ds * 1.0}).to_parquet(paths[stages.TRENDS] / "series.parquet")
    pd.DataFrame(
        {"unique_id": PAYLOADS[1], "ds": [20, 21], "yhat": [20.0, 21.0], "yhat_lo_80": [19.0, 19.0], "yhat_hi_80": [21.0, 23.0]}
    ).to_parquet(paths[stages.TRENDS] / "forecasts.parquet")
    pd.DataFrame({"unique_id": [PAYLOADS[1]], "growth": [0.2], "class": ["rising"], "change": [0.31], "p_value": [0.004],
                  "window": [18]}).to_parquet(paths[stages.TRENDS] / "trends.parquet")
    pd.DataFrame(
        {
            "concept_id": ["c1"],
            "name": [PAYLOADS[0]],
            "score": [70.0],
            "score_lo": [60.0],
            "score_hi": [80.0],
            "rank": [1],
            "top_needs": [[PAYLOADS[1]]],
            "explanation": [PAYLOADS[2]],
        }
    ).to_parquet(paths[stages.CONCEPTS] / "scores.parquet")
    (paths[stages.INCUBATION] / "decision.json").write_text(json.dumps({"decision": "scale", "reasons": [PAYLOADS[0]]}))
    (paths[stages.INCUBATION] / "readout.json").write_text(
        json.dumps({"metric": PAYLOADS[1], "metric_type": "binary", "control": "control", "srm_p_value": 0.5,
                    "variants": {PAYLOADS[2]: {"n": 10, "mean": 0.1, "lift_rel": 0.05, "ci_low": -0.1, "ci_high": 0.2, "p_value": 0.3}}})
    )


def test_report_escapes_untrusted_text_everywhere(tmp_path, repo):
    config = CycleConfig(name="t", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path, data_notes=[PAYLOADS[1]])
    _write_stage_folders(config)
    html = build_report(config, {}, cycle_id="t-1").read_text()
    for payload in PAYLOADS:
        assert payload not in html
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # every section rendered, plots inline
    for title in ("Demand insight", "Trends", "Concepts", "Launch readout"):
        assert title in html
    assert html.count("data:image/png;base64,") >= 3
    assert "SCALE" in html


def test_the_insight_section_says_how_sentiment_was_scored(tmp_path, repo):
    from launchlab.report import sentiment_note

    stars = {"params": {"sentiment_source": "stars"}, "metrics": {"sentiment_accuracy": 0.9088, "sentiment_n_labels": 1338}}
    assert sentiment_note(stars) == (
        "Sentiment was learned from this corpus' star ratings (1-2 stars negative, 4-5 positive); accuracy on "
        "reviews held out from training: 90.9% over 1,338 rated reviews."
    )
    # The shipped model's figures come from its file (here: the real shipped one, in-domain CV of the layer head).
    shipped = json.loads((repo / "models" / "sentiment" / "default_sentiment.json").read_text())["info"]["in_domain_cv"]["layers"]
    default = sentiment_note({"params": {"sentiment_source": "default", "sentiment_features": "layers-2-4-6"}, "metrics": {}})
    assert "shipped model" in default and f"{shipped['semeval15_restaurants']['accuracy']:.0%} (restaurants)" in default
    forced = sentiment_note({"params": {"sentiment_source": "default", "sentiment": "default"}, "metrics": {}})
    assert "(as configured)" in forced and "star ratings" not in forced
    assert "rough" in sentiment_note({"params": {"sentiment_source": "lexicon"}, "metrics": {}})
    assert sentiment_note(None) == "" and sentiment_note({"params": {}, "metrics": {}}) == ""

    config = CycleConfig(name="note", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path)
    _write_stage_folders(config)
    (stages.cycle_paths(config)[stages.INSIGHT] / stages.STAGE_RECORD).write_text(json.dumps(stars))
    page = build_report(config).read_text()
    assert "learned from this corpus&#x27; star ratings" in page and "90.9% over 1,338 rated reviews" in page


def test_the_adoption_plot_comes_from_the_stage_outputs_alone(tmp_path, repo):
    """The report draws the adoption curves from the incubation stage's bass_fit table: the raw
    adoption file is not read again (here it does not even exist any more)."""
    from launchlab.config import SeriesInput
    from launchlab.incubation import BassConfig

    config = CycleConfig(name="bass", reviews={"path": "r.csv"}, concepts="c.yaml", adoption={"path": "gone.csv"}, out_dir=tmp_path)
    folder = stages.cycle_paths(config)[stages.INCUBATION]
    stages.run_incubation(None, adoption=SeriesInput(path=repo / "data" / "ibm_mainframe_generations.csv"),
                          bass_config=BassConfig(n_bootstrap=0), out_dir=folder)
    curves = pd.read_parquet(folder / "bass_fit.parquet")
    assert {"period", "y", "yhat", "is_forecast"} <= set(curves.columns)
    section = incubation_section(folder)
    assert section.count("data:image/png;base64,") == 1 and "SIU1" in section
    (folder / "bass_fit.parquet").unlink()
    assert "data:image/png" not in incubation_section(folder)
    assert "Launch readout" in build_report(config).read_text()


def test_a_skipped_launch_readout_says_pre_launch(tmp_path):
    config = CycleConfig(name="pre", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path)
    _write_stage_folders(config)
    reason = stages.get_stage(stages.INCUBATION).skip(config)
    stages.skip_stage(stages.INCUBATION, config, reason, "f", None)
    section = incubation_section(stages.cycle_paths(config)[stages.INCUBATION])
    assert "pre-launch: concepts ranked" in section and "Not launched yet" in section
    assert "SCALE" not in section and "variant" not in section  # the earlier readout is gone


def test_the_data_notes_open_the_report(tmp_path):
    """What the config says about its data (e.g. simulated dates) comes before any stage section."""
    note = "Their dates are simulated: data/generate_review_dates.py makes petite sizing grow."
    config = CycleConfig(name="t", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path, data_notes=[note])
    _write_stage_folders(config)
    html = build_report(config, {}, cycle_id="t-1").read_text()
    assert html.index("About this data") < html.index(note) < html.index("Demand insight")
    bare = CycleConfig(name="t", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path / "bare")
    _write_stage_folders(bare)
    assert "About this data" not in build_report(bare, {}, cycle_id="t-2").read_text()


def test_a_rising_need_is_named_by_its_label_in_the_summary(tmp_path):
    """A reader sees "“fit / size” (need-1)", not the bare series id, wherever the summary lists what is rising."""
    from launchlab.summary import log_lines, markdown, read_summary, tables

    config = CycleConfig(name="labels", reviews={"path": "r.csv"}, concepts="c.yaml", out_dir=tmp_path)
    _write_stage_folders(config)
    pd.DataFrame({"unique_id": ["need-1", "search-linen"], "growth": [0.2, 0.4], "class": ["rising", "rising"],
                  "change": [0.31, 0.5], "p_value": [0.004, 0.01], "window": [18, 18]}).to_parquet(
        stages.cycle_paths(config)[stages.TRENDS] / "trends.parquet")
    found = read_summary(config)
    assert [r["name"] for r in found.rising] == ["search-linen", "“fit / size” (need-1)"]
    assert "- “fit / size” (need-1) — rising: +31% over the last 18 periods (p = 0.004)" in markdown(found)
    assert "“fit / size” (need-1) (rising: +31%" in log_lines(found)[2]
    assert tables(found)["rising-needs"][1]["series"] == "“fit / size” (need-1)"
    page = build_report(config).read_text()
    assert page.count("<tr><td>“fit / size” (need-1)</td><td>rising: +31% over the last 18 periods (p = 0.004)</td></tr>") == 1
    assert "<li><b>“fit / size” (need-1)</b>" in page  # the summary at the top


def test_need_map_ids_that_would_overlap_are_moved_apart():
    from launchlab.report import spread_labels

    xy = np.array([[0.0, 0.0], [0.01, 0.005], [1.0, 1.0], [0.5, 0.2]])  # need 1 sits on need 0
    labels = spread_labels(xy)
    np.testing.assert_array_equal(labels[[0, 2, 3]], xy[[0, 2, 3]])  # labels with room stay on their bubble
    assert not np.allclose(labels[1], xy[1])
    width, height = 0.045, 0.07
    for i in range(len(labels)):
        for j in range(i):
            assert abs(labels[i, 0] - labels[j, 0]) >= width or abs(labels[i, 1] - labels[j, 1]) >= height


def test_a_series_with_no_trend_call_never_reads_as_insignificant_when_its_slope_is():
    """A seasonal series whose slope has p = 0.013 (change below the bar) has no trend call; it must
    not read "no significant trend (p = 0.013)"."""
    from launchlab.summary import describe_trend

    seasonal = {"class": "seasonal", "change": 0.04, "p_value": 0.013, "window": 18}
    assert describe_trend(seasonal) == "seasonal: no clear trend (p = 0.013)"
    assert describe_trend({**seasonal, "class": "rising", "change": 0.31}) == "rising: +31% over the last 18 periods (p = 0.013)"
