"""Durations and rates in the user's units (issue #20): what parses, what is refused and how."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from arena.errors import ScenarioError
from arena.workload import (
    MAX_DURATION_S,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

WHERE = {"file": "scenario.yaml", "field": "clock.tick"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("500us", 5e-4),
        ("500µs", 5e-4),
        ("1d", 86400.0),
        (" 3 sec ", 3.0),
        ("1e3ms", 1.0),
        ("7", 7.0),
        (7, 7.0),
        (0.5, 0.5),
    ],
)
def test_durations_parse_to_seconds(text, seconds):
    assert parse_duration(text, **WHERE) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("12/s", 12.0), ("720/m", 12.0), ("3/h", 3 / 3600), ("0.5/ms", 500.0), (4, 4.0), ("4", 4.0)],
)
def test_rates_parse_to_per_second(text, per_second):
    assert parse_rate(text, file="s.yaml", field="arrivals.rate") == pytest.approx(per_second)


def test_garbage_is_one_line_naming_file_and_field():
    with pytest.raises(ScenarioError) as err:
        parse_duration("fast", **WHERE)
    assert str(err.value) == (
        'scenario.yaml: clock.tick: expected a duration like "250ms" or "1.5s", got \'fast\''
    )
    assert err.value.field == "clock.tick"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (float("nan"), "must be a finite duration, got NaN"),
        (float("inf"), "must be at most 30d, got infinity"),
        ("1e400s", "must be at most 30d, got infinity"),
        (-1, "must be at least 0s, got -1s"),
        ("-250ms", "must be at least 0s, got -250ms"),
        ("40d", "must be at most 30d, got 40d"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ("5 bananas", "expected a duration"),
        ("nan", "expected a duration"),
        ([1], "expected a duration"),
    ],
)
def test_bad_durations_state_their_bound(value, says):
    with pytest.raises(ScenarioError, match=r"^scenario\.yaml: clock\.tick: ") as err:
        parse_duration(value, **WHERE)
    assert says in str(err.value)


def test_custom_bounds_and_zero():
    with pytest.raises(ScenarioError, match="must be above 0s, got 0s"):
        parse_duration("0ms", **WHERE, allow_zero=False)
    assert parse_duration("0ms", **WHERE) == 0.0
    with pytest.raises(ScenarioError, match="must be at most 1s, got 2s"):
        parse_duration("2s", **WHERE, maximum=1.0)
    with pytest.raises(ScenarioError, match="must be at least 1ms, got 500us"):
        parse_duration("500us", **WHERE, minimum=1e-3)


def test_bad_rates():
    with pytest.raises(ScenarioError, match='expected a rate like "12/s"'):
        parse_rate("12 per second", file="f", field="rate")
    with pytest.raises(ScenarioError, match="must be at least 0/s, got -3/s"):
        parse_rate("-3/s", file="f", field="rate")
    with pytest.raises(ScenarioError, match="must be above"):
        parse_rate("0/s", file="f", field="rate", allow_zero=False)
    with pytest.raises(ScenarioError, match="must be at most"):
        parse_rate("1/ns", file="f", field="rate")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.118, "118ms"), (90, "1.5m"), (1.5, "1.5s"), (3e-4, "300us"), (172800, "2d"), (0, "0s")],
)
def test_format_duration_picks_a_friendly_unit(seconds, text):
    assert format_duration(seconds) == text


def test_format_rate():
    assert format_rate(12) == "12/s"
    assert format_rate(0.05) == "3/m"
    assert format_rate(1 / 3600) == "1/h"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.floats(min_value=1e-6, max_value=MAX_DURATION_S))
def test_format_then_parse_round_trips(seconds):
    back = parse_duration(format_duration(seconds), **WHERE)
    assert back == pytest.approx(seconds, rel=1e-5)
    exact = parse_duration(format_duration(seconds, digits=17), **WHERE)
    assert exact == pytest.approx(seconds, rel=1e-14)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.floats(min_value=1e-4, max_value=1e6))
def test_rate_format_then_parse_round_trips(per_second):
    back = parse_rate(format_rate(per_second, digits=17), file="f", field="rate")
    assert back == pytest.approx(per_second, rel=1e-14)


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.eE+-/ smhdusµn", max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(HOSTILE)
def test_hostile_values_raise_nothing_but_scenario_error(value):
    for parse in (parse_duration, parse_rate):
        try:
            out = parse(value, file="f.yaml", field="x")
        except ScenarioError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith("f.yaml: x: ")
        else:
            assert math.isfinite(out) and out >= 0
