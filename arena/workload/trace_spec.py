"""``arrivals.trace: {file, format, speed, window, scale}`` -> a checked :class:`TraceSpec`.

The spec says which log to replay and how: ``window: ["10m", "40m"]`` cuts a slice of the
trace (in the trace's own time), ``speed: 2`` replays it twice as fast, ``scale: 0.5`` thins it
to half the requests and ``scale: 3`` superposes three copies (see
:meth:`~arena.workload.trace.Trace.scale`). :meth:`TraceSpec.load` applies them in that order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScenarioError
from .trace import Trace
from .traces import TRACE_FORMATS, read_trace
from .units import DURATION_UNITS, parse_duration

TRACE_KEYS = ("file", "format", "speed", "window", "scale", "time_unit")
#: speed and scale beyond this are a typo, not a replay
MAX_FACTOR = 1000.0


@dataclass(frozen=True)
class TraceSpec:
    """A checked ``arrivals.trace``. ``path`` is resolved against the scenario's folder;
    ``file`` is as written (for messages and outputs)."""

    file: str
    path: Path
    format: str
    speed: float = 1.0
    window: tuple[float, float] | None = None
    scale: float = 1.0
    time_unit: str = "s"

    def load(
        self, rng: np.random.Generator, *, file: str | None, field: str = "arrivals.trace"
    ) -> Trace:
        """Read the trace, then cut the window, apply the speed and the scale (which draws from
        ``rng``). Errors name ``file`` (the scenario) and ``field.file``."""
        trace = read_trace(
            self.path, self.format, file=file, field=f"{field}.file", time_unit=self.time_unit
        )
        if self.window is not None:
            start, end = self.window
            if start >= trace.duration:
                raise ScenarioError(
                    file,
                    f"{field}.window",
                    f"starts after the trace ends ({trace.duration:.6g}s of arrivals)",
                )
            trace = trace.window(start, end)
        if self.speed != 1.0:
            trace = trace.speed(self.speed)
        if self.scale != 1.0:
            trace = trace.scale(self.scale, rng)
        return trace


def _factor(value: Any, file: str | None, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(file, field, f"expected a number, got {value!r:.40}")
    if not (math.isfinite(value) and 0 < value <= MAX_FACTOR):
        raise ScenarioError(file, field, f"must be above 0 and at most {MAX_FACTOR:g}, got {value}")
    return float(value)


def parse_trace_spec(
    value: Any,
    *,
    file: str | None,
    base_dir: str | Path | None,
    field: str = "arrivals.trace",
) -> TraceSpec:
    """Check ``arrivals.trace`` (``field``): a known ``format``, a ``file`` string (relative to
    ``base_dir``, the scenario's folder), ``speed``/``scale`` in (0, 1000], ``window`` as two
    durations ``[start, end]`` with start < end. The file itself is read by :meth:`TraceSpec.load`."""
    if not isinstance(value, Mapping):
        raise ScenarioError(
            file, field, f"expected a mapping with file and format, got {value!r:.40}"
        )
    for key in value:
        if key not in TRACE_KEYS:
            raise ScenarioError(
                file,
                f"{field}.{key}",
                f"unknown key {key!r:.40} (expected one of: {', '.join(TRACE_KEYS)})",
            )
    for key in ("file", "format"):
        if key not in value:
            raise ScenarioError(file, f"{field}.{key}", "is required")
    name = value["file"]
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(file, f"{field}.file", f"expected a file name, got {name!r:.40}")
    fmt = value["format"]
    if fmt not in TRACE_FORMATS:
        raise ScenarioError(
            file, f"{field}.format", f"expected one of {', '.join(TRACE_FORMATS)}, got {fmt!r:.40}"
        )
    unit = value.get("time_unit", "s")
    if not isinstance(unit, str) or unit.lower() not in DURATION_UNITS:
        raise ScenarioError(file, f"{field}.time_unit", f"expected ms, s, m..., got {unit!r:.40}")
    if "time_unit" in value and fmt != "csv":
        raise ScenarioError(file, f"{field}.time_unit", f"only a csv trace has one, not {fmt}")
    window = None
    if "window" in value:
        raw = value["window"]
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            raise ScenarioError(
                file,
                f"{field}.window",
                f'expected [start, end] like ["10m", "40m"], got {raw!r:.40}',
            )
        start = parse_duration(raw[0], file=file, field=f"{field}.window[0]")
        end = parse_duration(raw[1], file=file, field=f"{field}.window[1]", allow_zero=False)
        if end <= start:
            raise ScenarioError(
                file, f"{field}.window", f"must end after it starts, got {list(raw)!r:.60}"
            )
        window = (start, end)
    path = Path(name) if base_dir is None else Path(base_dir) / name
    return TraceSpec(
        file=name,
        path=path,
        format=fmt,
        speed=_factor(value.get("speed", 1.0), file, f"{field}.speed"),
        window=window,
        scale=_factor(value.get("scale", 1.0), file, f"{field}.scale"),
        time_unit=unit,
    )
