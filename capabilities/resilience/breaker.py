"""A circuit breaker: closed, open, half-open, on any clock."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from capabilities.errors import (
    CircuitOpen,
)

if TYPE_CHECKING:
    pass
from capabilities.resilience.checks import check_int, check_number
from capabilities.resilience.clock import Clock

# -- circuit breaker -------------------------------------------------------------------------
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Closed / open / half-open, on an injectable clock; safe under threads and asyncio.

    Closed: calls pass; ``failure_threshold`` consecutive failures open it. Open: calls are
    refused with :class:`CircuitOpen` until ``reset_timeout`` seconds have passed, then it is
    half-open. Half-open: at most ``success_threshold`` trial calls at a time; that many
    successes close it, one failure opens it again. Every state change starts a new
    *generation*, and a call reports back with the generation it was admitted in, so a slow
    call admitted before a change cannot move the new state (the classic race under asyncio).

    A policy keeps one breaker per capability, copied from the one you give it (``copy()``).
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        success_threshold: int = 1,
        *,
        clock: Clock | None = None,
        name: str = "capability",
    ):
        check_int(failure_threshold, "breaker.failure_threshold", minimum=1)
        check_number(reset_timeout, "breaker.reset_timeout", minimum=0.0)
        check_int(success_threshold, "breaker.success_threshold", minimum=1)
        self.failure_threshold = failure_threshold
        self.reset_timeout = float(reset_timeout)
        self.success_threshold = success_threshold
        self.clock: Clock = clock if clock is not None else time.monotonic
        self.name = name
        self._lock = threading.Lock()
        self.reset()

    def copy(self, *, clock: Clock | None = None, name: str | None = None) -> CircuitBreaker:
        """A fresh (closed) breaker with the same settings."""
        return CircuitBreaker(
            self.failure_threshold,
            self.reset_timeout,
            self.success_threshold,
            clock=clock if clock is not None else self.clock,
            name=name if name is not None else self.name,
        )

    def reset(self) -> None:
        """Back to closed with every count at zero."""
        with self._lock:
            self._state = CLOSED
            self._generation = 0
            self._failures = 0  # consecutive, in the closed state
            self._successes = 0  # in the half-open state
            self._probes = 0  # trial calls in flight while half-open
            self._opened_at = 0.0
            self.trips = 0
            self.rejected = 0
            self.total_failures = 0
            self.total_successes = 0
            self.last_error: str | None = None

    # -- reading -----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The state now (an open breaker whose reset timeout has passed reads half-open)."""
        with self._lock:
            return self._current_state(self.clock())

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when not open)."""
        with self._lock:
            now = self.clock()
            if self._current_state(now) != OPEN:
                return 0.0
            return self._opened_at + self.reset_timeout - now

    def health(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            state = self._current_state(now)
            return {
                "state": state,
                "consecutive_failures": self._failures,
                "failures": self.total_failures,
                "successes": self.total_successes,
                "trips": self.trips,
                "rejected": self.rejected,
                "last_error": self.last_error,
                "retry_after": (
                    max(0.0, self._opened_at + self.reset_timeout - now) if state == OPEN else 0.0
                ),
            }

    # -- the protocol around one call --------------------------------------------------------
    def allow(self) -> tuple[int, bool]:
        """Admit one call or raise :class:`CircuitOpen`; returns the token to report back with."""
        with self._lock:
            now = self.clock()
            state = self._current_state(now)
            if state == HALF_OPEN and self._state == OPEN:
                self._transition(HALF_OPEN)
            if state == CLOSED:
                return self._generation, False
            if state == HALF_OPEN and self._probes < self.success_threshold:
                self._probes += 1
                return self._generation, True
            self.rejected += 1
            wait = self._opened_at + self.reset_timeout - now if state == OPEN else 0.0
        raise CircuitOpen(self.name, max(0.0, wait))

    def record_success(self, token: tuple[int, bool]) -> None:
        with self._lock:
            self.total_successes += 1
            generation, probe = token
            if generation != self._generation:
                return  # admitted before the last state change: it cannot move the new state
            if self._state == CLOSED:
                self._failures = 0
            elif self._state == HALF_OPEN and probe:
                self._probes -= 1
                self._successes += 1
                if self._successes >= self.success_threshold:
                    self._transition(CLOSED)

    def record_failure(self, token: tuple[int, bool], error: BaseException | None = None) -> bool:
        """Count a failed call; returns True when this failure tripped the breaker open."""
        with self._lock:
            self.total_failures += 1
            if error is not None:
                self.last_error = f"{type(error).__name__}: {error}"
            generation, probe = token
            if generation != self._generation:
                return False
            if self._state == CLOSED:
                self._failures += 1
                if self._failures < self.failure_threshold:
                    return False
            elif not (self._state == HALF_OPEN and probe):
                return False
            self._opened_at = self.clock()
            self._transition(OPEN)
            self.trips += 1
            return True

    def release(self, token: tuple[int, bool]) -> None:
        """A call ended without a verdict (cancelled): free its half-open trial slot."""
        with self._lock:
            generation, probe = token
            if probe and generation == self._generation and self._state == HALF_OPEN:
                self._probes -= 1

    # -- internals (lock held) ---------------------------------------------------------------
    def _current_state(self, now: float) -> str:
        if self._state == OPEN and now >= self._opened_at + self.reset_timeout:
            return HALF_OPEN
        return self._state

    def _transition(self, state: str) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._successes = 0
        self._probes = 0

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_threshold={self.failure_threshold}, "
            f"reset_timeout={self.reset_timeout}, success_threshold={self.success_threshold}, "
            f"state={self.state!r})"
        )


class BreakerGuard:
    """One attempt through a breaker: admitted (or refused with ``CircuitOpen``) on entry, its
    verdict recorded on exit. A cancellation (``BaseException``) gives no verdict. Shared by
    the sync and async paths of ``Policy``."""

    __slots__ = ("breaker", "capability", "metrics", "token")

    def __init__(self, breaker: CircuitBreaker, capability: str, metrics: Any):
        self.breaker, self.capability, self.metrics = breaker, capability, metrics

    def __enter__(self) -> BreakerGuard:
        self.token = self.breaker.allow()
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None:
            self.breaker.record_success(self.token)
        elif isinstance(exc, Exception):
            if self.breaker.record_failure(self.token, exc):
                self.metrics.inc("resilience.breaker_trips", self.capability, "open")
        else:
            self.breaker.release(self.token)
        return False
