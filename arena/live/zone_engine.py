"""A zone worker's capability engine: the scenario's capabilities with their faults injected,
their service times drawn per request, and their policies on the call clock — as the
simulation binds them (:class:`arena.model.build.ArenaBuild`), with the simulation's own
:class:`~arena.model.sampling.ServiceSampler`: a draw is keyed by (seed, capability, request,
attempt), so a request served by the same capability takes the same time live as simulated, and
a worker needs no shared random stream. (Injected failures are drawn from a per-zone stream: the
same rate, not the same requests.)

The engine runs a call at once on the call clock (retries, backoff and timeouts judged on the
sampled times, as in the simulation); the worker then *waits* the call's busy time for real.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from capabilities import Engine, Registry, with_faults

from ..model.clock import CallClock, with_service_time
from ..model.sampling import ServiceSampler
from ..scenario import Scenario, build_registry


@dataclass(frozen=True)
class Call:
    """What one call came to: its status, its error (if failed) and the seconds it holds a
    slot (every attempt, backoff and fallback: :meth:`CallClock.busy`)."""

    status: str
    error: str | None
    busy: float


class ZoneEngine:
    """The capability engine of one zone (every capability of the scenario is registered, so
    a policy's fallback to another capability resolves; the zone is sent only its own)."""

    def __init__(self, scenario: Scenario, seed: int, zone: int):
        self.clock = CallClock()
        # the examples only serve discovery (the gateway's): a worker does not load them
        self.registry = build_registry(dataclasses.replace(scenario, examples=None), Registry())
        fault_rng = np.random.default_rng([seed, zone, 0xFA])
        for stream, spec in enumerate(scenario.capabilities):
            cap = self.registry.get(spec.name)
            if spec.faults is not None and spec.faults.failure_rate > 0:
                cap = with_faults(cap, failure_rate=spec.faults.failure_rate, rng=fault_rng)
            extra = spec.faults.extra if spec.faults is not None else 0.0
            sampler = ServiceSampler(spec.service_time, seed, stream, self.clock, extra)
            timeout = getattr(cap.policy, "timeout", None)
            cap = with_service_time(cap, sampler, self.clock, timeout)
            if cap.policy is not None and hasattr(cap.policy, "bind"):
                cap = cap.replace(policy=cap.policy.bind(self.clock, sleep=self.clock.sleep))
            self.registry.register(cap, replace=True)
        self.engine = Engine(self.registry)

    def call(self, capability: str, request: int, text: str, tokens: tuple[int, int]) -> Call:
        """Run ``capability`` for request ``request`` on the call clock (at once)."""
        self.clock.begin(0.0, tokens[0], tokens[1], request=request)
        result = self.engine.run(capability, {"text": text})
        error = None if result.error is None else f"{type(result.error).__name__}: {result.error}"
        return Call(result.status, error if result.status == "failed" else None, self.clock.busy())
