"""Resilience policies: retry, timeout, circuit breaker, fallback — on simulated time."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capabilities import (
    Capability,
    CircuitBreaker,
    CircuitOpen,
    ContractError,
    Engine,
    ExecutionTimeout,
    InjectedFault,
    ManualClock,
    Policy,
    RegistrationError,
    Registry,
    resilience_counts,
    retry,
    with_faults,
)


class Flaky:
    """A capability body failing its first ``failures`` calls with ``error``."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError):
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, x: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure #{self.calls}")
        return x * 2


def declare(registry: Registry, name: str, body, policy: Policy | None, provides=("y",)):
    body = body.__call__ if isinstance(body, Flaky) else body  # a bound method has a signature
    cap = Capability.from_function(
        body, name=name, intent=f"{name} doubles x", provides=provides, policy=policy
    )
    registry.register(cap)
    return cap


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def engine(registry: Registry):
    with Engine(registry) as e:
        yield e


# -- retry ---------------------------------------------------------------------------------------
def test_retry_succeeds_after_failures_and_counts_attempts(registry, engine, clock):
    body = Flaky(2)
    declare(registry, "flaky", body, Policy(retry=retry(4, backoff=0.1, jitter=0), clock=clock))
    result = engine.run("flaky", {"x": 5})
    assert result.status == "ok" and result.outputs == {"y": 10}
    assert result.attempts == 3 and body.calls == 3
    assert clock.sleeps == pytest.approx([0.1, 0.2])  # simulated: no real waiting
    assert clock.now == pytest.approx(0.3)
    assert engine.metrics.count("resilience.retries", "flaky") == 2
    assert engine.metrics.values("resilience.backoff_seconds", "flaky").tolist() == pytest.approx(
        [0.3]
    )


def test_non_retryable_exception_is_not_retried(registry, engine, clock):
    body = Flaky(5, error=ValueError)
    declare(registry, "strict", body, Policy(retry=retry(5, on=ConnectionError), clock=clock))
    result = engine.run("strict", {"x": 1})
    assert result.status == "failed" and isinstance(result.error, ValueError)
    assert body.calls == 1 and result.attempts == 1 and clock.sleeps == []
    assert engine.metrics.count("resilience.retries") == 0


def test_exhausted_retries_fail_with_the_last_error_and_count_attempts(registry, engine, clock):
    body = Flaky(99)
    declare(registry, "down", body, Policy(retry=retry(3, jitter=0), clock=clock))
    result = engine.run("down", {"x": 1})
    assert result.status == "failed"
    assert isinstance(result.error, ConnectionError) and "failure #3" in str(result.error)
    assert body.calls == 3 and result.attempts == 3
    assert result.span.attributes["attempts"] == 3


def test_backoff_grows_exponentially_with_bounded_jitter(registry, engine, clock):
    settings_ = retry(6, backoff=0.5, multiplier=2.0, max_backoff=3.0, jitter=0.25)
    declare(registry, "slow_down", Flaky(99), Policy(retry=settings_, clock=clock, seed=3))
    engine.run("slow_down", {"x": 1})
    bases = [0.5, 1.0, 2.0, 3.0, 3.0]  # capped at max_backoff
    assert len(clock.sleeps) == 5
    for slept, base in zip(clock.sleeps, bases):
        assert base <= slept <= base + 0.25
    assert len({round(s - b, 9) for s, b in zip(clock.sleeps, bases)}) > 1  # really jittered


