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
    """Turn what ``execute`` returned into the mapping of outputs (see :class:`Capability`)."""
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


def check_outputs(cap: Capability, raw: Any) -> dict[str, Any]:
    """Validate what a capability returned: every promised output, nothing unpromised."""
    outputs = normalise_outputs(cap, raw)
    for f in cap.provides:
        if f.name not in outputs:
            raise ContractError(cap.name, f.name, "promised output is missing")
        value = outputs[f.name]
        if not f.check(value):
            raise ContractError(
                cap.name, f.name, f"output expected {f.type_name}, got {type_name(value)}"
            )
    if len(outputs) != len(cap.provides):
        for key in outputs:
            if key not in cap.output_names:
                raise ContractError(cap.name, str(key), "output was not promised in provides")
    return outputs
