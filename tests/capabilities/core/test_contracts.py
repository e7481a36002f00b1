"""Contracts on the way in (missing / unknown / ill-typed inputs) and out (outputs)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capabilities import Capability, ContractError, check_inputs, check_outputs


def transfer(
    source: str, target: str, amount: float, tags: list[str] | None = None, note: str = ""
) -> dict:
    """Move money between two accounts."""
    return {}


TRANSFER = Capability.from_function(transfer, provides={"transfer_id": "str", "fee": "float"})


def contract_error(fn, *args) -> ContractError:
    with pytest.raises(ContractError) as info:
        fn(*args)
    return info.value


def test_valid_inputs_pass_and_defaults_are_filled_in():
    got = check_inputs(TRANSFER, {"source": "a", "target": "b", "amount": 3})
    assert got == {"source": "a", "target": "b", "amount": 3, "tags": None, "note": ""}


def test_missing_required_input_names_capability_and_field():
    err = contract_error(check_inputs, TRANSFER, {"source": "a", "amount": 1.0})
    assert (err.capability, err.field) == ("transfer", "target")
    assert str(err) == "capability 'transfer': field 'target': required input is missing"


def test_unknown_input_names_it():
    err = contract_error(
        check_inputs, TRANSFER, {"source": "a", "target": "b", "amount": 1.0, "colour": "red"}
    )
    assert (err.capability, err.field) == ("transfer", "colour")
    assert "unknown input" in str(err)
    assert "expected one of ['source', 'target', 'amount', 'tags', 'note']" in str(err)


def test_typo_gives_did_you_mean_and_is_one_line():
    # The typo also leaves 'amount' missing: the typo is the better explanation.
    err = contract_error(check_inputs, TRANSFER, {"source": "a", "target": "b", "ammount": 5.0})
    assert (err.capability, err.field) == ("transfer", "ammount")
    assert (
        str(err) == "capability 'transfer': field 'ammount': unknown input; did you mean 'amount'?"
    )
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("amount", "5", "expected float, got str '5'"),
        ("amount", True, "expected float, got bool True"),
        ("source", None, "expected str, got None None"),
        ("tags", ["a", 1], "expected list[str] | None, got list"),
        ("tags", "a,b", "expected list[str] | None, got str"),
    ],
)
def test_wrong_type_names_field_expected_and_actual(field, value, expected):
    inputs = {"source": "a", "target": "b", "amount": 1.0, field: value}
    err = contract_error(check_inputs, TRANSFER, inputs)
    assert (err.capability, err.field) == ("transfer", field)
    assert expected in err.problem


def test_long_bad_values_are_truncated_in_the_message():
    err = contract_error(check_inputs, TRANSFER, {"source": "x" * 10_000, "target": 1, "amount": 1})
    assert err.field == "target"
    err = contract_error(check_inputs, TRANSFER, {"source": 5, "target": "b", "amount": 1})
    assert len(str(err)) < 200
    err = contract_error(
        check_inputs, TRANSFER, {"source": ["y" * 5000], "target": "b", "amount": 1}
    )
    assert len(str(err)) < 200


def test_inputs_that_are_not_a_mapping_are_a_contract_error():
    err = contract_error(check_inputs, TRANSFER, [("source", "a")])
    assert err.capability == "transfer" and err.field is None
    assert "inputs must be a mapping, got list" in str(err)


# -- outputs ------------------------------------------------------------------------------------
def test_outputs_pass_through_when_they_match():
    assert check_outputs(TRANSFER, {"transfer_id": "t1", "fee": 0}) == {
        "transfer_id": "t1",
        "fee": 0,
    }


def test_missing_promised_output():
    err = contract_error(check_outputs, TRANSFER, {"transfer_id": "t1"})
    assert (err.capability, err.field) == ("transfer", "fee")
    assert "promised output is missing" in str(err)


def test_unpromised_output():
    err = contract_error(check_outputs, TRANSFER, {"transfer_id": "t1", "fee": 1.0, "debug": 1})
    assert (err.capability, err.field) == ("transfer", "debug")
    assert "not promised" in str(err)


def test_output_of_wrong_type():
    err = contract_error(check_outputs, TRANSFER, {"transfer_id": 7, "fee": 1.0})
    assert (err.capability, err.field) == ("transfer", "transfer_id")
    assert "output expected str, got int" in str(err)


def test_a_bare_value_is_the_single_output():
    cap = Capability.from_function(lambda x: x, name="echo", intent="echo", provides={"y": "int"})
    assert check_outputs(cap, 3) == {"y": 3}
    assert check_outputs(cap, {"y": 3}) == {"y": 3}
    err = contract_error(check_outputs, cap, "3")
    assert err.field == "y"


def test_a_dict_is_a_valid_single_output_value():
    cap = Capability.from_function(lambda: 0, name="cfg", intent="config", provides={"cfg": "dict"})
    assert check_outputs(cap, {"a": 1}) == {"cfg": {"a": 1}}


def test_a_non_mapping_for_several_outputs_says_what_to_return():
    err = contract_error(check_outputs, TRANSFER, ("t1", 1.0))
    assert err.capability == "transfer"
    assert "returned tuple" in str(err) and "['transfer_id', 'fee']" in str(err)


def test_dataclass_instances_are_outputs():
    @dataclass
    class Receipt:
        transfer_id: str
        fee: float

    assert check_outputs(TRANSFER, Receipt("t", 0.5)) == {"transfer_id": "t", "fee": 0.5}


# -- invariants ---------------------------------------------------------------------------------
VALUES = {
    "source": st.text(),
    "target": st.text(),
    "amount": st.one_of(st.integers(), st.floats(allow_nan=False)),
    "tags": st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=4)),
    "note": st.text(max_size=10),
}
REQUIRED = ["source", "target", "amount"]
OPTIONAL = ["tags", "note"]


@st.composite
def valid_inputs(draw):
    keys = REQUIRED + [k for k in OPTIONAL if draw(st.booleans())]
    return {k: draw(VALUES[k]) for k in keys}


@given(valid_inputs())
def test_any_valid_inputs_pass_unchanged(inputs):
    got = check_inputs(TRANSFER, inputs)
    assert {k: got[k] for k in inputs} == inputs
    assert set(got) == set(REQUIRED + OPTIONAL)


@given(valid_inputs(), st.sampled_from(REQUIRED))
def test_dropping_any_required_input_fails_naming_it(inputs, dropped):
    del inputs[dropped]
    err = contract_error(check_inputs, TRANSFER, inputs)
    assert (err.capability, err.field) == ("transfer", dropped)


@given(valid_inputs(), st.text(min_size=1).filter(lambda k: k not in VALUES))
def test_any_extra_key_fails_naming_it(inputs, extra):
    inputs[extra] = 1
    err = contract_error(check_inputs, TRANSFER, inputs)
    assert err.field == extra
