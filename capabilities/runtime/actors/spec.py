"""What an actor is: its spec (handler, initial state, message contract), and finding actors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capabilities.core.model import Capability, Field
from capabilities.errors import PacketFlowError

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry
from capabilities.runtime.actors.store import dumps

ACTOR_INPUTS = ("actor_id", "message", "idempotency_key")
ACTOR_SCOPES = ("principal", "shared")
ANONYMOUS = "anonymous"  # the principal of a default ``Context()``


# -- declaration -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActorSpec:
    """What the runtime needs to run an actor: its handler, initial state and message contract."""

    name: str
    handler: Callable[..., Any]
    initial_state: Any
    message_fields: tuple[Field, ...] | None
    is_async: bool
    inject: tuple[tuple[str, str], ...] = ()
    message_contract: Capability | None = field(default=None, compare=False, repr=False)
    scope: str = "principal"

    def storage_id(self, actor_id: str, principal: str) -> str:
        """The key an actor id is stored under: the caller's own namespace by default.

        Why: an actor id is chosen by the caller, so two principals naming the same id must not
        share a conversation (a confused deputy would hand one principal's memory to another).
        ``scope="shared"`` is the capability's explicit declaration that every principal sees
        one state per id. The principal is escaped so ``principal/actor_id`` splits one way only.
        """
        if self.scope == "shared":
            return actor_id
        return f"{principal.replace('%', '%25').replace('/', '%2F')}/{actor_id}"

    def fresh_state(self) -> Any:
        """A new initial state (a callable ``initial_state`` is a factory, e.g. ``dict``)."""
        value = self.initial_state() if callable(self.initial_state) else self.initial_state
        return json.loads(dumps(self.name, "initial_state", value))


def actor_spec(cap: Capability) -> ActorSpec:
    spec = cap.metadata.get("actor") if cap.kind == "actor" else None
    if not isinstance(spec, ActorSpec):
        raise PacketFlowError(f"capability {cap.name!r} is not an actor (kind={cap.kind!r})")
    return spec


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    seq: int
    message: Any
    reply: Any
    idempotency_key: str | None
    time: float


def actors_of(registry: Registry) -> list[Capability]:
    """The actor capabilities of ``registry``, in registration order."""
    return [c for c in registry if c.kind == "actor"]
