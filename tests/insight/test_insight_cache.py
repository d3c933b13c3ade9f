"""The on-disk embedding cache: only new text is embedded, results are identical."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.embeddings import HashingEmbedder
from launchlab.insight import InsightConfig, discover_needs
from launchlab.insight.cache import CachedEmbedder


def test_cache_embeds_each_text_once(tmp_path, counting_embedder):
    base = counting_embedder()
    cached = CachedEmbedder(base, tmp_path, shard_rows=3)
    first = cached.encode(["a b", "c d", "a b", "e f", "g h"])
    assert base.seen == ["a b", "c d", "e f", "g h"]
    assert (cached.hits, cached.misses) == (0, 5)
    assert np.allclose(first, HashingEmbedder().encode(["a b", "c d", "a b", "e f", "g h"]))
    assert len(list(cached.directory.glob("shard-*.npz"))) == 2  # 4 new texts in shards of 3

    base.seen.clear()
    again = CachedEmbedder(base, tmp_path).encode(["g h", "new text", "a b"])
    assert base.seen == ["new text"]
    assert np.allclose(again, HashingEmbedder().encode(["g h", "new text", "a b"]))


def test_cache_is_keyed_by_model(tmp_path, counting_embedder):
    CachedEmbedder(HashingEmbedder(384), tmp_path).encode(["same text"])
    small = counting_embedder(64)
    out = CachedEmbedder(small, tmp_path).encode(["same text"])
    assert small.seen == ["same text"] and out.shape == (1, 64)


def test_stage_rerun_uses_cache(tmp_path, topics, counting_embedder):
    config = InsightConfig(cache_dir=tmp_path / "cache")
    cold = discover_needs(topics, embedder=HashingEmbedder(), config=config)
    base = counting_embedder()
    warm = discover_needs(topics, embedder=base, config=config)
    assert base.seen == []
    assert warm.metrics["embedding_cache_hits"] == len(topics)
    pd.testing.assert_frame_equal(cold.tables["needs"], warm.tables["needs"])


def test_cache_is_keyed_by_backend(tmp_path, counting_embedder):
    """Vectors of one model from different backends (fp32, int8) live in different folders."""
    embedders = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        embedders[backend] = counting_embedder()
        embedders[backend].backend = backend
    folders = {b: CachedEmbedder(e, tmp_path).directory.name for b, e in embedders.items()}
    assert folders == {"torch": "hashing-384-384", "onnx": "hashing-384@onnx-384", "onnx-int8": "hashing-384@onnx-int8-384"}
    CachedEmbedder(embedders["onnx"], tmp_path).encode(["fits well", "zipper broke"])
    int8 = CachedEmbedder(embedders["onnx-int8"], tmp_path)
    int8.encode(["fits well", "zipper broke"])
    assert int8.hits == 0 and embedders["onnx-int8"].seen == ["fits well", "zipper broke"]
    again = CachedEmbedder(embedders["onnx"], tmp_path)
    again.encode(["fits well"])
    assert again.hits == 1


def test_backend_is_recorded_and_fallback_note_is_a_stage_warning(topics):
    embedder = HashingEmbedder()
    embedder.backend = "torch"
    embedder.notes = ["the onnx-int8 embedding backend is unavailable: test; embedding with PyTorch fp32 instead"]
    result = discover_needs(topics, embedder=embedder, config=InsightConfig(level="review"))
    assert embedder.notes[0] in result.warnings
    assert result.params["embedder_backend"] == "torch"
