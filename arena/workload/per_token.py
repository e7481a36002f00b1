"""The shape of an LLM call without a cache: a base time plus a cost per input and output token.

Kept apart from the distribution models in :mod:`.service` because it is sized by each request's
tokens (from a trace) rather than drawn from one law; its optional jitter is the only randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import special, stats

from ..errors import ScenarioError
from .service import Tokens, clip_service_times
from .units import format_duration


@dataclass(frozen=True)
class PerToken:
    """The shape of an LLM call: ``base + input * input_tokens + output * output_tokens``
    seconds (prefill is cheap per token, decoding is not), optionally times a lognormal
    ``jitter`` multiplier of mean 1 and coefficient of variation ``jitter``."""

    base: float
    input: float
    output: float
    jitter: float = 0.0
    needs_tokens: ClassVar[bool] = True

    def _tokens(
        self, n: int | None, input_tokens: Tokens, output_tokens: Tokens
    ) -> tuple[np.ndarray, np.ndarray]:
        if input_tokens is None or output_tokens is None:
            raise ScenarioError(
                None,
                "service_time.per_token",
                "needs the input and output tokens of each request (arrivals from a trace)",
            )
        tin = np.asarray(input_tokens, dtype=np.float64)
        tout = np.asarray(output_tokens, dtype=np.float64)
        if n is not None and (tin.shape != (n,) or tout.shape != (n,)):
            raise ValueError(f"per_token: {n} draws need {n} token counts, got {tin.shape}")
        return tin, tout

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray:
        tin, tout = self._tokens(int(n), input_tokens, output_tokens)
        seconds = self.base + self.input * tin + self.output * tout
        if self.jitter > 0:
            sigma2 = math.log1p(self.jitter**2)
            factor = stats.lognorm.rvs(
                s=math.sqrt(sigma2), scale=math.exp(-sigma2 / 2), size=int(n), random_state=rng
            )  # unfrozen: freezing a distribution per call would cost more than the draws
            seconds = seconds * factor
        return clip_service_times(seconds)

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray:
        """The request's token cost, times the jitter factor's quantile at ``u``."""
        u = np.asarray(u, dtype=np.float64)
        tin, tout = self._tokens(u.size, input_tokens, output_tokens)
        seconds = self.base + self.input * tin + self.output * tout
        if self.jitter > 0:
            sigma2 = math.log1p(self.jitter**2)
            seconds = seconds * np.exp(-sigma2 / 2 + math.sqrt(sigma2) * special.ndtri(u))
        return clip_service_times(seconds)

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        tin, tout = self._tokens(None, input_tokens, output_tokens)
        return float(self.base + self.input * tin.mean() + self.output * tout.mean())

    def describe(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "base": format_duration(self.base),
            "input": format_duration(self.input),
            "output": format_duration(self.output),
        }
        if self.jitter > 0:
            spec["jitter"] = float(f"{self.jitter:.6g}")
        return {"per_token": spec}

    def dist(self) -> None:
        return None
