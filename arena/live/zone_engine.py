"""A zone worker's capability engine: the scenario's capabilities with their faults injected,
their service times drawn per request, and their policies on the call clock — as the
simulation binds them (:class:`arena.model.build.ArenaBuild`), except that the draw is keyed by
the request, so a worker needs no shared random stream.

The engine runs a call at once on the call clock (retries, backoff and timeouts judged on the
sampled times, as in the simulation); the worker then *waits* the call's busy time for real.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from capabilities import Engine, Registry, with_faults

from ..model.clock import CallClock, with_service_time
from ..scenario import Scenario, build_registry
from ..workload import LLMService


def service_rng(seed: int, capability: int, request: int) -> np.random.Generator:
    """The random stream of one request's service draws, keyed by (seed, capability index,
    request id): the seam where the simulation's keyed draw replaces it (one function)."""
    return np.random.default_rng([seed, capability, request])


class KeyedSampler:
    """``sampler()`` is the next service time (s) of ``model`` for the request being served:
    :meth:`begin` keys the stream; each attempt (a retry) draws the next value."""

    def __init__(self, model: Any, seed: int, capability: int, clock: CallClock, extra: float):
        self.model, self.seed, self.capability = model, seed, capability
        self.clock, self.extra = clock, float(extra)
        self.request = 0
        self.rng: np.random.Generator | None = None

    def begin(self, request: int) -> None:
        """Key the draws of the next call (the stream is made on its first draw only)."""
        self.request, self.rng = request, None

    def __call__(self) -> float:
        if self.rng is None:
            self.rng = service_rng(self.seed, self.capability, self.request)
        c = self.clock
        tin, tout = np.array([c.input_tokens]), np.array([c.output_tokens])
        if isinstance(self.model, LLMService):  # no prefix cache live: a cold replica
            return float(self.model.service(tin, tout, 0)[0]) + self.extra
        if getattr(self.model, "needs_tokens", False):
            value = self.model.sample(self.rng, 1, input_tokens=tin, output_tokens=tout)[0]
        else:
            value = self.model.sample(self.rng, 1)[0]
        return float(value) + self.extra


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
        names, _ = self.registry.capability_vectors()
        self.index = {n: i for i, n in enumerate(names)}
        fault_rng = np.random.default_rng([seed, zone, 0xFA])
        self.samplers: dict[str, KeyedSampler] = {}
        for spec in scenario.capabilities:
            cap = self.registry.get(spec.name)
            if spec.faults is not None and spec.faults.failure_rate > 0:
                cap = with_faults(cap, failure_rate=spec.faults.failure_rate, rng=fault_rng)
            extra = spec.faults.extra if spec.faults is not None else 0.0
            sampler = KeyedSampler(
                spec.service_time, seed, self.index[spec.name], self.clock, extra
            )
            self.samplers[spec.name] = sampler
            timeout = getattr(cap.policy, "timeout", None)
            cap = with_service_time(cap, sampler, self.clock, timeout)
            if cap.policy is not None and hasattr(cap.policy, "bind"):
                cap = cap.replace(policy=cap.policy.bind(self.clock, sleep=self.clock.sleep))
            self.registry.register(cap, replace=True)
        self.engine = Engine(self.registry)

    def call(self, capability: str, request: int, text: str, tokens: tuple[int, int]) -> Call:
        """Run ``capability`` for request ``request`` on the call clock (at once)."""
        for sampler in self.samplers.values():  # a fallback draws from its own keyed stream
            sampler.begin(request)
        self.clock.begin(0.0, tokens[0], tokens[1])
        result = self.engine.run(capability, {"text": text})
        error = None if result.error is None else f"{type(result.error).__name__}: {result.error}"
        return Call(result.status, error if result.status == "failed" else None, self.clock.busy())
