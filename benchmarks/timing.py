"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def best_per_call(run: Callable[[int], Any], calls: int, repeats: int) -> float:
    """Seconds per call of ``run(calls)`` (which makes ``calls`` calls), best of ``repeats``.

    The best run is the one least disturbed by other processes on a shared machine.
    """
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run(calls)
        best = min(best, time.perf_counter() - start)
    return best / calls
