"""Which embedder a process uses by default: the fast ONNX MiniLM when it can run here.

Why a choice at all: the plain sentence-transformers model encodes ~100-380 sentences/s on a
2-core CPU, so a first run on a new data set spends minutes embedding; the ONNX build of the
same network (:mod:`capabilities.discovery.fast_embeddings`) is several times faster with the
same vectors (``benchmarks/bench_embeddings.py``). It needs the ``fast`` extra (onnxruntime, onnx), so where
that is missing the plain model is used and one line on stderr says why.

``PACKETFLOW_EMBEDDER`` overrides the choice: ``fast``, ``plain``, ``int8`` (the int8 ONNX graph:
faster on CPUs with int8 dot-product instructions, but its vectors depend on the CPU and the
batch) or ``auto`` (the default).
The two models' vectors never mix: each has its own name, and the embedding cache and the
learned heads are keyed by it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Callable

from capabilities.discovery.embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
)
from capabilities.discovery.fast_embeddings import FAST_REQUIREMENTS, OnnxMiniLMEmbedder
from capabilities.errors import EmbeddingError

log = logging.getLogger(__name__)

EMBEDDER_ENV = "PACKETFLOW_EMBEDDER"
EMBEDDER_CHOICES = ("auto", "fast", "int8", "plain")


def missing_fast_requirements() -> list[str]:
    """The packages of the ``fast`` extra that are not installed (empty: it can run)."""
    return [m for m in FAST_REQUIREMENTS if importlib.util.find_spec(m) is None]


def choose_embedder(
    kind: str | None = None, *, note: Callable[[str], object] | None = None
) -> Embedder:
    """The embedder for ``kind`` (``auto``/``fast``/``int8``/``plain``; None: ``$PACKETFLOW_EMBEDDER``,
    else ``auto``). ``auto`` is the fast one when its extra is installed; otherwise the plain
    model, and ``note`` (default: a line on stderr) is told why."""
    kind = (kind if kind is not None else os.environ.get(EMBEDDER_ENV, "auto")).strip().lower()
    if kind not in EMBEDDER_CHOICES:
        raise EmbeddingError(
            f"{EMBEDDER_ENV}={kind!r}: expected one of {', '.join(EMBEDDER_CHOICES)}"
        )
    if kind == "plain":
        return SentenceTransformerEmbedder()
    missing = missing_fast_requirements()
    if not missing:
        return OnnxMiniLMEmbedder(graph="int8" if kind == "int8" else "auto")
    why = (
        f"the fast embedder needs {', '.join(missing)} (the 'fast' extra: "
        "pip install 'packetflow-arena[fast]')"
    )
    if kind != "auto":
        raise EmbeddingError(f"{EMBEDDER_ENV}={kind}, but {why}")
    (note or log.warning)(f"packetflow: using the plain sentence-transformers MiniLM: {why}")
    return SentenceTransformerEmbedder()


_DEFAULT: CachedEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> CachedEmbedder:
    """The process-wide default: :func:`choose_embedder` behind the persistent cache."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = CachedEmbedder(choose_embedder(), EmbeddingCache())
    return _DEFAULT
