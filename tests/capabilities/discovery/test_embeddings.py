"""Embeddings: unit vectors, a persistent cache that never encodes a text twice, clear errors."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from fakes import BagOfWordsEmbedder, CountingEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from killing import acks_in, kill_when

from capabilities import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    EmbeddingError,
    default_cache_dir,
    default_embedder,
    normalise_rows,
)

SUPPORT = Path(__file__).resolve().parents[2] / "support"


def cached(tmp_path, inner=None) -> tuple[CachedEmbedder, CountingEmbedder]:
    counting = CountingEmbedder(inner)
    return CachedEmbedder(counting, EmbeddingCache(tmp_path)), counting


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 8)),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    )
)
def test_normalise_rows_gives_unit_float32_rows_and_keeps_zero_rows_zero(matrix):
    out = normalise_rows(matrix)
    assert out.dtype == np.float32 and out.shape == matrix.shape
    norms = np.linalg.norm(matrix, axis=1)
    out_norms = np.linalg.norm(out, axis=1)
    big = norms > 1e-6
    assert np.allclose(out_norms[big], 1.0, atol=1e-5)
    assert np.all(out[norms == 0] == 0)


def test_the_real_model_gives_unit_float32_vectors_that_capture_meaning():
    embedder = default_embedder()
    assert isinstance(embedder, Embedder)
    texts = [
        "what is the balance of my bank account",
        "how much money do I have in checking",
        "play some jazz music",
    ]
    v = embedder.encode(texts)
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # paraphrases are closer than unrelated requests
    # the plain model, or the fast one named with its graph's hash (see test_choice)
    assert re.fullmatch(r"all-MiniLM-L6-v2(@onnx-fp32:[0-9a-f]{12})?", embedder.name)


def test_each_text_is_encoded_once_even_within_one_batch(tmp_path):
    emb, counting = cached(tmp_path)
    first = emb.encode(["alpha", "beta", "alpha", "gamma"])
    assert counting.calls == 1  # one batch for all missing texts
    assert counting.encoded == {"alpha": 1, "beta": 1, "gamma": 1}
    assert np.array_equal(first[0], first[2])
    again = emb.encode(["gamma", "alpha", "beta"])
    assert counting.calls == 1
    assert np.array_equal(again, first[[3, 0, 1]])
    emb.encode(["beta", "delta"])
    assert counting.encoded == {"alpha": 1, "beta": 1, "gamma": 1, "delta": 1}
    assert emb.encoded_count == 4


def test_cached_vectors_equal_fresh_ones(tmp_path):
    emb, _ = cached(tmp_path)
    texts = ["open a ticket", "close my account"]
    assert np.array_equal(emb.encode(texts), BagOfWordsEmbedder().encode(texts))


def test_cache_persists_across_embedders_on_the_same_directory(tmp_path):
    first, _ = cached(tmp_path)
    vectors = first.encode(["one", "two", "three"])
    first.cache.close()

    second, counting = cached(tmp_path)
    assert np.array_equal(second.encode(["three", "one", "two"]), vectors[[2, 0, 1]])
    assert counting.calls == 0 and second.encoded_count == 0
    second.encode(["four"])
    assert counting.encoded == {"four": 1}
    assert second.cache.count(second.name) == 4


def test_cache_is_keyed_by_model_name(tmp_path):
    a = CachedEmbedder(
        CountingEmbedder(BagOfWordsEmbedder(name="model-a")), EmbeddingCache(tmp_path)
    )
    b_inner = CountingEmbedder(BagOfWordsEmbedder(dim=64, name="model-b"))
    b = CachedEmbedder(b_inner, EmbeddingCache(tmp_path))
    a.encode(["shared text"])
    out = b.encode(["shared text"])
    assert b_inner.encoded == {"shared text": 1}  # another model never reuses a's vector
    assert out.shape == (1, 64)


def test_empty_batch_has_the_right_shape(tmp_path):
    emb, counting = cached(tmp_path)
    out = emb.encode([])
    assert out.shape == (0, 256) and out.dtype == np.float32
    assert counting.calls == 0


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ("just one string", "list of texts, got one str"),
        (["ok", 3], "item 1 is int"),
        (["ok", None], "item 1 is NoneType"),
        ([["nested"]], "item 0 is list"),
        ([b"bytes"], "item 0 is bytes"),
    ],
)
def test_non_string_input_is_a_clear_error(tmp_path, texts, message):
    emb, counting = cached(tmp_path)
    with pytest.raises(EmbeddingError, match=message):
        emb.encode(texts)
    assert counting.calls == 0


def test_an_embedder_returning_the_wrong_number_of_vectors_is_caught(tmp_path):
    class Broken(BagOfWordsEmbedder):
        def encode(self, texts):
            return super().encode(list(texts)[:-1])

    emb = CachedEmbedder(Broken(), EmbeddingCache(tmp_path))
    with pytest.raises(EmbeddingError, match="returned 1 vectors for 2 texts"):
        emb.encode(["a", "b"])


def test_concurrent_callers_never_encode_a_text_twice(tmp_path):
    emb, counting = cached(tmp_path)
    texts = [f"text number {i}" for i in range(200)]

    def work(offset: int) -> None:
        for i in range(0, 200, 7):
            emb.encode(texts[(i + offset) % 200 : (i + offset) % 200 + 5])

    threads = [threading.Thread(target=work, args=(k * 13,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(counting.encoded.values()) == 1
    assert emb.matrix.shape[0] == len(counting.encoded)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PACKETFLOW_CACHE_DIR", str(tmp_path / "pf"))
    assert default_cache_dir() == tmp_path / "pf"
    monkeypatch.delenv("PACKETFLOW_CACHE_DIR")
    assert default_cache_dir().name == "packetflow-arena"


@pytest.mark.parametrize("texts", [["alpha"], ["alpha", "beta"], ["beta"] * 40])
def test_returned_vectors_are_copies_that_cannot_corrupt_the_cache(tmp_path, texts):
    emb, _ = cached(tmp_path)
    original = emb.encode(["alpha", "beta"]).copy()
    out = emb.encode(texts)
    out[:] = 0.0  # a caller normalising or scaling in place
    assert np.array_equal(emb.encode(["alpha", "beta"]), original)


# -- the SQLite cache's file: page size, key order, atomic and durable writes ----------------


def _rows(directory, model: str) -> dict[bytes, bytes]:
    keys, matrix = EmbeddingCache(directory).load_all(model)
    return {} if matrix is None else {k: v.tobytes() for k, v in zip(keys, matrix)}


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=40, unique=True),
    st.randoms(use_true_random=False),
)
def test_put_many_stores_each_key_with_its_own_vector_in_any_order(keys, rnd):
    """Rows are written in key order (faster), yet every key keeps the vector it came with;
    a key stored twice keeps its first vector."""
    with tempfile.TemporaryDirectory() as tmp:
        vectors = np.arange(len(keys) * 4, dtype=np.float32).reshape(-1, 4)
        cache = EmbeddingCache(tmp)
        cache.put_many("m", keys, vectors)
        shuffled = list(range(len(keys)))
        rnd.shuffle(shuffled)
        cache.put_many("m", [keys[i] for i in shuffled], -vectors[shuffled])  # ignored
        assert _rows(tmp, "m") == {k: v.tobytes() for k, v in zip(keys, vectors)}


def test_a_new_cache_file_has_8_kib_pages_and_an_old_4_kib_one_still_works(tmp_path):
    """A row (1.5 KiB of float32) fits a page of 8 KiB but spills out of a 4 KiB one, so new
    files are 8 KiB (a third of the size, several times faster to fill); files made before,
    with SQLite's 4 KiB default, are read and extended as they are."""
    new = EmbeddingCache(tmp_path / "new")
    new.put_many("m", [b"k" * 16], np.ones((1, 384), np.float32))
    page = sqlite3.connect(new.path).execute("PRAGMA page_size").fetchone()[0]
    assert page == 8192
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    db = sqlite3.connect(old_dir / "embeddings.sqlite")
    db.execute(
        "CREATE TABLE embeddings (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,"
        " PRIMARY KEY (model, key)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO embeddings VALUES ('m', ?, ?)", (b"a" * 16, np.zeros(384, "f4").tobytes())
    )
    db.commit()
    db.close()
    old = EmbeddingCache(old_dir)
    old.put_many("m", [b"b" * 16], np.ones((1, 384), np.float32))
    assert sqlite3.connect(old.path).execute("PRAGMA page_size").fetchone()[0] == 4096
    rows = _rows(old_dir, "m")
    assert rows == {
        b"a" * 16: np.zeros(384, "f4").tobytes(),
        b"b" * 16: np.ones(384, "f4").tobytes(),
    }


