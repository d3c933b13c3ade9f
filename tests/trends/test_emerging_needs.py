"""Emerging sub-needs: a small new need growing inside a big one is surfaced; evenly spread talk is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import HashingEmbedder
from launchlab.insight import discover_needs
from launchlab.insight.config import EmergingConfig, InsightConfig
from launchlab.insight.emerging import find_emerging_needs
from launchlab.trends import TrendsConfig, forecast_trends, need_series

MONTHS = pd.date_range("2020-01-01", periods=36, freq="MS")


def _embedded(kind: str, seed: int = 0, d: int = 32):
    """Mentions of three needs over 36 months as noisy unit vectors; a sub-theme inside need 0
    that ramps up over the last 6 months (``ramp``), is spread over all months (``spread``) or
    is absent (``none``)."""
    rng = np.random.default_rng(seed)
    centers = np.linalg.qr(rng.normal(size=(d, 4)))[0].T
    sub = centers[0] + 1.2 * centers[3]
    sub /= np.linalg.norm(sub)
    words = ["soft hair shampoo", "fresh scent smell", "fast delivery box"]
    X, need, dates, texts = [], [], [], []

    def add(center: np.ndarray, c: int, month: pd.Timestamp, text: str) -> None:
        v = center + rng.normal(0, 0.12, d)
        X.append(v / np.linalg.norm(v))
        need.append(c)
        dates.append(month + pd.Timedelta(days=int(rng.integers(28))))
        texts.append(f"{text} {rng.integers(100)}")

    for i, month in enumerate(MONTHS):
        for _ in range(30):
            c = int(rng.choice(3, p=[0.6, 0.25, 0.15]))
            add(centers[c], c, month, words[c])
        n_sub = {"ramp": max(0, i - 29) * 2, "spread": i % 2, "none": 0}[kind]
        for _ in range(n_sub):
            add(sub, 0, month, "dandruff flakes itchy scalp")
    blocks = np.arange(len(X)).astype(str)
    return np.array(X, dtype=np.float32), np.array(need), pd.Series(dates), blocks, texts


def test_a_sub_theme_ramping_inside_a_need_is_found_and_assigned():
    X, need, dates, blocks, texts = _embedded("ramp")
    found = find_emerging_needs(X, need, dates, blocks, texts, n_needs=3, config=EmergingConfig())
    assert len(found) == 1
    row = found.table.iloc[0]
    assert row["need_id"] == 3 and row["parent_need_id"] == 0 and row["p_value"] <= 0.05
    assert row["recent_mentions"] >= 30 and row["earlier_mentions"] <= 2
    assert found.labels[3].startswith("dandruff")
    assigned = found.predict(X, need)
    planted = np.array(["dandruff" in t for t in texts])
    assert (assigned[planted] == 3).mean() >= 0.9
    assert (assigned[~planted] == 3).sum() <= 3
    # A mention of another need is never moved into the sub-need, however close it is.
    other = need.copy()
    other[planted] = 1
    assert not (found.predict(X, other) == 3).any()


@pytest.mark.parametrize("kind", ["spread", "none"])
def test_evenly_spread_or_absent_sub_themes_are_not_surfaced(kind):
    X, need, dates, blocks, texts = _embedded(kind)
    found = find_emerging_needs(X, need, dates, blocks, texts, n_needs=3, config=EmergingConfig())
    assert len(found) == 0
    assert np.array_equal(found.predict(X, need), need)


def _reviews(kind: str, seed: int = 1) -> pd.DataFrame:
    """Seeded hair / scent / delivery reviews over 36 months; dandruff reviews (kind ``ramp``:
    the last 6 months, growing; ``spread``: as many, spread over all months)."""
    rng = np.random.default_rng(seed)
    pools = {
        "hair": (["this shampoo", "the conditioner", "this hair wash", "the shampoo bar"],
                 ["leaves my hair soft", "makes my curls shine", "lathers well in my hair", "tames frizz in my hair",
                  "rinses out of my hair clean", "keeps my hair smooth"]),
        "scent": (["the scent", "the fragrance", "the smell", "the perfume note"],
                  ["is fresh and light", "lasts all day", "reminds me of lavender", "is a bit too sweet", "fades quickly"]),
        "delivery": (["the parcel", "the delivery", "the box", "shipping"],
                     ["arrived in two days", "came well packed", "was late by a week", "arrived dented"]),
        "dandruff": (["this shampoo", "the shampoo bar", "this hair wash"],
                     ["cleared the dandruff flakes on my itchy scalp", "stopped the dandruff flakes on my itchy scalp",
                      "calmed the dandruff flakes on my itchy scalp", "removed the dandruff flakes from my itchy scalp"]),
    }

    def sentence(topic: str) -> str:
        subjects, predicates = pools[topic]
        return f"{subjects[rng.integers(len(subjects))].capitalize()} {predicates[rng.integers(len(predicates))]}."

    rows = []
    n_sub = [max(0, i - 29) * 3 for i in range(36)]
    spread = np.diff(np.floor(np.linspace(0, sum(n_sub), 37))).astype(int)
    for i, month in enumerate(MONTHS):
        topics = ["hair"] * 24 + ["scent"] * 9 + ["delivery"] * 6
        topics += ["dandruff"] * (n_sub[i] if kind == "ramp" else spread[i])
        for topic in topics:
            extra = sentence("scent" if topic != "scent" else "delivery") if rng.random() < 0.3 else ""
            text = f"{sentence(topic)} {sentence(topic)} {extra}".strip()
            rows.append({"review_id": f"r{len(rows)}", "text": text, "rating": float(rng.integers(3, 6)),
                         "date": month + pd.Timedelta(days=int(rng.integers(28)))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ramp_cycle():
    config = InsightConfig(level="mention", min_needs=2, max_needs=3, emerging=EmergingConfig(n_permutations=99))
    insight = discover_needs(_reviews("ramp"), embedder=HashingEmbedder(), config=config)
    series = need_series(insight.tables["reviews"])
    trends = forecast_trends(series[["unique_id", "ds", "y"]], config=TrendsConfig(backtest_windows=0))
    return insight, series, trends


def test_the_emerging_sub_need_gets_its_own_label_quotes_series_and_class(ramp_cycle):
    insight, series, trends = ramp_cycle
    needs = insight.tables["needs"].set_index("need_id")
    subs = needs[needs["parent_need_id"] >= 0]
    assert len(subs) == 1 and insight.metrics["n_emerging_needs"] == 1
    sub_id = int(subs.index[0])
    assert sub_id >= insight.metrics["n_needs"]  # numbered after the need model's needs
    assert "dandruff" in subs.iloc[0]["label"] or "scalp" in subs.iloc[0]["label"]
    assert len(subs.iloc[0]["quotes"]) == 3
    assert all("dandruff" in q.lower() or "scalp" in q.lower() for q in subs.iloc[0]["quotes"])
    assert subs.iloc[0]["emerging_since"] >= pd.Timestamp("2022-01-01")
    mentions = insight.tables["mentions"]
    about = mentions["text"].str.contains("dandruff|scalp")
    assert (mentions.loc[about, "need_id"] == sub_id).mean() >= 0.8
    own = series[series["unique_id"] == f"need-{sub_id}"].set_index("ds")["y"]
    assert own[own.index < pd.Timestamp("2022-06-01")].sum() <= 2 and own.iloc[-3:].min() >= 3
    classes = trends.tables["trends"].set_index("unique_id")["class"]
    assert classes[f"need-{sub_id}"] == "emerging"
    parent = int(subs.iloc[0]["parent_need_id"])
    assert classes[f"need-{parent}"] not in ("emerging", "rising")


def test_evenly_spread_dandruff_talk_is_not_surfaced():
    config = InsightConfig(level="mention", min_needs=2, max_needs=3, emerging=EmergingConfig(n_permutations=99))
    insight = discover_needs(_reviews("spread"), embedder=HashingEmbedder(), config=config)
    assert insight.metrics["n_emerging_needs"] == 0
    assert (insight.tables["needs"]["parent_need_id"] == -1).all()


def test_streamed_corpora_assign_every_mention_to_the_sub_need_found_on_the_sample():
    # fit_cap below the corpus size: the scan runs on the fitted sample, and every streamed batch
    # is assigned with the same balls.
    config = InsightConfig(level="mention", min_needs=2, max_needs=3, fit_cap=1500, stream_rows=600,
                           emerging=EmergingConfig(n_permutations=99))
    insight = discover_needs(_reviews("ramp"), embedder=HashingEmbedder(), config=config)
    assert insight.metrics["n_mentions"] > 2 * config.fit_cap
    needs = insight.tables["needs"]
    subs = needs[needs["parent_need_id"] >= 0]
    assert len(subs) == 1
    mentions = insight.tables["mentions"]
    about = mentions["text"].str.contains("dandruff")
    assert (mentions.loc[about, "need_id"] == subs["need_id"].iloc[0]).mean() >= 0.9
    assert subs["n_mentions"].iloc[0] >= 0.9 * about.sum()


def test_a_review_counts_for_a_sub_need_only_when_its_whole_review_need_is_the_parent():
    from launchlab.insight.emerging import EmergingNeeds

    emerging = EmergingNeeds(first_id=3, parents=np.array([0, 1]))
    # Units of 4 reviews: review 0 has one unit in sub-need 3 (parent 0) and is about need 0;
    # review 1 has a unit in sub-need 3 but is about need 2; review 2 has units in sub-needs 4 (x2)
    # and 3 and is about need 1; review 3 has no sub-need unit.
    unit_need = np.array([3, 0, 3, 2, 4, 4, 3, 1])
    owner = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    review_need = np.array([0, 2, 1, 1])
    assert emerging.refine_reviews(review_need, unit_need, owner).tolist() == [3, 2, 4, 1]
    assert EmergingNeeds(first_id=3).refine_reviews(review_need, unit_need, owner).tolist() == [0, 2, 1, 1]
