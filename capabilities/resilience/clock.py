"""Time for resilience: the Clock protocol, sleepers and a ManualClock for simulated time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass


# -- time ------------------------------------------------------------------------------------
class Clock(Protocol):
    """Anything that returns the current time in seconds when called (``time.monotonic``)."""

    def __call__(self) -> float: ...


Sleeper = Callable[[float], None]


AsyncSleeper = Callable[[float], Awaitable[None]]


class ManualClock:
    """Simulated time: it moves only when told to, and sleeping advances it instantly.

    Use one for tests and for simulations stepping their own time; ``sleeps`` records every
    sleep requested (e.g. retry backoff), so the waits can be checked without waiting.
    """

    def __init__(self, start: float = 0.0):
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError(f"ManualClock cannot go back in time (advance({seconds}))")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now`` (a simulation's step time); it must not be in the past."""
        with self._lock:
            if now < self._now:
                raise ValueError(f"ManualClock cannot go back in time ({now} < {self._now})")
            self._now = float(now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # still yield, so other tasks interleave as they would for real


def no_sleep(seconds: float) -> None:
    """Simulated time without a sleeper: waits are skipped (the clock is the caller's)."""


def async_from(sleep: Sleeper) -> AsyncSleeper:
    async def asleep(seconds: float) -> None:
        sleep(seconds)
        await asyncio.sleep(0)

    return asleep
