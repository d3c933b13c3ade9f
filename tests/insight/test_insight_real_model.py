"""The insight stage with the real sentence-transformers model on ~200 real reviews (slow), on
PyTorch and, for the mention-level layer head, on the default int8 ONNX backend too."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from launchlab.embeddings import SentenceTransformerEmbedder
from launchlab.insight import InsightConfig, discover_needs


@pytest.fixture(scope="module")
def real_embedder():
    return SentenceTransformerEmbedder()


def _balanced_accuracy(sentiment: np.ndarray, rating: np.ndarray) -> float:
    """Balanced accuracy of ``sentiment > 0`` against the stars (1-2 negative, 4-5 positive): the
    reviews are ~85% positive, so plain accuracy would let an always-positive model pass."""
    labelled = (rating <= 2) | (rating >= 4)
    return balanced_accuracy_score(rating[labelled] >= 4, sentiment[labelled] > 0)


@pytest.mark.slow
def test_real_model_needs_and_both_sentiment_sources(real_embedder, make_clothing):
    reviews = make_clothing(200, seed=1)
    X = real_embedder.encode(reviews["text"].tolist())

    stars = discover_needs(reviews, embedder=real_embedder, embeddings=X, config=InsightConfig(min_need_size=8))
    assert stars.params["sentiment_source"] == "stars"
    assert stars.metrics["n_needs"] >= 3
    assert stars.metrics["sentiment_balanced_accuracy"] > 0.75  # held out (cross-validated by review)
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
    assert _balanced_accuracy(sent, reviews["rating"].to_numpy()) > 0.8


@pytest.fixture(scope="module", params=["torch", "onnx-int8"])
def backend_embedder(request, real_embedder):
    """The real model on PyTorch and on the default fast backend (int8 ONNX)."""
    if request.param == "torch":
        return real_embedder
    from launchlab.embeddings import load_embedder

    embedder = load_embedder(f"all-MiniLM-L6-v2@{request.param}")
    assert embedder.backend == request.param, embedder.notes
    return embedder


@pytest.mark.slow
def test_real_model_mentions_without_stars_are_scored_by_the_layer_head(backend_embedder, make_clothing, tmp_path):
    real_embedder = backend_embedder
    reviews = make_clothing(150, seed=2)
    config = InsightConfig(level="mention", min_need_size=8, cache_dir=tmp_path / "cache")
    res = discover_needs(reviews.drop(columns=["rating"]), embedder=real_embedder, config=config)
    assert res.params["embedder_backend"] == real_embedder.backend
    assert res.params["sentiment_source"] == "default" and res.params["sentiment_features"] == "layers-2-4-6"
    assert res.models["launchlab-sentiment"].coef_.shape == (1, 384 * 4)
    assert res.models["launchlab-needs"].centroids_.shape[1] == 384
    sent = res.tables["reviews"]["sentiment"].to_numpy()
    assert _balanced_accuracy(sent, reviews["rating"].to_numpy()) > 0.8
    mentions = res.tables["mentions"]
    assert mentions.loc[mentions["text"].str.contains("love", case=False), "sentiment"].mean() > 0.3
    # The cached features are the layered ones, and a warm run reads them all back.
    suffix = "" if real_embedder.backend == "torch" else f"@{real_embedder.backend}"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"all-MiniLM-L6-v2_layers-2-4-6{suffix}-1536"]
    warm = discover_needs(reviews.drop(columns=["rating"]), embedder=real_embedder, config=config)
    assert warm.metrics["embedding_cache_hits"] == warm.metrics["n_mentions"]
    assert warm.tables["mentions"]["sentiment"].equals(mentions["sentiment"])
