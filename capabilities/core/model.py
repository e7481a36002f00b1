"""The capability: a declarative unit of work with a contract.

A capability says what it does (``intent``, in words), what it needs (``requires``), what it
gives back (``provides``), what the engine must do around every call (``effects``), which
permissions a caller must hold, and how to do it (``execute``). It is a plain, immutable value so
that registries, workflows, scenario files and MCP can all describe the same thing.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from capabilities.core.data import (
    as_list,
    check_keys,
    import_dotted,
    injected_service,
    parse_fields,
)
from capabilities.core.effects import effect_from_data
from capabilities.core.field import Field
from capabilities.core.typecheck import fields_of_return_type
from capabilities.errors import RegistrationError

_MISSING: Any = inspect.Parameter.empty

__all__ = ["Capability", "CapabilityOptions", "DeclarationOptions", "Field", "import_dotted"]


class DeclarationOptions(TypedDict, total=False):
    """The keywords every declaration accepts (capabilities and actors), declared once."""

    name: str | None
    intent: str | None
    provides: Sequence[str] | Mapping[str, Any] | None
    effects: Sequence[Any]
    permissions: Sequence[str]
    examples: Sequence[str]
    metadata: Mapping[str, Any] | None
    # what the capability does to the world, for clients that ask before calling (MCP tool
    # annotations); None = not declared, so it is derived from permissions and kind
    read_only: bool | None
    destructive: bool | None


BEHAVIOUR_KEYS = ("read_only", "destructive")


def behaviour_metadata(options: Mapping[str, Any], where: str) -> dict[str, bool]:
    """The declared ``read_only`` / ``destructive`` flags, kept in a capability's metadata."""
    out = {}
    for key in BEHAVIOUR_KEYS:
        value = options.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise RegistrationError(f"{where}: {key} must be true or false, got {value!r}")
        out[key] = value
    if out.get("read_only") and out.get("destructive"):
        raise RegistrationError(f"{where}: cannot be both read_only and destructive")
    return out


class CapabilityOptions(DeclarationOptions, total=False):
    """The keywords of ``Capability.from_function`` and ``Registry.capability``."""

    policy: Any


DATA_KEYS = frozenset(
    {
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
        *BEHAVIOUR_KEYS,
    }
)


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
        cls, fn: Callable[..., Any], **options: Unpack[CapabilityOptions]
    ) -> Capability:
        """Declare a capability from a function: its signature *is* the contract.

        Parameters are ``requires`` (a default makes one optional), their hints are checked at
        run time, the docstring is the intent unless ``intent`` is given, and ``provides`` names
        the outputs unless the return annotation (a TypedDict or dataclass) does. The keywords
        are :class:`CapabilityOptions`.
        """
        name = options.get("name")
        if not callable(fn):
            raise RegistrationError(f"capability {name!r}: {fn!r} is not callable")
        cap_name = name or getattr(fn, "__name__", None)
        if cap_name is None:
            raise RegistrationError(f"{fn!r} has no __name__; give the capability a name=")
        annotated = annotated_callable(fn)
        hints = type_hints(annotated, f"capability {cap_name!r}")
        requires, inject = signature_fields(fn, hints, f"capability {cap_name!r}")
        provides = _provides_fields(
            cap_name, options.get("provides"), fields_of_return_type(hints.get("return"))
        )
        return cls(
            name=cap_name,
            intent=(options.get("intent") or docstring_of(fn, annotated)).strip(),
            requires=requires,
            provides=provides,
            execute=fn,
            effects=tuple(options.get("effects", ())),
            permissions=tuple(options.get("permissions", ())),
            examples=tuple(options.get("examples", ())),
            policy=options.get("policy"),
            metadata={
                **dict(options.get("metadata") or {}),
                **behaviour_metadata(options, f"capability {cap_name!r}"),
            },
            is_async=inspect.iscoroutinefunction(annotated),
            inject=inject,
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, where: str = "capability") -> Capability:
        """Declare a capability from plain data, e.g. a scenario file entry.

        Keys: ``name``, ``intent``, ``function`` (dotted path ``package.module:function`` or
        ``package.module.function``), optional ``requires`` / ``provides`` (a list of names or a
        mapping name -> type name such as ``"list[str]"``), ``permissions``, ``examples``,
        ``effects`` (``"audit_log"`` or ``{"metric": {...}}``, see ``effect_from_data``) and
        ``metadata``. When ``requires`` is omitted the function's signature supplies it.

        A ``policy`` entry needs the resilience layer, which sits above this one: declare such
        data with ``Registry.register_data`` or ``capabilities.capability_from_data``.
        """
        check_keys(data, set(DATA_KEYS), where)
        if "policy" in data:
            raise RegistrationError(
                f"{where}.policy: a policy from data is parsed by Registry.register_data "
                "(or capabilities.capability_from_data), not Capability.from_data"
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
            permissions=as_list(data.get("permissions", ()), f"{where}.permissions"),
            examples=as_list(data.get("examples", ()), f"{where}.examples"),
            effects=_effects_from_data(data.get("effects", ()), f"{where}.effects"),
            metadata=data.get("metadata"),
            read_only=data.get("read_only"),
            destructive=data.get("destructive"),
        )
        if "requires" in data:
            base = base.replace(
                requires=_declared_requires(base, data["requires"], str(data["function"]), where)
            )
        return base


