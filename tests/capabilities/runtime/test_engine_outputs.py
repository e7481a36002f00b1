"""Hostile outputs and calls: what a capability returns must be storable; what a caller passes
must be runnable. Issue #14 (engine outputs, SystemExit, workflows as values)."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fakes import BagOfWordsEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capabilities import (
    ContractError,
    Engine,
    PacketFlowError,
    Policy,
    Registry,
    Workflow,
    WorkflowError,
    audit_log,
    step,
)

BAD_VALUES = {
    "object": object(),
    "nan": float("nan"),
    "inf": float("inf"),
    "nested_nan": {"scores": [1.0, float("-inf")]},
    "numpy_int": np.int64(3),
    "int_key": {1: "one"},
    "set": {1, 2},
}


def echo_registry() -> Registry:
    registry = Registry(BagOfWordsEmbedder())

    @registry.capability(provides=["value"], effects=[audit_log()])
    def echo(which: str) -> dict:
        """Return one of the test values."""
        return {"value": BAD_VALUES[which]}

    @registry.capability(provides=["a", "b"])
    def pair(shape: str):
        """Return outputs in the shape asked for."""
        return {"list": [1, 2], "tuple": (1, 2), "str": "ab", "none": None}[shape]

    @registry.capability(provides=["a"])
    def single(shape: str):
        """One output: a bare value is that output's value."""
        return {"list": [1, 2, 3], "mapping": {"a": 7}, "scalar": 4}[shape]

    @registry.capability(provides=["code"])
    def quits(how: str) -> int:
        """A capability that tries to end the process."""
        if how == "exit":
            sys.exit(3)
        raise KeyboardInterrupt

    @registry.capability(provides=["code"], policy=Policy(retry=2))
    def quits_retried() -> int:
        """The same behind a retry policy."""
        raise SystemExit("bye")

    return registry


@pytest.fixture
def stored(tmp_path: Path):
    with Engine(echo_registry(), store=tmp_path / "pf.sqlite") as engine:
        yield engine


@pytest.mark.parametrize("which", sorted(BAD_VALUES))
def test_unstorable_output_with_a_file_store_is_a_failed_result_naming_the_field(stored, which):
    result = stored.run("echo", {"which": which})
    assert result.status == "failed"
    assert isinstance(result.error, ContractError)
    assert result.error.capability == "echo" and result.error.field == "value"
    assert "cannot be stored" in str(result.error)
    (row,) = stored.audit.rows("echo")
    assert row["status"] == "failed" and "field 'value'" in row["error"]


def test_the_failure_says_where_inside_the_value(stored):
    error = stored.run("echo", {"which": "nested_nan"}).error
    assert "value['scores'][1] is -inf" in str(error)


def test_in_memory_engines_pass_python_objects_unless_asked(tmp_path):
    with Engine(echo_registry()) as engine:  # a simulation's steps may hand over any object
        assert engine.run("echo", {"which": "object"}).ok
    with Engine(echo_registry(), plain_outputs=True) as engine:
        assert engine.run("echo", {"which": "nan"}).status == "failed"
    with Engine(echo_registry(), store=tmp_path / "x.sqlite", plain_outputs=False) as engine:
        assert engine.run("echo", {"which": "object"}).ok


@pytest.mark.parametrize("shape", ["list", "tuple", "str", "none"])
def test_a_non_dict_return_for_a_multi_field_contract_is_a_contract_error(stored, shape):
    result = stored.run("pair", {"shape": shape})
    assert result.status == "failed"
    assert isinstance(result.error, ContractError) and result.error.capability == "pair"
    assert "so return a dict with those keys" in str(result.error)


def test_a_single_field_contract_takes_a_bare_value_as_that_field(stored):
    # the documented shorthand: with one output, a bare value (a list too) is that output
    assert stored.run("single", {"shape": "list"}).outputs == {"a": [1, 2, 3]}
    assert stored.run("single", {"shape": "scalar"}).outputs == {"a": 4}
    assert stored.run("single", {"shape": "mapping"}).outputs == {"a": 7}


def test_system_exit_from_a_capability_is_a_failed_result(stored):
    result = stored.run("quits", {"how": "exit"})
    assert result.status == "failed" and isinstance(result.error, SystemExit)
    retried = stored.run("quits_retried")
    assert retried.status == "failed" and isinstance(retried.error, SystemExit)


async def test_system_exit_from_a_capability_is_a_failed_result_async(stored):
    result = await stored.run_async("quits", {"how": "exit"})
    assert result.status == "failed" and isinstance(result.error, SystemExit)


