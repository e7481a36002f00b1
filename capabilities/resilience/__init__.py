"""Resilience: retries, circuit breakers, timeouts, fallbacks and injected faults.

``clock`` (time, real or simulated) < ``checks`` < ``retry`` / ``breaker`` < ``parse`` (from
data) < ``timeouts`` < ``policy`` (the ExecutionPolicy the engine calls through); ``faults``
makes a capability fail on purpose.
"""

from capabilities.resilience.breaker import CircuitBreaker
from capabilities.resilience.clock import Clock, ManualClock
from capabilities.resilience.counts import COUNTERS, resilience_counts
from capabilities.resilience.faults import InjectedFault, RandomSource, with_faults
from capabilities.resilience.policy import Policy
from capabilities.resilience.retry import Retry, retry

__all__ = [
    "COUNTERS",
    "CircuitBreaker",
    "Clock",
    "InjectedFault",
    "ManualClock",
    "Policy",
    "RandomSource",
    "Retry",
    "resilience_counts",
    "retry",
    "with_faults",
]
