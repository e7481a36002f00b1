"""JSON schemas from capability contracts, and JSON-ready values back out."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from mcp_types import Tool as MCPTool
from mcp_types import ToolAnnotations

from capabilities.core.model import Capability, Field
from capabilities.core.typecheck import fields_of_return_type
from capabilities.runtime.actors import actor_spec


# -- JSON Schema from contracts ----------------------------------------------------------------
def json_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a type hint as contracts use them (the inverse of the runtime check).

    ``str/int/float/bool/None``, ``list[X]``, ``set[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``,
    ``dict[str, X]``, ``X | Y``, ``Literal[...]``, TypedDicts and dataclasses; anything else
    (``Any``, unknown classes) is the unconstrained schema ``{}``.
    """
    if hint is Any or hint is object:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if hint in simple:
        return {"type": simple[hint]}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return json_schema(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [json_schema(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if hint in (list, tuple, set, frozenset) or origin in (
        list,
        set,
        frozenset,
        Sequence,
        typing.Sequence,
    ):
        out: dict[str, Any] = {"type": "array"}
        if args:
            out["items"] = json_schema(args[0])
        if hint in (set, frozenset) or origin in (set, frozenset):
            out["uniqueItems"] = True
        return out
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": json_schema(args[0])}
        return {
            "type": "array",
            "prefixItems": [json_schema(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if hint in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping):
        out = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            out["additionalProperties"] = json_schema(args[1])
        return out
    record = fields_of_return_type(hint) if isinstance(hint, type) else None
    if record is not None:
        return {
            "type": "object",
            "properties": {k: json_schema(v) for k, v in record.items()},
            "required": list(record),
        }
    return {}


def fields_schema(fields: Sequence[Field], *, closed: bool = True) -> dict[str, Any]:
    """An object schema for a list of contract fields (required ones listed as required)."""
    props = {}
    for f in fields:
        schema = json_schema(f.type)
        if not f.required and f.default is not None and is_jsonable(f.default):
            schema = {**schema, "default": f.default}
        props[f.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props}
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    return out


def input_schema(cap: Capability) -> dict[str, Any]:
    """The tool input schema of a capability (an actor's ``message`` is described too)."""
    schema = fields_schema(cap.requires)
    if cap.kind == "actor":
        spec = actor_spec(cap)
        if spec.message_fields is not None:
            schema["properties"]["message"] = fields_schema(spec.message_fields)
    return schema


# Any JSON value, said explicitly: what a name-only output (``provides=["ticket_id"]``) may hold.
JSON_VALUE = {"type": ["string", "number", "integer", "boolean", "array", "object", "null"]}


def output_schema(cap: Capability) -> dict[str, Any]:
    """The outputs' schema: declared types, the return annotation of a single output, and for
    a name-only output any JSON value (never a bare ``{}``)."""
    fields = list(cap.provides)
    if len(fields) == 1 and fields[0].type is Any and cap.kind != "actor":
        returned = _return_hint(cap)
        if returned is not None:
            fields = [dataclasses.replace(fields[0], type=returned)]
    schema = fields_schema(fields, closed=False)
    schema["properties"] = {k: v or dict(JSON_VALUE) for k, v in schema["properties"].items()}
    return schema


def _return_hint(cap: Capability) -> Any:
    with contextlib.suppress(Exception):
        hint = typing.get_type_hints(cap.execute).get("return")
        if hint is not None and hint is not Any and json_schema(hint):
            return hint
    return None


# -- tool annotations --------------------------------------------------------------------------
READ_ACTIONS = frozenset({"read", "list", "view", "query"})
DESTRUCTIVE_ACTIONS = frozenset({"delete", "admin", "destroy", "wipe", "erase"})


def tool_annotations(cap: Capability) -> ToolAnnotations:
    """``readOnlyHint`` / ``destructiveHint`` / ``idempotentHint`` from the declaration.

    An explicit ``read_only`` / ``destructive`` flag wins. Otherwise: an actor writes its state
    (not read-only, not idempotent); a capability whose permissions are all read-level
    (``accounts:read``) is read-only and idempotent; one needing a delete/admin-level permission
    may destroy data. Without either, the hints are left unset and clients assume the spec's
    cautious defaults (may write, may destroy).
    """
    actions = {p.split(":")[1] if ":" in p else p for p in cap.permissions}
    read_only = cap.metadata.get("read_only")
    destructive = cap.metadata.get("destructive")
    if read_only is None:
        if cap.kind == "actor" or destructive:
            read_only = False
        elif actions and actions <= READ_ACTIONS:
            read_only = True
    if destructive is None:
        if read_only:
            destructive = False
        elif actions & DESTRUCTIVE_ACTIONS:
            destructive = True
    idempotent = True if read_only else (False if cap.kind == "actor" else None)
    return ToolAnnotations(
        read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=idempotent
    )


# -- helpers -----------------------------------------------------------------------------------
def tool_of(cap: Capability) -> MCPTool:
    return MCPTool(
        name=cap.name,
        description=cap.intent,
        input_schema=input_schema(cap),
        output_schema=output_schema(cap),
        annotations=tool_annotations(cap),
    )


def coerce_arguments(cap: Capability, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """JSON has arrays, not tuples or sets: convert those arguments where the contract asks."""
    out = dict(arguments)
    for f in cap.requires:
        value = out.get(f.name)
        if isinstance(value, list):
            origin = typing.get_origin(f.type) or f.type
            if origin is tuple:
                out[f.name] = tuple(value)
            elif origin in (set, frozenset):
                with contextlib.suppress(TypeError):  # unhashable: the contract check says so
                    out[f.name] = origin(value)
    return out


def is_jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


class NotJSON(ValueError):
    """A value JSON cannot carry (NaN, infinity): refused, never sent as a string."""


def jsonable(value: Any) -> Any:
    """Outputs as JSON data: tuples/sets -> lists, dataclasses -> objects, numpy -> Python.

    NaN and infinity raise :class:`NotJSON`: sent as ``"inf"`` they would break the declared
    ``number`` type, and as ``null`` they would pass for a missing value.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJSON(f"{value!r} is not a finite number; JSON cannot carry it")
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    return str(value)
