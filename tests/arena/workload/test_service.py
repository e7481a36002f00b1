"""Service-time models (issue #20): given by the numbers an engineer knows, sampled vectorised
through scipy, described back in friendly units, refused with the field at fault."""

from __future__ import annotations

import math
import re

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from arena.errors import ScenarioError
from arena.workload import (
    MAX_DURATION_S,
    Constant,
    Empirical,
    LogNormal,
    Pareto,
    PerToken,
    parse_service_model,
    read_latency_column,
)

FIELD = "capabilities[2].service_time"


def parse(value, **kw):
    return parse_service_model(value, file="s.yaml", field=FIELD, **kw)


SPECS = [
    "120ms",
    2,
    {"distribution": "exponential", "mean": "250ms"},
    {"distribution": "lognormal", "median": "120ms", "p99": "2s"},
    {"distribution": "lognormal", "mean": "1s", "cv": 1.5},
    {"distribution": "lognormal", "mu": -1.0, "sigma": 0.4},
    {"distribution": "gamma", "mean": "1s", "cv": 0.5},
    {"distribution": "gamma", "shape": 3, "scale": "200ms"},
    {"distribution": "weibull", "shape": 0.7, "scale": "1s"},
    {"distribution": "weibull", "median": "1s", "p99": "5s"},
    {"distribution": "pareto", "alpha": 2.5, "minimum": "100ms"},
    {"distribution": "pareto", "alpha": 3, "xm": "10ms"},
    {"distribution": "pareto", "median": "1s", "p99": "8s"},
    {"distribution": "uniform", "low": "1s", "high": "3s"},
    {"distribution": "geometric", "mean": 3},
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_draws_are_positive_finite_reproducible_and_match_the_mean(spec):
    model = parse(spec)
    draws = model.sample(np.random.default_rng(7), 200_000)
    assert draws.dtype == np.float64 and draws.shape == (200_000,)
    assert np.all(np.isfinite(draws)) and np.all(draws > 0)
    np.testing.assert_array_equal(draws, model.sample(np.random.default_rng(7), 200_000))
    if not isinstance(model, Constant):
        assert not np.array_equal(draws, model.sample(np.random.default_rng(8), 200_000))
    assert draws.mean() == pytest.approx(model.mean(), rel=0.03)
    if model.dist() is not None:
        assert model.dist().mean() == pytest.approx(model.mean(), rel=1e-9)


@pytest.mark.parametrize(
    "dist", [("lognormal", 0.12, 2.0), ("weibull", 1.0, 5.0), ("pareto", 1.0, 20.0)], ids=str
)
def test_median_and_p99_are_the_ones_asked_for(dist):
    name, median, p99 = dist
    model = parse({"distribution": name, "median": f"{median}s", "p99": f"{p99}s"})
    assert model.dist().ppf(0.5) == pytest.approx(median, rel=1e-9)
    assert model.dist().ppf(0.99) == pytest.approx(p99, rel=1e-9)
    draws = model.sample(np.random.default_rng(1), 400_000)
    assert np.quantile(draws, 0.5) == pytest.approx(median, rel=0.02)
    assert np.quantile(draws, 0.99) == pytest.approx(p99, rel=0.04)


def test_mean_and_cv_forms():
    for name in ("lognormal", "gamma"):
        d = parse({"distribution": name, "mean": "2s", "cv": 0.8}).dist()
        assert d.mean() == pytest.approx(2.0) and d.std() / d.mean() == pytest.approx(0.8)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_describe_parses_back_to_the_same_model(spec):
    model = parse(spec)
    back = parse(model.describe())
    assert type(back) is type(model)
    for name, value in vars(model).items():
        assert getattr(back, name) == pytest.approx(value, rel=1e-5), name


def test_a_heavy_tail_never_gives_an_unfinishable_draw():
    model = Pareto(alpha=0.1, minimum=1.0)  # below the parser's floor: the clip still holds
    assert math.isinf(model.mean())
    draws = model.sample(np.random.default_rng(3), 100_000)
    assert draws.max() <= MAX_DURATION_S and np.all(np.isfinite(draws))
    tiny = LogNormal(mu=math.log(1e-9), sigma=5.0).sample(np.random.default_rng(3), 100_000)
    assert tiny.min() > 0


def test_per_token_is_base_plus_tokens_times_cost():
    model = parse({"per_token": {"base": "30ms", "input": "0.05ms", "output": "12ms"}})
    tin, tout = np.array([0, 1000, 200]), np.array([0, 10, 500])
    draws = model.sample(np.random.default_rng(0), 3, input_tokens=tin, output_tokens=tout)
    np.testing.assert_allclose(draws, [0.03, 0.03 + 0.05 + 0.12, 0.03 + 0.01 + 6.0])
    assert model.mean(input_tokens=tin, output_tokens=tout) == pytest.approx(draws.mean())
    assert model.needs_tokens and not Constant(1.0).needs_tokens
    with pytest.raises(ScenarioError, match="needs the input and output tokens"):
        model.sample(np.random.default_rng(0), 3)


def test_per_token_jitter_keeps_the_mean_and_spreads():
    model = PerToken(base=1.0, input=0.0, output=0.0, jitter=0.5)
    ones = np.ones(200_000)
    draws = model.sample(np.random.default_rng(5), 200_000, input_tokens=ones, output_tokens=ones)
    assert draws.mean() == pytest.approx(1.0, rel=0.01)
    assert draws.std() == pytest.approx(0.5, rel=0.03)


def test_empirical_resamples_the_file_relative_to_the_scenario(tmp_path):
    (tmp_path / "lat.csv").write_text("req,latency_ms\na,120\nb,80.5\nc,2000\n")
    model = parse(
        {"distribution": "empirical", "file": "lat.csv", "column": "latency_ms", "unit": "ms"},
        base_dir=tmp_path,
    )
    assert isinstance(model, Empirical)
    draws = model.sample(np.random.default_rng(0), 10_000)
    assert set(np.round(draws, 6)) == {0.12, 0.0805, 2.0}
    assert model.mean() == pytest.approx((0.12 + 0.0805 + 2.0) / 3)
    assert parse(model.describe(), base_dir=tmp_path).describe() == model.describe()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("a,latency_ms\nx,1\ny,fast\n", "line 3: expected a number, got 'fast'"),
        ("a,latency_ms\nx,1\ny,2\nz,nan\n", "line 4: must be a finite latency above 0, got 'nan'"),
        ("a,latency_ms\nx,-3\n", "line 2: must be a finite latency above 0, got '-3'"),
        ("a,latency_ms\nx,inf\n", "line 2: must be a finite latency above 0"),
        ("a,latency_ms\nx,\n", "line 2: expected a number, got ''"),
        ("a,lat\nx,1\n", "no column 'latency_ms' (the columns are: a, lat)"),
        ("a,latency_ms\n", "no latencies"),
        ("", "cannot read it as CSV"),
    ],
)
def test_bad_latency_files_name_the_line(tmp_path, body, says):
    path = tmp_path / "lat.csv"
    path.write_text(body)
    with pytest.raises(ScenarioError) as err:
        read_latency_column(path, "latency_ms", "ms")
    assert says in str(err.value)
    assert str(err.value).startswith(f"{path}: latency_ms: ")
    with pytest.raises(ScenarioError, match=rf"^s\.yaml: {re.escape(FIELD)}\.file: "):
        parse(
            {"distribution": "empirical", "file": "lat.csv", "column": "latency_ms"},
            base_dir=tmp_path,
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"distribution": "lognormal", "median": "120ms", "p99": "100ms"},
            f"s.yaml: {FIELD}.p99: must be above the median (120ms), got 100ms",
        ),
        (
            {"distribution": "lognormal", "median": "1s"},
            f"s.yaml: {FIELD}: give one of: median and p99, or mean and cv, or mu and sigma",
        ),
        (
            {"distribution": "gamma", "mean": "1s", "cv": 1, "p95": "2s"},
            f"s.yaml: {FIELD}.p95: unknown key 'p95' (expected one of: mean, cv, shape, scale)",
        ),
        (
            {"distribution": "gamma", "mean": "1s", "cv": float("nan")},
            f"s.yaml: {FIELD}.cv: must be above 0 and at most 100, got nan",
        ),
        (
            {"distribution": "exponential", "mean": "fast"},
            f's.yaml: {FIELD}.mean: expected a duration like "250ms" or "1.5s", got \'fast\'',
        ),
        ({"distribution": "uniform", "low": "2s", "high": "1s"}, "high: must be at least 2s"),
        ({"distribution": "geometric", "mean": "500ms"}, "mean: must be at least 1s"),
        ({"distribution": "pareto", "median": "1ms", "p99": "3s"}, "too far above the median"),
        ({"distribution": "normal", "mean": 1}, "distribution: expected one of constant,"),
        ({"per_token": {"base": 0}}, "give at least one of base, input, output above 0"),
        ({"per_token": "30ms"}, "per_token: expected a mapping"),
        ("-1s", "must be at least 0s, got -1s"),
    ],
)
def test_errors_name_the_field(spec, message):
    with pytest.raises(ScenarioError) as err:
        parse(spec)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**6),
    st.sampled_from(["120ms", "2s", "-1s", "fast", "", "1e999s", "0s", "30d"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
KEYS = st.sampled_from(
    [
        "distribution",
        "mean",
        "median",
        "p99",
        "cv",
        "mu",
        "sigma",
        "shape",
        "scale",
        "alpha",
        "minimum",
        "xm",
        "low",
        "high",
        "file",
        "column",
        "unit",
        "per_token",
        "x",
    ]
)
DISTS = st.sampled_from(
    [
        "constant",
        "exponential",
        "lognormal",
        "gamma",
        "weibull",
        "pareto",
        "uniform",
        "geometric",
        "empirical",
        "nope",
    ]
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.dictionaries(KEYS, VALUES, max_size=4), DISTS)
def test_hostile_specs_raise_nothing_but_scenario_error(tmp_path_factory, spec, dist):
    spec = {**spec, "distribution": dist}
    try:
        model = parse(spec)
    except ScenarioError as exc:
        assert "\n" not in str(exc)
        return
    if not model.needs_tokens:
        draws = model.sample(np.random.default_rng(0), 100)
        assert np.all(np.isfinite(draws)) and np.all(draws > 0)


@pytest.mark.parametrize("spec", SPECS[2:], ids=str)
def test_the_frozen_distribution_is_made_once_and_not_pickled(spec):
    import pickle

    model = parse(spec)
    assert model.dist() is model.dist()
    copy = pickle.loads(pickle.dumps(model))
    assert copy == model and "_frozen" not in vars(copy)
    np.testing.assert_array_equal(
        copy.sample(np.random.default_rng(3), 50), model.sample(np.random.default_rng(3), 50)
    )
