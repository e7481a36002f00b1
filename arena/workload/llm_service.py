"""The service time of an LLM replica with a prefix cache, in seconds.

One request on a replica that already holds the leading ``cached`` blocks of its prompt takes::

    service = overhead + prefill_per_token * uncached_input_tokens + decode_per_token * output_tokens
    ttft    = overhead + prefill_per_token * uncached_input_tokens      (+ the queueing wait)

with ``uncached_input_tokens = input_tokens - min(cached * block_tokens, input_tokens)``. The
replica's cache holds ``cache_blocks`` blocks (:class:`~arena.workload.prefix_cache.PrefixCache`).

What it leaves out (``docs/llm.md`` says how each biases the figures): continuous batching
(a replica here serves its ``capacity`` requests each at full speed, and decode time does not
grow with the batch), preemption and KV memory pressure (the blocks of requests in service
never evict a cached prefix, and a request never waits for KV memory). It is deterministic:
variation comes from the tokens and the cache, not from noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ScenarioError
from .service import MIN_SERVICE_S
from .units import MAX_DURATION_S, format_duration

Tokens = np.ndarray | None


@dataclass(frozen=True)
class LLMService:
    """An LLM replica's cost per token (seconds) and its prefix cache's geometry."""

    prefill_per_token: float
    decode_per_token: float
    overhead: float
    block_tokens: int
    cache_blocks: int
    needs_tokens: ClassVar[bool] = True

    def cached_tokens(self, input_tokens: np.ndarray, cached_blocks: np.ndarray) -> np.ndarray:
        """Input tokens a hit of ``cached_blocks`` leading blocks saves (never above the prompt)."""
        tin = np.asarray(input_tokens, dtype=np.int64)
        return np.minimum(np.asarray(cached_blocks, dtype=np.int64) * self.block_tokens, tin)

    def ttft(self, input_tokens: np.ndarray, cached_blocks: np.ndarray | int = 0) -> np.ndarray:
        """Seconds from service start to the first token: overhead + the uncached prefill."""
        tin = np.asarray(input_tokens, dtype=np.int64)
        uncached = tin - self.cached_tokens(tin, np.broadcast_to(cached_blocks, tin.shape))
        return self.overhead + self.prefill_per_token * uncached.astype(np.float64)

    def service(
        self,
        input_tokens: np.ndarray,
        output_tokens: np.ndarray,
        cached_blocks: np.ndarray | int = 0,
    ) -> np.ndarray:
        """Seconds each request holds its server: its TTFT plus decoding every output token
        (kept in ``[MIN_SERVICE_S, MAX_DURATION_S]`` like every service model's draws)."""
        tout = np.asarray(output_tokens, dtype=np.float64)
        seconds = self.ttft(input_tokens, cached_blocks) + self.decode_per_token * tout
        return np.clip(seconds, MIN_SERVICE_S, MAX_DURATION_S)

    def blocks(self, input_tokens: np.ndarray) -> np.ndarray:
        """Blocks a prompt of ``input_tokens`` spans (for requests without trace hash ids)."""
        return -(-np.asarray(input_tokens, dtype=np.int64) // self.block_tokens)

    def _tokens(self, input_tokens: Tokens, output_tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        if input_tokens is None or output_tokens is None:
            raise ScenarioError(
                None,
                "service_time.llm",
                "needs the input and output tokens of each request (arrivals from a trace)",
            )
        return np.asarray(input_tokens), np.asarray(output_tokens)

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray:
        """Service times with a cold cache (the service model protocol: no cache state here;
        the model calls :meth:`service` with each replica's prefix hit)."""
        tin, tout = self._tokens(input_tokens, output_tokens)
        if tin.shape != (int(n),) or tout.shape != (int(n),):
            raise ValueError(f"llm: {n} draws need {n} token counts, got {tin.shape}")
        return self.service(tin, tout)

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray:
        """Cold-cache service times (no randomness: ``u`` only sets how many)."""
        return self.sample(
            np.random.default_rng(0),
            np.size(u),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        """Mean service time with a cold cache: an upper bound once prefixes hit."""
        tin, tout = self._tokens(input_tokens, output_tokens)
        return float(self.service(tin, tout).mean())

    def describe(self) -> dict[str, Any]:
        return {
            "llm": {
                "prefill_per_token": format_duration(self.prefill_per_token),
                "decode_per_token": format_duration(self.decode_per_token),
                "overhead": format_duration(self.overhead),
                "block_tokens": self.block_tokens,
                "cache_blocks": self.cache_blocks,
            }
        }

    def dist(self) -> None:
        return None
