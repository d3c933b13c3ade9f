"""The ONNX Runtime backend of the embedding model: the same vectors as PyTorch (fp32) or close to
them (int8), without importing torch at run time.

The graph made by :mod:`launchlab.embeddings.onnx_export` returns the normalised sentence
embedding and the masked mean of every hidden layer in one pass, so one class serves both the
plain embedder and the layer-feature variant the shipped sentiment head reads (``with_layers``).
Texts are tokenised by the model's own ``tokenizer.json`` (the Rust ``tokenizers`` library that
transformers uses too), truncated at the model's ``max_seq_length``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from launchlab.embeddings import DEFAULT_MODEL, ProgressCallback, resolve_model_path


class BackendUnavailable(RuntimeError):
    """The ONNX backend cannot run here (no onnxruntime, no export and none can be made)."""


class OnnxEmbedder:
    """An :class:`~launchlab.embeddings.Embedder` running the exported model in onnxruntime.

    ``quantized`` picks the dynamic-int8 file (``backend`` ``"onnx-int8"``) or the fp32 one
    (``"onnx"``). ``directory`` holds the export (default ``models/onnx/<model id>/``); with
    ``export`` a missing or stale export is made on first use (about half a minute, once).
    ``threads`` caps onnxruntime's intra-op threads (default: the CPUs this process may use).
    Construction is cheap; :meth:`prepare` (called by the first ``encode``) loads the session and
    raises :class:`BackendUnavailable` with the reason when it cannot.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        quantized: bool = True,
        directory: Path | None = None,
        export: bool = True,
        threads: int | None = None,
        layers: Sequence[int] = (),
    ) -> None:
        self.model = model
        self.quantized = quantized
        self.directory = directory
        self.export = export
        self.threads = threads
        self.backend = "onnx-int8" if quantized else "onnx"
        self.notes: list[str] = []
        self.layers = tuple(int(layer) for layer in layers)
        self.base_model_id = Path(model).name if Path(model).is_dir() else model.split("/")[-1]
        self.sentence_dim = _hidden_size(model)
        self.dim = self.sentence_dim * (1 + len(self.layers))
        self.model_id = self.base_model_id + (f"+layers-{'-'.join(map(str, self.layers))}" if self.layers else "")
        self._session = None
        self._tokenizer = None

    def with_layers(self, layers: Sequence[int]) -> OnnxEmbedder:
        """This model, also returning mean-pooled hidden states of ``layers`` (same pass, same session);
        the columns are laid out as :class:`~launchlab.embeddings.LayerFeatureEmbedder`'s."""
        if not layers:
            raise ValueError("layers must name at least one hidden layer")
        self.prepare()
        if max(layers) > self._n_layers:
            raise ValueError(f"the model has {self._n_layers} layers; cannot read layer {max(layers)}")
        other = copy.copy(self)
        other.layers = tuple(int(layer) for layer in layers)
        other.dim = self.sentence_dim * (1 + len(other.layers))
        other.model_id = f"{self.base_model_id}+layers-{'-'.join(map(str, other.layers))}"
        other.base = self
        return other

    @property
    def max_seq_length(self) -> int:
        self.prepare()
        return self._max_len

    def prepare(self) -> OnnxEmbedder:
        """Load the tokenizer and the onnxruntime session (exporting first when needed)."""
        if self._session is not None:
            return self
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable("onnxruntime is not installed (pip install onnxruntime)") from exc
        from launchlab.embeddings import onnx_export

        model_path = resolve_model_path(self.model)
        directory = Path(self.directory) if self.directory is not None else onnx_export.export_dir(self.model)
        info = onnx_export.read_info(directory)
        if self.export and not onnx_export.is_current(directory, model_path):
            try:
                onnx_export.export_onnx(self.model, directory, say=_tell)
            except (ImportError, RuntimeError, OSError) as exc:
                raise BackendUnavailable(f"the ONNX export of {self.base_model_id} could not be made ({exc})") from exc
            info = onnx_export.read_info(directory)
        path = directory / (onnx_export.INT8_FILE if self.quantized else onnx_export.FP32_FILE)
        if info is None or not path.exists():
            raise BackendUnavailable(
                f"no ONNX export of {self.base_model_id} in {directory}; make it with "
                "`python -m launchlab.embeddings.onnx_export`"
            )
        self._n_layers = int(info["n_layers"])
        if self.layers and max(self.layers) > self._n_layers:
            raise ValueError(f"the model has {self._n_layers} layers; cannot read layer {max(self.layers)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: on a shared 2-core machine spinning doubled the CPU
        # time of an encode and made it slower, not faster (2,204 mentions: 6.0-6.4 vs 3.4-3.6 CPU s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
            raise BackendUnavailable(f"onnxruntime cannot load {path} ({exc}); re-export it with "
                                     "`python -m launchlab.embeddings.onnx_export --force`") from exc
        self._max_len = int(info["max_seq_length"])
        self._tokenizer = _tokenizer(model_path, self._max_len)
        return self

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        self.prepare()
        texts = [str(t).strip() for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps padding (and so time) down; results are put back in order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        wanted = ["sentence_embedding", "layer_means"] if self.layers else ["sentence_embedding"]
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            result = self._session.run(wanted, feed)
            if self.layers:
                out[idx] = np.concatenate([result[0], result[1][:, list(self.layers)].reshape(len(idx), -1)], axis=1)
            else:
                out[idx] = result[0]
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return out


def _tell(message: str) -> None:
    """The one-off export takes half a minute: say so on stderr while it runs."""
    print(message, file=sys.stderr, flush=True)


def _hidden_size(model: str) -> int:
    if model.split("/")[-1].lower() == DEFAULT_MODEL.lower() and not Path(model).is_dir():
        return 384
    return int(json.loads((resolve_model_path(model) / "config.json").read_text())["hidden_size"])


def _tokenizer(model_path: Path, max_len: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    pad = "[PAD]"
    special = model_path / "special_tokens_map.json"
    if special.exists():
        value = json.loads(special.read_text()).get("pad_token", pad)
        pad = value.get("content", pad) if isinstance(value, dict) else value
    tokenizer.enable_truncation(max_length=max_len)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
    return tokenizer
