"""Sync work off the event loop: a bounded worker pool, and progress reported from its threads.

Why: a sync capability called on the event loop freezes every session of the server for as
long as it runs (a 4 s call delayed another principal's 3 ms call to 3.5 s). On the pool it only
holds one of ``size`` threads; when the pool is full, further sync calls wait for a thread while
async work and other requests go on.

Cancellation: a cancelled request stops waiting at once (its thread is abandoned and finishes
in the background, since Python cannot stop a thread); work that reports :class:`Progress`
checks for cancellation at each report and stops there.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

T = TypeVar("T")


class WorkerPool:
    """At most ``size`` sync calls at a time, each on a worker thread (one limiter per loop)."""

    def __init__(self, size: int = 8):
        if size < 1:
            raise ValueError(f"worker pool size must be >= 1, got {size}")
        self.size = size
        self.limiters: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = (
            weakref.WeakKeyDictionary()
        )

    def limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self.limiters.get(loop)
        if limiter is None:
            limiter = self.limiters[loop] = anyio.CapacityLimiter(self.size)
        return limiter

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(
            fn, *args, limiter=self.limiter(), abandon_on_cancel=True
        )


class Progress:
    """Called from a worker thread as ``progress(done, total, message)``: sends MCP progress
    notifications on the request's event loop (at most every ``interval`` seconds, and always
    the last one), and raises the cancellation if the request was cancelled."""

    def __init__(
        self,
        send: Callable[[float, float | None, str | None], Coroutine[Any, Any, None]],
        interval: float = 0.1,
    ):
        self.send = send
        self.interval = interval
        self.last = float("-inf")

    def __call__(self, done: float, total: float | None = None, message: str | None = None) -> None:
        anyio.from_thread.check_cancelled()
        now = time.monotonic()
        if now - self.last < self.interval and (total is None or done < total):
            return
        self.last = now
        anyio.from_thread.run(self.send, done, total, message)
