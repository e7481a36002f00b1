"""Failure handling per capability: retry, timeout, circuit breaker, fallback — on any clock.

A :class:`Policy` is attached to a capability (``@registry.capability(policy=Policy(...))`` or
``policy: {...}`` in a scenario file) and the engine calls through it. The layers nest as

    fallback( retry( breaker( timeout( one attempt ))))

so every attempt passes the breaker (an open breaker stops the retries at once, since retrying
a refused call is pointless) and a fallback answers only when everything else has failed; its
answer comes back as a ``degraded`` Result naming the capability that ``served_by`` it, never
silently passed off as the primary's.

Time is injectable. With the default (wall) time the breaker reads ``time.monotonic``, backoff
really sleeps, and timeouts are enforced while the call runs. Give ``clock=`` (e.g. a
:class:`ManualClock`, or the arena's simulated clock) and the policy runs on simulated time:
the breaker reads that clock, backoff goes through the injected sleeper (``ManualClock.sleep``
advances the clock instead of blocking), and a timeout judges the call by how much simulated
time it took. Counters of retries, breaker trips, refusals, timeouts and fallbacks are recorded
per capability in the engine's :class:`~capabilities.core.effects.MetricsRegistry` under
``resilience.*`` (read them with :func:`resilience_counts`), the total backoff of each retried
call in the histogram ``resilience.backoff_seconds`` (a simulation can add it to the call's
latency when its clock has no sleeper), and the breaker state is visible from
``Registry.health()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from capabilities.core.protocols import ATTEMPTS_ATTRIBUTE, PolicyOutcome
from capabilities.errors import (
    CircuitOpen,
    RegistrationError,
)

if TYPE_CHECKING:
    from capabilities.core.context import Context
    from capabilities.core.effects import MetricsRegistry
    from capabilities.core.model import Capability
    from capabilities.core.protocols import EngineHandle as Engine
from capabilities.resilience.breaker import OPEN, BreakerGuard, CircuitBreaker
from capabilities.resilience.checks import check_number
from capabilities.resilience.clock import AsyncSleeper, Clock, Sleeper, async_from, no_sleep
from capabilities.resilience.fallback import (
    FALLBACK_CHAIN,
    check_fallback,
    fallback_outcome,
    inputs_for,
)
from capabilities.resilience.parse import policy_from_data
from capabilities.resilience.retry import Backoff, Retry
from capabilities.resilience.timeouts import timed_async, timed_sync


class Policy:
    """How the engine calls one capability: retry, timeout, circuit breaker, fallback.

    ``retry`` is a :class:`Retry` (or an int: that many attempts with default backoff),
    ``timeout`` seconds per attempt, ``breaker`` a :class:`CircuitBreaker` used as a template
    (each capability under this policy gets its own copy), ``fallback`` the name of a capability
    run through the engine — with the caller's context and the inputs it accepts — when the
    primary fails or its breaker is open. The fallback must provide every output the primary
    does. ``clock`` / ``sleep`` / ``async_sleep`` select simulated time (see the module
    docstring); ``seed`` makes the jitter reproducible.

    Timeouts of *sync* capabilities on wall time run the call in a worker thread and stop
    waiting after ``timeout`` seconds; Python cannot kill a thread, so the abandoned call runs
    to completion in the background and its result is discarded. Async capabilities are
    cancelled (``asyncio.wait_for``). On simulated time a call cannot be interrupted: it is
    judged afterwards by the simulated time it took.
    """

    def __init__(
        self,
        retry: Retry | int | None = None,
        timeout: float | None = None,
        breaker: CircuitBreaker | None = None,
        fallback: str | None = None,
        *,
        clock: Clock | None = None,
        sleep: Sleeper | None = None,
        async_sleep: AsyncSleeper | None = None,
        seed: int | None = None,
    ):
        if isinstance(retry, bool) or not (retry is None or isinstance(retry, Retry | int)):
            raise RegistrationError(
                f"policy.retry: expected Retry settings or an int, got {retry!r}"
            )
        self.retry = Retry(attempts=retry) if isinstance(retry, int) else retry
        if timeout is not None:
            check_number(timeout, "policy.timeout", minimum=0.0, exclusive=True)
        self.timeout = None if timeout is None else float(timeout)
        if breaker is not None and not isinstance(breaker, CircuitBreaker):
            raise RegistrationError(f"policy.breaker: expected a CircuitBreaker, got {breaker!r}")
        self.breaker_template = breaker
        if fallback is not None and (not isinstance(fallback, str) or not fallback.isidentifier()):
            raise RegistrationError(f"policy.fallback: {fallback!r} is not a capability name")
        self.fallback = fallback
        self.simulated = clock is not None
        self.clock: Clock = clock if clock is not None else time.monotonic
        if sleep is None:
            # a ManualClock sleeps by advancing itself; wall time really sleeps
            sleep = (getattr(clock, "sleep", None) or no_sleep) if self.simulated else time.sleep
        self.sleep: Sleeper = sleep
        if async_sleep is None:
            if self.sleep is time.sleep:
                async_sleep = asyncio.sleep
            elif sleep is getattr(clock, "sleep", None) and hasattr(clock, "asleep"):
                async_sleep = clock.asleep  # type: ignore[union-attr]
            else:
                async_sleep = async_from(self.sleep)
        self.async_sleep: AsyncSleeper = async_sleep
        self.seed = seed
        self.rng = random.Random(seed)
        self._backoff = Backoff(self.retry or Retry(attempts=1), self.rng)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_data(
        cls,
        data: Mapping[str, Any],
        *,
        where: str = "policy",
        clock: Clock | None = None,
        sleep: Sleeper | None = None,
        async_sleep: AsyncSleeper | None = None,
    ) -> Policy:
        """A policy from plain data (a scenario file); every error names the field at fault::

        retry: {attempts: 3, backoff: 0.1, max_backoff: 2, multiplier: 2, jitter: 0.05,
                on: [ConnectionError, mypkg.errors:Flaky]}    # or just `retry: 3`
        timeout: 1.5
        breaker: {failure_threshold: 5, reset_timeout: 30, success_threshold: 2}
        fallback: cached_answer
        seed: 7
        """
        return policy_from_data(
            cls, data, where=where, clock=clock, sleep=sleep, async_sleep=async_sleep
        )

    def bind(
        self,
        clock: Clock | None,
        sleep: Sleeper | None = None,
        async_sleep: AsyncSleeper | None = None,
    ) -> Policy:
        """The same settings on another clock (e.g. a simulation's), with fresh breakers."""
        return Policy(
            self.retry,
            self.timeout,
            self.breaker_template,
            self.fallback,
            clock=clock,
            sleep=sleep,
            async_sleep=async_sleep,
            seed=self.seed,
        )

    def __repr__(self) -> str:
        parts = [
            f"{k}={v!r}"
            for k, v in (
                ("retry", self.retry),
                ("timeout", self.timeout),
                ("breaker", self.breaker_template),
                ("fallback", self.fallback),
            )
            if v is not None
        ]
        return f"Policy({', '.join(parts)})"

    # -- state -------------------------------------------------------------------------------
    def breaker(self, capability: str) -> CircuitBreaker | None:
        """The live breaker of ``capability`` under this policy (``None`` without one)."""
        if self.breaker_template is None:
            return None
        found = self._breakers.get(capability)
        if found is None:
            with self._lock:
                found = self._breakers.get(capability)
                if found is None:
                    found = self.breaker_template.copy(clock=self.clock, name=capability)
                    self._breakers[capability] = found
        return found

    def health(self, capability: str) -> dict[str, Any]:
        """Breaker state and failure counts of ``capability`` (JSON-ready)."""
        breaker = self.breaker(capability)
        out: dict[str, Any] = {
            "retry_attempts": None if self.retry is None else self.retry.attempts,
            "timeout": self.timeout,
            "fallback": self.fallback,
        }
        if breaker is None:
            out["state"] = None
        else:
            out.update(breaker.health())
        return out

    def reset(self) -> None:
        """Close every breaker and zero its counts (e.g. between simulation runs)."""
        with self._lock:
            self._breakers.clear()
        self.rng = random.Random(self.seed)
        self._backoff.rng = self.rng

    def check(self, cap: Capability, registry: Any) -> Capability | None:
        """The fallback capability for ``cap``, checked against its contract (or ``None``)."""
        return check_fallback(self.fallback, cap, registry)

    # -- ExecutionPolicy ---------------------------------------------------------------------
    def execute_sync(
        self,
        call: Callable[[], Any],
        cap: Capability,
        engine: Engine,
        context: Context,
        inputs: Mapping[str, Any] | None = None,
    ) -> PolicyOutcome:
        # the twin of execute_async: the same steps, each helper shared; only awaiting differs
        breaker = self.breaker(cap.name)
        metrics = engine.metrics

        def attempt() -> Any:
            if breaker is None:
                return timed_sync(self, call, cap, metrics)
            with BreakerGuard(breaker, cap.name, metrics):
                return timed_sync(self, call, cap, metrics)

        count = 1
        waited: list[float] = []  # backoff of this call, recorded for simulations' latency
        try:
            try:
                value = attempt()
            except Exception as first:
                sleep = self._waiter(waited)
                sleep(self._backoff_or_raise(first, breaker))
                for try_ in self._retrying(Retrying, sleep, breaker):
                    with try_:
                        count += 1
                        value = attempt()
        except Exception as exc:
            fb, chain = self._fall_back(exc, cap, engine, metrics, count, waited)
            try:
                result = engine.run(fb, inputs_for(fb, inputs), context)
            finally:
                FALLBACK_CHAIN.reset(chain)
            return fallback_outcome(self.fallback, exc, result, cap, metrics, count)
        self._count_retries(cap, metrics, count, "ok", waited)
        return PolicyOutcome(value, count)

    async def execute_async(
        self,
        call: Callable[[], Awaitable[Any]],
        cap: Capability,
        engine: Engine,
        context: Context,
        inputs: Mapping[str, Any] | None = None,
    ) -> PolicyOutcome:
        # the twin of execute_sync (see there)
        breaker = self.breaker(cap.name)
        metrics = engine.metrics

        async def attempt() -> Any:
            if breaker is None:
                return await timed_async(self, call, cap, metrics)
            with BreakerGuard(breaker, cap.name, metrics):
                return await timed_async(self, call, cap, metrics)

        count = 1
        waited: list[float] = []
        try:
            try:
                value = await attempt()
            except Exception as first:
                asleep = self._async_waiter(waited)
                await asleep(self._backoff_or_raise(first, breaker))
                async for try_ in self._retrying(AsyncRetrying, asleep, breaker):
                    with try_:
                        count += 1
                        value = await attempt()
        except Exception as exc:
            fb, chain = self._fall_back(exc, cap, engine, metrics, count, waited)
            try:
                result = await engine.run_async(fb, inputs_for(fb, inputs), context)
            finally:
                FALLBACK_CHAIN.reset(chain)
            return fallback_outcome(self.fallback, exc, result, cap, metrics, count)
        self._count_retries(cap, metrics, count, "ok", waited)
        return PolicyOutcome(value, count)

    # -- internals shared by the twins --------------------------------------------------------
    def _backoff_or_raise(self, first: Exception, breaker: CircuitBreaker | None) -> float:
        """After a failed first try: the wait before the second, or re-raise if not worth it.

        The common case (success at once) never builds tenacity objects; after a retryable
        failure tenacity drives the remaining tries (its try n is our n + 1)."""
        if not self._worth_retrying(first, breaker):
            raise first
        return self._backoff.after(1)

    def _waiter(self, waited: list[float]) -> Sleeper:
        def sleep(seconds: float) -> None:
            waited.append(seconds)
            self.sleep(seconds)

        return sleep

    def _async_waiter(self, waited: list[float]) -> AsyncSleeper:
        async def asleep(seconds: float) -> None:
            waited.append(seconds)
            await self.async_sleep(seconds)

        return asleep

    def _fall_back(
        self,
        exc: Exception,
        cap: Capability,
        engine: Engine,
        metrics: MetricsRegistry,
        count: int,
        waited: list[float],
    ) -> tuple[Capability, contextvars.Token[frozenset[str]]]:
        """Record the failure; the fallback to call (and the chain token to reset), or raise."""
        self._after_failure(exc, cap, metrics, count, waited)
        if not self._may_fall_back(cap):
            raise exc
        fb = self.check(cap, engine.registry)
        assert fb is not None  # _may_fall_back: a fallback is named
        return fb, FALLBACK_CHAIN.set(FALLBACK_CHAIN.get() | {cap.name})

    def _worth_retrying(self, exc: BaseException, breaker: CircuitBreaker | None) -> bool:
        # once the breaker has opened, further tries would only be refused: stop with the real
        # failure rather than a CircuitOpen that hides it
        r = self.retry
        return (
            r is not None
            and r.attempts > 1
            and r.retryable(exc)
            and (breaker is None or breaker.state != OPEN)
        )

    def _retrying(self, kind: type, sleep: Any, breaker: CircuitBreaker | None) -> Any:
        """Tenacity's loop for tries 2..attempts (try 1 already failed)."""
        assert self.retry is not None
        return kind(
            stop=stop_after_attempt(self.retry.attempts - 1),
            wait=self._backoff,
            retry=retry_if_exception(lambda exc: self._worth_retrying(exc, breaker)),
            sleep=sleep,
            reraise=True,
        )

    def _after_failure(
        self,
        exc: Exception,
        cap: Capability,
        metrics: MetricsRegistry,
        count: int,
        waited: list[float],
    ) -> None:
        if isinstance(exc, CircuitOpen):
            metrics.inc("resilience.rejected", cap.name, "open")
        self._count_retries(cap, metrics, count, "failed", waited)
        if count > 1:
            with contextlib.suppress(AttributeError):  # exceptions with __slots__
                setattr(exc, ATTEMPTS_ATTRIBUTE, count)

    def _count_retries(
        self,
        cap: Capability,
        metrics: MetricsRegistry,
        count: int,
        status: str,
        waited: list[float],
    ) -> None:
        if count > 1:
            metrics.inc("resilience.retries", cap.name, status, by=count - 1)
        if waited:
            metrics.observe("resilience.backoff_seconds", cap.name, sum(waited))

    def _may_fall_back(self, cap: Capability) -> bool:
        return self.fallback is not None and self.fallback not in FALLBACK_CHAIN.get()
