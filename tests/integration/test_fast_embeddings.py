"""The fast ONNX MiniLM embedder: the plain model's vectors to a stated tolerance, whatever the
batch, thread setting or order; a name that carries its graph's hash; clear errors.

Builds the ONNX graphs from the local weights once (cached under the cache directory), then
compares with the plain sentence-transformers model on a handful of sentences.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from capabilities import CachedEmbedder, EmbeddingCache, EmbeddingError
from capabilities.discovery import VECTOR_TOLERANCE, available_cores, vector_distance
from capabilities.discovery.embeddings import SentenceTransformerEmbedder
from capabilities.discovery.fast_embeddings import OnnxMiniLMEmbedder, batch_rows
from capabilities.discovery.onnx_build import build_onnx_model, graph_dir

SENTENCES = [
    "what is my checking account balance",
    "my card was declined at the store, why?",
    "book a table for two at an italian restaurant tonight",
    "how do i say thank you in japanese",
    "set an alarm for six thirty tomorrow morning",
    "can you tell me a joke",
    "the internet in my apartment keeps dropping every few minutes and support never answers",
]
ONE_WORD = ["ok", "thanks", "hi", ""]  # one-token (and no-token) texts: the edge of the graph


@pytest.fixture(scope="module")
def fast() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder()


@pytest.fixture(scope="module")
def plain_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder().encode(SENTENCES + ONE_WORD)


def test_the_default_is_the_plain_model_within_the_stated_tolerance(fast, plain_vectors):
    vecs = fast.encode(SENTENCES + ONE_WORD)
    assert vecs.dtype == np.float32 and vecs.shape == (len(SENTENCES) + len(ONE_WORD), 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vector_distance(vecs, plain_vectors) < VECTOR_TOLERANCE


def test_batching_order_and_threads_do_not_change_a_texts_vector(fast):
    """A text's vector is the same alone, in any batch, in any order, on 1 core or all, with
    batches side by side or ops split across cores (float32: only sums are reordered)."""
    together = fast.encode(SENTENCES)
    alone = np.vstack([fast.encode([s]) for s in SENTENCES])
    reordered = fast.encode(SENTENCES[::-1])[::-1]
    small = OnnxMiniLMEmbedder(batch_size=2, threads=2).encode(SENTENCES)
    ops = OnnxMiniLMEmbedder(parallel="ops", threads=2).encode(SENTENCES)
    one = OnnxMiniLMEmbedder(threads=1).encode(SENTENCES)
    for other in (alone, reordered, small, ops, one):
        assert vector_distance(other, together) < VECTOR_TOLERANCE / 10


def test_many_texts_come_back_in_the_callers_order(fast, plain_vectors):
    """Length-sorted batches on several threads, put back in order: a long list mixing
    lengths gives each text its own vector."""
    texts = [SENTENCES[i % len(SENTENCES)] + " " * (i % 3) for i in range(150)]  # same tokens
    vecs = OnnxMiniLMEmbedder(batch_size=8).encode(texts)
    want = plain_vectors[[i % len(SENTENCES) for i in range(150)]]
    assert vector_distance(vecs, want) < VECTOR_TOLERANCE
    assert fast.last_timings.keys() >= {"tokenise", "model", "batches", "normalise"}


def test_threads_default_to_the_cores_this_process_may_use():
    assert OnnxMiniLMEmbedder().threads == available_cores() >= 1


def test_the_name_carries_the_graphs_kind_and_hash(fast, tmp_path):
    assert re.fullmatch(r"all-MiniLM-L6-v2@onnx-fp32:[0-9a-f]{12}", fast.name), fast.name
    digest = hashlib.sha256(fast.artifact_path.read_bytes()).hexdigest()
    assert fast.artifact_hash == digest and fast.name.endswith(digest[:12])
    int8 = OnnxMiniLMEmbedder(graph="int8")
    assert int8.name.startswith("all-MiniLM-L6-v2@onnx-int8:") and int8.name != fast.name
    assert fast.name != SentenceTransformerEmbedder().name
    cache = EmbeddingCache(tmp_path)
    cached = CachedEmbedder(fast, cache)
    assert cached.name == fast.name and cached.artifact_hash == fast.artifact_hash
    plain = SentenceTransformerEmbedder()
    assert re.fullmatch(r"[0-9a-f]{64}", plain.artifact_hash)
    assert CachedEmbedder(plain).artifact_hash == plain.artifact_hash != fast.artifact_hash
    cached.encode(SENTENCES[:3])
    assert cache.count(fast.name) == 3
    assert cache.count(SentenceTransformerEmbedder().name) == cache.count(int8.name) == 0


def test_empty_and_bad_input(fast):
    assert fast.encode([]).shape == (0, 384)
    with pytest.raises(EmbeddingError, match="list of texts"):
        fast.encode("one string")
    with pytest.raises(EmbeddingError, match="item 1 is int"):
        fast.encode(["fine", 3])
    with pytest.raises(EmbeddingError, match=r"graph='fp16'.*auto, fp32, int8"):
        OnnxMiniLMEmbedder(graph="fp16")
    with pytest.raises(EmbeddingError, match=r"parallel='all'"):
        OnnxMiniLMEmbedder(parallel="all")
    with pytest.raises(EmbeddingError, match=r"threads=0"):
        OnnxMiniLMEmbedder(threads=0)


def test_built_model_is_reused_and_a_missing_model_is_named(tmp_path):
    path = build_onnx_model()
    assert path.name == "model.onnx" and path.exists()
    assert build_onnx_model() == path  # built once
    assert build_onnx_model(quantize=True).name == "model-int8.onnx"
    with pytest.raises(EmbeddingError, match=str(tmp_path / "nowhere")):
        build_onnx_model(tmp_path / "nowhere", tmp_path / "out")


@pytest.mark.slow
def test_first_build_is_quiet_reproducible_and_measures_both_graphs(tmp_path, capfd, caplog):
    """A fresh cache builds both graphs (one log line + a tqdm bar on stderr, no advice from
    the quantiser, root logging left unconfigured), leaves no temporary file behind, gets the
    same float32 graph byte for byte as any other build here (so its hash names it), and
    records which graph it measured best with one log line saying why; the next use is
    silent."""
    root_handlers = list(logging.getLogger().handlers)
    caplog.set_level("INFO", logger="capabilities.discovery")
    emb = OnnxMiniLMEmbedder(cache_dir=tmp_path)
    name = emb.name
    err = capfd.readouterr().err
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("capabilities.discovery")]
    assert sum(m.startswith("packetflow: building the fast embedder once") for m in lines) == 1
    assert "fast embedder" in err and "2/2" in err  # the bar reached both stages
    assert "pre-processing" not in err and "WARNING" not in err
    assert logging.getLogger().handlers == root_handlers
    chose = [m for m in lines if m.startswith("packetflow: fast embedder uses")]
    assert len(chose) == 1 and "fp32 graph" in chose[0] and "int8" in chose[0], lines
    built = emb.artifact_path.parent
    assert sorted(p.name for p in built.iterdir()) == [
        "choice.json",
        "model-int8.onnx",
        "model.onnx",
        "model.onnx.sha256",
    ]
    assert name == OnnxMiniLMEmbedder().name  # the default cache's build: the same bytes
    again = OnnxMiniLMEmbedder(cache_dir=tmp_path)
    assert again.name == name and capfd.readouterr().err == ""


@given(st.integers(1, 20_000), st.integers(1, 256), st.integers(1, 16))
def test_batches_are_cut_so_every_core_gets_the_same_number(n, batch_size, workers):
    """At most ``batch_size`` rows a batch, and no core runs more batches than the work needs
    (300 texts in 64s on 2 cores used to be 5 batches: one core ran 3, the other 2)."""
    size = batch_rows(n, batch_size, workers)
    batches = -(-n // size)
    assert 1 <= size <= batch_size
    fewest_rounds = -(-n // (batch_size * workers))
    assert -(-batches // workers) == fewest_rounds  # the busiest core's batches: the fewest
    assert batch_rows(300, 64, 2) == 50  # 6 batches, 3 a core


def test_the_default_path_never_imports_torch(tmp_path):
    """The fast embedder's graphs are built already (the fixtures above): encoding with the
    default embedder in a new process loads ONNX Runtime and tokenizers, not PyTorch or
    sentence-transformers (seconds of start-up, and ~1 GB of memory)."""
    OnnxMiniLMEmbedder().name  # noqa: B018 - graphs built and chosen in the default cache
    code = (
        "import sys\n"
        "from capabilities import default_embedder\n"
        "v = default_embedder().encode(['book a table for two', 'what is my balance'])\n"
        "assert v.shape == (2, 384), v.shape\n"
        "print(default_embedder().name)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PACKETFLOW_EMBEDDER": "auto"}
    env["PACKETFLOW_CACHE_DIR"] = str(tmp_path)  # a fresh vector cache, the same graphs
    built = graph_dir(out_dir=tmp_path / "onnx")
    built.parent.mkdir()
    built.symlink_to(OnnxMiniLMEmbedder().artifact_path.parent)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    name, loaded = done.stdout.splitlines()
    assert name.startswith("all-MiniLM-L6-v2@onnx-fp32:") and loaded == "[]"
