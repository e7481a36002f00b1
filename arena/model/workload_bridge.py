"""Arrival times from :mod:`arena.workload`: replayed traces and bursty processes, shaped by the
scenario (window, speed, scale) and the run's ``rate_scale``."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..scenario import ArrivalSpec
from ..workload import MMPPProcess, Trace, TraceSpec


def load_trace(
    spec: TraceSpec, rate_scale: float, rng: np.random.Generator, file: str | None
) -> Trace:
    """The trace of ``spec``, windowed, sped up and scaled, then scaled by ``rate_scale``
    (thinned or superposed copies, keeping its bursts)."""
    trace = spec.load(rng, file=file)
    return trace.scale(rate_scale, rng) if rate_scale != 1.0 else trace


def bursty_times(
    arr: ArrivalSpec, duration: float, rate_scale: float, rng: np.random.Generator
) -> np.ndarray:
    """Arrival times of the scenario's bursty process over ``[0, duration)``, every rate
    multiplied by ``rate_scale``."""
    process = arr.bursty
    assert process is not None  # the parser sets it for mmpp and diurnal
    if rate_scale != 1.0:
        if isinstance(process, MMPPProcess):
            process = dataclasses.replace(
                process, rates=tuple(r * rate_scale for r in process.rates)
            )
        else:
            process = dataclasses.replace(process, rate=process.rate * rate_scale)
    return process.times(0.0, duration, rng)
