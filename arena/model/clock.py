"""The simulated clock of one capability call, which its resilience policies run on.

A policy's clock in the arena reads ``start + time this call has taken so far`` in seconds (the
run's clock: seconds from its start). The time a call takes is simulated: each *attempt* of a
capability advances the clock by the service time sampled for it (its ``service_time`` model
plus ``faults.extra``), retry backoff advances it by the backoff, and a fallback's own service
time adds on. So ``policy.timeout: 3`` means three seconds: an attempt whose sampled service
time exceeds it times out, and the retries and fallback of the policy apply, each taking
simulated time of its own.

The intent holds its server for the whole call: every attempt, the backoff between them and the
fallback, except that a timed-out attempt counts only up to its timeout (the caller stops
waiting for it then), so :meth:`CallClock.busy` is the call's service time in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only
    from capabilities import Capability

MIN_SERVICE = 1e-9  # a call holds its server for a positive time, however small


class CallClock:
    """The clock of the call being made: ``now() = start + elapsed``; reset per call."""

    def __init__(self) -> None:
        self.start = 0.0
        self.elapsed = 0.0
        self.abandoned = 0.0
        self.input_tokens = 0  # of the request being served (per-token service models)
        self.output_tokens = 0
        self.cached_blocks = 0  # its prefix hit on an LLM replica (the llm service model)
        self.first_token = math.nan  # seconds into the call of its first token (llm only)
        self.request = 0  # the request's id: with the attempt, the key of its service draws
        self.attempts = 0  # service times drawn in this call so far (retries, fallback)

    def __call__(self) -> float:
        return self.start + self.elapsed

    def begin(
        self,
        start: float,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_blocks: int = 0,
        request: int = 0,
    ) -> None:
        """A new call starts at ``start`` (seconds), serving request ``request`` of these tokens
        whose ``cached_blocks`` leading prompt blocks the replica holds."""
        self.start = float(start)
        self.request = int(request)
        self.attempts = 0
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_blocks = cached_blocks
        self.first_token = math.nan
        self.elapsed = 0.0
        self.abandoned = 0.0

    def sleep(self, seconds: float) -> None:
        """Retry backoff: simulated time passes, nothing blocks."""
        self.elapsed += seconds

    def serve(self, seconds: float, timeout: float | None) -> None:
        """One attempt took ``seconds``; beyond ``timeout`` the caller was no longer waiting."""
        self.elapsed += seconds
        if timeout is not None and seconds > timeout:
            self.abandoned += seconds - timeout

    def busy(self) -> float:
        """Seconds the call held its server (always positive)."""
        return max(MIN_SERVICE, self.elapsed - self.abandoned)


def with_service_time(
    cap: Capability, sample: Callable[[], float], clock: CallClock, timeout: float | None
) -> Capability:
    """A copy of ``cap`` whose every execution takes ``sample()`` seconds of ``clock``'s time
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
