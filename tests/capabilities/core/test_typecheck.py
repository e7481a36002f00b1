"""Runtime type checks compiled from hints, and type names parsed from plain data."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capabilities.core.typecheck import compile_hint, describe, fields_of_return_type, parse_type


@pytest.mark.parametrize(
    ("hint", "good", "bad"),
    [
        (str, ["", "x"], [b"x", 1, None]),
        (int, [0, -3, 10**30], [True, 1.0, "1", None]),
        (float, [1.5, 2, -0.0], [True, "1.5", None]),
        (bool, [True, False], [0, 1, "true"]),
        (list[str], [[], ["a", "b"]], [["a", 1], ("a",), "ab", None]),
        (list, [[], [1, "a"]], [(1,), "ab"]),
        (dict[str, float], [{}, {"a": 1, "b": 2.5}], [{"a": "1"}, {1: 1.0}, [("a", 1.0)]]),
        (Mapping[str, int], [{"a": 1}], [{"a": 1.5}]),
        (Sequence[int], [[1, 2], (1, 2)], ["12", [1, "2"]]),
        (set[int], [{1, 2}, set()], [[1], {1, "a"}]),
        (tuple[int, str], [(1, "a")], [(1, 2), (1,), [1, "a"], (1, "a", 2)]),
        (tuple[int, ...], [(), (1, 2, 3)], [(1, "a"), [1]]),
        (int | None, [1, None], ["1", 1.5]),
        (typing.Optional[str], ["a", None], [1]),  # noqa: UP045 - the old spelling too
        (typing.Union[int, str], [1, "a"], [1.5, None]),  # noqa: UP007
        (Literal["low", "high"], ["low", "high"], ["mid", None, ["low"], {"low": 1}]),
        (typing.Annotated[int, "meta"], [1], ["1"]),
        (Any, [None, 1, object()], []),
        (object, [None, 1], []),
        (None, [None], [0, ""]),
    ],
)
def test_compiled_hints_accept_conforming_values_and_reject_others(hint, good, bad):
    check = compile_hint(hint)
    for value in good:
        assert check(value), f"{describe(hint)} should accept {value!r}"
    for value in bad:
        assert not check(value), f"{describe(hint)} should reject {value!r}"


def test_unhashable_value_against_literal_is_rejected_not_a_crash():
    # A Literal check must answer False for a list or dict, never raise TypeError.
    assert compile_hint(Literal["a"])(["a"]) is False


def test_typeddict_hint_accepts_mappings_only():
    class Point(TypedDict):
        x: int

    check = compile_hint(Point)
    assert check({"x": 1})
    assert not check([("x", 1)])


@given(st.lists(st.integers()))
def test_list_of_int_accepts_every_list_of_ints(values):
    assert compile_hint(list[int])(values)


@given(st.lists(st.integers(), min_size=1), st.data())
def test_list_of_int_rejects_a_list_with_any_one_string(values, data):
    i = data.draw(st.integers(0, len(values) - 1))
    values[i] = str(values[i])
    assert not compile_hint(list[int])(values)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("str", str),
        (" int ", int),
        ("list[str]", list[str]),
        ("dict[str, float]", dict[str, float]),
        ("int | None", int | None),
        ("None", type(None)),
        ("list[dict[str, int]]", list[dict[str, int]]),
        ("tuple[int, str]", tuple[int, str]),
        ("any", Any),
    ],
)
def test_parse_type_builds_the_same_hint_python_would(text, hint):
    assert parse_type(text) == hint


def test_parsed_types_are_checkable():
    check = compile_hint(parse_type("list[dict[str, int]]"))
    assert check([{"a": 1}])
    assert not check([{"a": "1"}])


@pytest.mark.parametrize(
    "text", ["", "list[str", "__import__('os')", "os.system", "Foo", "str[int]", "1", "lambda: 1"]
)
def test_parse_type_rejects_anything_but_type_names_and_names_where(text):
    with pytest.raises(ValueError, match=r"^scenario\.yaml:requires\.x: "):
        parse_type(text, where="scenario.yaml:requires.x")


def test_parse_type_rejects_a_non_string_with_a_clear_error():
    with pytest.raises(ValueError, match=r"requires\.x"):
        parse_type(5, where="requires.x")  # type: ignore[arg-type]


def test_describe_gives_short_readable_names():
    assert describe(str) == "str"
    assert describe(list[str]) == "list[str]"
    assert describe(int | None) == "int | None"
    assert describe(Any) == "any"
    assert describe(type(None)) == "None"


def test_fields_of_typeddict_and_dataclass_return_types():
    class Out(TypedDict):
        a: int
        b: list[str]

    @dataclass
    class DOut:
        total: float
        note: str = ""

    assert fields_of_return_type(Out) == {"a": int, "b": list[str]}
    assert fields_of_return_type(DOut) == {"total": float, "note": str}
    assert fields_of_return_type(dict) is None
    assert fields_of_return_type(None) is None


def test_numpy_scalars_are_numbers_but_bools_never_are():
    import numpy as np

    as_float, as_int = compile_hint(float), compile_hint(int)
    for value in (np.float32(0.5), np.float64(2.0), np.int64(3), np.int32(-1)):
        assert as_float(value), f"float should accept {type(value).__name__}"
    for value in (np.int64(3), np.int8(1), np.uint16(7)):
        assert as_int(value), f"int should accept {type(value).__name__}"
    for value in (True, np.bool_(True)):
        assert not as_float(value) and not as_int(value)
    assert not as_int(np.float64(1.0)) and not as_float(1 + 2j)
    assert compile_hint(list[float])([1, np.float32(2.5), 3.0])
