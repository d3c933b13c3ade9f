"""On-disk embedding cache keyed by text hash and model id, so re-runs embed only new text.

Layout: ``CACHE_DIR/<model id>-<dim>/shard-*.npz``, each shard holding ``keys`` (``(n, 16)`` uint8:
BLAKE2b digests of the UTF-8 text) and ``vectors`` (float32). Shards are only ever added, written
to a temporary name and renamed, so an interrupted run never leaves a half-written shard behind
and two runs never write the same file.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from launchlab.embeddings import Embedder, ProgressCallback

SHARD_ROWS = 20_000


def text_key(text: str) -> bytes:
    """The cache key of one text: a 16-byte BLAKE2b digest of its UTF-8 bytes."""
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=16).digest()


class CachedEmbedder:
    """Wraps an :class:`~launchlab.embeddings.Embedder`; embeds each distinct text once, ever.

    Looks every text up by :func:`text_key` in ``cache_dir``; only misses (deduplicated) go to the
    wrapped embedder, in chunks of ``shard_rows`` so memory stays bounded, and each chunk is
    written as a new shard. ``hits`` and ``misses`` count the texts of the last ``encode``.
    """

    def __init__(self, embedder: Embedder, cache_dir: str | Path, shard_rows: int = SHARD_ROWS) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        self.cache_dir = Path(cache_dir)
        self.shard_rows = shard_rows
        self.hits = 0
        self.misses = 0

    @property
    def directory(self) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model_id)
        return self.cache_dir / f"{safe}-{self.dim}"

    def _index(self) -> tuple[dict[bytes, tuple[int, int]], list[Path]]:
        shards = sorted(self.directory.glob("shard-*.npz")) if self.directory.is_dir() else []
        index: dict[bytes, tuple[int, int]] = {}
        for s, path in enumerate(shards):
            with np.load(path) as data:
                for row, key in enumerate(data["keys"]):
                    index.setdefault(key.tobytes(), (s, row))
        return index, shards

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        texts = [str(t) for t in texts]
        keys = [text_key(t) for t in texts]
        index, shards = self._index()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        found = np.zeros(len(texts), dtype=bool)
        by_shard: dict[int, list[tuple[int, int]]] = {}
        for i, key in enumerate(keys):
            hit = index.get(key)
            if hit is not None:
                by_shard.setdefault(hit[0], []).append((i, hit[1]))
                found[i] = True
        for s, pairs in by_shard.items():
            with np.load(shards[s]) as data:
                vectors = data["vectors"]
                rows = np.array([r for _, r in pairs])
                out[np.array([i for i, _ in pairs])] = vectors[rows]
        missing: dict[bytes, list[int]] = {}
        for i in np.flatnonzero(~found):
            missing.setdefault(keys[i], []).append(int(i))
        self.hits = int(found.sum())
        self.misses = len(texts) - self.hits
        todo = list(missing)
        total = len(todo)
        done_before = 0
        for start in range(0, total, self.shard_rows):
            chunk = todo[start : start + self.shard_rows]

            def chunk_progress(done: int, _total: int, offset: int = done_before) -> None:
                if progress:
                    progress(offset + done, total)

            vectors = np.asarray(
                self.embedder.encode(
                    [texts[missing[k][0]] for k in chunk], batch_size=batch_size, progress=chunk_progress
                ),
                dtype=np.float32,
            )
            for k, v in zip(chunk, vectors):
                out[missing[k]] = v
            self._write_shard(chunk, vectors)
            done_before += len(chunk)
        if progress and total == 0:
            progress(len(texts), len(texts))
        return out

    def _write_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}.tmp.npz"
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16)
        np.savez(tmp, keys=key_array, vectors=vectors.astype(np.float32))
        os.replace(tmp, self.directory / f"{name}.npz")