@settings(max_examples=40, deadline=None)
@given(
    attempts=st.integers(2, 7),
    backoff=st.floats(0.001, 2.0),
    multiplier=st.floats(1.0, 4.0),
    max_backoff=st.floats(0.001, 10.0),
    jitter=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_every_backoff_sleep_stays_within_its_bounds(
    attempts, backoff, multiplier, max_backoff, jitter, seed
):
    clock = ManualClock()
    registry = Registry()
    settings_ = retry(
        attempts, backoff=backoff, multiplier=multiplier, max_backoff=max_backoff, jitter=jitter
    )
    declare(registry, "f", Flaky(99), Policy(retry=settings_, clock=clock, seed=seed))
    with Engine(registry) as engine:
        assert engine.run("f", {"x": 1}).attempts == attempts
    assert len(clock.sleeps) == attempts - 1
    for n, slept in enumerate(clock.sleeps, start=1):
        base = settings_.base_wait(n)
        assert base - 1e-9 <= slept <= base + jitter + 1e-9


def test_same_seed_gives_same_jitter():
    def sleeps(seed: int) -> list[float]:
        clock, registry = ManualClock(), Registry()
        declare(
            registry, "f", Flaky(99), Policy(retry=retry(4, jitter=1.0), clock=clock, seed=seed)
        )
        with Engine(registry) as engine:
            engine.run("f", {"x": 1})
        return clock.sleeps

    assert sleeps(7) == sleeps(7)
    assert sleeps(7) != sleeps(8)


async def test_async_retry_uses_the_injected_async_sleeper(registry, engine, clock):
    calls = 0

    async def shaky(x: int) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TimeoutError("slow upstream")
        return x + 1

    declare(registry, "shaky", shaky, Policy(retry=retry(3, backoff=1.0, jitter=0), clock=clock))
    started = time.perf_counter()
    result = await engine.run_async("shaky", {"x": 1})
    assert result.status == "ok" and result.outputs == {"y": 2} and result.attempts == 3
    assert clock.sleeps == [1.0, 2.0] and time.perf_counter() - started < 0.5
    assert engine.metrics.summary("resilience.backoff_seconds", "shaky").sum == 3.0


# -- timeout -------------------------------------------------------------------------------------
async def test_async_timeout_cancels_the_call(registry, engine):
    cancelled = asyncio.Event()

    async def hang(x: int) -> int:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x

    declare(registry, "hang", hang, Policy(timeout=0.05))
    started = time.perf_counter()
    result = await engine.run_async("hang", {"x": 1})
    assert result.status == "failed" and isinstance(result.error, ExecutionTimeout)
    assert result.error.capability == "hang" and result.error.seconds == 0.05
    assert time.perf_counter() - started < 1.0 and cancelled.is_set()
    assert engine.metrics.count("resilience.timeouts", "hang") == 1


def test_sync_timeout_stops_waiting_on_wall_time(registry, engine):
    release = threading.Event()

    def stuck(x: int) -> int:
        release.wait(5)
        return x

    declare(registry, "stuck", stuck, Policy(timeout=0.05))
    started = time.perf_counter()
    result = engine.run("stuck", {"x": 1})
    release.set()  # let the abandoned worker thread finish
    assert isinstance(result.error, ExecutionTimeout) and time.perf_counter() - started < 1.0


def test_sync_timeout_passes_results_and_errors_through(registry, engine):
    declare(registry, "quick", lambda x: x * 3, Policy(timeout=1.0))
    declare(registry, "broken", Flaky(99, error=KeyError), Policy(timeout=1.0))
    assert engine.run("quick", {"x": 2}).outputs == {"y": 6}
    assert isinstance(engine.run("broken", {"x": 2}).error, KeyError)


def test_timeout_on_simulated_time_judges_the_simulated_duration(registry, engine, clock):
    slow = Capability.from_function(lambda x: x, name="slow", intent="slow echo", provides=["y"])
    for name, latency in (("too_slow", 2.0), ("fast_enough", 0.5)):
        faulty = with_faults(slow, latency=latency, sleep=clock.sleep)
        registry.register(faulty.replace(name=name, policy=Policy(timeout=1.0, clock=clock)))
    assert isinstance(engine.run("too_slow", {"x": 1}).error, ExecutionTimeout)
    assert engine.run("fast_enough", {"x": 1}).status == "ok"
    assert clock.now == pytest.approx(2.5)


# -- circuit breaker -----------------------------------------------------------------------------
def test_breaker_transitions_under_injected_failures_on_simulated_time(registry, engine, clock):
    state = {"fail": True}
    calls = []

    def upstream(x: int) -> int:
        calls.append(clock.now)
        if state["fail"]:
            raise ConnectionError("upstream down")
        return x

    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, success_threshold=2)
    declare(registry, "upstream", upstream, Policy(breaker=breaker, clock=clock))
    live = registry.get("upstream").policy.breaker("upstream")

    for _ in range(2):
        assert engine.run("upstream", {"x": 1}).status == "failed"
        assert live.state == "closed"
    engine.run("upstream", {"x": 1})
    assert live.state == "open" and live.trips == 1 and len(calls) == 3

    refused = engine.run("upstream", {"x": 1})
    assert isinstance(refused.error, CircuitOpen) and len(calls) == 3  # never called
    assert refused.error.retry_after == pytest.approx(10.0)
    clock.advance(9.99)
    assert isinstance(engine.run("upstream", {"x": 1}).error, CircuitOpen) and len(calls) == 3

    clock.advance(0.01)
    assert live.state == "half_open"
    state["fail"] = False
    assert engine.run("upstream", {"x": 1}).status == "ok"
    assert live.state == "half_open"  # one success of two
    assert engine.run("upstream", {"x": 1}).status == "ok"
    assert live.state == "closed"

    state["fail"] = True
    for _ in range(3):
        engine.run("upstream", {"x": 1})
    assert live.state == "open" and live.trips == 2
    clock.advance(10.0)
    assert engine.run("upstream", {"x": 1}).status == "failed"  # the half-open trial fails
    assert live.state == "open" and live.trips == 3
    assert live.retry_after() == pytest.approx(10.0)  # a fresh reset timeout
    assert engine.metrics.count("resilience.breaker_trips", "upstream") == 3
    assert engine.metrics.count("resilience.rejected", "upstream") == 2


