"""Runtime checks of values against type hints, and parsing of type names from plain data.

Contracts are declared with ordinary Python type hints (``str``, ``list[str]``,
``dict[str, float]``, ``int | None``, ``Literal["a", "b"]``). Checking them at runtime must be
cheap, because it runs on every call, so hints are compiled once into small predicate
functions. Scenario files name types as strings (``"list[str]"``); :func:`parse_type` turns such
a string into a hint without ``eval``.
"""

from __future__ import annotations

import ast
import dataclasses
import numbers
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Predicate = Callable[[Any], bool]

_NAMES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "bytes": bytes,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "any": Any,
    "Any": Any,
    "None": type(None),
    "none": type(None),
    "object": Any,
}


def _always(_: Any) -> bool:
    return True


def _is_number(value: Any) -> bool:
    # Exact types first (the common case, fastest); then any real number such as numpy's
    # float32 / int64, which simulations hand over all the time. A bool is never a number here.
    t = type(value)
    return t is float or t is int or (isinstance(value, numbers.Real) and t is not bool)


def _is_int(value: Any) -> bool:
    t = type(value)
    return t is int or (isinstance(value, numbers.Integral) and t is not bool)


def compile_hint(hint: Any) -> Predicate:
    """Return a predicate that tells whether a value conforms to ``hint``.

    Containers are checked element by element (the engine's inputs are small); unknown or
    unparameterised hints fall back to ``isinstance``. ``float`` accepts ints, as in PEP 484.
    """
    if hint is Any or hint is object:
        return _always
    if hint is None or hint is type(None):
        return lambda v: v is None
    if hint is float:
        return _is_number
    if hint is int:
        return _is_int
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        preds = [compile_hint(a) for a in args]
        return lambda v: any(p(v) for p in preds)
    if origin is typing.Literal:
        allowed = set(args)

        def check_literal(v: Any) -> bool:
            try:
                return v in allowed
            except TypeError:  # an unhashable value (list, dict) is never one of the literals
                return False

        return check_literal
    if origin is typing.Annotated:
        return compile_hint(args[0])
    if origin in (list, set, frozenset, Sequence) or origin is typing.Sequence:
        container = origin if isinstance(origin, type) else Sequence
        inner = compile_hint(args[0]) if args else _always

        def check_seq(
            v: Any, container: Any = container, inner: Callable[[Any], bool] = inner
        ) -> bool:
            return (
                isinstance(v, container)
                and not isinstance(v, str | bytes)
                and all(inner(x) for x in v)
            )

        return check_seq
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = compile_hint(args[0])
            return lambda v: isinstance(v, tuple) and all(inner(x) for x in v)
        preds = [compile_hint(a) for a in args]
        return lambda v: (
            isinstance(v, tuple) and len(v) == len(preds) and all(p(x) for p, x in zip(preds, v))
        )
    if origin in (dict, Mapping) or origin is typing.Mapping:
        kp, vp = (compile_hint(args[0]), compile_hint(args[1])) if args else (_always, _always)
        return lambda v: isinstance(v, Mapping) and all(kp(k) and vp(x) for k, x in v.items())
    if origin is not None and isinstance(origin, type):
        return lambda v: isinstance(v, origin)
    if typing.is_typeddict(hint):
        return lambda v: isinstance(v, Mapping)
    if isinstance(hint, type):
        return lambda v: isinstance(v, hint)
    return _always


def describe(hint: Any) -> str:
    """A short human name for a hint, for error messages (``list[str]``, ``int | None``)."""
    if hint is Any:
        return "any"
    if isinstance(hint, type) and not typing.get_args(hint):
        return "None" if hint is type(None) else hint.__name__
    return str(hint).replace("typing.", "")


def type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def parse_type(text: str, where: str = "type") -> Any:
    """Turn a type written in plain data (``"list[str]"``, ``"int | None"``) into a hint.

    Only builtin names, subscripts and ``|`` are allowed; anything else raises ``ValueError``
    naming ``where`` and the offending text.
    """
    if not isinstance(text, str):
        raise ValueError(f"{where}: a type must be written as text like 'list[str]', got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"{where}: {text!r} is not a type expression") from exc

    def build(node: ast.AST) -> Any:
        if isinstance(node, ast.Name) and node.id in _NAMES:
            return _NAMES[node.id]
        if isinstance(node, ast.Constant) and node.value is None:
            return type(None)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return build(node.left) | build(node.right)
        if isinstance(node, ast.Subscript):
            base = build(node.value)
            inner = node.slice
            items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            return base[tuple(build(i) for i in items)] if len(items) > 1 else base[build(items[0])]
        known = ", ".join(sorted(k for k in _NAMES if k[0].islower()))
        raise ValueError(f"{where}: unknown type {ast.unparse(node)!r}; use one of: {known}")

    try:
        return build(tree)
    except TypeError as exc:
        raise ValueError(f"{where}: {text!r} is not a valid type ({exc})") from exc


def fields_of_return_type(hint: Any) -> dict[str, Any] | None:
    """Output fields declared by a TypedDict or dataclass return annotation, else ``None``."""
    if hint is None:
        return None
    if typing.is_typeddict(hint):
        return dict(typing.get_type_hints(hint))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(hint)}
    return None
