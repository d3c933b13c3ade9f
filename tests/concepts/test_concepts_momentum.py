"""Momentum follows the needs a concept answers (issue 13): handmade needs, one of them an
emerging sub-need of another, handmade trend rows, and the deterministic test embedder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from launchlab.concepts import score_concepts
from launchlab.concepts.score import MODEL_NAME, series_period

SUB_NEED = {
    "label": "petite lengths",
    "texts": ["too long for me, I am petite", "wish it came in petite sizes", "petite length, the hem hit my ankles",
              "I am 5 foot and petite, had to hem it"],
}  # fmt: skip

PETITE = {
    "concept_id": "petite",
    "name": "Petite midi dress",
    "description": "A dress cut for petite women 5 foot and under: the hem length is right, no need to hem it.",
    "claims": ["Petite length, never too long"],
    "price": 110.0,
    "category": "Dresses",
}

# need-0 runs small, need-1 see-through fabric, need-2 love the color, need-3 soft and comfy,
# need-4 petite lengths (a sub-need found inside need-0).
TRENDS = {
    "need-0": dict(cls="stable", growth=0.05, change=0.02, p_value=0.6, prior_level=10.0, last_value=11.0),
    "need-1": dict(cls="declining", growth=-0.35, change=-0.5, p_value=0.002, prior_level=12.0, last_value=5.0),
    "need-2": dict(cls="stable", growth=0.0, change=0.0, p_value=0.9, prior_level=9.0, last_value=9.0),
    "need-3": dict(cls="stable", growth=0.0, change=0.0, p_value=0.8, prior_level=3.0, last_value=3.0),
    "need-4": dict(cls="emerging", growth=np.nan, change=1.8, p_value=0.0004, prior_level=0.0, last_value=40.0),
}


@pytest.fixture
def needs_and_sub_need(needs, embedder) -> pd.DataFrame:
    centroid = embedder.encode(SUB_NEED["texts"]).mean(axis=0)
    sub = {
        "need_id": 4, "label": SUB_NEED["label"], "keywords": ["petite"], "n_reviews": 16, "share": 0.04,
        "sentiment_mean": 0.1, "neg_share": 0.2, "quotes": SUB_NEED["texts"][:3],
        "centroid": (centroid / np.linalg.norm(centroid)).tolist(),
    }  # fmt: skip
    out = pd.concat([needs, pd.DataFrame([sub])], ignore_index=True)
    out["parent_need_id"] = [-1, -1, -1, -1, 0]
    return out


@pytest.fixture
def with_petite(concepts, build_concepts) -> pd.DataFrame:
    rows = concepts.drop(columns="source_row").to_dict("records") + [dict(PETITE)]
    return build_concepts(rows)


def trends_table(**changes: dict) -> pd.DataFrame:
    """The trend stage's table for the five need series (window 12), ``changes`` per series id."""
    rows = []
    for uid, row in TRENDS.items():
        row = {**row, **changes.get(uid.replace("-", "_"), {})}
        rows.append({"unique_id": uid, "class": row.pop("cls"), **row, "window": 12})
    rows.append({"unique_id": "google-trends-linen", "class": "rising", "growth": 0.5, "p_value": 0.01, "window": 12})
    return pd.DataFrame(rows)


def monthly_series() -> pd.DataFrame:
    ds = pd.date_range("2024-03-01", periods=24, freq="MS")
    return pd.DataFrame({"unique_id": "need-4", "ds": ds, "y": np.r_[np.zeros(12), np.linspace(3, 40, 12)]})


def _scores(result) -> pd.DataFrame:
    return result.tables["scores"].set_index("concept_id")


def test_concept_answering_the_emerging_sub_need_has_the_highest_momentum(with_petite, needs_and_sub_need, embedder):
    result = score_concepts(with_petite, needs_and_sub_need, embedder=embedder, trends=trends_table(), series=monthly_series())
    scores = _scores(result)
    momentum = scores["momentum"]
    assert momentum.idxmax() == "petite"
    assert momentum["petite"] > momentum.drop(["petite", "eggs"]).max() + 20
    text = scores.loc["petite", "explanation"]
    assert "“petite lengths” (a sub-need of “runs small”): 0 → 40 mentions a month over 12 months, emerging (p < 0.001)" in text
    assert f"Momentum {momentum['petite']:.0f} comes from" in text
    facts = {f["label"]: f for f in json.loads(scores.loc["petite", "top_need_facts"])}
    sub = facts["petite lengths"]
    assert sub["parent_need_id"] == 0 and sub["trend_class"] == "emerging" and sub["prior_level"] == 0 and sub["last_value"] == 40
    assert sub["momentum_points"] == pytest.approx(momentum["petite"], abs=3)  # the sub-need gives nearly all of it


