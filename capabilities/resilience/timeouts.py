"""Timeouts around one attempt: wall-clock (a watcher thread / asyncio.wait_for) or simulated."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from capabilities.errors import (
    ExecutionTimeout,
)

if TYPE_CHECKING:
    from capabilities.core.effects import MetricsRegistry
    from capabilities.core.model import Capability


def over_time(start: float, end: float, timeout: float) -> bool:
    """A simulated attempt from ``start`` to ``end`` took longer than ``timeout``. Why the
    tolerance: a float clock far from zero reads ``(t + 3) - t`` as ``3.0000000000000004``, and
    an attempt that took exactly its timeout must not time out for the rounding."""
    return end - start > timeout + 1e-9 * max(1.0, abs(start), abs(end))


def timed_sync(
    policy: Any, call: Callable[[], Any], cap: Capability, metrics: MetricsRegistry
) -> Any:
    if policy.timeout is None:
        return call()
    if policy.simulated:
        start = policy.clock()
        value = call()
        if over_time(start, policy.clock(), policy.timeout):
            metrics.inc("resilience.timeouts", cap.name, "timeout")
            raise ExecutionTimeout(cap.name, policy.timeout)
        return value
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    ctx = contextvars.copy_context()
    threading.Thread(
        target=ctx.run, args=(run,), name=f"packetflow-timeout-{cap.name}", daemon=True
    ).start()
    if not done.wait(policy.timeout):
        metrics.inc("resilience.timeouts", cap.name, "timeout")
        raise ExecutionTimeout(cap.name, policy.timeout)
    if "error" in box:
        raise box["error"]
    return box["value"]


async def timed_async(
    policy: Any, call: Callable[[], Awaitable[Any]], cap: Capability, metrics: MetricsRegistry
) -> Any:
    if policy.timeout is None:
        return await call()
    if policy.simulated:
        start = policy.clock()
        value = await call()
        if over_time(start, policy.clock(), policy.timeout):
            metrics.inc("resilience.timeouts", cap.name, "timeout")
            raise ExecutionTimeout(cap.name, policy.timeout)
        return value
    try:
        return await asyncio.wait_for(call(), policy.timeout)
    except TimeoutError:
        metrics.inc("resilience.timeouts", cap.name, "timeout")
        raise ExecutionTimeout(cap.name, policy.timeout) from None
