"""The capability: a declarative unit of work with a contract.

A capability says what it does (``intent``, in words), what it needs (``requires``), what it
gives back (``provides``), what the engine must do around every call (``effects``), which
permissions a caller must hold, and how to do it (``execute``). It is a plain, immutable value so
that registries, workflows, scenario files and MCP can all describe the same thing.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .effects import effect_from_data
from .errors import RegistrationError
from .typecheck import Predicate, compile_hint, describe, fields_of_return_type, parse_type

_MISSING: Any = inspect.Parameter.empty


@dataclass(frozen=True, slots=True)
class Field:
    """One input or output of a capability: a name, a type hint and, for inputs, a default."""

    name: str
    type: Any = Any
    required: bool = True
    default: Any = None
    description: str = ""
    check: Predicate = dataclasses.field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise RegistrationError(f"field name {self.name!r} is not a valid identifier")
        object.__setattr__(self, "check", compile_hint(self.type))

    @property
    def type_name(self) -> str:
        return describe(self.type)


@dataclass(frozen=True, slots=True)
class Capability:
    """A declared unit of work. Build one with ``Registry.capability`` or :meth:`from_data`.

    ``execute`` receives the inputs as keyword arguments and returns the outputs: a mapping of
    the ``provides`` names, a dataclass instance, or — when exactly one output is provided — the
    bare value. ``examples`` are sample requests that discovery and routing may use as extra
    anchors of meaning; ``metadata`` holds whatever a layer above needs (e.g. the arena's
    service time) without the core having to know about it.
    """

    name: str
    intent: str
    requires: tuple[Field, ...]
    provides: tuple[Field, ...]
    execute: Callable[..., Any]
    effects: tuple[Any, ...] = ()
    permissions: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    policy: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    is_async: bool = False
    kind: str = "function"
    inject: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise RegistrationError(
                f"capability name {self.name!r} must be a valid identifier (letters, digits, _)"
            )
        if not isinstance(self.intent, str) or not self.intent.strip():
            raise RegistrationError(
                f"capability {self.name!r}: intent is empty; give it a docstring or intent='...'"
            )
        for group, fields in (("requires", self.requires), ("provides", self.provides)):
            seen: set[str] = set()
            for f in fields:
                if f.name in seen:
                    raise RegistrationError(
                        f"capability {self.name!r}: {group} names {f.name!r} twice"
                    )
                seen.add(f.name)
        for effect in self.effects:
            if not callable(getattr(effect, "apply", None)):
                raise RegistrationError(
                    f"capability {self.name!r}: effect {effect!r} is not an effect; "
                    "use audit_log(...) or metric(...)"
                )

    # -- views -------------------------------------------------------------------------------
    @property
    def required_inputs(self) -> frozenset[str]:
        return frozenset(f.name for f in self.requires if f.required)

    @property
    def input_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.requires)

    @property
    def output_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.provides)

    @property
    def description_text(self) -> str:
        """What discovery embeds: the name in words, then the intent."""
        return f"{self.name.replace('_', ' ')}: {self.intent}"

    def replace(self, **changes: Any) -> Capability:
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (used by catalogues, MCP and the CLI)."""
        return {
            "name": self.name,
            "intent": self.intent,
            "kind": self.kind,
            "requires": [
                {"name": f.name, "type": f.type_name, "required": f.required} for f in self.requires
            ],
            "provides": [{"name": f.name, "type": f.type_name} for f in self.provides],
            "permissions": list(self.permissions),
            "effects": [repr(e) for e in self.effects],
        }

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        intent: str | None = None,
        provides: Sequence[str] | Mapping[str, Any] | None = None,
        effects: Sequence[Any] = (),
        permissions: Sequence[str] = (),
        examples: Sequence[str] = (),
        policy: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Capability:
        """Declare a capability from a function: its signature *is* the contract.

        Parameters are ``requires`` (a default makes one optional), their hints are checked at
        run time, the docstring is the intent unless ``intent`` is given, and ``provides`` names
        the outputs unless the return annotation (a TypedDict or dataclass) does.
        """
        if not callable(fn):
            raise RegistrationError(f"capability {name!r}: {fn!r} is not callable")
        cap_name = name or getattr(fn, "__name__", None)
        if cap_name is None:
            raise RegistrationError(f"{fn!r} has no __name__; give the capability a name=")
        annotated = _annotated(fn)
        try:
            hints = typing.get_type_hints(annotated, include_extras=True)
        except Exception as exc:  # unresolvable forward references
            raise RegistrationError(
                f"capability {cap_name!r}: cannot resolve type hints ({exc})"
            ) from exc
        requires = []
        inject = []
        for p in inspect.signature(fn).parameters.values():
            service = _injected_service(hints.get(p.name))
            if service is not None:
                inject.append((p.name, service))
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
                raise RegistrationError(
                    f"capability {cap_name!r}: parameter {p.name!r} must be a plain named "
                    "parameter (no *args, **kwargs or positional-only), because each input is "
                    "passed by name"
                )
            optional = p.default is not _MISSING
            requires.append(
                Field(
                    p.name,
                    hints.get(p.name, Any),
                    required=not optional,
                    default=p.default if optional else None,
                )
            )
        ret_fields = fields_of_return_type(hints.get("return"))
        out = _provides_fields(cap_name, provides, ret_fields)
        if annotated is fn or isinstance(fn, functools.partial):
            doc = inspect.getdoc(annotated) or ""
        else:  # a callable object: its own __call__'s docstring, else its class's
            own = annotated.__doc__
            doc = inspect.cleandoc(own) if own else inspect.getdoc(type(fn)) or ""
        return cls(
            name=cap_name,
            intent=(intent or doc).strip(),
            requires=tuple(requires),
            provides=out,
            execute=fn,
            effects=tuple(effects),
            permissions=tuple(permissions),
            examples=tuple(examples),
            policy=policy,
            metadata=dict(metadata or {}),
            is_async=inspect.iscoroutinefunction(annotated),
            inject=tuple(inject),
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, where: str = "capability") -> Capability:
        """Declare a capability from plain data, e.g. a scenario file entry.

        Keys: ``name``, ``intent``, ``function`` (dotted path ``package.module:function`` or
        ``package.module.function``), optional ``requires`` / ``provides`` (a list of names or a
        mapping name -> type name such as ``"list[str]"``), ``permissions``, ``examples``,
        ``effects`` (``"audit_log"`` or ``{"metric": {...}}``, see ``effect_from_data``),
        ``policy`` (see ``capabilities.resilience.Policy.from_data``) and ``metadata``. When
        ``requires`` is omitted the function's signature supplies it.
        """
        known = {
            "name",
            "intent",
            "function",
            "requires",
            "provides",
            "permissions",
            "examples",
            "metadata",
            "effects",
            "policy",
        }
        unknown = set(data) - known
        if unknown:
            raise RegistrationError(
                f"{where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(known)}"
            )
        for key in ("name", "function"):
            if key not in data:
                raise RegistrationError(f"{where}: missing required key {key!r}")
        fn = import_dotted(str(data["function"]), where=f"{where}.function")
        base = cls.from_function(
            fn,
            name=str(data["name"]),
            intent=data.get("intent"),
            provides=data.get("provides"),
            permissions=_as_list(data.get("permissions", ()), f"{where}.permissions"),
            examples=_as_list(data.get("examples", ()), f"{where}.examples"),
            effects=[
                effect_from_data(e, f"{where}.effects[{i}]")
                for i, e in enumerate(_as_list(data.get("effects", ()), f"{where}.effects"))
            ],
            metadata=data.get("metadata"),
            policy=_policy_from_data(data.get("policy"), f"{where}.policy"),
        )
        if "requires" in data:
            declared = _parse_fields(data["requires"], f"{where}.requires")
            sig = {f.name: f for f in base.requires}
            for f in declared:
                if f.name not in sig:
                    raise RegistrationError(
                        f"{where}.requires: {f.name!r} is not a parameter of {data['function']}"
                    )
            extra = [
                f for f in base.requires if f.required and f.name not in {d.name for d in declared}
            ]
            if extra:
                raise RegistrationError(
                    f"{where}.requires: the function also needs {extra[0].name!r}; list it"
                )
            merged = tuple(
                Field(
                    f.name,
                    f.type if f.type is not Any else sig[f.name].type,
                    required=sig[f.name].required,
                    default=sig[f.name].default,
                )
                for f in declared
            )
            base = base.replace(requires=merged)
        return base


