"""Embedders: the deterministic test double, the real model resolved offline, and its backends."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_MODEL,
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
    resolve_model_path,
    split_backend,
)


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


# ------------------------------------------------------------------------------------------------
# Backends: torch (reference), onnx (fp32 export), onnx-int8 (dynamic int8 export)

CLOTHING = Path(__file__).resolve().parents[1] / "data" / "womens_clothing_reviews.parquet"


def _mention_texts(n_reviews: int) -> list[str]:
    from launchlab.insight.mentions import split_text

    reviews = pd.read_parquet(CLOTHING, columns=["Review Text"])["Review Text"].dropna().astype(str)
    return [m for text in reviews.head(n_reviews) for m in split_text(text)]


def test_backend_suffix_names_the_backend_and_nothing_else():
    assert split_backend("all-MiniLM-L6-v2") == ("all-MiniLM-L6-v2", None)
    assert split_backend("all-MiniLM-L6-v2@onnx-int8") == ("all-MiniLM-L6-v2", "onnx-int8")
    assert split_backend("/models/mine@torch") == ("/models/mine", "torch")
    assert split_backend("/data/user@example/model") == ("/data/user@example/model", None)
    assert set(BACKENDS) == {"torch", "onnx", "onnx-int8"} and DEFAULT_BACKEND in BACKENDS


def test_torch_backend_and_other_models_stay_on_pytorch(tmp_path):
    embedder = load_embedder("all-MiniLM-L6-v2@torch")
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.backend == "torch"
    assert embedder._st is None  # still lazy: naming the backend loads nothing
    assert embedder.with_layers([2, 4, 6]).backend == "torch"


def test_missing_onnxruntime_falls_back_to_torch_with_a_clear_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    embedder = load_embedder("all-MiniLM-L6-v2")
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.backend == "torch"
    assert embedder.notes == [
        f"the {DEFAULT_BACKEND} embedding backend is unavailable: onnxruntime is not installed (pip install onnxruntime); "
        "embedding with PyTorch fp32 instead"
    ]


def test_missing_export_that_cannot_be_made_falls_back_to_torch(monkeypatch, tmp_path):
    from launchlab.embeddings import onnx_backend, onnx_export

    def fail(*args, **kwargs):
        raise RuntimeError("the onnx package is not installed")

    monkeypatch.setattr(onnx_export, "export_dir", lambda model=DEFAULT_MODEL, root=None: tmp_path / "onnx" / "none")
    monkeypatch.setattr(onnx_export, "export_onnx", fail)
    embedder = load_embedder("all-MiniLM-L6-v2@onnx")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "could not be made (the onnx package is not installed)" in embedder.notes[0]
    with pytest.raises(onnx_backend.BackendUnavailable, match="no ONNX export of all-MiniLM-L6-v2 in .*onnx_export"):
        onnx_backend.OnnxEmbedder(directory=tmp_path / "empty", export=False).prepare()


def test_an_export_from_other_weights_or_recipe_is_stale(tmp_path):
    from launchlab.embeddings import onnx_export

    model_path = resolve_model_path()
    info = {"format": onnx_export.EXPORT_FORMAT, "source_sha256": onnx_export.source_fingerprint(model_path),
            "int8": {"fp32_layers": list(onnx_export.DEFAULT_FP32_LAYERS)},
            "files": {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}}
    for name in info["files"].values():
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "export.json").write_text(json.dumps(info))
    assert onnx_export.is_current(tmp_path, model_path)
    assert not onnx_export.is_current(tmp_path, model_path, fp32_layers=(0, 1))
    (tmp_path / "export.json").write_text(json.dumps({**info, "source_sha256": "0" * 64}))
    assert not onnx_export.is_current(tmp_path, model_path)


@pytest.fixture(scope="module")
def backends():
    """The three backends of the real model (the ONNX files exported once if missing)."""
    return {name: load_embedder(f"{DEFAULT_MODEL}@{name}") for name in BACKENDS}


@pytest.mark.slow
def test_onnx_backends_match_pytorch(backends):
    assert [type(e).__name__ for e in backends.values()] == ["SentenceTransformerEmbedder", "OnnxEmbedder", "OnnxEmbedder"]
    assert not any(e.notes for e in backends.values())
    texts = _mention_texts(40) + ["", "ok", "word " * 400]  # empty, tiny and truncated texts too
    ref = backends["torch"].encode(texts)
    fp32 = backends["onnx"].encode(texts, batch_size=16)
    int8 = backends["onnx-int8"].encode(texts)
    assert fp32.shape == int8.shape == ref.shape == (len(texts), 384)
    assert np.abs(fp32 - ref).max() < 1e-5  # same graph, same tokens
    cosine = np.sum(int8 * ref, axis=1) / np.linalg.norm(int8, axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() > 0.95
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_onnx_layer_features_match_pytorch(backends):
    texts = _mention_texts(10)
    ref = backends["torch"].with_layers([2, 4, 6]).encode(texts)
    for name in ("onnx", "onnx-int8"):
        layered = backends[name].with_layers([2, 4, 6])
        assert layered.model_id == f"{DEFAULT_MODEL}+layers-2-4-6" and layered.backend == name and layered.dim == 1536
        got = layered.encode(texts)
        assert np.array_equal(got[:, :384], backends[name].encode(texts))  # the sentence block is the plain embedding
        if name == "onnx":
            assert np.abs(got - ref).max() < 1e-4
        blocks = [slice(k * 384, (k + 1) * 384) for k in range(4)]
        cosine = [np.mean(np.sum(got[:, b] * ref[:, b], 1) / np.linalg.norm(got[:, b], axis=1) / np.linalg.norm(ref[:, b], axis=1))
                  for b in blocks]
        assert min(cosine) > 0.98
    with pytest.raises(ValueError, match="6 layers"):
        backends["onnx"].with_layers([7])


@pytest.mark.slow
def test_export_command_is_current_and_idempotent(backends, capsys):
    from launchlab.embeddings import onnx_export

    directory = onnx_export.export_dir()
    before = (directory / "export.json").stat().st_mtime_ns
    assert onnx_export.main([]) == 0  # a current export is kept, not redone
    assert (directory / "export.json").stat().st_mtime_ns == before
    info = onnx_export.read_info(directory)
    assert info["check"]["onnx"]["max_abs_diff"] < 1e-4 and info["check"]["onnx-int8"]["min_cosine"] > 0.98
    assert info["int8"]["matmuls_int8"] == 35 and info["n_layers"] == 6
    assert "model-int8.onnx" in capsys.readouterr().out
