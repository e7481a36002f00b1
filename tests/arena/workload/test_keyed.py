"""Keyed service draws (issue #21): a request's service time is a pure function of (seed,
capability stream, request id, attempt), so the simulation and a live deployment draw the same
one whatever order requests are served in; the quantiles are the models' own."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from arena_fixtures import base_data
from fakes import BagOfWordsEmbedder
from hypothesis import given, settings
from scipy import stats

from arena.model import ArenaModel
from arena.scenario import parse_scenario
from arena.workload import (
    Constant,
    Empirical,
    PerToken,
    keyed_service_time,
    keyed_uniform,
    keyed_uniforms,
    parse_service_model,
)

SCIPY_SPECS = [
    {"distribution": "exponential", "mean": "250ms"},
    {"distribution": "lognormal", "median": "120ms", "p99": "2s"},
    {"distribution": "gamma", "mean": "1s", "cv": 0.5},
    {"distribution": "weibull", "shape": 0.7, "scale": "1s"},
    {"distribution": "pareto", "alpha": 2.5, "minimum": "100ms"},
    {"distribution": "uniform", "low": "1s", "high": "3s"},
    {"distribution": "geometric", "mean": 3},
]


def parse(spec):
    return parse_service_model(spec, file="s.yaml", field="service_time")


@pytest.mark.parametrize("spec", SCIPY_SPECS, ids=str)
@settings(max_examples=40, deadline=None)
@given(u=st.floats(1e-9, 1 - 1e-9))
def test_each_closed_form_quantile_is_scipys_ppf(spec, u):
    model = parse(spec)
    expected = max(float(model.dist().ppf(u)), 1e-9)
    assert model.quantile(np.array([u]))[0] == pytest.approx(expected, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    stream=st.integers(0, 10_000),
    request=st.integers(0, 2**40),
    attempt=st.integers(0, 20),
)
def test_a_keyed_uniform_is_a_pure_function_inside_the_open_interval(
    seed, stream, request, attempt
):
    u = keyed_uniform(seed, stream, request, attempt)
    assert 0.0 < u < 1.0
    assert u == keyed_uniform(seed, stream, request, attempt)
    others = {
        keyed_uniform(seed + 1, stream, request, attempt),
        keyed_uniform(seed, stream + 1, request, attempt),
        keyed_uniform(seed, stream, request + 1, attempt),
        keyed_uniform(seed, stream, request, attempt + 1),
    }
    assert u not in others


def test_keyed_uniforms_are_uniform_and_uncorrelated_between_neighbours():
    u = keyed_uniforms(7, 3, np.arange(50_000))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.02
    other_stream = keyed_uniforms(7, 4, np.arange(50_000))
    assert abs(np.corrcoef(u, other_stream)[0, 1]) < 0.02


def test_keyed_draws_follow_the_model_median_and_p99():
    model = parse({"distribution": "lognormal", "median": "120ms", "p99": "2s"})
    draws = np.array([keyed_service_time(model, 11, 0, r) for r in range(40_000)])
    assert np.median(draws) == pytest.approx(0.120, rel=0.03)
    assert np.quantile(draws, 0.99) == pytest.approx(2.0, rel=0.08)


def test_token_sized_and_empirical_and_constant_models_draw_by_key():
    per_token = PerToken(base=0.05, input=0.001, output=0.01, jitter=0.3)
    a = keyed_service_time(per_token, 1, 2, 3, input_tokens=100, output_tokens=20)
    assert a == keyed_service_time(per_token, 1, 2, 3, input_tokens=100, output_tokens=20)
    assert a != keyed_service_time(per_token, 1, 2, 4, input_tokens=100, output_tokens=20)
    flat = PerToken(base=0.05, input=0.001, output=0.01)
    assert keyed_service_time(flat, 1, 2, 3, input_tokens=100, output_tokens=20) == (
        pytest.approx(0.05 + 0.1 + 0.2)
    )
    values = np.array([0.1, 0.2, 0.3, 0.4])
    emp = Empirical(values=values, file="lat.csv", column="ms")
    got = {keyed_service_time(emp, 5, 0, r) for r in range(200)}
    assert got == set(values.tolist())
    assert keyed_service_time(Constant(0.25), 5, 0, 9) == 0.25


def test_the_simulation_serves_each_request_for_its_keyed_draw():
    """The service time the arena books for a request is the keyed draw of the capability that
    served it (no retries here), so a live worker given the same key sleeps the same time."""
    data = base_data(steps=20)
    for cap in data["capabilities"]:
        cap["service_time"] = {"distribution": "lognormal", "median": "200ms", "p99": "1s"}
    scenario = parse_scenario(data, file="unit.yaml")
    model = ArenaModel(scenario, embedder=BagOfWordsEmbedder(), seed=5)
    model.run()
    L = model.ledger
    done = np.flatnonzero(np.isfinite(L.end))
    assert done.size > 20
    stream_of = {spec.name: i for i, spec in enumerate(scenario.capabilities)}
    for row in done:
        name = model.capability_names[int(L.capability[row])]
        spec = scenario.capabilities[stream_of[name]]
        expected = keyed_service_time(spec.service_time, 5, stream_of[name], int(row))
        assert L.end[row] - L.start[row] == pytest.approx(expected, rel=1e-9)