def test_success_in_closed_state_resets_the_consecutive_failure_count(clock):
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)
    for _ in range(5):
        breaker.record_failure(breaker.allow(), ValueError("x"))
        breaker.record_success(breaker.allow())
    assert breaker.state == "closed" and breaker.health()["failures"] == 5


def test_an_open_breaker_stops_retries_and_reports_the_real_failure(registry, engine, clock):
    body = Flaky(99)
    policy = Policy(retry=retry(5, jitter=0), breaker=CircuitBreaker(2, 30.0), clock=clock)
    declare(registry, "fragile", body, policy)
    result = engine.run("fragile", {"x": 1})
    assert isinstance(result.error, ConnectionError)  # not a CircuitOpen hiding the cause
    assert body.calls == 2 and result.attempts == 2
    assert policy.breaker("fragile").state == "open"


def test_a_stale_result_cannot_move_a_newer_state(clock):
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    slow_call = breaker.allow()  # admitted while closed
    breaker.record_failure(breaker.allow(), ValueError("boom"))
    assert breaker.state == "open"
    breaker.record_success(slow_call)  # finishes late: must not close the breaker
    assert breaker.state == "open"


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("advance"), st.floats(0.0, 4.0)),
            st.tuples(st.just("allow"), st.just(0)),
            st.tuples(st.sampled_from(["succeed", "fail"]), st.integers(0, 7)),
        ),
        max_size=60,
    ),
    threshold=st.integers(1, 3),
    successes=st.integers(1, 3),
)
def test_breaker_never_admits_a_call_while_open(ops, threshold, successes):
    clock = ManualClock()
    breaker = CircuitBreaker(threshold, reset_timeout=5.0, success_threshold=successes, clock=clock)
    pending: list = []
    opened_at: float | None = None  # when the breaker last tripped, per our own bookkeeping
    for op, arg in ops:
        if op == "advance":
            clock.advance(arg)
        elif op == "allow":
            was_open = opened_at is not None and clock.now < opened_at + 5.0
            try:
                pending.append(breaker.allow())
            except CircuitOpen as exc:
                assert exc.retry_after >= 0
            else:
                assert not was_open, "admitted a call while open, before the reset timeout"
        elif pending:
            token = pending.pop(arg % len(pending))
            if op == "succeed":
                breaker.record_success(token)
            elif breaker.record_failure(token, RuntimeError("x")):
                opened_at = clock.now
        state = breaker.state
        assert state in ("closed", "open", "half_open")
        assert (state == "open") == (opened_at is not None and clock.now < opened_at + 5.0)
        assert 0 <= breaker._probes <= successes
        assert breaker._failures < threshold or state != "closed"


