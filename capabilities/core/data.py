"""Helpers shared by every declaration from plain data (capabilities, policies, workflows).

``check_keys`` refuses unknown keys, ``as_list`` / ``parse_fields`` read lists and field
declarations, ``import_dotted`` resolves ``package.module:function`` and ``injected_service``
tells which parameters the engine fills in rather than the caller.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from capabilities.core.field import Field
from capabilities.core.typecheck import parse_type
from capabilities.errors import RegistrationError

INJECT_MARKER = "__packetflow_inject__"
"""A class with this attribute is a service the engine fills in, not an input: a capability
parameter annotated with it receives that service (``"context"`` or ``"engine"``)."""


def check_keys(data: Mapping[str, Any], known: set[str], where: str) -> None:
    """Refuse keys a data declaration does not know, naming them and the known ones."""
    unknown = set(data) - known
    if unknown:
        raise RegistrationError(
            f"{where}: unknown key(s) {sorted(map(str, unknown))}; expected some of {sorted(known)}"
        )


def as_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise RegistrationError(f"{where}: expected a list, got {value!r}")
    return list(value)


def injected_service(hint: Any) -> str | None:
    """``"context"`` / ``"engine"`` for parameters the engine fills in rather than the caller.

    A parameter annotated ``Context`` receives the caller's (child) context and one annotated
    ``Engine`` the running engine, so a capability can call others with its caller's authority.
    Neither is part of ``requires``. The classes are recognised by their ``INJECT_MARKER``
    attribute (see :mod:`capabilities.core.protocols`), never by module or class name.
    """
    if isinstance(hint, type):
        return getattr(hint, INJECT_MARKER, None)
    return None


def parse_fields(spec: Any, where: str) -> tuple[Field, ...]:
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        pairs = [(str(k), _hint_from_data(v, f"{where}.{k}")) for k, v in spec.items()]
    elif isinstance(spec, Sequence):
        pairs = [(str(n), Any) for n in spec]
    else:
        raise RegistrationError(f"{where}: expected a list of names or a mapping name -> type")
    try:
        return tuple(Field(n, hint) for n, hint in pairs)
    except RegistrationError as exc:  # a bad field name: say where it was declared
        raise RegistrationError(f"{where}: {exc}") from None


def _hint_from_data(value: Any, where: str) -> Any:
    """A type given in data: a type name (``"list[str]"``), a real hint, or nothing (any)."""
    if value is None:
        return Any
    if isinstance(value, str):
        try:
            return parse_type(value, where=where)
        except ValueError as exc:
            raise RegistrationError(str(exc)) from None
    if value is Any or isinstance(value, type) or typing.get_origin(value) is not None:
        return value
    raise RegistrationError(f"{where}: {value!r} is not a type; write it like 'list[str]'")


def import_dotted(path: str, where: str = "function") -> Callable[..., Any]:
    """Import ``package.module:attr`` (or ``package.module.attr``) and return the attribute."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise RegistrationError(f"{where}: {path!r} is not a dotted path like 'package.module:fn'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistrationError(f"{where}: cannot import module {module_name!r} ({exc})") from None
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise RegistrationError(f"{where}: module {module_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise RegistrationError(f"{where}: {path!r} is not callable")
    return obj
