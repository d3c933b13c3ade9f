"""On-disk embedding cache keyed by text hash and model id, so re-runs embed only new text.

Layout: ``CACHE_DIR/<model id>[@<backend>]-<dim>/shard-*.npz`` (the backend named for every
backend but PyTorch, the reference, whose folders keep their earlier name; so fp32 and int8 vectors
of one model never mix), each shard holding ``keys`` (``(n, 16)`` uint8:
BLAKE2b digests of the UTF-8 text) and ``vectors`` (float32). Shards are only ever added, written
to a temporary name and renamed, so an interrupted run never leaves a half-written shard behind
and two runs never write the same file.

Memory stays bounded however large the cache grows: the index is two numpy arrays (24 bytes a
text, no Python object per text), and vectors are read by memory-mapping a shard's uncompressed
``vectors`` member only while the asked-for rows are copied out, so reading a million cached
embeddings batch by batch keeps one batch resident, not the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from launchlab.embeddings import Embedder, ProgressCallback

SHARD_ROWS = 20_000
KEY = np.dtype("V16")
# A zip local file header is 30 bytes; its name and extra-field lengths sit at bytes 26-29.
_ZIP_HEADER = 30


def text_key(text: str) -> bytes:
    """The cache key of one text: a 16-byte BLAKE2b digest of its UTF-8 bytes."""
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=16).digest()


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """The :func:`text_key` of each text as one ``V16`` array (sortable, searchable)."""
    return np.frombuffer(b"".join(text_key(t) for t in texts), dtype=KEY).copy()


def _vectors_layout(path: Path) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """Byte offset, shape and dtype of the ``vectors`` array inside an uncompressed shard, so it
    can be memory-mapped; None when the member is compressed (then it is read whole)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("vectors.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        name_len, extra_len = struct.unpack("<HH", f.read(_ZIP_HEADER)[26:30])
        f.seek(info.header_offset + _ZIP_HEADER + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read_header:
            return None
        shape, fortran, dtype = read_header[version](f)
        if fortran:
            return None
        return f.tell(), shape, dtype


class CachedEmbedder:
    """Wraps an :class:`~launchlab.embeddings.Embedder`; embeds each distinct text once, ever.

    Looks every text up by :func:`text_key` in ``cache_dir``; only misses (deduplicated) go to the
    wrapped embedder, in chunks of ``shard_rows`` so memory stays bounded, and each chunk is
    written as a new shard. ``hits`` and ``misses`` count the texts of the last ``encode``. The
    index of the shards on disk is kept between calls and extended with shards that appear (its
    own or another run's), so encoding a corpus batch by batch reads each shard's keys once.
    """

    def __init__(self, embedder: Embedder, cache_dir: str | Path, shard_rows: int = SHARD_ROWS) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.backend = getattr(embedder, "backend", None)
        self.dim = embedder.dim
        self.cache_dir = Path(cache_dir)
        self.shard_rows = shard_rows
        self.hits = 0
        self.misses = 0
        self._shards: list[Path] = []
        self._layouts: list[tuple[int, tuple[int, ...], np.dtype] | None] = []
        self._keys = np.empty(0, dtype=KEY)
        self._where = np.empty((0, 2), dtype=np.int64)

    @property
    def directory(self) -> Path:
        """``cache_dir/<model id>[@<backend>]-<dim>``: one folder per model, backend and width."""
        name = self.model_id if self.backend in (None, "torch") else f"{self.model_id}@{self.backend}"
        safe = re.sub(r"[^A-Za-z0-9_.@-]+", "_", name)
        return self.cache_dir / f"{safe}-{self.dim}"

    def _refresh(self) -> None:
        """Add shards not indexed yet; a key in several shards maps to the shard whose name sorts first."""
        known = set(self._shards)
        found = sorted(self.directory.glob("shard-*.npz")) if self.directory.is_dir() else []
        for path in found:
            if path in known:
                continue
            with np.load(path) as data:
                keys = np.ascontiguousarray(data["keys"], dtype=np.uint8).view(KEY).ravel()
            self._add(path, keys, _vectors_layout(path))

    def _add(self, path: Path, keys: np.ndarray, layout: tuple[int, tuple[int, ...], np.dtype] | None) -> None:
        s = len(self._shards)
        self._shards.append(path)
        self._layouts.append(layout)
        rows = np.arange(len(keys), dtype=np.int64)
        keys, first = np.unique(keys, return_index=True)
        rows = rows[first]
        pos = np.searchsorted(self._keys, keys)
        clash = pos < len(self._keys)
        clash[clash] = self._keys[pos[clash]] == keys[clash]
        for i in np.flatnonzero(clash):
            if path.name < self._shards[self._where[pos[i], 0]].name:
                self._where[pos[i]] = (s, rows[i])
        new = ~clash
        where = np.column_stack([np.full(int(new.sum()), s, dtype=np.int64), rows[new]])
        self._keys = np.insert(self._keys, pos[new], keys[new])
        self._where = np.insert(self._where, pos[new], where, axis=0)

    def _read(self, shard: int, rows: np.ndarray) -> np.ndarray:
        """Rows of one shard's vectors; the map is dropped right after the copy."""
        path, layout = self._shards[shard], self._layouts[shard]
        if layout is None:
            with np.load(path) as data:
                return np.asarray(data["vectors"][rows], dtype=np.float32)
        offset, shape, dtype = layout
        mapped = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
        out = np.array(mapped[rows], dtype=np.float32)
        del mapped
        return out

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        texts = [str(t) for t in texts]
        keys = text_keys(texts)
        self._refresh()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pos = np.minimum(np.searchsorted(self._keys, keys), max(len(self._keys) - 1, 0))
        found = (self._keys[pos] == keys) if len(self._keys) else np.zeros(len(texts), dtype=bool)
        hit_rows = np.flatnonzero(found)
        where = self._where[pos[hit_rows]]
        for s in np.unique(where[:, 0]):
            mine = where[:, 0] == s
            out[hit_rows[mine]] = self._read(int(s), where[mine, 1])
        missing: dict[bytes, list[int]] = {}
        for i in np.flatnonzero(~found):
            missing.setdefault(keys[i].tobytes(), []).append(int(i))
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
        path = self.directory / f"{name}.npz"
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16)
        np.savez(tmp, keys=key_array, vectors=vectors.astype(np.float32))
        os.replace(tmp, path)
        self._add(path, key_array.view(KEY).ravel(), _vectors_layout(path))
