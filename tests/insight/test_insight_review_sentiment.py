"""Review-level sentiment without stars: the review head on the shipped mention head's scores."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.mentions import split_mentions
from launchlab.insight.review_sentiment import (
    FEATURES,
    LONG_KEY,
    aggregate_reviews,
    balanced_calibration,
    describe_review_head,
    load_review_head,
    mention_logits,
    review_features,
    review_sentiment_path,
    review_windows,
)
from launchlab.insight.sentiment import default_sentiment_path, describe_sentiment


def test_shipped_review_head_belongs_to_the_shipped_mention_head():
    doc = json.loads(review_sentiment_path().read_text())
    assert doc["features"] == list(FEATURES) and len(doc["coef"]) == len(FEATURES)
    head = load_review_head()
    assert head is not None
    # Both features push the same way: more positive mentions, more positive review.
    assert np.all(head.coef_[0] > 0)
    cross = doc["info"]["cross_domain"]
    assert set(cross) == {"clothing -> beauty", "beauty -> clothing"}
    for figures in cross.values():
        assert figures["review_head"]["all"]["ece"] < figures["mean_mention_polarity"]["all"]["ece"]


def test_build_records_the_whole_text_alternative_it_was_measured_against():
    info = json.loads(review_sentiment_path().read_text())["info"]
    assert set(info["alternatives"]) == set(info["cross_domain"])
    for direction, alternative in info["alternatives"].items():
        shipped = info["cross_domain"][direction]["review_head"]
        for figures in (shipped, alternative["whole_text_logit"], alternative["review_head_plus_whole_text_logit"]):
            for subset in ("all", LONG_KEY):
                low, high = figures[subset]["balanced_accuracy_90"]
                assert low <= figures[subset]["balanced_accuracy"] <= high
                assert figures[subset]["n"] == shipped[subset]["n"]
        assert "inner_short_to_long" in alternative["review_head_plus_whole_text_logit"]


def test_balanced_calibration_counts_each_class_and_brackets_with_a_bootstrap():
    y = np.array([0] * 10 + [1] * 90)
    p = np.r_[np.full(8, 0.2), np.full(2, 0.7), np.full(90, 0.9)]
    out = balanced_calibration(p, y, seed=0)
    assert out["recall_negative"] == 0.8 and out["recall_positive"] == 1.0 and out["balanced_accuracy"] == 0.9
    assert out["accuracy"] == 0.98
    low, high = out["balanced_accuracy_90"]
    assert 0.8 <= low < 0.9 <= high <= 1.0
    assert "balanced_accuracy_90" not in balanced_calibration(p, y)


def test_review_windows_keep_reviews_that_fit_and_cut_long_ones_between_mentions():
    def words(texts):
        return [len(t.split()) for t in texts]

    texts = ["Short and sweet.",
             "One two three four. Five six seven. Eight nine ten eleven twelve. Thirteen fourteen."]
    mentions = split_mentions(["a", "b"], texts)
    windows = review_windows(texts, mentions, words, budget=8)
    assert windows[windows.review_index == 0]["text"].tolist() == ["Short and sweet."]
    long = windows[windows.review_index == 1]
    assert long["position"].tolist() == list(range(len(long))) and len(long) >= 2
    assert all(n <= 8 for n in words(long["text"].tolist()))
    assert " ".join(long["text"]) == " ".join(mentions[mentions.review_index == 1]["text"])
    assert review_windows(texts, mentions, words, budget=100)["text"].tolist() == texts


def test_people_read_the_review_heads_cross_domain_accuracy(tmp_path):
    clause = describe_review_head()
    info = json.loads(review_sentiment_path().read_text())["info"]["cross_domain"]
    lowest = min(v["review_head"][LONG_KEY]["balanced_accuracy"] for v in info.values())
    assert clause.startswith(" (balanced accuracy on a product type it was not trained on") and f"{lowest:.0%}".rstrip("%") in clause
    note = describe_sentiment({"sentiment_source": "default", "review_sentiment": "review head"}, {})
    assert clause in note
    doc = {"info": {"cross_domain": {"a -> b": {"review_head": {"all": {"balanced_accuracy": 0.9}, LONG_KEY: {"balanced_accuracy": 0.8}}},
                                     "b -> a": {"review_head": {"all": {"balanced_accuracy": 0.9}, LONG_KEY: {"balanced_accuracy": 0.7}}}}}}
    (tmp_path / "head.json").write_text(json.dumps(doc))
    assert describe_review_head(tmp_path / "head.json").endswith(": 90%, 70-80% on long reviews)")
    assert describe_review_head(tmp_path / "missing.json") == ""


def test_review_head_is_refused_for_another_mention_model(tmp_path):
    other = tmp_path / "default_sentiment.json"
    shutil.copy(default_sentiment_path(), other)
    assert load_review_head(mention_model=other) is not None
    other.write_text(other.read_text().replace('"intercept"', '"intercept" ', 1))
    assert load_review_head(mention_model=other) is None
    assert load_review_head(tmp_path / "missing.json") is None


def test_features_read_logits_and_negated_complaints():
    polarity = np.array([0.9, -0.2, -0.2, 0.0])
    texts = ["I love it", "It does not leave my skin dry", "Arrived on a Tuesday", "ok"]
    F = review_features(polarity, texts, np.array([0, 0, 0, 2]), 3)
    assert F.shape == (3, 2)
    assert F[0, 0] == pytest.approx(np.mean(mention_logits(polarity[:3])))
    # "does not ... dry" is praise for the word list, so the review's word feature is positive.
    assert F[0, 1] > 0 and np.all(F[1] == 0)
    assert mention_logits(np.array([1.0, -1.0])).tolist() == [20.0, -20.0]


def test_one_clear_verdict_outweighs_lukewarm_sentences():
    head = load_review_head()
    # Two mildly positive descriptive sentences, then a clearly negative verdict.
    polarity = np.array([0.5, 0.5, -0.99])
    texts = ["The colour is as shown", "It came in a nice box", "Terrible, it broke and I want a refund"]
    owner = np.zeros(3, dtype=int)
    assert np.mean(polarity) > 0 > aggregate_reviews(polarity, texts, owner, 1, head)[0]
    assert aggregate_reviews(polarity, texts, owner, 1, None)[0] == pytest.approx(np.mean(polarity))


MIXED = pd.DataFrame(
    {
        "review_id": ["praise-then-verdict", "negated-complaints", "praise"],
        "text": [
            "The colour is lovely and the fabric feels soft. It arrived quickly and the packaging was nice. "
            "Sadly the seams came apart after the second wash. I returned it and would not buy it again.",
            "I have had no problems with this one. It is not itchy and it never feels heavy, even after a long day.",
            "Fits perfectly and the colour is true to the picture. I have worn it three times already and "
            "got compliments every time.",
        ],
    }
)


@pytest.mark.slow
def test_real_model_reviews_are_scored_by_their_verdict(make_clothing, tmp_path):
    pytest.importorskip("sentence_transformers")
    from launchlab.embeddings import SentenceTransformerEmbedder

    corpus = make_clothing(60, seed=3).drop(columns=["rating"])[["review_id", "text"]]
    reviews = pd.concat([MIXED, corpus], ignore_index=True)
    res = discover_needs(reviews, embedder=SentenceTransformerEmbedder(),
                         config=InsightConfig(level="mention", min_need_size=5, cache_dir=tmp_path))
    assert res.params["review_sentiment"] == "review head"
    score = res.tables["reviews"].set_index("review_id")["sentiment"]
    assert score["praise-then-verdict"] < 0
    # The word list reads negated complaints ("not itchy", "no problems") as praise; it knows only its
    # own words ("does not sting" stays a complaint to both features).
    assert score["negated-complaints"] > 0
    assert score["praise"] > 0.5
