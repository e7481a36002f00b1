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
import builtins
import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.wait import wait_base

from capabilities.core.data import check_keys, import_dotted
from capabilities.core.protocols import ATTEMPTS_ATTRIBUTE, PolicyOutcome
from capabilities.errors import (
    CircuitOpen,
    ContractError,
    ExecutionTimeout,
    PacketFlowError,
    RegistrationError,
)

if TYPE_CHECKING:
    from capabilities.core.context import Context
    from capabilities.core.effects import MetricsRegistry
    from capabilities.core.model import Capability
    from capabilities.core.protocols import EngineHandle as Engine

COUNTERS = (
    "resilience.retries",
    "resilience.breaker_trips",
    "resilience.rejected",
    "resilience.timeouts",
    "resilience.fallbacks",
)
"""The metric names a policy records (labelled by capability)."""

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


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


# -- retry -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Retry:
    """Retry settings: up to ``attempts`` tries in total, waiting between tries

    ``min(max_backoff, backoff * multiplier ** (n - 1)) + uniform(0, jitter)`` seconds before
    try ``n + 1``. Only exceptions that are instances of ``on`` are retried; a refused call
    (:class:`CircuitOpen`) never is.
    """

    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.1
    on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if isinstance(self.on, type):
            object.__setattr__(self, "on", (self.on,))
        else:
            object.__setattr__(self, "on", tuple(self.on))
        _check_int(self.attempts, "retry.attempts", minimum=1)
        for name in ("backoff", "max_backoff", "jitter"):
            _check_number(getattr(self, name), f"retry.{name}", minimum=0.0)
        _check_number(self.multiplier, "retry.multiplier", minimum=1.0)
        for exc in self.on:
            if not (isinstance(exc, type) and issubclass(exc, BaseException)):
                raise RegistrationError(f"retry.on: {exc!r} is not an exception class")

    def retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, self.on) and not isinstance(exc, CircuitOpen)

    def base_wait(self, attempt_number: int) -> float:
        """The wait after try ``attempt_number`` before jitter (what the tests bound)."""
        return min(self.max_backoff, self.backoff * self.multiplier ** (attempt_number - 1))


def retry(
    attempts: int = 3,
    *,
    backoff: float = 0.1,
    max_backoff: float = 10.0,
    multiplier: float = 2.0,
    jitter: float = 0.1,
    on: type[BaseException] | Iterable[type[BaseException]] = (Exception,),
) -> Retry:
    """Build :class:`Retry` settings (exponential backoff with bounded jitter)."""
    return Retry(attempts, backoff, max_backoff, multiplier, jitter, on)  # type: ignore[arg-type]


class _Backoff(wait_base):
    """Tenacity wait strategy: :meth:`Retry.base_wait` plus jitter from the policy's seedable RNG.

    Tenacity numbers the tries it drives from 1, but it only takes over after our first try
    failed, so its try ``n`` is our try ``n + 1``.
    """

    def __init__(self, settings: Retry, rng: random.Random):
        self.settings = settings
        self.rng = rng

    def after(self, attempt_number: int) -> float:
        """Seconds to wait after try ``attempt_number`` failed."""
        jitter = self.settings.jitter
        extra = self.rng.uniform(0.0, jitter) if jitter else 0.0
        return self.settings.base_wait(attempt_number) + extra

    def __call__(self, retry_state: Any) -> float:
        return self.after(retry_state.attempt_number + 1)


# -- circuit breaker -------------------------------------------------------------------------
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
        _check_int(failure_threshold, "breaker.failure_threshold", minimum=1)
        _check_number(reset_timeout, "breaker.reset_timeout", minimum=0.0)
        _check_int(success_threshold, "breaker.success_threshold", minimum=1)
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


