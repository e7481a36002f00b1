"""Running a built workflow: the compiled plan, sync or async, parallel branches on a shared pool."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from capabilities.core.context import Context
from capabilities.core.model import Capability
from capabilities.core.protocols import EngineHandle, PolicyOutcome
from capabilities.errors import (
    StepFailed,
)

if TYPE_CHECKING:
    pass
from capabilities.composition.workflow.conditions import Condition


@dataclass(frozen=True, slots=True)
class RunStep:
    label: str
    cap: Capability
    sources: tuple[tuple[str, str], ...]  # (parameter, data field)
    targets: tuple[tuple[str, str], ...]  # (output, data field)
    grants: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class RunParallel:
    branches: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RunBranch:
    when: Condition
    then: tuple[Any, ...]
    otherwise: tuple[Any, ...]


_pool_lock = threading.Lock()


_pool: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    """The process-wide pool sync steps of parallel branches run on (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="pf-workflow")
        return _pool


@dataclass(slots=True)
class Returned:
    """What a workflow's execute hands its policy: the outputs and the degraded steps."""

    outputs: dict[str, Any]
    degraded: tuple[str, ...]


class WorkflowPolicy:
    """Marks a workflow's result degraded when any step's was (never silently wrong)."""

    def execute_sync(self, call, cap, engine, context, inputs=None) -> PolicyOutcome:
        return _unwrap(call())

    async def execute_async(self, call, cap, engine, context, inputs=None) -> PolicyOutcome:
        return _unwrap(await call())

    def __repr__(self) -> str:
        return "WorkflowPolicy()"


def _unwrap(value: Any) -> PolicyOutcome:
    if isinstance(value, Returned):
        return PolicyOutcome(value.outputs, degraded=bool(value.degraded))
    return PolicyOutcome(value)


WORKFLOW_POLICY = WorkflowPolicy()


