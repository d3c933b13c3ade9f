"""Fixtures for the insight tests: a seeded three-topic corpus and a real clothing-review sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import HashingEmbedder

# The CC0 clothing corpus is bundled (the same file as ../shared/data/reviews/).
CLOTHING = Path(__file__).resolve().parents[2] / "data" / "womens_clothing_reviews.parquet"

TOPICS = {
    "zipper": "zipper broke stuck seam stitching ripped button fell off after washing torn hole".split(),
    "battery": "battery charge charger drains hours charging dies power cable lasts overnight battery".split(),
    "delivery": "delivery shipping arrived late package courier days tracking box damaged shipped".split(),
}
COMMON = "the it was and my this very after so really".split()
POSITIVE = "great excellent love perfect happy".split()
NEGATIVE = "terrible awful disappointed horrible bad".split()


def topic_corpus(n_per_topic: int = 60, seed: int = 0) -> pd.DataFrame:
    """Reviews about three clearly different topics, half positive and half negative."""
    rng = np.random.default_rng(seed)
    rows = []
    for topic, vocab in TOPICS.items():
        for i in range(n_per_topic):
            positive = i % 2 == 0
            words = list(rng.choice(vocab, 6)) + list(rng.choice(COMMON, 3))
            words += list(rng.choice(POSITIVE if positive else NEGATIVE, 2))
            rng.shuffle(words)
            rows.append(
                {
                    "review_id": f"{topic}-{i}",
                    "text": " ".join(words).capitalize() + ".",
                    "rating": 5.0 if positive else 1.0,
                    "topic": topic,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def topic_vocab() -> dict[str, list[str]]:
    return TOPICS


@pytest.fixture(scope="session")
def make_topics():
    return topic_corpus


@pytest.fixture(scope="session")
def topics() -> pd.DataFrame:
    return topic_corpus()


def clothing_sample(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` real clothing reviews (seeded sample) in the canonical review columns."""
    df = pd.read_parquet(CLOTHING)
    df = df[df["Review Text"].notna()].sample(n, random_state=seed)
    title = df["Title"].fillna("").str.strip()
    text = [f"{t}. {b}" if t else b for t, b in zip(title, df["Review Text"].str.strip())]
    return pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in df.index],
            "text": text,
            "rating": df["Rating"].astype(float).to_numpy(),
            "product": df["Clothing ID"].astype(str).to_numpy(),
            "category": df["Class Name"].to_numpy(),
            "source_row": (df.index + 1).to_numpy(),
        }
    ).reset_index(drop=True)


@pytest.fixture(scope="session")
def make_clothing():
    return clothing_sample


@pytest.fixture(scope="session")
def clothing() -> pd.DataFrame:
    return clothing_sample(400)


class LayeredHashing(HashingEmbedder):
    """A hashing embedder that, like the real model, can expose "hidden layers" (``with_layers``):
    layer ``l`` of a text is the hashing embedding of the text with a marker word for ``l``, so
    every block is deterministic, different from the others and still carries the polarity words."""

    def with_layers(self, layers):
        return _HashingLayers(self, layers)


class _HashingLayers:
    def __init__(self, base: HashingEmbedder, layers) -> None:
        self.base = base
        self.layers = tuple(layers)
        self.dim = base.dim * (1 + len(self.layers))
        self.model_id = f"{base.model_id}+layers-{'-'.join(map(str, self.layers))}"
        self.calls = 0

    def encode(self, texts, *, batch_size: int = 64, progress=None):
        self.calls += 1
        blocks = [self.base.encode(texts, batch_size=batch_size, progress=progress)]
        blocks += [2.0 * self.base.encode([f"layermarker{layer} {t}" for t in texts]) for layer in self.layers]
        return np.hstack(blocks).astype(np.float32)


@pytest.fixture(scope="session")
def layered_hashing():
    return LayeredHashing
