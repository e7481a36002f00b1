"""Build the fast embedder's ONNX graphs from the local MiniLM weights, once, offline.

Two graphs of the same network are built into ``$PACKETFLOW_CACHE_DIR/onnx/<model>-<fp>/``:

* ``model.onnx``: float32, exported with ``torch.onnx`` (mean pooling inside the graph). ONNX
  Runtime's graph optimisations (fused bias+GELU, skip+LayerNorm) are applied when a session
  loads it. Its unit vectors are within ~2e-6 (L2) of the plain sentence-transformers model's
  on every CPU: float32 kernels of different instruction sets only reorder sums.
* ``model-int8.onnx``: the MatMul weights dynamically quantised to int8 (per output channel).
  Faster where the CPU has int8 dot-product instructions, but its vectors are up to ~0.3
  (L2) from the model's, depend on a text's batchmates (activations are scaled per
  batch) and on the CPU (ONNX Runtime's u8s8 kernel saturates on AVX2 without VNNI), so it is
  only the default when it meets :data:`VECTOR_TOLERANCE`, which it does not
  (:mod:`capabilities.discovery.onnx_choice` measures that).

Each file is written under a temporary name and renamed into place, so concurrent builders
never see half a model, and has a ``.sha256`` sidecar: the hash names the artefact in cache
keys and run summaries.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

from capabilities.discovery.embeddings import (
    SentenceTransformerEmbedder,
    default_cache_dir,
    default_model_path,
)
from capabilities.errors import EmbeddingError

log = logging.getLogger(__name__)

ONNX_OPSET = 17
FAST_REQUIREMENTS = ("onnxruntime", "onnx")  # the ``fast`` extra's import names
VECTOR_TOLERANCE = 1e-5
"""Largest L2 distance allowed between a text's unit vector from the default graph and from
the plain model (cosine >= 1 - 5e-11). Measured: <= 2e-6 on CLINC150 validation; no zone
decision there can change for vectors this close (docs/embeddings.md, and
tests/integration/test_embedding_tolerance_routing.py proves it)."""
GRAPH_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
_BUILD_LOCK = threading.Lock()


def vector_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The largest L2 distance between matching rows of two sets of vectors (the measure
    :data:`VECTOR_TOLERANCE` bounds)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - b, axis=1).max(initial=0.0))


def require(module: str) -> ModuleType:
    """Import one of the ``fast`` extra's packages, or say how to install it."""
    try:
        return __import__(module)
    except ImportError as exc:
        raise EmbeddingError(
            f"the fast embedder needs the package {module!r}; install the fast extra: "
            "pip install 'packetflow-arena[fast]'"
        ) from exc


