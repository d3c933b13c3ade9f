"""Momentum on real reviews with the real model (slow): the bundled clothing reviews with their
simulated dates (petite sizing made to grow, see data/README.md), plus a seeded decline of the
washing complaints made here, through the real need series and trend stage."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlab import io
from launchlab.concepts import score_concepts
from launchlab.trends import TrendsConfig, forecast_trends, need_series

pytestmark = pytest.mark.slow

DATA = Path(__file__).parents[2] / "data"
CONCEPTS_YAML, DATED = DATA / "concepts.yaml", DATA / "womens_clothing_reviews_dated.parquet"
PETITE, WASHING = "too long for petites", "shrinks or pills after washing"


@pytest.fixture(scope="module")
def dated_needs(real_needs) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Needs, their trends and their series: each review keeps its simulated date, except 60% of
    the washing reviews (seeded), redrawn with monthly weights falling 30, 29, … 1."""
    needs, reviews = real_needs
    dates = pd.read_parquet(DATED, columns=["Simulated Date"])["Simulated Date"]
    date = pd.to_datetime(dates.reindex(reviews["review_id"].astype(int)).to_numpy())
    rng = np.random.default_rng(7)
    washing = needs.loc[needs["label"] == WASHING, "need_id"].iloc[0]
    moved = (reviews["need_id"] == washing).to_numpy() & (rng.random(len(reviews)) < 0.6)
    months = pd.date_range(date.min(), date.max(), freq="MS")
    weights = np.arange(len(months), 0, -1.0)
    picked = months[rng.choice(len(months), size=int(moved.sum()), p=weights / weights.sum())]
    date = date.to_series(index=reviews.index)
    date[moved] = picked + pd.to_timedelta(rng.integers(0, 28, int(moved.sum())), unit="D")
    series = need_series(reviews.assign(date=date.to_numpy()), categories=False)
    trends = forecast_trends(series[["unique_id", "ds", "y"]], config=TrendsConfig(backtest_windows=0)).tables["trends"]
    return needs, trends, series


@pytest.fixture(scope="module")
def demo_concepts() -> pd.DataFrame:
    return io.load_concepts(CONCEPTS_YAML).frame


def test_momentum_follows_the_growing_need_on_real_reviews(dated_needs, demo_concepts, real_embedder):
    needs, trends, series = dated_needs
    ids = dict(zip(needs["label"], "need-" + needs["need_id"].astype(str)))
    by_id = trends.set_index("unique_id")
    assert by_id.loc[ids[PETITE], "growth"] > 0.5  # the simulated ramp reaches the trend stage
    assert by_id.loc[ids[WASHING], "class"] == "declining"
    scores = score_concepts(demo_concepts, needs, embedder=real_embedder, trends=trends, series=series).tables["scores"]
    scores = scores.set_index("concept_id")
    momentum = scores["momentum"]
    # The petite dress answers the growing need: the most momentum of all concepts.
    assert momentum.idxmax() == "CON-01"
    assert momentum["CON-01"] > momentum.drop(["CON-01", "CON-10"]).max() + 3
    row = by_id.loc[ids[PETITE]]
    figures = rf"“{PETITE}”: [0-9.]+ → {row['last_value']:.0f} mentions a month over {row['window']} months, {row['class']} \("
    assert re.search(figures, scores.loc["CON-01", "explanation"]), scores.loc["CON-01", "explanation"]
    # The sweater answers the washing complaints, a need in decline: little momentum.
    assert scores.loc["CON-05", "top_needs"][0] == WASHING
    assert momentum["CON-05"] < min(10, momentum["CON-01"] / 2)
    # The egg cooker matches no need: no momentum evidence, said so, and never ahead of a matched concept.
    assert np.isnan(momentum["CON-10"]) and momentum.drop("CON-10").notna().all()
    assert "Momentum not scored: it barely matches any need" in scores.loc["CON-10", "explanation"]


def test_invariance_holds_with_momentum(dated_needs, demo_concepts, real_embedder):
    needs, trends, series = dated_needs
    base = demo_concepts.set_index("concept_id").loc["CON-01"].to_dict()
    variants = {
        "orig": {},
        "upper": {"name": base["name"].upper(), "description": base["description"].upper()},
        "typos": {"description": base["description"].replace("petite", "petit").replace("instead", "insted")},
        "reworded": {"description": "A midi dress made for women of 5 foot 4 or shorter: a shorter bodice, a higher waist "
                                    "and a hem below the knee rather than at the ankle, so petite women need no hemming."},
    }  # fmt: skip
    frame = pd.DataFrame([dict(base, concept_id=name, **change) for name, change in variants.items()])
    frame["source_row"] = np.arange(1, len(frame) + 1)
    scores = score_concepts(frame, needs, embedder=real_embedder, trends=trends, series=series).tables["scores"]
    scores = scores.set_index("concept_id")
    moved = (scores["score"] - scores.loc["orig", "score"]).abs()
    assert moved.max() <= 3, moved.to_dict()
