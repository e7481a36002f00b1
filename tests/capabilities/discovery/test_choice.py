"""The default embedder: the fast ONNX build where its extra is installed, else the plain model
with a one-line note why; the two never share cached vectors."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities import (
    CachedEmbedder,
    EmbeddingCache,
    EmbeddingError,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    choose_embedder,
)
from capabilities.discovery import choice

TEXTS = ["what is my checking account balance", "play some jazz", "book a flight to paris"]


def test_auto_is_the_fast_embedder_when_its_extra_is_installed(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.delenv(choice.EMBEDDER_ENV, raising=False)
    notes = []
    chosen = choose_embedder(note=notes.append)
    assert isinstance(chosen, OnnxMiniLMEmbedder) and chosen.graph == "auto"
    assert notes == []


def test_without_the_extra_auto_falls_back_with_one_line_saying_why(monkeypatch):
    monkeypatch.setattr(choice, "missing_fast_requirements", lambda: ["onnxruntime"])
    notes = []
    chosen = choose_embedder("auto", note=notes.append)
    assert isinstance(chosen, SentenceTransformerEmbedder)
    assert chosen.name == "all-MiniLM-L6-v2"
    assert len(notes) == 1 and "\n" not in notes[0]
    assert "onnxruntime" in notes[0] and "packetflow-arena[fast]" in notes[0]


def test_the_default_note_goes_to_stderr(monkeypatch, capsys):
    monkeypatch.setattr(choice, "missing_fast_requirements", lambda: ["onnx"])
    choose_embedder("auto")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "plain sentence-transformers" in captured.err


def test_asking_for_fast_without_the_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(choice, "missing_fast_requirements", lambda: ["onnxruntime", "onnx"])
    with pytest.raises(EmbeddingError, match=r"PACKETFLOW_EMBEDDER=fast.*onnxruntime, onnx"):
        choose_embedder("fast")


def test_the_environment_variable_chooses_and_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv(choice.EMBEDDER_ENV, "plain")
    assert isinstance(choose_embedder(), SentenceTransformerEmbedder)
    monkeypatch.setenv(choice.EMBEDDER_ENV, "INT8")
    if not choice.missing_fast_requirements():
        assert choose_embedder().graph == "int8"
    monkeypatch.setenv(choice.EMBEDDER_ENV, "turbo")
    with pytest.raises(
        EmbeddingError, match=r"PACKETFLOW_EMBEDDER='turbo'.*auto, fast, int8, plain"
    ):
        choose_embedder()


def test_one_cache_keeps_each_models_vectors_apart(tmp_path):
    """The cache is keyed by model name: after both models embed the same texts into one cache
    directory, each reopened cache returns its own model's vectors, never the other's."""
    pytest.importorskip("onnxruntime")
    # the int8 graph: its vectors differ from the plain model's enough that mixing would show
    # (the default float32 graph's are within 1e-5, but are keyed apart the same way)
    plain, fast = SentenceTransformerEmbedder(), OnnxMiniLMEmbedder(graph="int8")
    want = {e.name: e.encode(TEXTS) for e in (plain, fast)}
    for e in (plain, fast):
        CachedEmbedder(e, EmbeddingCache(tmp_path)).encode(TEXTS)
    cache = EmbeddingCache(tmp_path)
    assert cache.count(plain.name) == cache.count(fast.name) == len(TEXTS)
    for e in (plain, fast):

        class Refuses:  # a reopened cache must answer from disk, for this model's name only
            name, dim = e.name, 384

            def encode(self, texts):
                raise AssertionError(f"{texts} should have come from the cache")

        got = CachedEmbedder(Refuses(), cache).encode(TEXTS)
        np.testing.assert_allclose(got, want[e.name], atol=2e-2)
        other = want[fast.name if e is plain else plain.name]
        assert not np.allclose(got, other, atol=1e-4)  # the models differ, so mixing would show