def model_fingerprint(model_dir: Path) -> str:
    """Identify the source weights (size + mtime of each file) so a new model rebuilds."""
    h = hashlib.blake2b(digest_size=8)
    for f in sorted(model_dir.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(model_dir)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()


def source_dir(model_dir: str | os.PathLike[str] | None) -> Path:
    src = Path(model_dir) if model_dir is not None else Path(default_model_path())
    if not (src / "config.json").exists():
        raise EmbeddingError(f"no transformer model at {src} (config.json missing)")
    return src


def graph_dir(
    model_dir: str | os.PathLike[str] | None = None, out_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The directory this model's graphs are (or will be) built into."""
    src = source_dir(model_dir)
    base = Path(out_dir) if out_dir is not None else default_cache_dir() / "onnx"
    return base / f"{src.name}-{model_fingerprint(src)}"


def build_onnx_model(
    model_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    quantize: bool = False,
) -> Path:
    """The float32 graph (``quantize``: the int8 one) of the local model, built if missing.

    Exported with mean pooling in the graph; an existing file is reused. A fresh build prints
    one line and a progress bar on stderr (it takes ~10-30 s).
    """
    src = source_dir(model_dir)
    target_dir = graph_dir(src, out_dir)
    fp32 = target_dir / GRAPH_FILES["fp32"]
    int8 = target_dir / GRAPH_FILES["int8"]
    target = int8 if quantize else fp32
    if target.exists():
        return target
    with _BUILD_LOCK:
        if target.exists():
            return target
        target_dir.mkdir(parents=True, exist_ok=True)
        stages = [s for s, need in (("export", not fp32.exists()), ("int8", quantize)) if need]
        log.info(
            "packetflow: building the fast embedder once (%s -> ONNX%s, %d stage(s), ~10-30 s) "
            "into %s",
            src.name,
            " int8" if quantize else "",
            len(stages),
            target_dir,
        )
        from tqdm.auto import tqdm

        with tqdm(total=len(stages), desc="fast embedder", unit="stage", file=sys.stderr) as bar:
            if not fp32.exists():
                bar.set_postfix_str("export to ONNX")
                _export_fp32(src, fp32)
                bar.update()
            if quantize and not int8.exists():
                bar.set_postfix_str("quantise to int8")
                _quantize(fp32, int8)
                bar.update()
    return target


def artifact_sha256(path: Path) -> str:
    """The SHA-256 of a built graph, from its ``.sha256`` sidecar when that is current."""
    side = path.with_name(path.name + ".sha256")
    try:
        if side.stat().st_mtime >= path.stat().st_mtime:
            digest = side.read_text().strip()
            if len(digest) == 64:
                return digest
    except OSError:
        pass
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    tmp = side.with_name(f"{side.name}.tmp{os.getpid()}")
    tmp.write_text(digest + "\n")
    os.replace(tmp, side)
    return digest


def reference_vectors(model_dir: Path, texts: list[str]) -> np.ndarray:
    """The plain model's unit vectors for ``texts`` (sentence-transformers, float32, CPU)."""
    return SentenceTransformerEmbedder(model_dir).encode(texts)


def _export_fp32(src: Path, dest: Path) -> None:
    require("onnx")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    class MeanPooled(torch.nn.Module):
        """The transformer and sentence-transformers' mean pooling, as one graph."""

        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    try:
        model = MeanPooled(AutoModel.from_pretrained(str(src), local_files_only=True)).eval()
        ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
        mask = (ids != 0).to(torch.int64)
        axes = {"input_ids": {0: "batch", 1: "tokens"}}
        axes["attention_mask"] = axes["token_type_ids"] = axes["input_ids"]
        tmp = dest.with_suffix(f".tmp{os.getpid()}")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about traced Python branches
            torch.onnx.export(
                model,
                (ids, mask, torch.zeros_like(ids)),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        os.replace(tmp, dest)
    except EmbeddingError:
        raise
    except Exception as exc:
        raise EmbeddingError(f"cannot export {src} to ONNX at {dest}: {exc}") from exc


class _DropPreprocessAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's quantiser calls ``logging.warning`` on the root logger to advise a
    pre-processing step (shape inference for static quantisation; nothing a user can act on
    for this dynamic one), which also configures root logging as a side effect. For the call
    only: drop that record, and give root a no-op handler so nothing is configured."""
    root = logging.getLogger()
    advice, null = _DropPreprocessAdvice(), logging.NullHandler()
    root.addFilter(advice)
    added = not root.handlers
    if added:
        root.addHandler(null)
    try:
        yield
    finally:
        root.removeFilter(advice)
        if added:
            root.removeHandler(null)


def _quantize(src: Path, dest: Path) -> None:
    require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    try:
        # MatMul only, per output channel: quantising every op (embeddings, attention inputs)
        # costs ~4 points of cosine similarity to the float model; this costs < 1
        with _quiet_quantizer():
            quantize_dynamic(
                str(src),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        os.replace(tmp, dest)
    except Exception as exc:
        raise EmbeddingError(f"cannot quantise {src} to int8 at {dest}: {exc}") from exc
