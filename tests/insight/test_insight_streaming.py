"""Streaming the insight stage: above the fit cap the models learn from a sample of whole reviews
and every mention is embedded, assigned and scored batch by batch; the cache reads from disk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydantic
import pytest

from launchlab.embeddings import HashingEmbedder
from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.cache import CachedEmbedder
from launchlab.insight.stage import _fit_sample

CAP = 150  # the corpus below has 300 mentions: streamed
FEELINGS = {True: "great love perfect".split(), False: "awful broken disappointed".split()}
FILLER = "the it was my this".split()


@pytest.fixture(scope="module")
def corpus(topic_vocab) -> pd.DataFrame:
    """150 reviews of two sentences, both about the review's topic: 300 mentions. Each sentence is
    eight topic words, a filler and a feeling, so the three topics are far apart for the hashing
    embedder whatever the seed (the shared topic corpus has more filler and sentiment words per
    sentence, and a 150-mention sample of it does not separate its topics at every seed)."""
    rng = np.random.default_rng(0)
    rows = []
    for topic, vocab in topic_vocab.items():
        for i in range(50):
            positive = i % 2 == 0
            sentences = []
            for _ in range(2):
                words = [*rng.choice(vocab, 8), rng.choice(FILLER), rng.choice(FEELINGS[positive])]
                rng.shuffle(words)
                sentences.append(" ".join(words).capitalize() + ".")
            rows.append({"review_id": f"{topic}-{i}", "text": " ".join(sentences), "rating": 5.0 if positive else 1.0,
                         "topic": topic})
    return pd.DataFrame(rows)


def _run(corpus, **kwargs):
    config = kwargs.pop("config", InsightConfig(level="mention", fit_cap=CAP))
    return discover_needs(corpus, embedder=kwargs.pop("embedder", HashingEmbedder()), config=config, **kwargs)


def _purity(labels: pd.Series, topics: pd.Series) -> pd.Series:
    """Share of each need's units that come from its most common topic."""
    return topics.groupby(labels.to_numpy()).agg(lambda t: t.value_counts(normalize=True).iloc[0])


def test_streamed_corpus_gives_every_mention_a_need_and_counts_add_up(corpus):
    result = _run(corpus, config=InsightConfig(level="mention", fit_cap=CAP, stream_rows=40))
    mentions, needs, reviews = result.tables["mentions"], result.tables["needs"], result.tables["reviews"]
    assert len(mentions) == result.metrics["n_mentions"] > CAP
    assert (mentions["need_id"] >= 0).all() and result.metrics["outlier_share"] == 0.0
    assert needs["n_mentions"].sum() == len(mentions)
    assert needs["share"].sum() == pytest.approx(1.0)
    assert needs["n_mentions"].tolist() == mentions["need_id"].value_counts().reindex(needs["need_id"]).tolist()
    assert len(reviews) == len(corpus) and (reviews["need_id"] >= 0).all()
    assert mentions["sentiment"].between(-1, 1).all()


@pytest.mark.parametrize("seed", range(4))
def test_needs_learned_on_the_sample_separate_the_topics_over_the_whole_corpus(corpus, seed):
    # Three topics: min_needs=2 lets the silhouette find three needs rather than forcing a fourth.
    config = InsightConfig(level="mention", fit_cap=CAP, stream_rows=40, min_needs=2, seed=seed)
    result = _run(corpus, config=config)
    topic = corpus.set_index("review_id")["topic"]
    mentions = result.tables["mentions"]
    assert result.metrics["n_needs"] == 3
    # Half the mentions were never in the fit sample: they are assigned batch by batch, and an
    # assignment off by a row or a batch would mix the topics.
    assert (_purity(mentions["need_id"], mentions["review_id"].map(topic)) > 0.9).all()
    reviews = result.tables["reviews"]
    assert (_purity(reviews["need_id"], reviews["review_id"].map(topic)) > 0.9).all()


def test_stream_batch_sizes_do_not_change_outputs(corpus):
    first = _run(corpus, config=InsightConfig(level="mention", fit_cap=CAP, stream_rows=7, batch_size=5))
    second = _run(corpus, config=InsightConfig(level="mention", fit_cap=CAP, stream_rows=1000, batch_size=64))
    for name, table in first.tables.items():
        # Sentiment is a BLAS matrix-vector product, whose last bits depend on the rows in one call.
        pd.testing.assert_frame_equal(table, second.tables[name], check_exact=False, rtol=1e-12, atol=1e-12)
    assert first.tables["mentions"]["need_id"].tolist() == second.tables["mentions"]["need_id"].tolist()


def test_streaming_embeds_each_mention_once_and_rerun_reads_the_cache(corpus, tmp_path, counting_embedder):
    progress: list[tuple[int, int]] = []
    base = counting_embedder()
    config = InsightConfig(level="mention", cache_dir=tmp_path / "cache", fit_cap=CAP, stream_rows=40)
    cold = _run(corpus, embedder=base, config=config, progress=lambda d, t: progress.append((d, t)))
    n = int(cold.metrics["n_mentions"])
    assert sorted(base.seen) == sorted(set(cold.tables["mentions"]["text"]))
    assert progress[-1] == (n, n) and [d for d, _ in progress] == sorted(d for d, _ in progress)

    again = counting_embedder()
    warm = _run(corpus, embedder=again, config=config)
    assert again.seen == [] and warm.metrics["embedding_cache_hits"] == n
    for name, table in cold.tables.items():
        pd.testing.assert_frame_equal(table, warm.tables[name])

    uncached = counting_embedder()
    _run(corpus, embedder=uncached, config=config.model_copy(update={"cache_dir": None}))
    assert len(uncached.seen) == n  # the sample's embeddings are reused, not embedded twice


def test_user_minimum_need_size_is_scaled_to_the_sample(corpus):
    streamed = _run(corpus, config=InsightConfig(level="mention", fit_cap=CAP, min_need_size=60))
    assert streamed.models["launchlab-needs"].min_need_size_ < 60
    assert streamed.tables["needs"]["n_mentions"].min() >= 60 * 0.5


def test_review_level_streams_given_embeddings(corpus, counting_embedder):
    X = HashingEmbedder().encode(corpus["text"].tolist())
    base = counting_embedder()
    config = InsightConfig(fit_cap=60, stream_rows=25)
    streamed = discover_needs(corpus, embedder=base, config=config, embeddings=X)
    assert base.seen == []
    assert (streamed.tables["reviews"]["need_id"] >= 0).all()
    assert streamed.tables["needs"]["n_reviews"].sum() == len(corpus)


def test_stream_sizes_are_validated_config_fields():
    config = InsightConfig()
    assert (config.fit_cap, config.stream_rows) == (50_000, 20_000)
    for field in ("fit_cap", "stream_rows"):
        with pytest.raises(pydantic.ValidationError, match=field):
            InsightConfig(**{field: 0})
    small = _run(pd.DataFrame({"review_id": ["a", "b"], "text": ["zipper broke", "battery died"]}))
    assert small.params["fit_cap"] == CAP and small.params["stream_rows"] == 20_000


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
