"""The insight stage with the real sentence-transformers model on ~200 real reviews (slow)."""

from __future__ import annotations

import pytest

from launchlab.insight import InsightConfig, discover_needs


@pytest.fixture(scope="module")
def real_embedder():
    pytest.importorskip("sentence_transformers")
    from launchlab.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.mark.slow
def test_real_model_needs_and_both_sentiment_sources(real_embedder, make_clothing):
    reviews = make_clothing(200, seed=1)
    X = real_embedder.encode(reviews["text"].tolist())

    stars = discover_needs(reviews, embedder=real_embedder, embeddings=X, config=InsightConfig(min_need_size=8))
    assert stars.params["sentiment_source"] == "stars"
    assert stars.metrics["n_needs"] >= 3
    assert stars.metrics["sentiment_accuracy"] > 0.75
    rev = stars.tables["reviews"]
    assert rev.loc[rev.rating <= 2, "sentiment"].mean() < 0 < rev.loc[rev.rating >= 4, "sentiment"].mean()

    # Without stars the shipped default model (trained on other reviews) takes over.
    default = discover_needs(
        reviews.drop(columns=["rating"]), embedder=real_embedder, embeddings=X, config=InsightConfig(min_need_size=8)
    )
    assert default.params["sentiment_source"] == "default"
    sent = default.tables["reviews"]["sentiment"].to_numpy()
    neg, pos = (reviews["rating"] <= 2).to_numpy(), (reviews["rating"] >= 4).to_numpy()
    assert sent[neg].mean() < -0.2 and sent[pos].mean() > 0.2
    accuracy = ((sent[neg | pos] > 0) == pos[neg | pos]).mean()
    assert accuracy > 0.8
