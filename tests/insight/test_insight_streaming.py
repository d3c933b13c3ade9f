"""Streaming the insight stage: above the fit cap the models learn from a sample of whole reviews
and every mention is embedded, assigned and scored batch by batch; the cache reads from disk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import HashingEmbedder
from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.cache import CachedEmbedder
from launchlab.insight.stage import _fit_sample

CAP = 150  # the corpus below has 300 mentions: streamed


@pytest.fixture(scope="module")
def corpus(make_topics) -> pd.DataFrame:
    """Two sentences per review, both about the review's topic: 300 mentions of 150 reviews."""
    reviews = make_topics(50)
    reviews["text"] = reviews["text"] + " " + make_topics(50, seed=1)["text"]
    return reviews


def _run(corpus, **kwargs):
    config = kwargs.pop("config", InsightConfig(level="mention"))
    return discover_needs(corpus, embedder=kwargs.pop("embedder", HashingEmbedder()), config=config, **kwargs)


def test_streamed_corpus_gives_every_mention_a_need_and_counts_add_up(corpus):
    result = _run(corpus, fit_cap=CAP, stream_rows=40)
    mentions, needs, reviews = result.tables["mentions"], result.tables["needs"], result.tables["reviews"]
    assert len(mentions) == result.metrics["n_mentions"] > CAP
    assert (mentions["need_id"] >= 0).all() and result.metrics["outlier_share"] == 0.0
    assert needs["n_mentions"].sum() == len(mentions)
    assert needs["share"].sum() == pytest.approx(1.0)
    assert needs["n_mentions"].tolist() == mentions["need_id"].value_counts().reindex(needs["need_id"]).tolist()
    assert len(reviews) == len(corpus) and (reviews["need_id"] >= 0).all()
    assert mentions["sentiment"].between(-1, 1).all()
    # Needs learned from the sample still separate the three topics over the whole corpus.
    topic = dict(zip(corpus["review_id"], corpus["topic"]))
    purity = reviews.assign(topic=reviews["review_id"].map(topic)).groupby("need_id")["topic"].agg(
        lambda t: t.value_counts(normalize=True).iloc[0]
    )
    assert (purity > 0.9).all()


def test_stream_batch_sizes_do_not_change_outputs(corpus):
    first = _run(corpus, fit_cap=CAP, stream_rows=7, config=InsightConfig(level="mention", batch_size=5))
    second = _run(corpus, fit_cap=CAP, stream_rows=1000, config=InsightConfig(level="mention", batch_size=64))
    for name, table in first.tables.items():
        # Sentiment is a BLAS matrix-vector product, whose last bits depend on the rows in one call.
        pd.testing.assert_frame_equal(table, second.tables[name], check_exact=False, rtol=1e-12, atol=1e-12)
    assert first.tables["mentions"]["need_id"].tolist() == second.tables["mentions"]["need_id"].tolist()


def test_streaming_embeds_each_mention_once_and_rerun_reads_the_cache(corpus, tmp_path, counting_embedder):
    progress: list[tuple[int, int]] = []
    base = counting_embedder()
    config = InsightConfig(level="mention", cache_dir=tmp_path / "cache")
    cold = _run(corpus, embedder=base, config=config, fit_cap=CAP, stream_rows=40, progress=lambda d, t: progress.append((d, t)))
    n = int(cold.metrics["n_mentions"])
    assert sorted(base.seen) == sorted(set(cold.tables["mentions"]["text"]))
    assert progress[-1] == (n, n) and [d for d, _ in progress] == sorted(d for d, _ in progress)

    again = counting_embedder()
    warm = _run(corpus, embedder=again, config=config, fit_cap=CAP, stream_rows=40)
    assert again.seen == [] and warm.metrics["embedding_cache_hits"] == n
    for name, table in cold.tables.items():
        pd.testing.assert_frame_equal(table, warm.tables[name])

    uncached = counting_embedder()
    _run(corpus, embedder=uncached, fit_cap=CAP, stream_rows=40)
    assert len(uncached.seen) == n  # the sample's embeddings are reused, not embedded twice


def test_user_minimum_need_size_is_scaled_to_the_sample(corpus):
    streamed = _run(corpus, fit_cap=CAP, config=InsightConfig(level="mention", min_need_size=60))
    assert streamed.models["launchlab-needs"].min_need_size_ < 60
    assert streamed.tables["needs"]["n_mentions"].min() >= 60 * 0.5


def test_review_level_streams_given_embeddings(corpus, counting_embedder):
    X = HashingEmbedder().encode(corpus["text"].tolist())
    base = counting_embedder()
    streamed = discover_needs(corpus, embedder=base, config=InsightConfig(), embeddings=X, fit_cap=60, stream_rows=25)
    assert base.seen == []
    assert (streamed.tables["reviews"]["need_id"] >= 0).all()
    assert streamed.tables["needs"]["n_reviews"].sum() == len(corpus)


def test_fit_sample_takes_whole_reviews_up_to_the_cap():
    owner = np.repeat(np.arange(40), np.arange(40) % 4 + 1)
    rows = _fit_sample(owner, 30, seed=3)
    taken = np.unique(owner[rows])
    assert len(rows) <= 30 and np.all(np.diff(rows) > 0)
    assert np.array_equal(np.flatnonzero(np.isin(owner, taken)), rows)  # no review is split
    assert np.array_equal(rows, _fit_sample(owner, 30, seed=3))
    assert not np.array_equal(rows, _fit_sample(owner, 30, seed=4))


def test_cache_sees_shards_written_by_another_run(tmp_path, counting_embedder):
    first, second = counting_embedder(), counting_embedder()
    a, b = CachedEmbedder(first, tmp_path, shard_rows=2), CachedEmbedder(second, tmp_path)
    a.encode(["x y", "z w", "q r"])
    b.encode(["new words", "x y"])
    first.seen.clear()
    out = a.encode(["new words", "q r", "x y"])
    assert first.seen == [] and a.hits == 3
    assert np.array_equal(out, HashingEmbedder().encode(["new words", "q r", "x y"]))
