"""Choosing the fast embedder's graph: the fastest one within the vector tolerance, measured
once per cache directory and said in one line. The graphs and the plain model are faked here
(their real build is tests/integration/test_fast_embeddings.py); the choice logic is real."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capabilities import EmbeddingError
from capabilities.discovery import VECTOR_TOLERANCE, choose_graph, onnx_choice

DIM = 8
NO_WAIT = {"fp32": 0.0, "int8": 0.0}


def make_fake_graphs(tmp_path, monkeypatch):
    """Graph files in a fake model's build directory; the plain model answers with fixed
    vectors. Returns the model directory and the build directory's parent."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    out = tmp_path / "onnx"

    def build(src, out_dir, *, quantize=False):
        d = onnx_choice.graph_dir(src, out_dir)
        d.mkdir(parents=True, exist_ok=True)
        path = d / onnx_choice.GRAPH_FILES["int8" if quantize else "fp32"]
        path.write_bytes(b"graph")
        return path

    def reference(src, texts):
        return np.random.default_rng(len(texts)).standard_normal((len(texts), DIM))

    monkeypatch.setattr(onnx_choice, "build_onnx_model", build)
    monkeypatch.setattr(onnx_choice, "reference_vectors", reference)
    return model, out


@pytest.fixture
def fake_graphs(tmp_path, monkeypatch):
    return make_fake_graphs(tmp_path, monkeypatch)


def graphs(errors: dict[str, float], slow: dict[str, float], calls: list[str]):
    """An ``encode_with`` whose graph ``kind`` is ``errors[kind]`` off the plain model's
    vectors and takes ``slow[kind]`` seconds per call."""

    def encode_with(path, texts):
        kind = "int8" if "int8" in path.name else "fp32"
        calls.append(kind)
        onnx_choice.time.sleep(slow[kind])
        want = np.random.default_rng(len(texts)).standard_normal((len(texts), DIM))
        want[:, 0] += errors[kind]  # an L2 distance of exactly errors[kind]
        return want

    return encode_with


def test_int8_over_the_tolerance_loses_even_when_faster_and_one_line_says_why(
    fake_graphs, capsys, caplog
):
    model, out = fake_graphs
    calls: list[str] = []
    caplog.set_level("INFO", logger="capabilities.discovery.onnx_choice")
    choice = choose_graph(
        graphs({"fp32": 3e-7, "int8": 0.04}, {"fp32": 0.02, "int8": 0.0}, calls), model, out
    )
    assert choice.kind == "fp32" and choice.path.endswith("model.onnx")
    assert choice.per_s["int8"] > choice.per_s["fp32"]
    assert choice.deviation["int8"] == pytest.approx(0.04)
    assert capsys.readouterr().err == ""  # library code logs, never prints
    err = [r.getMessage() for r in caplog.records if r.name.endswith("onnx_choice")]
    assert len(err) == 1 and err[0].startswith("packetflow: fast embedder uses the fp32 graph")
    assert "0.04 " in err[0] and "tolerance" in err[0]
    recorded = json.loads((onnx_choice.graph_dir(model, out) / "choice.json").read_text())
    assert recorded["kind"] == "fp32" and recorded["reason"] in err[0]


def test_the_recorded_choice_is_read_back_without_measuring_again(fake_graphs, capsys):
    model, out = fake_graphs
    calls: list[str] = []
    first = choose_graph(graphs({"fp32": 0.0, "int8": 1.0}, NO_WAIT, calls), model, out)
    measured = len(calls)
    capsys.readouterr()
    again = choose_graph(graphs({"fp32": 0.0, "int8": 1.0}, NO_WAIT, calls), model, out)
    assert again == first and len(calls) == measured and capsys.readouterr().err == ""


def test_a_damaged_record_is_measured_again(fake_graphs):
    model, out = fake_graphs
    record = onnx_choice.graph_dir(model, out) / "choice.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"kind": "fp16"')
    calls: list[str] = []
    assert (
        choose_graph(graphs({"fp32": 0.0, "int8": 1.0}, NO_WAIT, calls), model, out).kind == "fp32"
    )
    assert calls


def test_a_broken_float32_export_is_an_error_naming_its_file(fake_graphs):
    model, out = fake_graphs
    calls: list[str] = []
    with pytest.raises(EmbeddingError, match=r"float32 graph .*model\.onnx.*broken export"):
        choose_graph(graphs({"fp32": 0.01, "int8": 0.01}, NO_WAIT, calls), model, out)


@settings(max_examples=12, deadline=None)
@given(
    # away from the tolerance itself, where float rounding of the fake's offsets decides
    fp32_err=st.sampled_from([0.0, 0.3, 0.9]).map(lambda f: f * VECTOR_TOLERANCE),
    int8_err=st.sampled_from([0.0, 0.5, 0.9, 1.1, 3.0, 5e3]).map(lambda f: f * VECTOR_TOLERANCE),
    slower=st.sampled_from(["fp32", "int8"]),
)
def test_the_choice_stays_within_the_tolerance_and_is_the_faster_one_there(
    tmp_path_factory, fp32_err, int8_err, slower
):
    root = tmp_path_factory.mktemp("choice")
    with pytest.MonkeyPatch.context() as mp:
        model, out = make_fake_graphs(root, mp)
        errors = {"fp32": fp32_err, "int8": int8_err}
        choice = choose_graph(
            graphs(errors, {slower: 0.01, "int8" if slower == "fp32" else "fp32": 0.0}, []),
            model,
            out,
        )
    assert choice.deviation[choice.kind] <= VECTOR_TOLERANCE
    if int8_err <= VECTOR_TOLERANCE:
        assert choice.kind != slower
    else:
        assert choice.kind == "fp32"
