"""What the tool and resource modules need of the server (``server`` imports them, not back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from capabilities.interfaces.mcp.access import Principal

if TYPE_CHECKING:  # types only: the runtime is below this layer, nothing imports back
    from capabilities.core.model import Capability
    from capabilities.runtime.engine import Engine
    from capabilities.runtime.registry import Registry

CATALOGUE_URI = "capabilities://catalogue"


class ServerHost(Protocol):
    """A :class:`~capabilities.interfaces.mcp.server.CapabilityServer`, as its parts see it."""

    registry: Registry
    engine: Engine

    def permitted(self, cap: Capability, principal: Principal) -> bool: ...

    def principal_now(self) -> Principal: ...

    def tool(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]: ...

    def add_resource(self, resource: Any) -> None: ...
