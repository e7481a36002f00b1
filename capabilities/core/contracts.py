"""Checking values against a capability's contract, on the way in and on the way out.

Runs on every call, so it is a single pass over the declared fields with predicates compiled
when the capability was declared. Every failure is a :class:`ContractError` naming the
capability and the field.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from capabilities.core.jsondata import json_problem
from capabilities.core.model import Capability
from capabilities.core.typecheck import type_name
from capabilities.errors import ContractError


def check_inputs(cap: Capability, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``inputs`` for ``cap`` and return them with defaults filled in."""
    if not isinstance(inputs, Mapping):
        raise ContractError(cap.name, None, f"inputs must be a mapping, got {type_name(inputs)}")
    out: dict[str, Any] = {}
    used = 0
    for f in cap.requires:
        if f.name in inputs:
            value = inputs[f.name]
            used += 1
            if not f.check(value):
                raise ContractError(
                    cap.name,
                    f.name,
                    f"expected {f.type_name}, got {type_name(value)} {value!r:.60}",
                )
            out[f.name] = value
        elif f.required:
            _reject_unknown(cap, inputs)  # a typo'd name explains the gap better
            raise ContractError(cap.name, f.name, "required input is missing")
        else:
            out[f.name] = f.default
    if used != len(inputs):
        _reject_unknown(cap, inputs)
    return out


def _reject_unknown(cap: Capability, inputs: Mapping[str, Any]) -> None:
    names = [f.name for f in cap.requires]
    for key in inputs:
        if key not in cap.input_names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {names}"
            raise ContractError(cap.name, str(key), f"unknown input{hint}")


def normalise_outputs(cap: Capability, raw: Any) -> dict[str, Any]:
    """Turn what ``execute`` returned into the mapping of outputs (see :class:`Capability`).

    A dataclass, or a mapping of the ``provides`` names, *is* the outputs. The one shorthand: a
    capability with exactly one output may return that output's bare value (``return x + 1``
    for ``provides=["y"]``, an actor's reply dict for its one ``reply``), so anything that is
    not a mapping holding that one name — a list included — is the value of that field, and the
    field's type check decides. This is kept on purpose: with one output there is only one
    place the value can go, and refusing it would break every one-output capability written
    the natural way. With several outputs there is nothing to guess: anything but a mapping or
    a dataclass is a :class:`ContractError`.
    """
    if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        return {f.name: getattr(raw, f.name) for f in dataclasses.fields(raw)}
    if len(cap.provides) == 1:
        only = cap.provides[0].name
        if not (isinstance(raw, Mapping) and only in raw):
            return {only: raw}
    if isinstance(raw, Mapping):
        return dict(raw)
    raise ContractError(
        cap.name,
        None,
        f"returned {type_name(raw)}; it provides {[f.name for f in cap.provides]}, so return a "
        "dict with those keys (or a dataclass)",
    )


def check_outputs(cap: Capability, raw: Any, *, plain: bool = False) -> dict[str, Any]:
    """Validate what a capability returned: every promised output, nothing unpromised.

    ``plain=True`` (the engine sets it when outputs are stored) also requires every output to
    be JSON data — finite numbers, strings, lists, string-keyed dicts (:func:`json_problem`).
    """
    outputs = normalise_outputs(cap, raw)
    for f in cap.provides:
        if f.name not in outputs:
            got = f"; it returned keys {sorted(map(str, outputs))}" if outputs else ""
            raise ContractError(cap.name, f.name, f"promised output is missing{got}")
        value = outputs[f.name]
        if not f.check(value):
            raise ContractError(
                cap.name, f.name, f"output expected {f.type_name}, got {type_name(value)}"
            )
        if plain:
            problem = json_problem(value, f.name)
            if problem is not None:
                raise ContractError(cap.name, f.name, f"output cannot be stored: {problem}")
    if len(outputs) != len(cap.provides):
        for key in outputs:
            if key not in cap.output_names:
                raise ContractError(cap.name, str(key), "output was not promised in provides")
    return outputs