async def test_concurrent_asyncio_calls_do_not_corrupt_the_breaker(registry, engine, clock):
    calls = 0

    async def service(x: int) -> int:
        nonlocal calls
        calls += 1
        for _ in range(3):
            await asyncio.sleep(0)  # interleave with the other calls
        return x

    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1.0, success_threshold=3)
    policy = Policy(breaker=breaker, clock=clock)
    declare(registry, "service", service, policy)
    live = policy.breaker("service")
    live.record_failure(live.allow(), ConnectionError("trip it"))
    clock.advance(1.0)  # half-open: exactly three trial calls may be in flight at once

    results = await asyncio.gather(*(engine.run_async("service", {"x": i}) for i in range(60)))
    ok = [r for r in results if r.status == "ok"]
    refused = [r for r in results if isinstance(r.error, CircuitOpen)]
    assert len(ok) == 3 and len(refused) == 57 and calls == 3
    assert live.state == "closed"
    again = await asyncio.gather(*(engine.run_async("service", {"x": i}) for i in range(40)))
    assert all(r.status == "ok" for r in again) and calls == 43


def test_concurrent_threads_count_every_failure_exactly_once(clock):
    breaker = CircuitBreaker(failure_threshold=10_000, clock=clock)

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(500):
            token = breaker.allow()
            if rng.random() < 0.5:
                breaker.record_failure(token, ValueError("x"))
            else:
                breaker.record_success(token)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(hammer, range(8)))
    health = breaker.health()
    assert health["failures"] + health["successes"] == 8 * 500
    assert health["state"] == "closed"


# -- fallback and degradation --------------------------------------------------------------------
def test_fallback_gives_a_degraded_result_naming_who_served_it(registry, engine, clock):
    declare(
        registry,
        "primary",
        Flaky(99),
        Policy(retry=retry(2, jitter=0), fallback="cached", clock=clock),
    )
    declare(registry, "cached", lambda x: -1, None)
    result = engine.run("primary", {"x": 4})
    assert result.status == "degraded" and result.ok
    assert result.served_by == "cached" and result.outputs == {"y": -1}
    assert result.attempts == 2
    assert engine.metrics.count("resilience.fallbacks", "primary") == 1
    names = [s.name for s in result.trace]
    assert names == ["primary", "cached"]  # the fallback runs through the engine, nested
    assert result.trace.spans[1].parent_id == result.span.span_id


def test_open_breaker_goes_straight_to_the_fallback(registry, engine, clock):
    body = Flaky(99)
    policy = Policy(breaker=CircuitBreaker(1, 60.0), fallback="cached", clock=clock)
    declare(registry, "primary", body, policy)
    declare(registry, "cached", lambda x: 0, None)
    assert engine.run("primary", {"x": 1}).status == "degraded"
    assert body.calls == 1 and policy.breaker("primary").state == "open"
    second = engine.run("primary", {"x": 1})
    assert second.status == "degraded" and second.served_by == "cached" and body.calls == 1


def test_without_fallback_the_result_fails_with_the_error(registry, engine, clock):
    declare(registry, "lonely", Flaky(99), Policy(retry=retry(2, jitter=0), clock=clock))
    result = engine.run("lonely", {"x": 1})
    assert result.status == "failed" and not result.ok and result.served_by is None
    with pytest.raises(ConnectionError):
        result.unwrap()


def test_a_failing_fallback_fails_with_the_primary_error_and_says_why(registry, engine):
    declare(registry, "primary", Flaky(99), Policy(fallback="backup"))
    declare(registry, "backup", Flaky(99, error=KeyError), None)
    result = engine.run("primary", {"x": 1})
    assert result.status == "failed" and isinstance(result.error, ConnectionError)
    assert any("fallback 'backup' also failed" in n for n in result.error.__notes__)


def test_fallbacks_that_point_at_each_other_do_not_loop(registry, engine):
    declare(registry, "a", Flaky(99), Policy(fallback="b"))
    declare(registry, "b", Flaky(99), Policy(fallback="a"))
    result = engine.run("a", {"x": 1})
    assert result.status == "failed" and isinstance(result.error, ConnectionError)


