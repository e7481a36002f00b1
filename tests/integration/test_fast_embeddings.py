"""The ONNX int8 MiniLM embedder: the plain model's meaning, its own cache name, clear errors.

Builds the ONNX model from the local weights once (cached under the cache directory), then
compares with the plain sentence-transformers model on a handful of sentences.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from capabilities import CachedEmbedder, EmbeddingCache, EmbeddingError
from capabilities.discovery.embeddings import SentenceTransformerEmbedder
from capabilities.discovery.fast_embeddings import OnnxMiniLMEmbedder, build_onnx_model

SENTENCES = [
    "what is my checking account balance",
    "my card was declined at the store, why?",
    "book a table for two at an italian restaurant tonight",
    "how do i say thank you in japanese",
    "set an alarm for six thirty tomorrow morning",
    "can you tell me a joke",
    "the internet in my apartment keeps dropping every few minutes and support never answers",
]
ONE_WORD = ["ok", "thanks", "hi"]  # int8 rounding weighs most on a one-token text


@pytest.fixture(scope="module")
def fast() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder()


@pytest.fixture(scope="module")
def plain_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder().encode(SENTENCES)


def test_vectors_are_close_to_the_plain_models(fast, plain_vectors):
    vecs = fast.encode(SENTENCES)
    assert vecs.dtype == np.float32 and vecs.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cosine = (vecs * plain_vectors).sum(axis=1)
    assert cosine.min() > 0.98, cosine
    short = (fast.encode(ONE_WORD) * SentenceTransformerEmbedder().encode(ONE_WORD)).sum(axis=1)
    assert short.min() > 0.94, short


def test_it_keeps_the_plain_models_neighbours(fast, plain_vectors):
    """Each sentence's most similar other sentence is the same under both models."""
    vecs = fast.encode(SENTENCES)
    for m in (vecs @ vecs.T, plain_vectors @ plain_vectors.T):
        np.fill_diagonal(m, -1)
    np.testing.assert_array_equal(
        (vecs @ vecs.T).argmax(1), (plain_vectors @ plain_vectors.T).argmax(1)
    )


def test_batching_barely_changes_a_texts_vector(fast):
    """Dynamic int8 quantisation scales activations per batch, so a text's vector depends a
    little on its batchmates: alone vs in a batch stays within cosine 0.975 (about the
    distance to the plain model's vector; static calibration, tried, lost 5 points of it)."""
    together = OnnxMiniLMEmbedder(batch_size=3).encode(SENTENCES)
    alone = np.vstack([fast.encode([s]) for s in SENTENCES])
    assert (together * alone).sum(axis=1).min() > 0.975
    # the same batch in another order gives the same vectors
    np.testing.assert_allclose(
        fast.encode(SENTENCES[::-1])[::-1], fast.encode(SENTENCES), atol=1e-5
    )


def test_distinct_cache_name_so_vectors_never_mix(fast, tmp_path):
    assert fast.name == "all-MiniLM-L6-v2@onnx-int8"
    assert fast.name != SentenceTransformerEmbedder().name
    assert OnnxMiniLMEmbedder(quantize=False).name == "all-MiniLM-L6-v2@onnx-fp32"
    cache = EmbeddingCache(tmp_path)
    cached = CachedEmbedder(fast, cache)
    cached.encode(SENTENCES[:3])
    assert cache.count(fast.name) == 3
    assert cache.count(SentenceTransformerEmbedder().name) == 0


def test_empty_and_bad_input(fast):
    assert fast.encode([]).shape == (0, 384)
    with pytest.raises(EmbeddingError, match="list of texts"):
        fast.encode("one string")
    with pytest.raises(EmbeddingError, match="item 1 is int"):
        fast.encode(["fine", 3])


def test_built_model_is_reused_and_a_missing_model_is_named(tmp_path):
    path = build_onnx_model()
    assert path.name == "model-int8.onnx" and path.exists()
    assert build_onnx_model() == path  # built once
    with pytest.raises(EmbeddingError, match=str(tmp_path / "nowhere")):
        build_onnx_model(tmp_path / "nowhere", tmp_path / "out")


@pytest.mark.slow
def test_first_use_builds_once_with_a_message_and_a_progress_bar(tmp_path, capfd, caplog):
    """A fresh cache builds the ONNX files (one log line + a tqdm bar on stderr), leaves no
    temporary file behind (written under a temporary name, renamed into place), and the next
    call reuses them without a word."""
    caplog.set_level(logging.INFO, logger="capabilities.discovery.fast_embeddings")
    path = build_onnx_model(out_dir=tmp_path)
    err = capfd.readouterr().err
    assert "packetflow: building the fast embedder once" in caplog.text
    assert "fast embedder" in err and "2/2" in err  # the bar reached both stages
    assert sorted(p.name for p in path.parent.iterdir()) == ["model-int8.onnx", "model.onnx"]
    assert build_onnx_model(out_dir=tmp_path) == path
    assert capfd.readouterr().err == ""
