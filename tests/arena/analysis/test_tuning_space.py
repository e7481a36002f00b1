"""The tuning search space: bounds from the Physics field metadata, narrowed but never widened."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena.analysis.tuning import ParamRange, SearchSpace, parse_param
from arena.errors import ScenarioError
from arena.physics import Physics


def test_bounds_default_to_the_fields_documented_range():
    for name, meta in Physics.describe().items():
        p = parse_param(name)
        assert (p.low, p.high, p.integer) == (meta["min"], meta["max"], meta["integer"])
    assert parse_param("physics.repulsion") == parse_param("repulsion")


def test_narrowed_and_log_bounds():
    p = parse_param("temperature=0.005:0.5:log")
    assert (p.low, p.high, p.log) == (0.005, 0.5, True)
    assert p.bounds() == pytest.approx((math.log10(0.005), math.log10(0.5)))
    np.testing.assert_allclose(p.from_search(np.array([-2.0, 0.0, -9.0])), [0.01, 0.5, 0.005])


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("temprature", "physics.temprature", "unknown physics parameter; expected one of"),
        ("", "param", "unknown physics parameter"),
        ("temperature=0:1", "physics.temperature", "leave the field's range [0.0001, 5.0]"),
        ("repulsion=-1:5", "physics.repulsion", "leave the field's range"),
        ("repulsion=3:1", "physics.repulsion", "empty bounds"),
        ("repulsion=1:1", "physics.repulsion", "empty bounds"),
        ("repulsion=0:nan", "repulsion", "not a finite number"),
        ("repulsion=0:inf", "repulsion", "not a finite number"),
        ("repulsion=a:b", "repulsion", "is not a number"),
        ("repulsion=1", "repulsion", "LOW:HIGH"),
        ("repulsion=0:5:cubic", "repulsion", "LOW:HIGH"),
        ("repulsion=0:5:log", "physics.repulsion", "log scale needs bounds > 0"),
        ("candidates=2:12:log", "physics.candidates", "integer field is searched on a linear"),
        ("candidates=2.2:2.8", "physics.candidates", "hold no integer"),
    ],
)
def test_bad_parameters_and_bounds_name_the_field(text, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_param(text)
    assert info.value.field == field
    assert problem in info.value.problem
    assert "\n" not in str(info.value)


def test_a_parameter_given_twice_or_none_at_all_is_refused():
    with pytest.raises(ScenarioError, match=r"physics\.repulsion: parameter given twice"):
        SearchSpace.of(["repulsion", "physics.repulsion=0:2"])
    with pytest.raises(ScenarioError, match="at least one"):
        SearchSpace.of([])


def test_integer_fields_stay_integers():
    space = SearchSpace.of(["candidates=1.5:6", "falloff=0:0.1"])
    assert space.params[0].low == 2.0  # narrowed to the integers inside the bounds
    assert space.integrality().tolist() == [True, False]
    values = space.values(np.array([[3.4, 0.05], [5.6, 0.01], [99.0, -3.0]]))
    point = space.physics_values(values[0])
    assert point == {"candidates": 3, "falloff": 0.05}
    assert type(point["candidates"]) is int
    assert space.physics_values(values[2]) == {"candidates": 6, "falloff": 0.0}  # clipped


def test_a_mapping_gives_bounds_directly():
    space = SearchSpace.of({"temperature": (0.01, 0.3, "log"), "candidates": None})
    assert space.params[0] == ParamRange("temperature", 0.01, 0.3, False, True)
    assert space.params[1].high == 64


def test_the_scenarios_settings_in_search_coordinates():
    space = SearchSpace.of(["temperature=0.01:1:log", "candidates=1:5"])
    x0 = space.to_search(Physics(temperature=0.1, candidates=3))
    np.testing.assert_allclose(x0, [-1.0, 3.0])
    assert space.physics_values(space.values(x0)[0]) == {"temperature": 0.1, "candidates": 3}
    assert space.to_search(Physics(candidates=9)) is None  # outside the narrowed bounds


@given(st.floats(-4, math.log10(5.0)))
def test_search_coordinates_always_map_to_valid_physics(x):
    space = SearchSpace.of(["temperature=0.0001:5:log", "candidates"])
    values = space.physics_values(space.values(np.array([x, 7.3]))[0])
    Physics(**values)  # inside the field's range and of its type