def test_concept_matching_no_need_gets_no_momentum_and_no_bonus(with_petite, needs_and_sub_need, embedder):
    with_trends = _scores(score_concepts(with_petite, needs_and_sub_need, embedder=embedder, trends=trends_table()))
    plain = _scores(score_concepts(with_petite, needs_and_sub_need, embedder=embedder))
    assert np.isnan(with_trends.loc["eggs", "momentum"])
    assert with_trends["momentum"].drop("eggs").notna().all()
    # NaN never outranks: sorted by momentum, the egg cooker comes after every matched concept.
    assert with_trends["momentum"].sort_values(ascending=False, na_position="last").index[-1] == "eggs"
    assert "Momentum not scored: it barely matches any need" in with_trends.loc["eggs", "explanation"]
    assert with_trends.loc["eggs", "score"] == pytest.approx(plain.loc["eggs", "score"], abs=0.01)
    # Momentum is a bonus of weight 0.2 per point: evidence of growth adds, its absence adds nothing.
    gained = with_trends["score"] - plain.loc[with_trends.index, "score"]
    np.testing.assert_allclose(gained.drop("eggs"), 0.2 * with_trends["momentum"].drop("eggs"), atol=0.02)


def test_momentum_follows_the_class_of_the_need_a_concept_answers(with_petite, needs_and_sub_need, embedder):
    def opaque(cls: str, growth: float, change: float, p_value: float) -> pd.Series:
        trends = trends_table(need_1=dict(cls=cls, growth=growth, change=change, p_value=p_value))
        return _scores(score_concepts(with_petite, needs_and_sub_need, embedder=embedder, trends=trends)).loc["opaque"]

    declining = opaque("declining", -0.35, -0.5, 0.002)
    stable = opaque("stable", 0.1, 0.05, 0.5)
    rising = opaque("rising", 0.35, 0.4, 0.002)
    emerging = opaque("emerging", 0.35, 0.4, 0.002)
    assert declining["momentum"] < 2
    assert declining["momentum"] < stable["momentum"] < 10 < rising["momentum"] < emerging["momentum"]
    assert "the needs it answers are not growing" in declining["explanation"]
    assert "“see-through fabric”: 12 → 5 mentions a period over 12 periods, declining (p = 0.002; forecast -35%)" in (
        declining["explanation"]
    )
    assert declining["score"] < rising["score"] < emerging["score"]


def test_needs_that_do_not_grow_leave_the_score_where_it_was(concepts, needs, embedder):
    flat = pd.DataFrame({"unique_id": [f"need-{j}" for j in range(4)], "growth": 0.0, "class": "stable", "p_value": 0.7})
    scores = _scores(score_concepts(concepts, needs, embedder=embedder, trends=flat))
    plain = _scores(score_concepts(concepts, needs, embedder=embedder))
    assert (scores["momentum"].drop("eggs") == 0).all()
    np.testing.assert_allclose(scores["score"], plain.loc[scores.index, "score"], atol=0.01)


def test_trends_are_read_defensively(concepts, needs, embedder):
    # A class without growth, p-value or window figures still counts; unknown extra columns are ignored.
    bare = pd.DataFrame({"unique_id": ["need-1"], "growth": [np.nan], "class": ["Rising"], "onset_p_value": [0.01]})
    scores = _scores(score_concepts(concepts, needs, embedder=embedder, trends=bare))
    assert scores.loc["opaque", "momentum"] > 20
    assert "“see-through fabric”: rising" in scores.loc["opaque", "explanation"]
    # A need without a trend row gives no momentum, and the explanation says why.
    assert scores.loc["print", "momentum"] < 1
    assert "no trend series" in scores.loc["print", "explanation"]


def test_period_is_named_from_the_need_series():
    weekly = pd.DataFrame({"unique_id": "need-0", "ds": pd.date_range("2025-01-06", periods=10, freq="W-MON"), "y": 1.0})
    assert series_period(weekly) == "week"
    assert series_period(monthly_series()) == "month"
    assert series_period(None) == "period"
    assert series_period(pd.DataFrame({"unique_id": ["uci-P1", "uci-P1"], "ds": [1, 2], "y": [1.0, 2.0]})) == "period"


def test_slope_p_value_is_quoted_only_where_it_backs_the_call(with_petite, needs_and_sub_need, embedder):
    # An emerging call from an onset test can come with a slope that is not significant on its own.
    trends = trends_table(need_4=dict(growth=0.9, p_value=0.3), need_0=dict(p_value=0.3))
    scores = _scores(score_concepts(with_petite, needs_and_sub_need, embedder=embedder, trends=trends, series=monthly_series()))
    assert "0 → 40 mentions a month over 12 months, emerging (forecast +90%)" in scores.loc["petite", "explanation"]
    assert "10 → 11 mentions a month over 12 months, stable (p = 0.30; forecast +5%)" in scores.loc["fit", "explanation"]


def test_fitted_scorer_with_trends_is_saved_in_the_skops_format(with_petite, needs_and_sub_need, embedder):
    # The registry stores models with skops, which refuses pandas frames: the per-need trend
    # figures must round-trip and score the same.
    import skops.io

    result = score_concepts(with_petite, needs_and_sub_need, embedder=embedder, trends=trends_table(), series=monthly_series())
    scorer = result.models[MODEL_NAME]
    blob = skops.io.dumps(scorer)
    restored = skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))
    pd.testing.assert_frame_equal(restored.trend_, scorer.trend_)
    np.testing.assert_array_equal(restored.evidence_, scorer.evidence_)