def annotated_callable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What carries the type hints of ``fn``: the function inside a ``functools.partial``, the
    ``__call__`` of a callable object (its signature already leaves out what was bound)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isroutine(fn) or isinstance(fn, type):
        return fn
    return type(fn).__call__


def type_hints(annotated: Callable[..., Any], who: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(annotated, include_extras=True)
    except Exception as exc:  # unresolvable forward references
        raise RegistrationError(f"{who}: cannot resolve type hints ({exc})") from exc


def docstring_of(fn: Callable[..., Any], annotated: Callable[..., Any]) -> str:
    """A function's docstring; for a callable object its own ``__call__``'s, else its class's."""
    if annotated is fn or isinstance(fn, functools.partial):
        return inspect.getdoc(annotated) or ""
    own = annotated.__doc__
    return inspect.cleandoc(own) if own else inspect.getdoc(type(fn)) or ""


def signature_fields(
    fn: Callable[..., Any], hints: Mapping[str, Any], who: str, *, skip: Sequence[str] = ()
) -> tuple[tuple[Field, ...], tuple[tuple[str, str], ...]]:
    """The inputs a signature declares, and the parameters the engine injects instead."""
    requires: list[Field] = []
    inject: list[tuple[str, str]] = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in skip:
            continue
        service = injected_service(hints.get(p.name))
        if service is not None:
            inject.append((p.name, service))
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            raise RegistrationError(
                f"{who}: parameter {p.name!r} must be a plain named "
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
    return tuple(requires), tuple(inject)


def _effects_from_data(spec: Any, where: str) -> list[Any]:
    return [effect_from_data(e, f"{where}[{i}]") for i, e in enumerate(as_list(spec, where))]


def _declared_requires(base: Capability, spec: Any, function: str, where: str) -> tuple[Field, ...]:
    """Data-declared ``requires`` checked against (and typed from) the function's signature."""
    declared = parse_fields(spec, f"{where}.requires")
    sig = {f.name: f for f in base.requires}
    for f in declared:
        if f.name not in sig:
            raise RegistrationError(
                f"{where}.requires: {f.name!r} is not a parameter of {function}"
            )
    names = {d.name for d in declared}
    extra = [f for f in base.requires if f.required and f.name not in names]
    if extra:
        raise RegistrationError(
            f"{where}.requires: the function also needs {extra[0].name!r}; list it"
        )
    return tuple(
        Field(
            f.name,
            f.type if f.type is not Any else sig[f.name].type,
            required=sig[f.name].required,
            default=sig[f.name].default,
        )
        for f in declared
    )


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
    fields = parse_fields(provides, f"capability {cap_name!r}: provides")
    if from_return:
        fields = tuple(Field(f.name, from_return.get(f.name, f.type)) for f in fields)
    return fields