# -- the policy ------------------------------------------------------------------------------
_fallback_chain: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "packetflow_fallback_chain", default=frozenset()
)


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
            _check_number(timeout, "policy.timeout", minimum=0.0, exclusive=True)
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
            sleep = (getattr(clock, "sleep", None) or _no_sleep) if self.simulated else time.sleep
        self.sleep: Sleeper = sleep
        if async_sleep is None:
            if self.sleep is time.sleep:
                async_sleep = asyncio.sleep
            elif sleep is getattr(clock, "sleep", None) and hasattr(clock, "asleep"):
                async_sleep = clock.asleep  # type: ignore[union-attr]
            else:
                async_sleep = _async_from(self.sleep)
        self.async_sleep: AsyncSleeper = async_sleep
        self.seed = seed
        self.rng = random.Random(seed)
        self._backoff = _Backoff(self.retry or Retry(attempts=1), self.rng)
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
        if not isinstance(data, Mapping):
            raise RegistrationError(f"{where}: expected a mapping, got {type(data).__name__}")
        check_keys(data, {"retry", "timeout", "breaker", "fallback", "seed"}, where)
        try:
            retry_settings = _retry_from_data(data.get("retry"), f"{where}.retry")
            breaker = _breaker_from_data(data.get("breaker"), f"{where}.breaker")
            seed = data.get("seed")
            if seed is not None:
                _check_int(seed, "seed", minimum=0)
            return cls(
                retry_settings,
                data.get("timeout"),
                breaker,
                data.get("fallback"),
                clock=clock,
                sleep=sleep,
                async_sleep=async_sleep,
                seed=seed,
            )
        except RegistrationError as exc:
            message = str(exc)
            if message.startswith(("policy.", "retry.", "breaker.", "seed")):
                message = message.removeprefix("policy.")
                raise RegistrationError(f"{where}.{message}") from None
            raise

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
        """Raise :class:`ContractError` unless the fallback can stand in for ``cap``.

        Returns the fallback capability. Called on first use; scenario loaders may call it at
        load time to fail early.
        """
        if self.fallback is None:
            return None
        fb = registry.get(self.fallback)
        if fb.name == cap.name:
            raise ContractError(cap.name, None, "policy.fallback names the capability itself")
        for f in cap.provides:
            if f.name not in fb.output_names:
                raise ContractError(
                    fb.name,
                    f.name,
                    f"fallback for {cap.name!r} must provide every output of it; "
                    f"{f.name!r} is missing",
                )
        for name in fb.required_inputs:
            if name not in cap.input_names:
                raise ContractError(
                    fb.name,
                    name,
                    f"fallback for {cap.name!r} requires an input {cap.name!r} does not take",
                )
        return fb

    # -- ExecutionPolicy ---------------------------------------------------------------------
    def execute_sync(
        self,
        call: Callable[[], Any],
        cap: Capability,
        engine: Engine,
        context: Context,
        inputs: Mapping[str, Any] | None = None,
    ) -> PolicyOutcome:
        breaker = self.breaker(cap.name)
        metrics = engine.metrics

        def attempt() -> Any:
            token = breaker.allow() if breaker is not None else None
            try:
                value = self._timed_sync(call, cap, metrics)
            except Exception as exc:
                if token is not None and breaker.record_failure(token, exc):  # type: ignore[union-attr]
                    metrics.inc("resilience.breaker_trips", cap.name, "open")
                raise
            except BaseException:
                if token is not None:
                    breaker.release(token)  # type: ignore[union-attr]
                raise
            if token is not None:
                breaker.record_success(token)  # type: ignore[union-attr]
            return value

        count = 0
        waited: list[float] = []  # backoff of this call, recorded for simulations' latency
        try:
            try:
                count = 1
                value = attempt()
            except Exception as first:
                if not self._worth_retrying(first, breaker):
                    raise

                # the common case (success at once) never builds tenacity objects; after a
                # retryable failure tenacity drives the remaining tries (its try n is our n + 1)
                def sleep(seconds: float) -> None:
                    waited.append(seconds)
                    self.sleep(seconds)

                sleep(self._backoff.after(1))
                for try_ in self._retrying(Retrying, sleep, breaker):
                    with try_:
                        count += 1
                        value = attempt()
        except Exception as exc:
            self._after_failure(exc, cap, metrics, count, waited)
            if not self._may_fall_back(cap):
                raise
            fb = self.check(cap, engine.registry)
            token = _fallback_chain.set(_fallback_chain.get() | {cap.name})
            try:
                result = engine.run(fb, _inputs_for(fb, inputs), context)  # type: ignore[arg-type]
            finally:
                _fallback_chain.reset(token)
            return self._fallback_outcome(exc, result, cap, metrics, count)
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
        breaker = self.breaker(cap.name)
        metrics = engine.metrics

        async def attempt() -> Any:
            token = breaker.allow() if breaker is not None else None
            try:
                value = await self._timed_async(call, cap, metrics)
            except Exception as exc:
                if token is not None and breaker.record_failure(token, exc):  # type: ignore[union-attr]
                    metrics.inc("resilience.breaker_trips", cap.name, "open")
                raise
            except BaseException:  # cancelled: no verdict on the capability
                if token is not None:
                    breaker.release(token)  # type: ignore[union-attr]
                raise
            if token is not None:
                breaker.record_success(token)  # type: ignore[union-attr]
            return value

        count = 0
        waited: list[float] = []  # backoff of this call, recorded for simulations' latency
        try:
            try:
                count = 1
                value = await attempt()
            except Exception as first:
                if not self._worth_retrying(first, breaker):
                    raise

                async def asleep(seconds: float) -> None:
                    waited.append(seconds)
                    await self.async_sleep(seconds)

                await asleep(self._backoff.after(1))
                async for try_ in self._retrying(AsyncRetrying, asleep, breaker):
                    with try_:
                        count += 1
                        value = await attempt()
        except Exception as exc:
            self._after_failure(exc, cap, metrics, count, waited)
            if not self._may_fall_back(cap):
                raise
            fb = self.check(cap, engine.registry)
            token = _fallback_chain.set(_fallback_chain.get() | {cap.name})
            try:
                result = await engine.run_async(fb, _inputs_for(fb, inputs), context)  # type: ignore[arg-type]
            finally:
                _fallback_chain.reset(token)
            return self._fallback_outcome(exc, result, cap, metrics, count)
        self._count_retries(cap, metrics, count, "ok", waited)
        return PolicyOutcome(value, count)

    # -- internals ---------------------------------------------------------------------------
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

    def _timed_sync(
        self, call: Callable[[], Any], cap: Capability, metrics: MetricsRegistry
    ) -> Any:
        if self.timeout is None:
            return call()
        if self.simulated:
            start = self.clock()
            value = call()
            if self.clock() - start > self.timeout:
                metrics.inc("resilience.timeouts", cap.name, "timeout")
                raise ExecutionTimeout(cap.name, self.timeout)
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
        if not done.wait(self.timeout):
            metrics.inc("resilience.timeouts", cap.name, "timeout")
            raise ExecutionTimeout(cap.name, self.timeout)
        if "error" in box:
            raise box["error"]
        return box["value"]

    async def _timed_async(
        self, call: Callable[[], Awaitable[Any]], cap: Capability, metrics: MetricsRegistry
    ) -> Any:
        if self.timeout is None:
            return await call()
        if self.simulated:
            start = self.clock()
            value = await call()
            if self.clock() - start > self.timeout:
                metrics.inc("resilience.timeouts", cap.name, "timeout")
                raise ExecutionTimeout(cap.name, self.timeout)
            return value
        try:
            return await asyncio.wait_for(call(), self.timeout)
        except TimeoutError:
            metrics.inc("resilience.timeouts", cap.name, "timeout")
            raise ExecutionTimeout(cap.name, self.timeout) from None

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
        return self.fallback is not None and self.fallback not in _fallback_chain.get()

    def _fallback_outcome(
        self,
        primary_error: Exception,
        result: Any,
        cap: Capability,
        metrics: MetricsRegistry,
        count: int,
    ) -> PolicyOutcome:
        if result.status == "failed":
            metrics.inc("resilience.fallbacks", cap.name, "failed")
            primary_error.add_note(
                f"fallback {self.fallback!r} also failed: "
                f"{type(result.error).__name__}: {result.error}"
            )
            raise primary_error
        metrics.inc("resilience.fallbacks", cap.name, "ok")
        return PolicyOutcome(
            result.outputs,
            max(count, 1),
            degraded=True,
            served_by=result.served_by or result.capability,
        )


