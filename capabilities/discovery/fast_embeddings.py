"""A fast all-MiniLM-L6-v2: ONNX Runtime on every core, length-sorted batches, fixed vectors.

Why: the plain sentence-transformers model encodes a few hundred sentences/s on a 2-core CPU,
and new text (a scenario's fresh intents, a planner's request) waits on it. This embedder runs
the same network through ONNX Runtime (see ``docs/embeddings.md`` for where the time goes):

* texts are tokenised once for the whole call (the ``tokenizers`` library's batch encoder, in
  Rust), sorted by token length and cut into batches of similar length, so almost no compute
  goes to padding, then put back in the caller's order;
* the batches run on as many threads as this process has cores (``os.sched_getaffinity``),
  each batch on one core: on a shared machine that beats splitting every op across cores,
  whose per-op rendezvous waits for the slowest core's scheduler slice;
* the graph is the one :mod:`capabilities.discovery.onnx_choice` measured fastest on this
  machine among those whose vectors stay within ``VECTOR_TOLERANCE`` (1e-5, L2) of
  the plain model's: the float32 graph, in practice. So the same text gives the same vector,
  to that tolerance, on every CPU and in every batch, and the run's routing does not depend
  on the machine or on what the cache held before.

Its :attr:`name` carries the graph's kind and hash (``all-MiniLM-L6-v2@onnx-fp32:1a2b3c4d5e6f``):
cached vectors and learned heads are keyed by it, and every run summary names the artefact.
The first use builds the graphs and measures them (~30-60 s, one line and a progress bar on
stderr); every later run loads the recorded choice.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from capabilities.discovery.embeddings import (
    DEFAULT_MODEL_NAME,
    check_texts,
    default_model_path,
    normalise_rows,
)
from capabilities.discovery.onnx_build import (
    FAST_REQUIREMENTS,
    artifact_sha256,
    build_onnx_model,
    require,
)
from capabilities.discovery.onnx_choice import choose_graph
from capabilities.errors import EmbeddingError

if TYPE_CHECKING:  # the ``fast`` extra's packages, imported lazily at run time
    import onnxruntime as ort
    from tokenizers import Tokenizer

__all__ = ["FAST_REQUIREMENTS", "GRAPHS", "OnnxMiniLMEmbedder", "available_cores", "batch_rows"]

GRAPHS = ("auto", "fp32", "int8")
PARALLEL = ("batches", "ops")
PROGRESS_MIN_TEXTS = 2048  # encode() shows a progress bar (on a terminal) from this many texts
_SESSIONS: dict[str, object] = {}
_SESSIONS_LOCK = threading.Lock()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime: an :class:`Embedder`.

    ``graph``: ``auto`` (the graph measured fastest here within the vector tolerance), ``fp32``
    or ``int8`` (faster with int8 instructions, but its vectors depend on the CPU and on a
    text's batchmates). ``threads``: cores to use (default: all this process may use).
    ``parallel``: ``batches`` runs whole batches side by side, one core each; ``ops`` gives
    every op of one batch at a time ``threads`` ONNX Runtime intra-op threads. The graphs and
    the session are created lazily, on the first :meth:`encode` or the first look at
    :attr:`name`.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        graph: str = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        parallel: str = "batches",
        batch_size: int = 64,
    ):
        if graph not in GRAPHS:
            raise EmbeddingError(f"graph={graph!r}: expected one of {', '.join(GRAPHS)}")
        if parallel not in PARALLEL:
            raise EmbeddingError(f"parallel={parallel!r}: expected one of {', '.join(PARALLEL)}")
        if (threads is not None and threads < 1) or batch_size < 1:
            raise EmbeddingError(f"threads={threads} and batch_size={batch_size} must be >= 1")
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self.graph = graph
        self._out_dir = Path(cache_dir) / "onnx" if cache_dir is not None else None
        self.threads = threads or available_cores()
        self.parallel = parallel
        self.batch_size = batch_size
        self._base = DEFAULT_MODEL_NAME if model_dir is None else Path(model_dir).name
        self.dim = 384 if model_dir is None else 0
        self.last_timings: dict[str, float] = {}  # seconds per stage of the last encode()
        self._tokenizer: Tokenizer | None = None
        self._max_length = 256
        self._resolved: tuple[str, Path, str] | None = None  # kind, graph file, its sha256
        self._lock = threading.Lock()
        self._graph_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- identity --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``<model>@onnx-<kind>:<first 12 hex of the graph's sha256>``: the cache key."""
        kind, _, digest = self._artifact()
        return f"{self._base}@onnx-{kind}:{digest[:12]}"

    @property
    def artifact_hash(self) -> str:
        """The SHA-256 of the graph file this embedder runs."""
        return self._artifact()[2]

    @property
    def artifact_path(self) -> Path:
        return self._artifact()[1]

    def _artifact(self) -> tuple[str, Path, str]:
        with self._graph_lock:
            if self._resolved is None:
                if self.graph == "auto":
                    choice = choose_graph(self.encode_with, self._model_dir, self._out_dir)
                    kind, path = choice.kind, Path(choice.path)
                else:
                    kind = self.graph
                    path = build_onnx_model(self._model_dir, self._out_dir, quantize=kind == "int8")
                self._resolved = (kind, path, artifact_sha256(path))
            return self._resolved

    # -- encoding --------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        if not all(isinstance(t, str) for t in texts):
            pos = next(i for i, t in enumerate(texts) if not isinstance(t, str))
            raise EmbeddingError(
                f"can only embed strings; item {pos} is {type(texts[pos]).__name__} "
                f"{texts[pos]!r:.40}"
            )
        return self.encode_with(self.artifact_path, list(texts))

    def encode_with(self, path: Path, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` on the graph at ``path`` (the graph chooser times each with this)."""
        sess = self._session(path)
        if not texts:
            return np.zeros((0, self.dim or 384), dtype=np.float32)
        t0 = time.perf_counter()
        ids, lengths = self.tokenize(texts)
        t1 = time.perf_counter()
        order = np.argsort(lengths, kind="stable")  # similar lengths share a batch: no padding
        workers = self.threads if self.parallel == "batches" else 1
        size = batch_rows(len(texts), self.batch_size, workers)
        batches = [order[s : s + size] for s in range(0, len(texts), size)]
        model_s = [0.0]
        bar = _progress(len(texts))
        dim = sess.get_outputs()[0].shape[-1]
        if isinstance(dim, int):  # known from the graph: every batch can go to the threads
            out, rest = np.empty((len(texts), dim), dtype=np.float32), batches
        else:  # a custom graph with a symbolic width: the first batch tells it
            pooled = self._pooled(sess, ids, lengths, batches[0], model_s)
            self.dim = pooled.shape[1]
            out = np.empty((len(ids), pooled.shape[1]), dtype=np.float32)
            out[batches[0]] = pooled
            bar.update(len(batches[0]))
            rest = batches[1:]
        if workers > 1 and len(rest) > 1:
            pool = self._executor(workers)
            jobs = pool.map(lambda r: self._run_batch(sess, ids, lengths, r, out, model_s), rest)
            for done in jobs:
                bar.update(done)
        else:
            for rows in rest:
                bar.update(self._run_batch(sess, ids, lengths, rows, out, model_s))
        bar.close()
        t2 = time.perf_counter()
        vectors = normalise_rows(out)
        t3 = time.perf_counter()
        self.last_timings = {
            "tokenise": t1 - t0,
            "batches": t2 - t1,  # wall time of assembling and running every batch
            "model": model_s[0],  # time inside ONNX Runtime, summed over the threads
            "normalise": t3 - t2,
        }
        return vectors

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids, one row per text padded with 0 to the longest, and each text's length."""
        tok = self._load_tokenizer()
        encodings = tok.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        ids = np.zeros((len(texts), int(lengths.max())), dtype=np.int64)
        flat = chain.from_iterable(e.ids for e in encodings)
        ids[np.arange(ids.shape[1]) < lengths[:, None]] = np.fromiter(
            flat, dtype=np.int64, count=int(lengths.sum())
        )
        return ids, lengths

    def _pooled(
        self,
        sess: ort.InferenceSession,
        ids: np.ndarray,
        lengths: np.ndarray,
        rows: np.ndarray,
        model_s: list[float],
    ) -> np.ndarray:
        """Run one batch: its pooled vectors, one row per row of ``rows``."""
        width = int(lengths[rows].max())
        batch = np.ascontiguousarray(ids[rows, :width])
        mask = (np.arange(width) < lengths[rows, None]).astype(np.int64)
        start = time.perf_counter()
        pooled = sess.run(
            None,
            {"input_ids": batch, "attention_mask": mask, "token_type_ids": np.zeros_like(batch)},
        )[0]
        model_s[0] += time.perf_counter() - start  # += on a float under the GIL: a rough sum
        return pooled

    def _run_batch(
        self,
        sess: ort.InferenceSession,
        ids: np.ndarray,
        lengths: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        model_s: list[float],
    ) -> int:
        """Run one batch and write its vectors into their rows of ``out``; how many rows."""
        out[rows] = self._pooled(sess, ids, lengths, rows, model_s)
        return len(rows)

    def _executor(self, workers: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="onnx-embed")
            return self._pool

    def _load_tokenizer(self) -> Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                src = self._model_dir or Path(default_model_path())
                try:
                    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
                except Exception as exc:
                    raise EmbeddingError(
                        f"cannot load tokenizer {src / 'tokenizer.json'}: {exc}"
                    ) from exc
                cfg = src / "sentence_bert_config.json"
                if cfg.exists():
                    self._max_length = int(json.loads(cfg.read_text()).get("max_seq_length", 256))
                tok.no_padding()
                tok.enable_truncation(self._max_length)
                self._tokenizer = tok
            return self._tokenizer

    def _session(self, path: Path):
        intra = self.threads if self.parallel == "ops" else 1
        key = f"{path}@{intra}"
        sess = _SESSIONS.get(key)
        if sess is None:
            ort = require("onnxruntime")
            with _SESSIONS_LOCK:
                sess = _SESSIONS.get(key)
                if sess is None:
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = intra
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


def batch_rows(n: int, batch_size: int, workers: int) -> int:
    """Rows per batch for ``n`` texts on ``workers`` cores: at most ``batch_size``, spread
    evenly over the fewest rounds (batches per core) that allow, so the cores finish
    together. (Cutting 300 texts into 64s for 2 cores gave 5 batches, 3 on one core and 2 on
    the other: the call took 3 batches' time for 2.5 batches' work; now 6 of 50.)"""
    rounds = -(-n // (batch_size * workers))  # batches each core runs
    return max(1, -(-n // (rounds * workers)))


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc="embedding",
        unit="text",
        file=sys.stderr,
        disable=None if total >= PROGRESS_MIN_TEXTS else True,  # None: off unless a tty
    )
