"""The simulated consumer panel on handmade personas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.concepts import ConceptsConfig, score_concepts
from launchlab.concepts.panel import age_band
from launchlab.errors import InputError

CONFIG = ConceptsConfig(panel_min_segment=5)


def _panel(result, concept_id: str, segment: str) -> pd.Series:
    panel = result.tables["panel"]
    rows = panel[(panel["concept_id"] == concept_id) & (panel["segment"] == segment)]
    return rows.set_index("value")["top2box"]


def test_age_bands():
    assert [age_band(a) for a in (19, 30, 49, 50, 64, 65, None, "n/a")] == [
        "<30", "30-39", "40-49", "50-64", "50-64", "65+", None, None
    ]  # fmt: skip


def test_concepts_win_the_segment_whose_complaint_they_answer(concepts, needs, reviews, embedder):
    result = score_concepts(concepts, needs, embedder=embedder, reviews=reviews, config=CONFIG)
    # See-through complaints come from 50-64 year-olds; runs-small ones from under-30s and 30s.
    opaque = _panel(result, "opaque", "age_band")
    assert opaque.idxmax() == "50-64" and opaque["50-64"] > opaque.drop("50-64").max() + 0.1
    fit = _panel(result, "fit", "category")
    assert fit.idxmax() == "Dresses"
    scores = result.tables["scores"].set_index("concept_id")
    assert scores.loc["opaque", "panel_best_segment"] in {"age_band=50-64", "category=Knits"}
    assert scores.loc["eggs", "panel_top2box"] < 0.25 < scores.loc["fit", "panel_top2box"]
    assert (scores["panel_top2box_lo"] <= scores["panel_top2box"]).all()
    assert (scores["panel_top2box"] <= scores["panel_top2box_hi"]).all()


def test_panel_tables_and_determinism(concepts, needs, reviews, embedder):
    a = score_concepts(concepts, needs, embedder=embedder, reviews=reviews, config=CONFIG)
    b = score_concepts(concepts, needs, embedder=embedder, reviews=reviews, config=CONFIG)
    pd.testing.assert_frame_equal(a.tables["panel"], b.tables["panel"])
    pd.testing.assert_frame_equal(a.tables["panel_ratings"], b.tables["panel_ratings"])
    ratings = a.tables["panel_ratings"]
    assert len(ratings) == len(reviews) * len(concepts)
    assert ratings["intent"].between(1, 5).all() and ratings["intent"].nunique() > 2
    panel = a.tables["panel"]
    everyone = panel[panel["segment"] == "all"]
    assert (everyone["n_personas"] == len(reviews)).all()
    # The sampled intents agree with the expected top-2-box.
    sampled = ratings.assign(t2=ratings["intent"] >= 4).groupby("concept_id")["t2"].mean()
    expected = everyone.set_index("concept_id")["top2box"]
    assert np.abs(sampled - expected.reindex(sampled.index)).max() < 0.2
    assert a.metrics["panel_personas"] == len(reviews) and a.metrics["panel_uses_text"] == 1.0


def test_panel_without_text_uses_needs_only(concepts, needs, reviews, embedder):
    result = score_concepts(concepts, needs, embedder=embedder, reviews=reviews.drop(columns=["text"]), config=CONFIG)
    assert any("no text" in w for w in result.warnings)
    opaque = _panel(result, "opaque", "age_band")
    assert opaque.idxmax() == "50-64"


def test_panel_sample_size_and_small_segments(concepts, needs, reviews, embedder):
    config = ConceptsConfig(panel_size=20, panel_min_segment=30)
    result = score_concepts(concepts, needs, embedder=embedder, reviews=reviews, config=config)
    assert result.metrics["panel_personas"] == 20
    assert not result.tables["panel"].query("segment != 'all'")["enough"].any()
    assert result.tables["scores"]["panel_best_segment"].isna().all()
    assert any("fewer than 30 personas" in w for w in result.warnings)


def test_reviews_without_need_id_are_an_input_error(concepts, needs, reviews, embedder):
    with pytest.raises(InputError, match="'need_id'"):
        score_concepts(concepts, needs, embedder=embedder, reviews=reviews.drop(columns=["need_id"]))


def test_category_without_reviews_has_no_evidence(concepts, needs, reviews, embedder):
    result = score_concepts(concepts, needs, embedder=embedder, reviews=reviews, config=CONFIG)
    scores = result.tables["scores"].set_index("concept_id")
    assert scores.loc["eggs", "evidence"] == "none"
    assert (scores.loc["eggs", "score_lo"], scores.loc["eggs", "score_hi"]) == (0.0, 100.0)
    assert "no evidence" in scores.loc["eggs", "explanation"]
    assert any("no reviews in categories ['Kitchen']" in w for w in result.warnings)
    # A relevant concept in a category nobody reviewed is flagged too, though its text matches.
    moved = concepts.assign(category=["Swimwear", "Knits", "Skirts", "Kitchen"])
    flagged = score_concepts(moved, needs, embedder=embedder, reviews=reviews, config=CONFIG).tables["scores"]
    row = flagged.set_index("concept_id").loc["fit"]
    assert row["evidence"] == "none" and row["relevance"] > 0.5 and row["score_hi"] == 100.0
