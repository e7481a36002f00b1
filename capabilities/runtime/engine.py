"""The engine: validate -> authorise -> execute (with the capability's policy) -> effects -> Result.

``Engine.run`` is on the hot path of everything above it (workflows, the arena, MCP), so it does
one dictionary lookup, one pass over the contract, one span and the declared effects — nothing
per call that could be done once at declaration time.

Caller mistakes (unknown capability, inputs that break the contract, missing permissions) raise
at once: they are bugs at the call site. Anything the capability itself does wrong — raising,
breaking its output contract, timing out — comes back as a failed :class:`Result`, so one bad
capability never brings down the engine or the simulation running it.

That includes a capability calling ``sys.exit()``: ``SystemExit`` becomes a failed Result, since
a library function deciding to end the whole process (a simulation, an MCP server) is a bug in
that function, not a request the engine should honour. ``KeyboardInterrupt`` (and asyncio's
cancellation) still propagate: they come from the *user* or the event loop, not the
capability, and swallowing them would make a loop of runs impossible to stop with Ctrl-C.

What ``run`` accepts: a registered name, a :class:`Capability`, or a :class:`Workflow` value
(``engine.run(registry.compose(have=..., want=...), inputs)``) — built and checked against the
registry on first use and cached on the engine. Anything else is refused with a message
saying what to pass.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from capabilities.composition.workflow import Workflow
from capabilities.core.audit import AuditStore
from capabilities.core.context import Context
from capabilities.core.contracts import check_inputs, check_outputs
from capabilities.core.effects import AuditLog, Execution, MetricsRegistry
from capabilities.core.model import Capability
from capabilities.core.protocols import ATTEMPTS_ATTRIBUTE, PolicyOutcome
from capabilities.core.security import DEFAULT_HIERARCHY, PermissionHierarchy
from capabilities.core.tracing import Span, Trace
from capabilities.errors import CapabilityNotFound, ContractError, PacketFlowError, PermissionDenied

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry  # types only

_WORKFLOW_CACHE = 256  # built Workflow values kept per engine


@dataclass(slots=True)
class Result:
    """The outcome of one execution.

    ``status`` is ``"ok"``, ``"degraded"`` (a fallback answered; the outputs are marked, never
    silently wrong) or ``"failed"`` (``error`` holds the exception).
    """

    capability: str
    status: str
    outputs: dict[str, Any]
    error: BaseException | None
    duration: float
    request_id: str
    span: Span
    trace: Trace = field(repr=False)
    attempts: int = 1
    served_by: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def unwrap(self) -> dict[str, Any]:
        """The outputs, or raise the error that made this execution fail."""
        if self.error is not None and self.status == "failed":
            raise self.error
        return self.outputs


class Engine:
    """Runs capabilities of a registry and performs their declared effects.

    ``store`` is the SQLite file for the audit log (``":memory:"`` keeps it in memory).
    ``audit_mode`` says how audit rows reach that file: ``"batched"`` (group commit by a
    background thread every ``flush_interval`` seconds) or ``"durable"`` (one commit per
    execution, ``synchronous=FULL``); see ``docs/durability.md`` for what each can lose.
    ``clock`` is injectable so simulations and tests can run on their own time.

    ``plain_outputs`` makes every output pass the JSON-data check (finite numbers, strings,
    lists, string-keyed dicts; see :mod:`capabilities.core.jsondata`); a capability returning
    ``object()`` or NaN then gets a failed Result naming the field. It defaults to on whenever
    the engine has a file store — what it runs is then meant to be kept (audited, logged by
    actors, sent over MCP) — and off for ``":memory:"``, where steps of a simulation may hand
    each other arbitrary Python objects (arrays, models).
    """

    __packetflow_inject__: ClassVar[str] = "engine"  # injected into capabilities (core.data)

    def __init__(
        self,
        registry: Registry,
        store: str = ":memory:",
        *,
        metrics: MetricsRegistry | None = None,
        clock: Callable[[], float] = time.perf_counter,
        hierarchy: PermissionHierarchy = DEFAULT_HIERARCHY,
        audit_mode: str = "batched",
        flush_interval: float = 0.005,
        plain_outputs: bool | None = None,
    ):
        self.registry = registry
        self.store = str(store)
        self.audit = AuditStore(self.store, mode=audit_mode, flush_interval=flush_interval)
        self.plain_outputs = self.store != ":memory:" if plain_outputs is None else plain_outputs
        self._workflows: dict[int, tuple[Workflow, Capability]] = {}  # id -> (value, built)
        self._workflows_lock = threading.Lock()
        self.metrics = metrics if metrics is not None else MetricsRegistry()
        self.clock = clock
        self._lookup = registry.lookup  # bound once: resolving a name is on every run's path
        self.hierarchy = hierarchy

    # -- public API ----------------------------------------------------------------------------
    def run(
        self,
        capability: str | Capability | Workflow,
        inputs: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Result:
        """Execute a capability synchronously (async capabilities run in a fresh event loop)."""
        cap = self._resolve(capability)
        if cap.is_async:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self.run_async(cap, inputs, context))
            raise PacketFlowError(
                f"capability {cap.name!r} is async and an event loop is running; "
                "use 'await engine.run_async(...)'"
            )
        ctx, span, kwargs = self._begin(cap, inputs, context)
        try:
            if cap.policy is None:  # the fast path, inline (one call less per run)
                outcome = PolicyOutcome(cap.execute(**kwargs))
            else:
                outcome = self._call(cap, ctx, span, kwargs)
        except (Exception, SystemExit) as exc:  # not KeyboardInterrupt: see the module doc
            return self._finish(cap, ctx, span, kwargs, None, exc)
        return self._finish(cap, ctx, span, kwargs, outcome, None)

    async def run_async(
        self,
        capability: str | Capability | Workflow,
        inputs: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Result:
        """Execute a capability from async code; sync capabilities are called inline."""
        cap = self._resolve(capability)
        ctx, span, kwargs = self._begin(cap, inputs, context)
        try:
            if cap.is_async:
                outcome = await self._call_async(cap, ctx, span, kwargs)
            else:
                outcome = self._call(cap, ctx, span, kwargs)
        except (Exception, SystemExit) as exc:  # not KeyboardInterrupt / CancelledError
            return self._finish(cap, ctx, span, kwargs, None, exc)
        return self._finish(cap, ctx, span, kwargs, outcome, None)

    # run and run_async share _begin / _call / _finish; they differ only in awaiting
    def _call(self, cap: Capability, ctx: Context, span: Span, kwargs: dict) -> PolicyOutcome:
        """One synchronous call of ``cap``, through its policy if it has one."""
        if cap.policy is None:
            return PolicyOutcome(cap.execute(**kwargs))
        return cap.policy.execute_sync(
            lambda: cap.execute(**kwargs), cap, self, ctx.at_span(span.span_id), kwargs
        )

    async def _call_async(
        self, cap: Capability, ctx: Context, span: Span, kwargs: dict
    ) -> PolicyOutcome:
        """The awaited twin of :meth:`_call`, for async capabilities."""
        if cap.policy is None:
            return PolicyOutcome(await cap.execute(**kwargs))
        return await cap.policy.execute_async(
            lambda: cap.execute(**kwargs), cap, self, ctx.at_span(span.span_id), kwargs
        )

    def authorise(self, cap: Capability, context: Context) -> None:
        """Raise :class:`PermissionDenied` unless ``context`` covers every permission of ``cap``."""
        if cap.permissions:
            missing = self.hierarchy.missing(context.grants, cap.permissions)
            if missing:
                raise PermissionDenied(cap.name, missing[0], context.principal)

    def permitted(self, cap: Capability, context: Context) -> bool:
        return not cap.permissions or not self.hierarchy.missing(context.grants, cap.permissions)

    def close(self) -> None:
        self.audit.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------
    def _resolve(self, capability: str | Capability | Workflow) -> Capability:
        if isinstance(capability, str):
            cap = self._lookup(capability)
            if cap is None:
                raise CapabilityNotFound(capability, self.registry.names())
            return cap
        if isinstance(capability, Capability):
            return capability
        if isinstance(capability, Workflow):
            return self._built(capability)
        raise PacketFlowError(
            f"Engine.run: cannot run a {type(capability).__name__} ({capability!r:.60}); pass a "
            "registered capability's name, a Capability, or a Workflow (e.g. registry.compose(...))"
        )

    def _built(self, workflow: Workflow) -> Capability:
        """The workflow built against this engine's registry, once (a WorkflowError if it does
        not fit). Keyed by identity: a Workflow holds dicts, so it is not hashable, and the
        cache keeps the value alive so its id cannot be reused while cached."""
        entry = self._workflows.get(id(workflow))
        if entry is not None and entry[0] is workflow:
            return entry[1]
        cap = workflow.build(self.registry)
        with self._workflows_lock:
            if len(self._workflows) >= _WORKFLOW_CACHE:
                self._workflows.pop(next(iter(self._workflows)))  # the oldest
            self._workflows[id(workflow)] = (workflow, cap)
        return cap

    def _begin(
        self, cap: Capability, inputs: Mapping[str, Any] | None, context: Context | None
    ) -> tuple[Context, Span, dict[str, Any]]:
        ctx = context if context is not None else Context()
        span = ctx.trace.start(cap.name, ctx.span_id, self.clock())
        if ctx.parent is not None:  # a propagated context: the span shows how authority flowed
            span.attributes["context"] = ctx.describe()
        try:
            kwargs = check_inputs(cap, inputs if inputs is not None else {})
            self.authorise(cap, ctx)
        except (ContractError, PermissionDenied) as exc:
            status = "denied" if isinstance(exc, PermissionDenied) else "rejected"
            self._close_span(span, status, exc)
            keys = tuple(inputs) if isinstance(inputs, Mapping) else ()
            execution = Execution(
                cap.name, keys, status, span.duration, ctx.request_id, ctx.principal, str(exc)
            )
            self._effects(cap, execution)
            if status == "denied" and not any(isinstance(e, AuditLog) for e in cap.effects):
                self.audit.write(execution, "warning")  # a denial is audited, declared or not
            raise
        for param, service in cap.inject:
            kwargs[param] = ctx.at_span(span.span_id) if service == "context" else self
        return ctx, span, kwargs

    def _close_span(self, span: Span, status: str, error: BaseException | None) -> None:
        span.end = self.clock()
        span.status = status
        if error is not None:
            span.attributes["error"] = f"{type(error).__name__}: {error}"

    def _finish(
        self,
        cap: Capability,
        ctx: Context,
        span: Span,
        kwargs: dict[str, Any],
        outcome: PolicyOutcome | None,
        error: BaseException | None,
    ) -> Result:
        outputs: dict[str, Any] = {}
        attempts, served_by, status = 1, None, "ok"
        if outcome is not None:
            attempts, served_by = outcome.attempts, outcome.served_by
            served = cap if served_by is None else self.registry.get(served_by)
            try:
                outputs = check_outputs(served, outcome.value, plain=self.plain_outputs)
            except ContractError as exc:
                error = exc
            else:
                status = "degraded" if outcome.degraded else "ok"
        if error is not None:
            status = "failed"
            attempts = getattr(error, ATTEMPTS_ATTRIBUTE, attempts)
        self._close_span(span, status, error)
        if attempts != 1:
            span.attributes["attempts"] = attempts
        if cap.effects:
            keys = tuple(kwargs)
            if cap.inject:  # injected services are not inputs
                injected = dict(cap.inject)
                keys = tuple(k for k in keys if k not in injected)
            self._effects(
                cap,
                Execution(
                    cap.name,
                    keys,
                    status,
                    span.duration,
                    ctx.request_id,
                    ctx.principal,
                    None if error is None else f"{type(error).__name__}: {error}",
                    outputs,
                    attempts,
                ),
            )
        return Result(
            cap.name,
            status,
            outputs,
            error,
            span.duration,
            ctx.request_id,
            span,
            ctx.trace,
            attempts,
            served_by,
        )

    def _effects(self, cap: Capability, execution: Execution) -> None:
        for effect in cap.effects:
            effect.apply(execution, self)
