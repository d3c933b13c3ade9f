"""Mention-level insight: splitting, mention tables, unmet-need scores and breakdowns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import HashingEmbedder
from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.mentions import split_mentions, split_text
from launchlab.insight.needs import add_review_similarity, review_needs
from launchlab.insight.unmet import breakdown, need_scores

EMB = HashingEmbedder()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fits well but the zipper broke. Love it!", ["Fits well", "but the zipper broke.", "Love it!"]),
        ("I love the length...but it is too tight", ["I love the length...but it is too tight"]),
        ("Great laptop, but pricey", ["Great laptop, but pricey"]),
        ("The screen is bright, but the colors are washed out", ["The screen is bright", "but the colors are washed out"]),
        ("Soft fabric however the zipper broke and they would not refund", ["Soft fabric", "however the zipper broke and they would not refund"]),
        ("It is 5.5 inches long. Sad.", ["It is 5.5 inches long. Sad."]),
        ("Nothing but love for this top", ["Nothing but love for this top"]),
        ("Line one\nline two here", ["Line one", "line two here"]),
        ("   ", []),
    ],
)
def test_split_text(text, expected):
    assert split_text(text) == expected


def test_split_text_cuts_enormous_text():
    pieces = split_text("word " * 1000, max_chars=200)
    assert all(len(p) <= 200 for p in pieces) and " ".join(pieces).split() == ["word"] * 1000


def test_split_mentions_ids():
    m = split_mentions(["a", "b"], ["Good fit. Bad zipper here.", "ok"])
    assert m["mention_id"].tolist() == ["a#0", "a#1", "b#0"]
    assert m["review_index"].tolist() == [0, 0, 1] and m["text"].tolist()[2] == "ok"


def _two_aspect_reviews(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Every review praises or pans the zipper in one sentence and the battery in another."""
    rng = np.random.default_rng(seed)
    zipper = "zipper broke stuck seam stitching ripped button torn".split()
    battery = "battery charge charger drains hours charging power cable".split()
    rows = []
    for i in range(n):
        good_zip, good_bat = rng.random() < 0.5, i % 2 == 0
        a = " ".join(rng.choice(zipper, 5)) + (" great excellent" if good_zip else " terrible awful")
        b = " ".join(rng.choice(battery, 5)) + (" great excellent" if good_bat else " terrible awful")
        rows.append({"review_id": f"r{i}", "text": f"{a.capitalize()}. {b.capitalize()}.",
                     "rating": 5.0 if good_bat else 1.0, "product": f"p{i % 3}",
                     "date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=i)})
    return pd.DataFrame(rows)


def test_mention_level_finds_both_aspects_in_every_review():
    reviews = _two_aspect_reviews()
    res = discover_needs(reviews, embedder=EMB, config=InsightConfig(level="mention", min_needs=2))
    mentions, needs = res.tables["mentions"], res.tables["needs"]
    assert list(mentions.columns) == ["review_id", "mention_id", "text", "need_id", "sentiment"]
    assert len(mentions) == 2 * len(reviews) and res.metrics["n_mentions"] == 2 * len(reviews)
    aspect = np.where(mentions["text"].str.contains("battery|charge|power|cable|hours"), "battery", "zipper")
    purity = pd.crosstab(mentions["need_id"], aspect).max(axis=1).sum() / len(mentions)
    assert res.metrics["n_needs"] >= 2 and purity > 0.95
    # Each review mentions two needs, so n_reviews counts reviews per need, shares count mentions.
    assert needs["n_mentions"].sum() == len(mentions)
    assert needs["share"].sum() == pytest.approx(1.0)
    assert needs["n_reviews"].sum() >= len(reviews) * 2 * 0.95
    assert len(res.tables["reviews"]) == len(reviews)
    assert set(res.tables["reviews"]["need_id"]) <= set(needs["need_id"])
    quotes = [q for qs in needs["quotes"] for q in qs]
    assert quotes and all(q in set(mentions["text"]) for q in quotes)


def test_review_level_mentions_table_is_one_per_review(topics):
    res = discover_needs(topics, embedder=EMB, config=InsightConfig(min_needs=2))
    m = res.tables["mentions"]
    assert m["review_id"].tolist() == topics["review_id"].tolist()
    assert (m["need_id"].to_numpy() == res.tables["reviews"]["need_id"].to_numpy()).all()


def test_need_scores_rank_pain_points():
    units = pd.DataFrame(
        {
            "need_id": [0] * 50 + [1] * 50 + [2] * 4,
            "sentiment": [-0.9] * 40 + [0.8] * 10 + [0.9] * 50 + [-0.9] * 4,
        }
    )
    s = need_scores(units).set_index("need_id")
    assert s.loc[0, "unmet_rank"] == 1 and s.loc[1, "unmet_rank"] == 3
    assert s.loc[1, "delight_score"] > s.loc[0, "delight_score"]
    # A 4-mention need with all-negative mentions is shrunk towards the corpus rate.
    assert s.loc[2, "negativity"] < 0.9 and s.loc[2, "unmet_score"] < s.loc[0, "unmet_score"]
    assert s["share_of_voice"].sum() == pytest.approx(1.0) and s["growth"].isna().all()


def test_need_scores_growth_from_dates():
    dates = pd.date_range("2024-01-01", periods=200, freq="D")
    need = np.where(np.arange(200) < 150, np.arange(200) % 2, 1)  # need 1 takes over in the last quarter
    units = pd.DataFrame({"need_id": need, "sentiment": 0.0, "date": dates})
    s = need_scores(units).set_index("need_id")
    assert s.loc[1, "growth"] == pytest.approx(1.0) and s.loc[0, "growth"] == pytest.approx(-1.0)


def test_breakdown_by_product():
    units = pd.DataFrame({"need_id": [0, 0, 1, 1, 1], "sentiment": [-1, 1, 1, 1, -1], "product": list("aabbb")})
    b = breakdown(units, ["product", "category"])
    assert set(b["dimension"]) == {"product"}
    assert b.groupby("value")["share"].sum().tolist() == [1.0, 1.0]
    row = b[(b.value == "b") & (b.need_id == 1)].iloc[0]
    assert row["n"] == 3 and row["neg_share"] == pytest.approx(1 / 3)


def test_stage_adds_unmet_columns_and_breakdown():
    reviews = _two_aspect_reviews()
    res = discover_needs(reviews, embedder=EMB, config=InsightConfig(level="mention", min_needs=2))
    needs = res.tables["needs"]
    assert needs["unmet_rank"].tolist() != [] and sorted(needs["unmet_rank"]) == list(range(1, len(needs) + 1))
    assert needs["growth"].notna().all()
    b = res.tables["need_breakdown"]
    assert set(b["value"]) == {"p0", "p1", "p2"}


def test_load_semeval15_labels(tmp_path):
    from launchlab.insight.evaluate import load_semeval15

    xml = tmp_path / "s.xml"
    xml.write_text(
        """<Reviews><Review rid="1"><sentences>
        <sentence id="1:0"><text>Great food.</text><Opinions>
          <Opinion category="FOOD#QUALITY" polarity="positive"/></Opinions></sentence>
        <sentence id="1:1"><text>Food ok, rude staff.</text><Opinions>
          <Opinion category="FOOD#QUALITY" polarity="positive"/>
          <Opinion category="SERVICE#GENERAL" polarity="negative"/></Opinions></sentence>
        <sentence id="1:2"><text>No opinion here.</text></sentence>
        </sentences></Review></Reviews>"""
    )
    df = load_semeval15(xml)
    assert df["sentence_id"].tolist() == ["1:0", "1:1"]
    assert df["polarity"].tolist() == ["positive", None]
    assert df["category"].tolist() == ["FOOD#QUALITY", None] and df["entity"].tolist() == ["FOOD", None]


def test_topic_quality_measures():
    from launchlab.insight.quality import npmi_coherence, topic_diversity

    texts = ["zipper broke seam", "zipper seam torn", "battery charge dies", "battery dies charge"] * 5
    good = [["zipper", "seam"], ["battery", "charge"]]
    bad = [["zipper", "battery"], ["seam", "charge"]]
    assert npmi_coherence(good, texts) > 0.5 > npmi_coherence(bad, texts)
    assert topic_diversity(good) == 1.0 and topic_diversity([["a b"], ["b c"]]) == pytest.approx(0.75)


def test_mention_sentiment_learned_from_review_stars():
    reviews = _two_aspect_reviews(120)
    res = discover_needs(reviews, embedder=EMB, config=InsightConfig(level="mention", min_needs=2))
    assert res.params["sentiment_source"] == "stars"
    m = res.tables["mentions"]
    positive = m["text"].str.contains("great").to_numpy()
    # Stars only describe the battery sentence, yet the zipper sentences get their own polarity.
    assert np.mean((m["sentiment"].to_numpy() > 0) == positive) > 0.9
    # A review's stars follow its battery sentence only; when the zipper sentence disagrees the
    # review's mean polarity is a coin flip, so about 3/4 of reviews match their stars.
    assert 0.65 < res.metrics["sentiment_accuracy"] < 0.9
    rev = res.tables["reviews"].merge(m.groupby("review_id")["sentiment"].mean().rename("mean"), on="review_id")
    assert np.allclose(rev["sentiment"], rev["mean"])


def test_review_need_is_the_one_nearest_its_mentions_as_a_whole():
    # Review 0: one mention squarely about need 0, two borderline ones that lean to need 1. Counting
    # mentions would say need 1; the mentions' mean is nearest need 0. Review 1 has no assigned unit.
    similarity = np.array([[0.9, 0.1], [0.45, 0.5], [0.45, 0.5], [0.0, 0.0]])
    unit_need = np.array([0, 1, 1, -1])
    owner = np.array([0, 0, 0, 1])
    sums = np.zeros((2, 2))
    add_review_similarity(sums, similarity[:2], unit_need[:2], owner[:2])
    add_review_similarity(sums, similarity[2:], unit_need[2:], owner[2:])
    assert review_needs(sums, np.array([True, False])).tolist() == [0, -1]


def test_contrast_clause_about_the_same_thing_keeps_the_review_on_one_need():
    reviews = _two_aspect_reviews()
    reviews["text"] = reviews["text"].str.replace(". ", ", but it ", regex=False)
    res = discover_needs(reviews, embedder=EMB, config=InsightConfig(level="mention", min_needs=2))
    assert res.metrics["n_mentions"] == len(reviews)


def test_kmeans_judge_at_a_given_k():
    from launchlab.insight.evaluate import kmeans_nmi

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.05, size=(30, 4)) for c in (0.0, 1.0, 2.0)])
    gold = pd.Series(np.repeat(["a", "b", "c"], 30))
    assert kmeans_nmi(X, gold, 3) == pytest.approx(1.0)
    assert kmeans_nmi(X, gold, 2) < 0.9
