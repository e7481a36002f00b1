"""Arrival times from :mod:`arena.workload`: replayed traces and bursty processes, shaped by the
scenario (window, speed, scale) and the run's ``rate_scale``."""

from __future__ import annotations

import numpy as np

from ..errors import ScenarioError
from ..scenario import ArrivalSpec
from ..workload import Trace, TraceSpec


def load_trace(
    spec: TraceSpec, rate_scale: float, rng: np.random.Generator, file: str | None
) -> Trace:
    """The trace of ``spec``, windowed, sped up and scaled, then scaled by ``rate_scale``
    (thinned or superposed copies, keeping its bursts)."""
    trace = spec.load(rng, file=file)
    return trace.scale(rate_scale, rng) if rate_scale != 1.0 else trace


def bursty_times(
    arr: ArrivalSpec, duration: float, rate_scale: float, rng: np.random.Generator, file: str | None
) -> np.ndarray:
    """Arrival times of a bursty process (``mmpp`` or ``diurnal``) over ``[0, duration)``."""
    from ..workload import parse_process

    process = parse_process(
        {"kind": arr.process, **arr.process_params}, file=file, field="arrivals.process"
    )
    if process is None:
        raise ScenarioError(file, "arrivals.process", f"unknown process {arr.process!r}")
    return process.times(0.0, duration, rng, rate_scale=rate_scale)
