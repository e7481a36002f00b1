"""The synthetic bursty processes as a scenario writes them, checked, ready to draw.

``{process: mmpp, rates: ["5/s", "40/s"], sojourn: ["60s", "10s"]}`` (calm and burst states)
and ``{process: diurnal, rate: "10/s", peak: 3, period: 24h, peak_at: 14h}`` (the busiest moment
three times the quietest); ``{process: poisson, rate: "12/s"}`` for the baseline. Rates go through
:func:`~arena.workload.units.parse_rate`, times through :func:`parse_duration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScenarioError
from .arrivals import diurnal_times, mmpp_times, poisson_times
from .units import format_duration, format_rate, parse_duration, parse_rate

ARRIVAL_PROCESSES = ("poisson", "mmpp", "diurnal")
#: an MMPP has at most this many states (more is a fitted model, not a hand-written one)
MAX_STATES = 16
MAX_PEAK = 1000.0


@dataclass(frozen=True)
class PoissonProcess:
    rate: float

    @property
    def mean_rate(self) -> float:
        return self.rate

    def times(self, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
        return poisson_times(self.rate, start, end, rng)

    def describe(self) -> dict[str, Any]:
        return {"process": "poisson", "rate": format_rate(self.rate)}


@dataclass(frozen=True)
class MMPPProcess:
    """Markov-modulated Poisson (see :func:`~arena.workload.arrivals.mmpp_times`)."""

    rates: tuple[float, ...]
    sojourn: tuple[float, ...]

    @property
    def mean_rate(self) -> float:
        """The long-run rate: each state's rate weighted by its share of time."""
        return float(np.dot(self.rates, self.sojourn) / np.sum(self.sojourn))

    def times(self, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
        return mmpp_times(self.rates, self.sojourn, start, end, rng)

    def describe(self) -> dict[str, Any]:
        return {
            "process": "mmpp",
            "rates": [format_rate(r) for r in self.rates],
            "sojourn": [format_duration(s) for s in self.sojourn],
        }


@dataclass(frozen=True)
class DiurnalProcess:
    """A periodic swing of the rate (see :func:`~arena.workload.arrivals.diurnal_times`)."""

    rate: float
    peak: float
    period: float
    peak_at: float

    @property
    def mean_rate(self) -> float:
        return self.rate

    def times(self, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
        return diurnal_times(
            self.rate, self.peak, self.period, start, end, rng, peak_at_s=self.peak_at
        )

    def describe(self) -> dict[str, Any]:
        return {
            "process": "diurnal",
            "rate": format_rate(self.rate),
            "peak": self.peak,
            "period": format_duration(self.period),
            "peak_at": format_duration(self.peak_at),
        }


ArrivalProcess = PoissonProcess | MMPPProcess | DiurnalProcess
_KEYS = {
    "poisson": ("process", "rate"),
    "mmpp": ("process", "rates", "sojourn"),
    "diurnal": ("process", "rate", "peak", "period", "peak_at"),
}


def _require(m: Mapping[str, Any], key: str, file: str | None, field: str) -> Any:
    if key not in m:
        raise ScenarioError(file, f"{field}.{key}", "is required")
    return m[key]


def _list(m: Mapping[str, Any], key: str, file: str | None, field: str) -> list[Any]:
    value = _require(m, key, file, field)
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_STATES:
        raise ScenarioError(
            file, f"{field}.{key}", f"expected a list of 1 to {MAX_STATES}, got {value!r:.40}"
        )
    return list(value)


def parse_arrival_process(value: Any, *, file: str | None, field: str) -> ArrivalProcess:
    """Check a synthetic process spec (``field`` is its path, e.g. ``arrivals``)."""
    if not isinstance(value, Mapping):
        raise ScenarioError(file, field, f"expected a mapping with a process, got {value!r:.40}")
    process = value.get("process")
    if process not in ARRIVAL_PROCESSES:
        raise ScenarioError(
            file,
            f"{field}.process",
            f"expected one of {', '.join(ARRIVAL_PROCESSES)}, got {process!r:.40}",
        )
    for key in value:
        if key not in _KEYS[process]:
            raise ScenarioError(
                file,
                f"{field}.{key}",
                f"unknown key for a {process} process (expected: {', '.join(_KEYS[process])})",
            )
    if process == "poisson":
        return PoissonProcess(
            parse_rate(_require(value, "rate", file, field), file=file, field=f"{field}.rate")
        )
    if process == "mmpp":
        rates = _list(value, "rates", file, field)
        sojourn = _list(value, "sojourn", file, field)
        if len(rates) != len(sojourn):
            raise ScenarioError(
                file,
                f"{field}.sojourn",
                f"needs one mean time per rate ({len(rates)}), got {len(sojourn)}",
            )
        return MMPPProcess(
            tuple(
                parse_rate(r, file=file, field=f"{field}.rates[{i}]") for i, r in enumerate(rates)
            ),
            tuple(
                parse_duration(s, file=file, field=f"{field}.sojourn[{i}]", allow_zero=False)
                for i, s in enumerate(sojourn)
            ),
        )
    rate = parse_rate(_require(value, "rate", file, field), file=file, field=f"{field}.rate")
    peak = value.get("peak", 1.0)
    if (
        isinstance(peak, bool)
        or not isinstance(peak, int | float)
        or not (math.isfinite(peak) and 1 <= peak <= MAX_PEAK)
    ):
        raise ScenarioError(
            file,
            f"{field}.peak",
            f"must be a number from 1 to {MAX_PEAK:g} (busiest/quietest), got {peak!r:.40}",
        )
    period = parse_duration(
        value.get("period", "24h"), file=file, field=f"{field}.period", allow_zero=False
    )
    peak_at = parse_duration(value.get("peak_at", period / 2), file=file, field=f"{field}.peak_at")
    return DiurnalProcess(rate, float(peak), period, peak_at)