def _policy_from_data(spec: Any, where: str) -> Any:
    if spec is None:
        return None
    from .resilience import Policy  # resilience builds on the engine, which builds on this

    return Policy.from_data(spec, where=where)


def _annotated(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What carries the type hints of ``fn``: the function inside a ``functools.partial``, the
    ``__call__`` of a callable object (its signature already leaves out what was bound)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isroutine(fn) or isinstance(fn, type):
        return fn
    return type(fn).__call__


def _check_keys(data: Mapping[str, Any], known: set[str], where: str) -> None:
    """Refuse keys a data declaration does not know, naming them and the known ones."""
    unknown = set(data) - known
    if unknown:
        raise RegistrationError(
            f"{where}: unknown key(s) {sorted(map(str, unknown))}; expected some of {sorted(known)}"
        )


def _as_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise RegistrationError(f"{where}: expected a list, got {value!r}")
    return list(value)


def _injected_service(hint: Any) -> str | None:
    """``"context"`` / ``"engine"`` for parameters the engine fills in rather than the caller.

    A parameter annotated ``Context`` receives the caller's (child) context and one annotated
    ``Engine`` the running engine, so a capability can call others with its caller's authority.
    Neither is part of ``requires``.
    """
    if isinstance(hint, type) and hint.__module__ in (
        "capabilities.context",
        "capabilities.engine",
    ):
        return {"Context": "context", "Engine": "engine"}.get(hint.__name__)
    return None


def _parse_fields(spec: Any, where: str) -> tuple[Field, ...]:
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


def _provides_fields(
    cap_name: str,
    provides: Sequence[str] | Mapping[str, Any] | None,
    from_return: dict[str, Any] | None,
) -> tuple[Field, ...]:
    if provides is None:
        if from_return is None:
            raise RegistrationError(
                f"capability {cap_name!r}: say what it provides with provides=[...] or a "
                "TypedDict / dataclass return type"
            )
        return tuple(Field(k, v) for k, v in from_return.items())
    fields = _parse_fields(provides, f"capability {cap_name!r}: provides")
    if from_return:
        fields = tuple(Field(f.name, from_return.get(f.name, f.type)) for f in fields)
    return fields


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