def test_a_put_many_that_fails_midway_stores_nothing(tmp_path):
    cache = EmbeddingCache(tmp_path)
    db = sqlite3.connect(cache.path)
    db.execute(  # the 30th row of the batch (in key order) is refused
        "CREATE TRIGGER refuse BEFORE INSERT ON embeddings WHEN NEW.key = ? "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END".replace("?", "x'" + "1d" * 16 + "'")
    )
    db.commit()
    keys = [bytes([i]) * 16 for i in range(60)]
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        cache.put_many("m", keys, np.ones((60, 384), np.float32))
    assert cache.count("m") == 0
    cache.put_many("m", keys[:29], np.ones((29, 384), np.float32))  # still usable
    assert cache.count("m") == 29
    with pytest.raises(EmbeddingError, match="2 keys for 1 vectors"):
        cache.put_many("m", keys[:2], np.ones((1, 384), np.float32))


def test_a_killed_writer_leaves_whole_batches_and_every_acknowledged_one(tmp_path):
    """SIGKILL during a stream of writes: the file holds whole batches only (each put_many is
    one transaction), including every batch whose put_many had returned."""
    log, batch = tmp_path / "acks.log", 500
    child = subprocess.Popen(
        [sys.executable, str(SUPPORT / "cache_kill_child.py"), str(tmp_path), str(log), str(batch)],
        stderr=subprocess.PIPE,
    )
    err = kill_when(child, lambda: acks_in(log) >= 4)
    assert "Traceback" not in err, err
    acked = acks_in(log)
    stored = EmbeddingCache(tmp_path).count("kill-test")
    assert stored % batch == 0 and stored >= acked * batch > 0
