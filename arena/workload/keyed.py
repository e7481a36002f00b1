"""Service times keyed by (seed, stream, request, attempt): the same draw wherever it is made.

Why: a simulated run and a live deployment of the same scenario must give request 812 the same
service time when the same capability serves it, or every comparison between them carries the
noise of two independent samples. A sequential RNG cannot do that (a draw depends on every draw
before it, so on the order requests were served); a counter-based one can: the uniform of a
draw is a hash of its key (SplitMix64, Steele et al. 2014: a bijective 64-bit mixer with full
avalanche), and the service time is the model's quantile of that uniform (inverse-transform
sampling). The simulation's sampler and the live worker both call :func:`keyed_service_time`.
``stream`` tells apart the capabilities (a fallback draws from its own stream), ``attempt`` the
retries of one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_SCALE = 2.0**-53


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a bijection of 64-bit integers whose every output bit depends on
    every input bit."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)


def keyed_uniform(seed: int, stream: int, request: int, attempt: int = 0) -> float:
    """A uniform in the open interval (0, 1), a pure function of its four whole-number keys."""
    x = _mix((int(seed) * _GAMMA + int(stream)) & _MASK)
    x = _mix((x + int(request) * _GAMMA) & _MASK)
    x = _mix((x + int(attempt) * _GAMMA + _GAMMA) & _MASK)
    return ((x >> 11) + 0.5) * _SCALE


def keyed_uniforms(seed: int, stream: int, requests: np.ndarray, attempt: int = 0) -> np.ndarray:
    """:func:`keyed_uniform` for many requests at once (the same values, vectorised)."""
    return np.array(
        [keyed_uniform(seed, stream, int(r), attempt) for r in np.asarray(requests).ravel()],
        dtype=np.float64,
    ).reshape(np.shape(requests))


def keyed_service_time(
    model: Any,
    seed: int,
    stream: int,
    request: int,
    attempt: int = 0,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> float:
    """Seconds the ``attempt``-th try of ``request`` takes on ``model`` (drawn from ``stream``
    of run ``seed``): the model's quantile of the keyed uniform."""
    u = np.array([keyed_uniform(seed, stream, request, attempt)])
    tokens: dict[str, Any] = {}
    if getattr(model, "needs_tokens", False):
        tokens = {
            "input_tokens": np.array([input_tokens], dtype=np.float64),
            "output_tokens": np.array([output_tokens], dtype=np.float64),
        }
    return float(model.quantile(u, **tokens)[0])
