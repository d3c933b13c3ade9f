"""The stage with the shipped layer-feature sentiment head: when it applies, the units are embedded
once with their hidden-layer means, scored as they are embedded, and only the sentence embedding
goes on to the need model (seeded corpus, hashing embedder that exposes "layers")."""

from __future__ import annotations

import numpy as np
import pytest

from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.sentiment import LayerHead, SentimentHead, fit_standardised, save_default_head

LAYERS = (2, 4)


@pytest.fixture
def shipped(tmp_path, topics, layered_hashing):
    """A shipped-model file for the layered hashing embedder, fitted on the topic corpus' stars."""
    emb = layered_hashing(96)
    texts = topics["text"].tolist()
    y = (topics["rating"] > 3).astype(int).to_numpy()
    sentence = SentimentHead(C=1.0).fit(emb.encode(texts), y)
    features = emb.with_layers(LAYERS).encode(texts)
    layer = fit_standardised(features[:, emb.dim :], y, C=0.1)
    coef = np.r_[np.zeros(emb.dim), layer.coef_[0]]
    layer_head = LayerHead(LAYERS, SentimentHead.from_coefficients(coef, float(layer.intercept_[0])))
    path = tmp_path / "shipped.json"
    save_default_head(sentence, path, model_id=emb.model_id, info={}, layer_head=layer_head)
    return emb, path, sentence, layer_head


def test_without_stars_the_layer_head_scores_every_mention(shipped, topics):
    emb, path, sentence, layer_head = shipped
    config = InsightConfig(level="mention", default_sentiment_path=path, min_need_size=5)
    res = discover_needs(topics.drop(columns=["rating"]), embedder=emb, config=config)
    assert res.params["sentiment_source"] == "default" and res.params["sentiment_features"] == "layers-2-4"
    mentions = res.tables["mentions"]
    expected = layer_head.head.polarity(emb.with_layers(LAYERS).encode(mentions["text"].tolist()))
    assert np.allclose(mentions["sentiment"].to_numpy(), np.clip(expected, -1, 1), atol=1e-5)
    # The registered model is the layer head; the need model projects out the sentence head's direction.
    registered = res.models["launchlab-sentiment"]
    assert registered.coef_.shape == (1, emb.dim * 3)
    assert np.allclose(registered.coef_, layer_head.head.coef_, rtol=1e-6, atol=1e-9)
    assert np.allclose(res.models["launchlab-needs"].sentiment_direction, sentence.coef_[0])
    assert res.models["launchlab-needs"].centroids_.shape[1] == emb.dim
    negative = topics["rating"].to_numpy() < 3
    review_sentiment = res.tables["reviews"].set_index("review_id").loc[topics["review_id"], "sentiment"].to_numpy()
    assert np.mean((review_sentiment < 0) == negative) > 0.9


def test_with_stars_or_given_embeddings_the_sentence_embedding_is_enough(shipped, topics):
    emb, path, _, _ = shipped
    stars = discover_needs(topics, embedder=emb, config=InsightConfig(level="mention", default_sentiment_path=path))
    assert stars.params["sentiment_source"] == "stars" and stars.params["sentiment_features"] == "sentence embedding"
    no_stars = topics.drop(columns=["rating"])
    given = discover_needs(
        no_stars, embedder=emb, embeddings=emb.encode(no_stars["text"].tolist()),
        config=InsightConfig(level="review", default_sentiment_path=path),
    )
    assert given.params["sentiment_source"] == "default" and given.params["sentiment_features"] == "sentence embedding"
    lexicon = discover_needs(no_stars, embedder=emb, config=InsightConfig(sentiment="lexicon", default_sentiment_path=path))
    assert lexicon.params["sentiment_features"] == "sentence embedding"


def test_streamed_and_cached_runs_score_mentions_identically(shipped, make_topics, tmp_path):
    emb, path, _, _ = shipped
    corpus = make_topics(n_per_topic=80, seed=5).drop(columns=["rating"])
    base = dict(level="mention", default_sentiment_path=path, min_need_size=5)
    whole = discover_needs(corpus, embedder=emb, config=InsightConfig(**base))
    streamed = discover_needs(corpus, embedder=emb, config=InsightConfig(**base, fit_cap=100, stream_rows=37))
    assert whole.metrics["n_mentions"] > 100  # so the second run really streamed
    assert np.allclose(whole.tables["mentions"]["sentiment"], streamed.tables["mentions"]["sentiment"], atol=1e-6)

    cache = tmp_path / "cache"
    cold = discover_needs(corpus, embedder=emb, config=InsightConfig(**base, cache_dir=cache))
    warm = discover_needs(corpus, embedder=emb, config=InsightConfig(**base, cache_dir=cache))
    assert [p.name for p in cache.iterdir()] == [f"hashing-96_layers-2-4-{96 * 3}"]
    assert warm.metrics["embedding_cache_hits"] == warm.metrics["n_mentions"] and cold.metrics["embedding_cache_hits"] == 0
    for name in ("mentions", "needs", "reviews"):
        assert warm.tables[name].drop(columns=["centroid"], errors="ignore").equals(
            cold.tables[name].drop(columns=["centroid"], errors="ignore")
        )
    assert np.allclose(cold.tables["mentions"]["sentiment"], whole.tables["mentions"]["sentiment"], atol=1e-6)
