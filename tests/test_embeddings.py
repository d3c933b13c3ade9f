"""Embedders: the deterministic test double and the real model resolved offline."""

from __future__ import annotations

import numpy as np
import pytest

from launchlab.embeddings import DEFAULT_MODEL, Embedder, HashingEmbedder, SentenceTransformerEmbedder, resolve_model_path


def test_hashing_embedder_is_deterministic_normalised_and_word_sensitive():
    embedder = HashingEmbedder(64)
    texts = ["the zipper broke", "zipper broke after a week", "lovely soft colour", ""]
    a, b = embedder.encode(texts), embedder.encode(texts)
    assert a.shape == (4, 64) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a[:3], axis=1), 1.0)
    assert not a[3].any()
    sims = a[:3] @ a[0]
    assert sims[1] > sims[2]
    assert isinstance(embedder, Embedder)


def test_progress_is_reported_until_done():
    calls = []
    HashingEmbedder().encode([f"text {i}" for i in range(10)], batch_size=4, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (10, 10) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_model_resolves_to_the_offline_package():
    path = resolve_model_path(DEFAULT_MODEL)
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    with pytest.raises(RuntimeError, match="never downloads"):
        resolve_model_path("sentence-transformers/some-other-model")


@pytest.mark.slow
def test_real_model_embeds_offline_and_puts_paraphrases_together(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = SentenceTransformerEmbedder()
    vectors = embedder.encode(["This dress runs small", "The dress is too tight, size up", "Fast shipping and nice box"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
