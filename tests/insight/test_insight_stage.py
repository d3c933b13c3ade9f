"""discover_needs end to end with the deterministic test embedder."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from launchlab.embeddings import HashingEmbedder
from launchlab.errors import InputError
from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.stage_sentiment import calibration_error

EMB = HashingEmbedder()
NEEDS_COLUMNS = ["need_id", "label", "keywords", "n_reviews", "share", "sentiment_mean", "neg_share", "quotes", "centroid"]


def _norm(text: str) -> str:
    return " ".join(text.replace("…", "").split())


def test_separates_obvious_topics(topics, topic_vocab):
    res = discover_needs(topics, embedder=EMB, config=InsightConfig(min_needs=2))
    rev = res.tables["reviews"].merge(topics[["review_id", "topic"]], on="review_id")
    assert res.metrics["n_needs"] == 3
    assert adjusted_rand_score(rev["topic"], rev["need_id"]) > 0.95
    needs = res.tables["needs"]
    # Each label names its topic's vocabulary, not the shared or sentiment words.
    for need in needs.itertuples():
        topic = rev.loc[rev.need_id == need.need_id, "topic"].mode()[0]
        assert set(" ".join(need.keywords).split()) & set(topic_vocab[topic]), (need.label, topic)
        assert not set(need.label.split()) & {"the", "and", "great", "love"}


@pytest.fixture(scope="module")
def clothing_result(clothing):
    return discover_needs(clothing, embedder=EMB)


def test_output_schema_and_shares(clothing, clothing_result):
    res = clothing_result
    needs, reviews = res.tables["needs"], res.tables["reviews"]
    assert list(needs.columns[: len(NEEDS_COLUMNS)]) == NEEDS_COLUMNS
    assert {"n_mentions", "share_of_voice", "negativity", "growth", "unmet_score", "delight_score"} <= set(needs.columns)
    assert needs["share"].sum() == pytest.approx(1.0)
    assert list(needs["n_reviews"]) == sorted(needs["n_reviews"], reverse=True)
    assert needs["n_reviews"].sum() == (reviews.need_id >= 0).sum()
    counts = reviews[reviews.need_id >= 0].need_id.value_counts()
    assert (needs.set_index("need_id")["n_reviews"] == counts.reindex(needs.need_id).to_numpy()).all()
    assert needs["sentiment_mean"].between(-1, 1).all() and needs["neg_share"].between(0, 1).all()
    assert needs["label"].is_unique
    for c in needs["centroid"]:
        assert len(c) == EMB.dim and np.linalg.norm(c) == pytest.approx(1.0, abs=1e-5)
    assert list(reviews.columns[:3]) == ["review_id", "need_id", "sentiment"]
    assert {"rating", "product", "category"} <= set(reviews.columns)
    assert reviews["review_id"].tolist() == clothing["review_id"].tolist()
    assert reviews["sentiment"].between(-1, 1).all()
    m = res.metrics
    for key in ("n_needs", "outlier_share", "silhouette", "sentiment_accuracy", "n_reviews"):
        assert isinstance(m[key], float)
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] == len(clothing)
    assert res.params["embedder_model_id"] == "hashing-384" and res.params["sentiment_source"] == "stars"
    assert set(res.models) == {"launchlab-needs", "launchlab-sentiment"}
    top = res.summary["top_needs"]
    assert 1 <= len(top) <= 5 and set(top[0]) == {"label", "share", "sentiment_mean"}


def test_quotes_are_real_distinct_and_belong_to_their_need(clothing, clothing_result):
    res = clothing_result
    texts = clothing.set_index("review_id")["text"].map(_norm)
    rev = res.tables["reviews"]
    for need in res.tables["needs"].itertuples():
        members = texts[rev.loc[rev.need_id == need.need_id, "review_id"]]
        others = texts[rev.loc[rev.need_id != need.need_id, "review_id"]]
        assert 1 <= len(need.quotes) <= 3
        assert len({q.lower() for q in need.quotes}) == len(need.quotes)
        for quote in need.quotes:
            q = _norm(quote)
            assert any(q in t for t in members), quote
            assert not any(q == t for t in others)


def test_deterministic_with_seed(clothing, clothing_result):
    a = clothing_result
    b = discover_needs(clothing, embedder=EMB, config=InsightConfig(seed=42))
    for name in ("needs", "reviews"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.metrics == b.metrics


def test_sentiment_direction_matches_stars(clothing_result):
    res = clothing_result
    rev = res.tables["reviews"]
    by_star = rev.groupby(rev.rating.round())["sentiment"].mean()
    assert by_star[1] < by_star[3] < by_star[5]
    assert by_star.loc[[1, 2]].mean() < 0 < by_star.loc[[4, 5]].mean()
    # Held out, the hashing head beats always-positive on balanced accuracy (0.5) and finds the
    # negative reviews that ~88% positive stars hide from plain accuracy: their recall follows
    # from the two accuracies and the positive share p (accuracy = 2 p balanced + (1 - 2 p) recall).
    m = res.metrics
    rated = rev.rating[(rev.rating <= 2) | (rev.rating >= 4)]
    p = float((rated >= 4).mean())
    negative_recall = (m["sentiment_accuracy"] - 2 * p * m["sentiment_balanced_accuracy"]) / (1 - 2 * p)
    assert p > 0.8 and m["sentiment_n_labels"] == len(rated)
    assert m["sentiment_balanced_accuracy"] > 0.6 and negative_recall > 0.25


def test_calibration_error_tells_calibrated_from_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=20_000) < p).astype(int)
    assert calibration_error(p, y) < 0.02
    assert calibration_error(np.where(p > 0.5, 0.99, 0.01), y) > 0.2  # right side, far too sure
    # Weights move the target mix: p = 0.5 everywhere is calibrated only when classes weigh the same.
    skewed = (rng.uniform(size=20_000) < 0.9).astype(int)
    half = np.full(20_000, 0.5)
    balanced = np.where(skewed == 1, 0.5 / skewed.mean(), 0.5 / (1 - skewed.mean()))
    assert calibration_error(half, skewed) > 0.35 and calibration_error(half, skewed, balanced) < 1e-9


def test_star_head_logs_its_held_out_calibration(clothing_result, clothing):
    m = clothing_result.metrics
    # Whole reviews, 400 of them, hashing features: the head is somewhat over-confident, and it shows.
    assert 0.02 < m["sentiment_calibration_ece"] < 0.25 and 0 < m["sentiment_brier"] < 0.25
    # Mentions with the corpus' own (mostly positive) class mix: close to calibrated.
    natural = discover_needs(clothing, embedder=EMB, config=InsightConfig(level="mention", balance_stars=False))
    assert natural.metrics["sentiment_calibration_ece"] < 0.08 and natural.metrics["sentiment_brier"] < 0.15


def test_needs_are_found_without_the_sentiment_head_direction(clothing_result):
    res = clothing_result
    model, head = res.models["launchlab-needs"], res.models["launchlab-sentiment"]
    assert np.array_equal(model.sentiment_direction, head.coef_[0])
    direction = head.coef_[0] / np.linalg.norm(head.coef_[0])
    centroids = np.vstack(res.tables["needs"]["centroid"].to_list())
    assert np.abs(centroids @ direction).max() < 1e-5


def test_without_ratings_falls_back_to_the_lexicon(topics):
    res = discover_needs(topics.drop(columns=["rating"]), embedder=EMB, config=InsightConfig(min_needs=2))
    assert res.params["sentiment_source"] == "lexicon"
    assert "sentiment_accuracy" not in res.metrics
    assert any("word list" in w for w in res.warnings)
    rev = res.tables["reviews"].merge(topics[["review_id", "rating"]], on="review_id")
    assert rev.loc[rev.rating == 5, "sentiment"].mean() > 0.2
    assert rev.loc[rev.rating == 1, "sentiment"].mean() < -0.2


def test_precomputed_embeddings_and_progress(topics):
    calls = []
    a = discover_needs(topics, embedder=EMB, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (len(topics), len(topics))
    X = EMB.encode(topics["text"].tolist())

    class Refuses:
        model_id, dim = EMB.model_id, EMB.dim

        def encode(self, *args, **kwargs):
            raise AssertionError("must not embed when embeddings are given")

    b = discover_needs(topics, embedder=Refuses(), embeddings=X)
    pd.testing.assert_frame_equal(a.tables["needs"], b.tables["needs"])
    with pytest.raises(ValueError, match="one row per review"):
        discover_needs(topics, embedder=EMB, embeddings=X[:-1])


def test_bad_rows_are_quarantined_with_reasons(topics):
    bad = pd.concat(
        [
            topics.drop(columns=["topic"]),
            pd.DataFrame(
                {
                    "review_id": ["e1", "e2", "zipper-0", "e4"],
                    "text": ["   ", None, "duplicate id zipper broke", "battery dies fast"],
                    "rating": [5.0, 4.0, 1.0, 9.0],
                }
            ),
        ],
        ignore_index=True,
    )
    res = discover_needs(bad, embedder=EMB)
    q = res.quarantine
    assert dict(zip(q.review_id, q.reason)) == {
        "e1": "text is empty",
        "e2": "text is empty",
        "zipper-0": "duplicate review id (first kept)",
        "e4": "rating outside 1-5",
    }
    assert list(q.columns) == list(bad.columns) + ["reason"]
    m = res.metrics
    assert (m["rows_in"], m["rows_used"], m["rows_quarantined"]) == (len(bad), len(topics), 4)
    assert "e4" not in set(res.tables["reviews"].review_id)


def test_errors_name_the_column():
    with pytest.raises(InputError, match="'text'"):
        discover_needs(pd.DataFrame({"review_id": ["a"], "body": ["x"]}), embedder=EMB)
    with pytest.raises(InputError, match="no usable reviews"):
        discover_needs(pd.DataFrame({"review_id": ["a", "b"], "text": [" ", ""]}), embedder=EMB)
    with pytest.raises(InputError, match="'rating'"):
        discover_needs(
            pd.DataFrame({"review_id": list("abc"), "text": ["good", "bad", "ok"], "rating": [5.0, 1.0, 3.0]}),
            embedder=EMB,
            config=InsightConfig(sentiment="stars"),
        )


def test_text_without_any_token_is_unassigned(topics):
    extra = pd.DataFrame({"review_id": ["x1"], "text": ["!!! ???"], "rating": [3.0]})
    res = discover_needs(pd.concat([topics, extra], ignore_index=True), embedder=EMB)
    rev = res.tables["reviews"].set_index("review_id")
    assert rev.loc["x1", "need_id"] == -1
    assert res.metrics["outlier_share"] == pytest.approx(1 / (len(topics) + 1))
    assert res.tables["needs"]["share"].sum() == pytest.approx(1.0)


def test_labels_are_readable_phrases(clothing_result):
    res = clothing_result
    for need in res.tables["needs"].itertuples():
        assert re.fullmatch(r"[a-z]+( [a-z]+)?( / [a-z]+( [a-z]+)?){0,2}", need.label), need.label
        assert len(need.keywords) >= 3


def test_long_texts_are_reported(topics):
    long = pd.DataFrame({"review_id": ["long"], "text": ["zipper broke " * 200], "rating": [1.0]})
    res = discover_needs(pd.concat([topics, long], ignore_index=True), embedder=EMB)
    assert res.metrics["n_long_texts"] == 1
    assert any("longer than" in w for w in res.warnings)
    split = discover_needs(
        pd.concat([topics, long], ignore_index=True), embedder=EMB, config=InsightConfig(level="mention")
    )
    assert split.metrics["n_long_texts"] == 0


def test_shuffled_input_gives_the_same_needs(clothing):
    config = InsightConfig(level="mention")
    a = discover_needs(clothing, embedder=EMB, config=config)
    shuffled = clothing.sample(frac=1.0, random_state=5).reset_index(drop=True)
    b = discover_needs(shuffled, embedder=EMB, config=config)
    ma = a.tables["mentions"].set_index("mention_id")["need_id"]
    mb = b.tables["mentions"].set_index("mention_id")["need_id"].reindex(ma.index)
    assert (ma == mb).mean() >= 0.99
    assert a.tables["needs"]["label"].tolist() == b.tables["needs"]["label"].tolist()
