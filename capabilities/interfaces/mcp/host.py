"""What the tool and resource modules need of the server (``server`` imports them, not back),
and :class:`Extras`: what a layer above (the arena) adds to a server."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from capabilities.interfaces.mcp.access import Principal

if TYPE_CHECKING:  # types only: the runtime is below this layer, nothing imports back
    from capabilities.core.model import Capability
    from capabilities.interfaces.mcp.offload import WorkerPool
    from capabilities.runtime.engine import Engine
    from capabilities.runtime.registry import Registry

CATALOGUE_URI = "capabilities://catalogue"
CAPABILITY_TEMPLATE = "capability://{name}"


@dataclass(frozen=True)
class PromptSpec:
    """A prompt template: ``render(**arguments) -> str`` (the user message), its arguments
    as ``name -> description`` (all required)."""

    name: str
    description: str
    render: Callable[..., str]
    arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolSpec:
    """An extra tool: an SDK-decorated function (it may take a ``Context`` for progress)."""

    fn: Callable[..., Any]
    description: str
    annotations: Any = None


@dataclass(frozen=True)
class Extras:
    """What a layer above adds: resources (URI -> reader), resource templates (URI template ->
    reader taking the template's parameters), prompts and tools."""

    resources: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    templates: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    prompts: tuple[PromptSpec, ...] = ()
    tools: tuple[ToolSpec, ...] = ()

    def with_resources(self, more: Mapping[str, Callable[[], Any]]) -> Extras:
        return replace(self, resources={**self.resources, **more}) if more else self


class ServerHost(Protocol):
    """A :class:`~capabilities.interfaces.mcp.server.CapabilityServer`, as its parts see it."""

    registry: Registry
    engine: Engine
    pool: WorkerPool

    def permitted(self, cap: Capability, principal: Principal) -> bool: ...

    def principal_now(self) -> Principal: ...

    def tool(
        self, *, description: str, annotations: Any = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...

    def resource(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]: ...

    def add_resource(self, resource: Any) -> None: ...

    def add_prompt(self, prompt: Any) -> None: ...
