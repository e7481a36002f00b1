"""Declaring actors: ``actor_capability`` turns ``on_message(message, state)`` into a capability."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from capabilities.core.data import injected_service, parse_fields
from capabilities.core.model import Capability, DeclarationOptions, Field, behaviour_metadata
from capabilities.errors import RegistrationError

if TYPE_CHECKING:
    pass
from capabilities.runtime.actors.runtime import make_execute
from capabilities.runtime.actors.spec import ACTOR_SCOPES, ActorSpec


class ActorOptions(DeclarationOptions, total=False):
    """The keywords of ``actor_capability`` and ``Registry.actor``: a declaration's, plus the
    message contract (``requires``) and the ``initial_state``."""

    requires: Sequence[str] | Mapping[str, Any] | Sequence[Field] | None
    initial_state: Any
    scope: str  # "principal" (default: each principal has its own state per id) or "shared"


def actor_capability(handler: Callable[..., Any], **options: Unpack[ActorOptions]) -> Capability:
    """Declare an actor capability from an ``on_message(message, state) -> (reply, state)``.

    ``requires`` names the fields every *message* must carry (a list of names, name -> type
    hint / type name, or :class:`Field` objects for optional fields with defaults); ``provides`` names the reply's fields (default: one output ``reply``).
    ``initial_state`` is a JSON-ready value or a factory; parameters annotated ``Engine`` /
    ``Context`` are injected, so an actor can call other capabilities with its caller's
    authority.
    """
    cap_name = options.get("name") or handler.__name__
    inject = _handler_injections(handler, cap_name)
    message_fields, contract = _message_contract(handler, cap_name, options.get("requires"))
    initial_state = options.get("initial_state")
    scope = options.get("scope", "principal")
    if scope not in ACTOR_SCOPES:
        raise RegistrationError(
            f"actor {cap_name!r}: scope must be one of {list(ACTOR_SCOPES)}, got {scope!r}"
        )
    spec = ActorSpec(
        name=cap_name,
        handler=handler,
        initial_state=initial_state if initial_state is not None else dict,
        message_fields=message_fields,
        is_async=inspect.iscoroutinefunction(handler),
        inject=inject,
        message_contract=contract,
        scope=scope,
    )
    spec.fresh_state()  # fail at declaration, not at the first message, if it is not JSON-ready
    provides = options.get("provides")
    out = parse_fields(provides, f"actor {cap_name!r}: provides") if provides else (Field("reply"),)
    return Capability(
        name=cap_name,
        intent=(options.get("intent") or inspect.getdoc(handler) or "").strip(),
        requires=ACTOR_FIELDS,
        provides=out,
        execute=make_execute(spec),
        effects=tuple(options.get("effects", ())),
        permissions=tuple(options.get("permissions", ())),
        examples=tuple(options.get("examples", ())),
        metadata={
            **dict(options.get("metadata") or {}),
            **behaviour_metadata(options, f"actor {cap_name!r}"),
            "actor": spec,
        },
        is_async=spec.is_async,
        kind="actor",
        inject=(("engine", "engine"), ("context", "context")),
    )


ACTOR_FIELDS = (
    Field("actor_id", str),
    Field("message", dict),
    Field("idempotency_key", str | None, required=False, default=None),
)


def _handler_injections(handler: Callable[..., Any], cap_name: str) -> tuple[tuple[str, str], ...]:
    """The handler's injected parameters; refuses a handler without exactly (message, state)."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception as exc:
        raise RegistrationError(f"actor {cap_name!r}: cannot resolve type hints ({exc})") from exc
    plain, inject = [], []
    for p in inspect.signature(handler).parameters.values():
        service = injected_service(hints.get(p.name))
        if service is not None:
            inject.append((p.name, service))
        else:
            plain.append(p.name)
    if len(plain) != 2:
        raise RegistrationError(
            f"actor {cap_name!r}: the handler must take exactly (message, state) plus optional "
            f"Engine/Context parameters; it takes {plain}"
        )
    return tuple(inject)


def _message_contract(
    handler: Callable[..., Any], cap_name: str, requires: Any
) -> tuple[tuple[Field, ...] | None, Capability | None]:
    """The fields every message must carry, and a capability whose ``requires`` checks them."""
    if requires is None:
        return None, None
    if isinstance(requires, Sequence) and all(isinstance(f, Field) for f in requires):
        fields = tuple(requires)  # full Fields: optional ones and defaults allowed
    else:
        fields = parse_fields(requires, f"actor {cap_name!r}: requires")
    contract = Capability(
        name=cap_name, intent="message contract", requires=fields, provides=(), execute=handler
    )
    return fields, contract
