"""The seams between layers: what the runtime offers to the layers below it.

``core`` and ``resilience`` sit below the runtime, yet an effect has to write somewhere and a
policy is handed the running engine. Instead of importing the engine (an upward import), they
name the few things they use here, and :class:`capabilities.Engine` satisfies them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from capabilities.core.effects import EffectSink

if TYPE_CHECKING:  # types only (model and context build on modules that build on this one)
    from capabilities.core.context import Context
    from capabilities.core.model import Capability
    from capabilities.core.security import PermissionHierarchy

ATTEMPTS_ATTRIBUTE = "packetflow_attempts"
"""Set by a policy on an exception that failed after several attempts, so a failed Result
counts them."""


@dataclass(slots=True)
class PolicyOutcome:
    value: Any
    attempts: int = 1
    degraded: bool = False
    served_by: str | None = None


class CapabilityLookup(Protocol):
    """Find a registered capability by name (a :class:`capabilities.Registry` is one)."""

    def get(self, name: str) -> Capability: ...


class RegistryHandle(CapabilityLookup, Protocol):
    """The registry, seen from the layers below it (composition, actors): what they call."""

    def lookup(self, name: str) -> Capability | None: ...

    def names(self) -> list[str]: ...

    def register(self, cap: Capability, *, replace: bool = False) -> Capability: ...

    def register_data(self, data: Mapping[str, Any], *, where: str = ...) -> Capability: ...

    def discover(
        self,
        text: str,
        k: int = ...,
        *,
        can_run_with: Iterable[str] | None = ...,
        provides: Iterable[str] | None = ...,
    ) -> list[Any]: ...

    def __iter__(self) -> Iterator[Capability]: ...

    def __len__(self) -> int: ...


class EngineHandle(EffectSink, Protocol):
    """The running engine, seen from the layers below it (policies, workflows, actors).

    Annotating a capability parameter with it injects the running engine, like ``Engine``.
    """

    __packetflow_inject__: ClassVar[str] = "engine"  # see core.data.INJECT_MARKER

    @property
    def registry(self) -> RegistryHandle: ...

    @property
    def hierarchy(self) -> PermissionHierarchy: ...

    def clock(self) -> float: ...

    def run(self, capability: Any, inputs: Any = None, context: Any = None) -> Any: ...

    async def run_async(self, capability: Any, inputs: Any = None, context: Any = None) -> Any: ...


class ExecutionPolicy(Protocol):
    """How a capability is called: retries, timeouts, circuit breaking, fallback.

    ``call`` performs one attempt; a policy decides how often and whether to call it, and
    returns the raw output plus the number of attempts and whether the answer is degraded.
    ``inputs`` are the checked inputs, for a fallback capability to be called with.
    ``capabilities.resilience.Policy`` is the implementation.
    """

    def execute_sync(
        self,
        call: Callable[[], Any],
        cap: Capability,
        engine: EngineHandle,
        context: Context,
        inputs: Mapping[str, Any],
    ) -> PolicyOutcome: ...

    async def execute_async(
        self,
        call: Callable[[], Awaitable[Any]],
        cap: Capability,
        engine: EngineHandle,
        context: Context,
        inputs: Mapping[str, Any],
    ) -> PolicyOutcome: ...