def test_a_fallback_must_provide_every_output_of_the_primary(registry, engine):
    declare(registry, "primary", Flaky(99), Policy(fallback="partial"), provides=("y", "z"))
    declare(registry, "partial", lambda x: 1, None, provides=("y",))
    result = engine.run("primary", {"x": 1})
    assert isinstance(result.error, ContractError)
    assert result.error.capability == "partial" and result.error.field == "z"


def test_a_fallback_gets_only_the_inputs_it_takes(registry, engine):
    def primary(x: int, detail: str = "") -> int:
        """Compute y from x, with optional detail."""
        raise ConnectionError("down")

    registry.register(
        Capability.from_function(primary, provides=["y"], policy=Policy(fallback="default_y"))
    )
    declare(registry, "default_y", lambda x: x, None)
    result = engine.run("primary", {"x": 7, "detail": "verbose"})
    assert result.status == "degraded" and result.outputs == {"y": 7}


async def test_async_fallback(registry, engine):
    async def primary(x: int) -> int:
        raise ConnectionError("down")

    async def spare(x: int) -> int:
        return 100 + x

    declare(registry, "primary", primary, Policy(fallback="spare"))
    declare(registry, "spare", spare, None)
    result = await engine.run_async("primary", {"x": 1})
    assert result.status == "degraded" and result.outputs == {"y": 101}


# -- declaration from data, health, counters ------------------------------------------------------
def test_policy_from_data():
    policy = Policy.from_data(
        {
            "retry": {
                "attempts": 4,
                "backoff": 0.2,
                "jitter": 0,
                "on": ["ConnectionError", "capabilities.errors:ExecutionTimeout"],
            },
            "timeout": 2,
            "breaker": {"failure_threshold": 3, "reset_timeout": 15, "success_threshold": 2},
            "fallback": "cached",
            "seed": 1,
        }
    )
    assert policy.retry.attempts == 4 and policy.retry.backoff == 0.2
    assert policy.retry.on == (ConnectionError, ExecutionTimeout)
    assert policy.timeout == 2.0 and policy.fallback == "cached"
    b = policy.breaker("x")
    assert (b.failure_threshold, b.reset_timeout, b.success_threshold) == (3, 15.0, 2)
    assert Policy.from_data({"retry": 3}).retry.attempts == 3


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"retry": {"attempts": 0}}, "policy.retry.attempts"),
        ({"retry": {"backoff": -1}}, "policy.retry.backoff"),
        ({"retry": {"on": ["NoSuchError"]}}, "policy.retry.on"),
        ({"retry": {"on": ["dict"]}}, "policy.retry.on"),
        ({"retry": {"attemps": 3}}, "policy.retry: unknown key(s) ['attemps']"),
        ({"retry": "often"}, "policy.retry"),
        ({"timeout": 0}, "policy.timeout"),
        ({"timeout": "1s"}, "policy.timeout"),
        ({"breaker": {"reset_timeout": -5}}, "policy.breaker.reset_timeout"),
        ({"breaker": {"failure_threshold": 1.5}}, "policy.breaker.failure_threshold"),
        ({"breaker": {"threshold": 3}}, "policy.breaker: unknown key(s) ['threshold']"),
        ({"fallback": "not a name"}, "policy.fallback"),
        ({"seed": -1}, "policy.seed"),
        ({"retries": 3}, "policy: unknown key(s) ['retries']"),
    ],
)
def test_policy_from_data_errors_name_the_field(data, field):
    with pytest.raises(RegistrationError) as info:
        Policy.from_data(data)
    assert str(info.value).startswith(field)


