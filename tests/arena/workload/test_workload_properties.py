"""Invariants of the workload layer under generated input (issue #20): trace operations keep
times sorted, inside their span and each request's tokens and hash ids with it; hostile specs
raise nothing but a one-line ScenarioError."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from arena.errors import ScenarioError
from arena.workload import Trace, parse_arrival_process, parse_trace_spec

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


@st.composite
def traces(draw) -> Trace:
    gaps = draw(st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=60))
    times = np.concatenate(([0.0], np.cumsum(gaps)))
    n = times.size
    lengths = np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    ids = np.arange(offsets[-1], dtype=np.int64) + 1000
    tokens = np.arange(n, dtype=np.int64)  # request i carries i: where it came from
    return Trace(times, tokens, tokens * 3, ids, offsets)


def _consistent(source: Trace, out: Trace) -> None:
    assert np.all(np.diff(out.times) >= 0)
    assert out.times.size == 0 or (out.times[0] >= 0 and out.times[-1] <= out.duration + 1e-9)
    np.testing.assert_array_equal(out.output_tokens, 3 * out.input_tokens)
    for i in range(len(out)):
        np.testing.assert_array_equal(out.hashes(i), source.hashes(int(out.input_tokens[i])))


@SETTINGS
@given(traces(), st.floats(0, 500), st.floats(0.001, 500))
def test_window_keeps_requests_whole(trace, start, width):
    out = trace.window(start, start + width)
    _consistent(trace, out)
    inside = (trace.times >= start) & (trace.times < start + width)
    assert len(out) == int(inside.sum())


@SETTINGS
@given(traces(), st.floats(0.01, 100), st.integers(0, 2**32 - 1))
def test_scale_keeps_requests_whole_and_is_reproducible(trace, factor, seed):
    out = trace.scale(factor, np.random.default_rng(seed))
    _consistent(trace, out)
    again = trace.scale(factor, np.random.default_rng(seed))
    np.testing.assert_array_equal(out.times, again.times)
    assert len(out) <= int(np.ceil(factor)) * len(trace)
    assert len(out) >= int(np.floor(factor)) * len(trace)


@SETTINGS
@given(traces(), st.floats(0.01, 1000))
def test_speed_scales_the_rate(trace, factor):
    out = trace.speed(factor)
    _consistent(trace, out)
    if trace.duration > 0:
        assert abs(out.mean_rate - factor * trace.mean_rate) <= 1e-9 * out.mean_rate


ANY = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**20), 10**20),
        st.sampled_from(["5/s", "40/s", "60s", "10s", "24h", "x", "", "-1s", "1e999/s"]),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["process", "rate", "rates", "sojourn", "peak", "period", "peak_at"]),
        ANY,
        max_size=4,
    ),
    st.sampled_from(["poisson", "mmpp", "diurnal", "other", None]),
)
def test_hostile_arrival_specs(spec, process):
    if process is not None:
        spec = {**spec, "process": process}
    try:
        made = parse_arrival_process(spec, file="s.yaml", field="arrivals")
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("s.yaml: arrivals")
        return
    assert made.mean_rate >= 0 and np.isfinite(made.mean_rate)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["file", "format", "speed", "window", "scale", "time_unit", "x"]),
        ANY,
        max_size=5,
    )
)
def test_hostile_trace_specs(spec):
    try:
        parse_trace_spec(spec, file="s.yaml", base_dir=None)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("s.yaml: arrivals.trace")
