"""The arena's simulated time for one capability call, which its resilience policies run on.

A policy's clock in the arena reads ``step + time this call has taken so far`` (one step is one
second of the policy's clock). The time a call takes is simulated: each *attempt* of a
capability advances the clock by the service time sampled for it (its ``service_time``
distribution plus ``faults.extra_steps``), retry backoff advances it by the backoff, and a
fallback's own service time adds on. So ``policy.timeout: 3`` means "three steps": an attempt
whose sampled service time exceeds it times out, and the retries and fallback of the policy
apply, each taking simulated time of its own.

The intent holds its zone slot for the whole call: every attempt, the backoff between them and
the fallback — except that a timed-out attempt counts only up to its timeout (the caller stops
waiting for it then), so :meth:`CallClock.busy_steps` is the call's service time in steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario import ServiceTime

if TYPE_CHECKING:  # annotations only
    from capabilities import Capability


class CallClock:
    """The clock of the call being made: ``now() = step() + elapsed``; reset per call."""

    def __init__(self, step: Callable[[], int]):
        self._step = step
        self.elapsed = 0.0
        self.abandoned = 0.0

    def __call__(self) -> float:
        return float(self._step()) + self.elapsed

    def begin(self) -> None:
        """A new call starts at the current step."""
        self.elapsed = 0.0
        self.abandoned = 0.0

    def sleep(self, seconds: float) -> None:
        """Retry backoff: simulated time passes, nothing blocks."""
        self.elapsed += seconds

    def serve(self, steps: float, timeout: float | None) -> None:
        """One attempt took ``steps``; beyond ``timeout`` the caller was no longer waiting."""
        self.elapsed += steps
        if timeout is not None and steps > timeout:
            self.abandoned += steps - timeout

    def busy_steps(self) -> int:
        """Whole steps the call held its slot (at least one)."""
        return max(1, math.ceil(self.elapsed - self.abandoned - 1e-9))


def with_service_time(
    cap: Capability, sample: Callable[[], int], clock: CallClock, timeout: float | None
) -> Capability:
    """A copy of ``cap`` whose every execution takes ``sample()`` steps of ``clock``'s time
    (before its own work, so a policy's timeout sees it)."""
    inner = cap.execute
    if cap.is_async:

        async def timed_async(**kwargs: Any) -> Any:
            clock.serve(sample(), timeout)
            return await inner(**kwargs)

        return cap.replace(execute=timed_async)

    def timed(**kwargs: Any) -> Any:
        clock.serve(sample(), timeout)
        return inner(**kwargs)

    return cap.replace(execute=timed)


def sample_service(st: ServiceTime, rng: np.random.Generator) -> int:
    if st.distribution == "constant":
        return max(1, round(st.mean))
    if st.distribution == "geometric":
        return int(rng.geometric(1.0 / st.mean))
    if st.distribution == "exponential":
        return max(1, math.ceil(rng.exponential(st.mean)))
    return max(1, round(rng.uniform(st.low, st.high)))