def test_a_capability_declared_from_data_carries_its_policy(registry, engine):
    registry.register_data(
        {
            "name": "count_words",
            "function": "fakes:word_count",
            "provides": ["words"],
            "policy": {"retry": 2, "breaker": {"failure_threshold": 2}},
        },
        where="scenario.capabilities[0]",
    )
    assert engine.run("count_words", {"text": "a b c"}).outputs == {"words": 3}
    assert registry.health()["count_words"]["state"] == "closed"
    with pytest.raises(
        RegistrationError, match=r"scenario.capabilities\[1\].policy.retry.attempts"
    ):
        registry.register_data(
            {
                "name": "bad",
                "function": "fakes:word_count",
                "provides": ["words"],
                "policy": {"retry": {"attempts": -1}},
            },
            where="scenario.capabilities[1]",
        )


def test_registry_health_shows_breaker_state_failures_and_last_error(registry, engine, clock):
    declare(registry, "guarded", Flaky(99), Policy(breaker=CircuitBreaker(2, 30.0), clock=clock))
    declare(registry, "plain", lambda x: x, None)
    for _ in range(3):
        engine.run("guarded", {"x": 1})
    health = registry.health()
    assert health["plain"] == {"state": None}
    guarded = health["guarded"]
    assert guarded["state"] == "open" and guarded["failures"] == 2 and guarded["trips"] == 1
    assert guarded["rejected"] == 1 and guarded["retry_after"] == pytest.approx(30.0)
    assert guarded["last_error"] == "ConnectionError: failure #2"


def test_resilience_counts_per_capability(registry, engine, clock):
    declare(registry, "a", Flaky(1), Policy(retry=retry(3, jitter=0), clock=clock))
    declare(registry, "b", Flaky(99), Policy(fallback="c", clock=clock))
    declare(registry, "c", lambda x: 0, None)
    engine.run("a", {"x": 1})
    engine.run("b", {"x": 1})
    counts = resilience_counts(engine.metrics)
    assert counts["a"]["retries"] == 1 and counts["a"]["fallbacks"] == 0
    assert counts["b"]["fallbacks"] == 1 and counts["b"]["retries"] == 0
    assert "c" not in counts


def test_injected_faults_are_reproducible_and_trip_the_breaker(registry, engine, clock):
    base = Capability.from_function(lambda x: x, name="svc", intent="echo", provides=["y"])

    def run_with(seed: int) -> list[str]:
        reg = Registry()
        policy = Policy(breaker=CircuitBreaker(3, 5.0), clock=clock)
        reg.register(
            with_faults(base, failure_rate=0.5, rng=random.Random(seed)).replace(policy=policy)
        )
        with Engine(reg) as eng:
            return [eng.run("svc", {"x": 1}).status for _ in range(40)]

    first = run_with(11)
    assert first == run_with(11)
    assert "failed" in first and "ok" in first


def test_bind_moves_a_policy_onto_another_clock_with_fresh_breakers():
    template = Policy.from_data({"breaker": {"failure_threshold": 1, "reset_timeout": 2}})
    sim = ManualClock(100.0)
    bound = template.bind(sim)
    live = bound.breaker("x")
    live.record_failure(live.allow(), InjectedFault("x"))
    assert live.state == "open"
    sim.advance(2.0)
    assert live.state == "half_open"
    assert template.breaker("x").state == "closed"


def test_manual_clock_refuses_to_go_back():
    clock = ManualClock(5.0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(4.0)
    clock.set(6.0)
    assert clock() == 6.0


def test_a_simulation_clock_without_a_sleeper_skips_waits_but_records_them(registry, engine):
    sim_time = {"t": 50.0}
    policy = Policy(retry=retry(3, backoff=2.0, jitter=0), clock=lambda: sim_time["t"])
    declare(registry, "sim", Flaky(2), policy)
    started = time.perf_counter()
    assert engine.run("sim", {"x": 1}).status == "ok"
    assert time.perf_counter() - started < 1.0  # 6 s of backoff were not slept for real
    assert engine.metrics.values("resilience.backoff_seconds", "sim").tolist() == [6.0]


def test_reset_closes_every_breaker(clock):
    policy = Policy(breaker=CircuitBreaker(1, 60.0), clock=clock)
    live = policy.breaker("x")
    live.record_failure(live.allow(), ValueError("down"))
    assert policy.health("x")["state"] == "open"
    policy.reset()
    assert policy.health("x")["state"] == "closed" and policy.health("x")["trips"] == 0
