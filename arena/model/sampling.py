"""Service times drawn for capability calls, keyed by (seed, capability, request, attempt).

Why keyed: a live deployment of the scenario (:mod:`arena.live`) must give a request the same
service time as the simulation when the same capability serves it, whatever order requests
were served in, so both draw through :func:`~arena.workload.keyed_service_time` (a counter-based
uniform, then the model's quantile: ~3 us a call with a closed-form quantile). A model sized by
tokens (``per_token``) is evaluated with the tokens of the request being served (the call clock
carries them); an ``llm`` model also with the replica's prefix hit, and it notes the call's time
to first token on the clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..workload import LLMService, keyed_service_time

if TYPE_CHECKING:  # annotations only
    from .clock import CallClock


class ServiceSampler:
    """``sampler()`` is the service time in seconds of ``model`` (plus ``extra``) for the next
    attempt of the call on ``clock``, drawn from stream ``stream`` of run ``seed``."""

    def __init__(
        self, model: Any, seed: int, stream: int, clock: CallClock, extra: float = 0.0
    ) -> None:
        self.model = model
        self.seed = int(seed)
        self.stream = int(stream)
        self.clock = clock
        self.extra = float(extra)
        self.llm = isinstance(model, LLMService)

    def __call__(self) -> float:
        if self.llm:  # sized by tokens and the replica's prefix hit; its TTFT noted on the clock
            c = self.clock
            tin, tout = np.array([c.input_tokens]), np.array([c.output_tokens])
            c.first_token = c.elapsed + float(self.model.ttft(tin, c.cached_blocks)[0])
            return float(self.model.service(tin, tout, c.cached_blocks)[0]) + self.extra
        c = self.clock
        attempt = c.attempts
        c.attempts += 1
        seconds = keyed_service_time(
            self.model,
            self.seed,
            self.stream,
            c.request,
            attempt,
            input_tokens=c.input_tokens,
            output_tokens=c.output_tokens,
        )
        return seconds + self.extra