def resilience_counts(
    metrics: MetricsRegistry, capabilities: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """Per capability: ``{"retries", "breaker_trips", "rejected", "timeouts", "fallbacks"}``.

    Without ``capabilities``, every capability that has any of these counts. The arena sums
    these over the capabilities of a zone for its per-zone summary.
    """
    names = (
        sorted({c for (n, c, _), v in list(metrics.counters.items()) if n in COUNTERS and v})
        if capabilities is None
        else list(capabilities)
    )
    return {
        name: {m.removeprefix("resilience."): metrics.count(m, name) for m in COUNTERS}
        for name in names
    }


# -- helpers ---------------------------------------------------------------------------------
def _inputs_for(fb: Capability, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    if inputs is None:
        return {}
    return {k: v for k, v in inputs.items() if k in fb.input_names}


def _no_sleep(seconds: float) -> None:
    """Simulated time without a sleeper: waits are skipped (the clock is the caller's)."""


def _async_from(sleep: Sleeper) -> AsyncSleeper:
    async def asleep(seconds: float) -> None:
        sleep(seconds)
        await asyncio.sleep(0)

    return asleep


def _check_int(value: Any, where: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RegistrationError(f"{where}: expected an integer >= {minimum}, got {value!r}")


def _check_number(value: Any, where: str, *, minimum: float, exclusive: bool = False) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (value > minimum if exclusive else value >= minimum)
        and value == value  # not NaN
    )
    if not ok:
        bound = f"> {minimum}" if exclusive else f">= {minimum}"
        raise RegistrationError(f"{where}: expected a number {bound}, got {value!r}")


def _exception_class(name: Any, where: str) -> type[BaseException]:
    if isinstance(name, type) and issubclass(name, BaseException):
        return name
    if not isinstance(name, str) or not name:
        raise RegistrationError(f"{where}: {name!r} is not an exception class name")
    found = getattr(builtins, name, None)
    if found is None:
        if "." not in name and ":" not in name:
            raise RegistrationError(
                f"{where}: {name!r} is neither a builtin exception nor a dotted path "
                "like 'package.module:Error'"
            )
        found = import_dotted(name, where=where)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise RegistrationError(f"{where}: {name!r} is not an exception class")
    return found


def _retry_from_data(spec: Any, where: str) -> Retry | None:
    if spec is None:
        return None
    if isinstance(spec, int) and not isinstance(spec, bool):
        _check_int(spec, where, minimum=1)
        return Retry(attempts=spec)
    if not isinstance(spec, Mapping):
        raise RegistrationError(f"{where}: expected a number of attempts or a mapping")
    known = {"attempts", "backoff", "max_backoff", "multiplier", "jitter", "on"}
    check_keys(spec, known, where)
    kwargs = {k: spec[k] for k in known - {"on"} if k in spec}
    if "on" in spec:
        on = spec["on"]
        on = [on] if isinstance(on, str) else on
        if not isinstance(on, list | tuple) or not on:
            raise RegistrationError(f"{where}.on: expected a list of exception class names")
        kwargs["on"] = tuple(_exception_class(n, f"{where}.on") for n in on)
    try:
        return Retry(**kwargs)
    except RegistrationError as exc:
        raise RegistrationError(f"{where}.{str(exc).removeprefix('retry.')}") from None


def _breaker_from_data(spec: Any, where: str) -> CircuitBreaker | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise RegistrationError(f"{where}: expected a mapping of breaker settings")
    known = {"failure_threshold", "reset_timeout", "success_threshold"}
    check_keys(spec, known, where)
    try:
        return CircuitBreaker(**{k: spec[k] for k in known if k in spec})
    except RegistrationError as exc:
        raise RegistrationError(f"{where}.{str(exc).removeprefix('breaker.')}") from None


def with_faults(
    cap: Capability,
    *,
    failure_rate: float = 0.0,
    latency: float = 0.0,
    rng: random.Random | None = None,
    sleep: Sleeper | None = None,
    error: Callable[[str], Exception] | None = None,
) -> Capability:
    """A copy of ``cap`` that fails with probability ``failure_rate`` and takes ``latency`` s.

    For tests and simulations of faults: the latency goes through ``sleep`` (on a
    :class:`ManualClock`, ``clock.sleep`` — simulated time passes, no real waiting), failures
    raise ``error(capability_name)`` (:class:`InjectedFault` by default), drawn from ``rng``
    so a seeded run is reproducible. Sync capabilities only.
    """
    _check_number(failure_rate, "with_faults.failure_rate", minimum=0.0)
    if failure_rate > 1:
        raise RegistrationError(f"with_faults.failure_rate: expected <= 1, got {failure_rate}")
    _check_number(latency, "with_faults.latency", minimum=0.0)
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