class Runner:
    """Executes a compiled plan; one instance per built workflow, no per-run state.

    A workflow whose steps are all synchronous runs synchronously (``execute_sync``): the
    engine calls it inline, parallel branches go to the thread pool, and no event loop is
    started per call. As soon as one step is async the whole workflow is (``execute``), and
    parallel branches become asyncio tasks — sync steps inside them still go to the pool.
    """

    def __init__(self, name: str, plan: tuple[Any, ...], provides: tuple[str, ...]):
        self.name = name
        self.plan = plan
        self.provides = provides

    # -- shared by both modes ---------------------------------------------------------------
    @staticmethod
    def child(node: RunStep, ctx: Context, engine: EngineHandle) -> Context:
        if node.grants is None:
            return ctx.child("inherit", label=node.label)
        return ctx.child(
            "restrict", grants=node.grants, label=node.label, hierarchy=engine.hierarchy
        )

    def store(self, node: RunStep, result: Any, data: dict, degraded: list[str]) -> None:
        if result.status == "failed":
            raise StepFailed(self.name, node.label, result.error)
        if result.status == "degraded":
            degraded.append(node.label)
        outputs = result.outputs
        for out, target in node.targets:
            data[target] = outputs[out]

    @staticmethod
    def open_branch(node: RunBranch, data: dict, ctx: Context, engine: EngineHandle):
        chosen = node.when(MappingProxyType(data))
        span = ctx.trace.start(
            f"branch[{'then' if chosen else 'otherwise'}]",
            ctx.span_id,
            engine.clock(),
            condition=node.when.text,
        )
        return (node.then if chosen else node.otherwise), span

    @staticmethod
    def merge(data: dict, snapshot: dict, results: list[dict]) -> None:
        for branch_data in results:
            for k, v in branch_data.items():
                if k not in snapshot or snapshot[k] is not v:
                    data[k] = v

    # -- synchronous mode -------------------------------------------------------------------
    def execute_sync(self, engine: EngineHandle, context: Context, **inputs: Any) -> Returned:
        data = dict(inputs)
        degraded: list[str] = []
        self.sequence_sync(self.plan, data, engine, context, degraded)
        return Returned({n: data[n] for n in self.provides}, tuple(degraded))

    def sequence_sync(self, plan, data, engine: EngineHandle, ctx: Context, degraded) -> None:
        for node in plan:
            kind = type(node)
            if kind is RunStep:
                child = self.child(node, ctx, engine)
                inputs = {param: data[src] for param, src in node.sources if src in data}
                self.store(node, engine.run(node.cap, inputs, child), data, degraded)
            elif kind is RunParallel:
                self.parallel_sync(node, data, engine, ctx, degraded)
            else:
                chosen, span = self.open_branch(node, data, ctx, engine)
                span.status = "failed"
                try:
                    self.sequence_sync(chosen, data, engine, ctx.at_span(span.span_id), degraded)
                    span.status = "ok"
                finally:
                    span.end = engine.clock()

    def parallel_sync(self, node: RunParallel, data, engine: EngineHandle, ctx: Context, degraded):
        span = ctx.trace.start("parallel", ctx.span_id, engine.clock())
        inner = ctx.at_span(span.span_id)
        snapshot = dict(data)
        results = [dict(snapshot) for _ in node.branches]
        pool = _thread_pool()
        futures = [
            pool.submit(
                contextvars.copy_context().run,
                self.sequence_sync,
                plan,
                branch_data,
                engine,
                inner,
                degraded,
            )
            for plan, branch_data in zip(node.branches[1:], results[1:])
        ]
        errors: list[BaseException] = []
        try:  # the first branch runs on this thread: one hand-off fewer, one pool slot fewer
            self.sequence_sync(node.branches[0], results[0], engine, inner, degraded)
        except Exception as exc:
            errors.append(exc)
        for future in futures:  # threads cannot be cancelled: wait for every branch
            failure = future.exception()
            if failure is not None:
                errors.append(failure)
        span.end = engine.clock()
        span.status = "failed" if errors else "ok"
        if errors:
            raise errors[0]
        self.merge(data, snapshot, results)

    # -- asynchronous mode ------------------------------------------------------------------
    async def execute(self, engine: EngineHandle, context: Context, **inputs: Any) -> Returned:
        data = dict(inputs)
        degraded: list[str] = []
        await self.sequence(self.plan, data, engine, context, degraded, False)
        return Returned({n: data[n] for n in self.provides}, tuple(degraded))

    async def sequence(self, plan, data, engine: EngineHandle, ctx: Context, degraded, threaded):
        for node in plan:
            kind = type(node)
            if kind is RunStep:
                await self.step(node, data, engine, ctx, degraded, threaded)
            elif kind is RunParallel:
                await self.parallel(node, data, engine, ctx, degraded)
            else:
                chosen, span = self.open_branch(node, data, ctx, engine)
                span.status = "failed"
                try:
                    await self.sequence(
                        chosen, data, engine, ctx.at_span(span.span_id), degraded, threaded
                    )
                    span.status = "ok"
                finally:
                    span.end = engine.clock()

    async def step(
        self, node: RunStep, data, engine: EngineHandle, ctx: Context, degraded, threaded
    ):
        inputs = {param: data[src] for param, src in node.sources if src in data}
        child = self.child(node, ctx, engine)
        cap = node.cap
        if cap.is_async or not threaded:
            result = await engine.run_async(cap, inputs, child)
        else:
            loop = asyncio.get_running_loop()
            call = contextvars.copy_context().run
            result = await loop.run_in_executor(
                _thread_pool(), call, engine.run, cap, inputs, child
            )
        self.store(node, result, data, degraded)

    async def parallel(self, node: RunParallel, data, engine: EngineHandle, ctx: Context, degraded):
        span = ctx.trace.start("parallel", ctx.span_id, engine.clock())
        inner = ctx.at_span(span.span_id)
        snapshot = dict(data)
        results = [dict(snapshot) for _ in node.branches]
        status, error = "ok", None
        try:
            async with asyncio.TaskGroup() as group:
                for branch_plan, branch_data in zip(node.branches, results):
                    group.create_task(
                        self.sequence(branch_plan, branch_data, engine, inner, degraded, True)
                    )
        except BaseExceptionGroup as eg:
            status = "failed"
            error = eg.exceptions[0]
        finally:
            span.end = engine.clock()
            span.status = status
        if error is not None:
            raise error
        self.merge(data, snapshot, results)


def plan_is_async(plan: Sequence[Any]) -> bool:
    for node in plan:
        if type(node) is RunStep:
            if node.cap.is_async:
                return True
        elif type(node) is RunParallel:
            if any(plan_is_async(b) for b in node.branches):
                return True
        elif plan_is_async(node.then) or plan_is_async(node.otherwise):
            return True
    return False