def test_keyboard_interrupt_still_stops_the_caller(stored):
    with pytest.raises(KeyboardInterrupt):
        stored.run("quits", {"how": "interrupt"})


# -- workflows as values ---------------------------------------------------------------------
def chain_registry() -> Registry:
    registry = Registry(BagOfWordsEmbedder())

    @registry.capability(provides=["n"])
    def parse(text: str) -> int:
        """Parse a number from text."""
        return int(text)

    @registry.capability(provides=["doubled"])
    def double(n: int) -> int:
        """Double a number."""
        return 2 * n

    return registry


def test_engine_runs_a_composed_workflow_value_and_builds_it_once(monkeypatch):
    registry = chain_registry()
    builds = []
    original = Workflow.build
    monkeypatch.setattr(Workflow, "build", lambda self, r: builds.append(1) or original(self, r))
    flow = registry.compose(have=["text"], want=["doubled"])
    builds.clear()  # compose checks what it returns by building it once
    with Engine(registry) as engine:
        assert engine.run(flow, {"text": "21"}).outputs["doubled"] == 42
        assert engine.run(flow, {"text": "4"}).outputs["doubled"] == 8
    assert len(builds) == 1


async def test_run_async_accepts_a_workflow_value():
    registry = chain_registry()
    flow = Workflow("twice", [step("parse"), step("double")])
    with Engine(registry) as engine:
        result = await engine.run_async(flow, {"text": "5"})
    assert result.ok and result.outputs["doubled"] == 10


def test_a_workflow_that_does_not_fit_the_registry_raises_when_run():
    flow = Workflow("broken", [step("parse"), step("no_such_step")])
    with Engine(chain_registry()) as engine, pytest.raises(WorkflowError, match="no_such_step"):
        engine.run(flow, {"text": "1"})


@pytest.mark.parametrize("wrong", [{"name": "parse"}, 3, None, ["parse"]])
def test_any_other_type_is_refused_with_what_to_pass(wrong):
    with Engine(chain_registry()) as engine, pytest.raises(PacketFlowError) as caught:
        engine.run(wrong, {"text": "1"})
    assert "pass a registered capability's name, a Capability, or a Workflow" in str(caught.value)
    assert type(wrong).__name__ in str(caught.value)


# -- property: stored outputs are JSON data or a failed Result naming the field ----------------
@dataclass
class Opaque:
    x: int = 1


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.just(object()),
    st.builds(Opaque),
    st.integers(-5, 5).map(np.int64),
    st.floats(allow_nan=True).map(np.float64),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
        st.dictionaries(st.integers(0, 3), inner, min_size=1, max_size=2),
    ),
    max_leaves=12,
)


def as_json_shape(value):
    if isinstance(value, tuple | list):
        return [as_json_shape(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json_shape(v) for k, v in value.items()}
    return value


def round_trips(value) -> bool:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return json.loads(text) == as_json_shape(value)


PROPERTY_REGISTRY = Registry(BagOfWordsEmbedder())


@PROPERTY_REGISTRY.capability(provides=["out"])
def hand_back(box: list) -> dict:
    """Return whatever is in the box."""
    return {"out": box[0]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_outputs_are_json_round_trippable_or_a_failed_result_naming_the_field(value):
    with Engine(PROPERTY_REGISTRY, plain_outputs=True) as engine:
        result = engine.run("hand_back", {"box": [value]})
    if result.ok:
        out = result.outputs["out"]
        assert json.loads(json.dumps(out, allow_nan=False)) == as_json_shape(out)
    else:
        assert isinstance(result.error, ContractError)
        assert (result.error.capability, result.error.field) == ("hand_back", "out")
    # the engine's verdict is exactly JSON's (finite numbers, string keys, no objects)
    assert result.ok == round_trips(value)


@settings(max_examples=200, deadline=None)
@given(values)
def test_a_multi_field_contract_never_guesses(value):
    with Engine(echo_registry(), plain_outputs=True) as engine:
        cap = engine.registry.get("pair")
        result = engine.run(
            cap.__class__(**{**_fields(cap), "execute": lambda shape: value}), {"shape": "x"}
        )
    if not isinstance(value, dict):
        assert result.status == "failed" and isinstance(result.error, ContractError)
    elif result.ok:
        assert set(result.outputs) == {"a", "b"}
        assert not any(
            isinstance(v, float) and not math.isfinite(v) for v in result.outputs.values()
        )


def _fields(cap):
    return {name: getattr(cap, name) for name in cap.__dataclass_fields__}
