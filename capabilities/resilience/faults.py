"""Injected faults: make a capability fail on purpose (tests, the arena's fault rates)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from capabilities.errors import (
    PacketFlowError,
    RegistrationError,
)

if TYPE_CHECKING:
    from capabilities.core.model import Capability
from capabilities.resilience.checks import check_number
from capabilities.resilience.clock import Sleeper


class RandomSource(Protocol):
    """Where fault draws come from: anything whose ``random()`` is a float in [0, 1) — a
    :class:`random.Random`, or a NumPy ``Generator`` (the arena's seeded stream)."""

    def random(self) -> float: ...


def with_faults(
    cap: Capability,
    *,
    failure_rate: float = 0.0,
    latency: float = 0.0,
    rng: RandomSource | None = None,
    sleep: Sleeper | None = None,
    error: Callable[[str], Exception] | None = None,
) -> Capability:
    """A copy of ``cap`` that fails with probability ``failure_rate`` and takes ``latency`` s.

    For tests and simulations of faults: the latency goes through ``sleep`` (on a
    :class:`ManualClock`, ``clock.sleep`` — simulated time passes, no real waiting), failures
    raise ``error(capability_name)`` (:class:`InjectedFault` by default), drawn from ``rng``
    so a seeded run is reproducible. Sync capabilities only.
    """
    check_number(failure_rate, "with_faults.failure_rate", minimum=0.0)
    if failure_rate > 1:
        raise RegistrationError(f"with_faults.failure_rate: expected <= 1, got {failure_rate}")
    check_number(latency, "with_faults.latency", minimum=0.0)
    if cap.is_async:
        raise RegistrationError(f"with_faults: capability {cap.name!r} is async; sync only")
    draw = (rng or random.Random()).random
    wait = sleep or time.sleep
    make_error = error or InjectedFault
    inner = cap.execute

    def faulty(**kwargs: Any) -> Any:
        if latency:
            wait(latency)
        if failure_rate and draw() < failure_rate:
            raise make_error(cap.name)
        return inner(**kwargs)

    return cap.replace(execute=faulty)


class InjectedFault(PacketFlowError):
    """A failure injected on purpose (see :func:`with_faults`)."""

    def __init__(self, capability: str):
        self.capability = capability
        super().__init__(f"capability {capability!r}: injected fault")
