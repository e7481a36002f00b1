"""Service times drawn for capability calls: buffered, vectorised draws from a service model.

Why a buffer: a call asks for one service time, but drawing one number at a time through
``scipy.stats`` costs tens of microseconds; drawing 4,096 at once from the model's RNG and
handing them out in order costs a fraction of a microsecond per call and keeps runs
reproducible for a seed. A model sized by tokens (``per_token``) is evaluated per call with the
tokens of the request being served (the call clock carries them); an ``llm`` model also with
the replica's prefix hit, and it notes the call's time to first token on the clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..workload import LLMService

if TYPE_CHECKING:  # annotations only
    from .clock import CallClock

BUFFER = 4096


class ServiceSampler:
    """``sampler()`` is the next service time in seconds of ``model`` (plus ``extra``)."""

    def __init__(self, model: Any, rng: np.random.Generator, clock: CallClock, extra: float = 0.0):
        self.model = model
        self.rng = rng
        self.clock = clock
        self.extra = float(extra)
        self.by_tokens = bool(getattr(model, "needs_tokens", False))
        self.llm = isinstance(model, LLMService)
        self._buffer = np.zeros(0)
        self._next = 0

    def __call__(self) -> float:
        if self.llm:  # sized by tokens and the replica's prefix hit; its TTFT noted on the clock
            c = self.clock
            tin, tout = np.array([c.input_tokens]), np.array([c.output_tokens])
            c.first_token = c.elapsed + float(self.model.ttft(tin, c.cached_blocks)[0])
            return float(self.model.service(tin, tout, c.cached_blocks)[0]) + self.extra
        if self.by_tokens:
            value = self.model.sample(
                self.rng,
                1,
                input_tokens=np.array([self.clock.input_tokens]),
                output_tokens=np.array([self.clock.output_tokens]),
            )[0]
            return float(value) + self.extra
        if self._next >= len(self._buffer):
            self._buffer = np.asarray(self.model.sample(self.rng, BUFFER), dtype=np.float64)
            self._next = 0
        value = self._buffer[self._next]
        self._next += 1
        return float(value) + self.extra
