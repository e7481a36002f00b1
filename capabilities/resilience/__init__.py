"""Resilience: retries, circuit breakers, timeouts, fallbacks and injected faults."""

from capabilities.resilience.policy import (
    COUNTERS,
    CircuitBreaker,
    Clock,
    InjectedFault,
    ManualClock,
    Policy,
    Retry,
    resilience_counts,
    retry,
    with_faults,
)

__all__ = [
    "COUNTERS",
    "CircuitBreaker",
    "Clock",
    "InjectedFault",
    "ManualClock",
    "Policy",
    "Retry",
    "resilience_counts",
    "retry",
    "with_faults",
]
