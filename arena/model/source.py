"""The run's arrivals, drawn once: when each intent arrives, what it says and how big it is.

Why all at once: arrival times are a property of the workload, not of routing, so drawing them
up front (vectorised, from the model's RNG) costs one array per run, lets a step take its slice
with one ``searchsorted``, and lets the model jump over quiet stretches of time instead of
ticking through them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class ArrivalStream:
    """Sorted arrival times (s), the source row each says, and its tokens (0 without a trace).

    ``ran_dry_at`` is the time the source's rows ran out (arrivals stop there unless the
    scenario says ``repeat: true``), ``None`` if they did not."""

    times: np.ndarray
    text: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    ran_dry_at: float | None = None
    cursor: int = 0
    hash_ids: np.ndarray | None = None  # prefix-block hashes, ragged (a trace's layout)
    hash_offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times)

    def take_until(self, t: float) -> slice:
        """The next arrivals before time ``t`` (consumed)."""
        end = int(np.searchsorted(self.times, t, side="left"))
        s = slice(self.cursor, max(self.cursor, end))
        self.cursor = max(self.cursor, end)
        return s

    def next_time(self) -> float | None:
        return float(self.times[self.cursor]) if self.cursor < len(self.times) else None


def assign_texts(
    times: np.ndarray,
    rows: np.ndarray,
    repeat: bool,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Each arrival takes the next source row (``rows`` is the day's shuffled order); with
    ``repeat`` the rows cycle, else arrivals stop when they run out (the model warns when a run
    reaches that time, and the summary records it). Returns the kept times, their rows and the
    time they ran dry."""
    n = len(rows)
    if n == 0:
        return times[:0], rows[:0], float(times[0]) if len(times) else None
    if repeat or len(times) <= n:
        return times, rows[np.arange(len(times)) % n], None
    return times[:n], rows, float(times[n])


def warn_ran_dry(file: str | None, at: float, rows: int) -> None:
    log.warning(
        "%s: arrivals ran out of source rows at %.3f s (%d rows); later arrivals are not "
        "sent: set arrivals.repeat: true to cycle the rows, or a shorter duration",
        file or "<scenario>",
        at,
        rows,
    )


def poisson_schedule_times(
    segments: list[tuple[float, float, float]], rng: np.random.Generator, process: str
) -> np.ndarray:
    """Arrival times over ``(start, end, rate per second)`` segments: a Poisson process
    (exponential gaps) or, for ``constant``, evenly spaced at the rate (the fraction carried
    over from one segment to the next)."""
    out: list[np.ndarray] = []
    carry = 0.0
    for start, end, rate in segments:
        if rate <= 0 or end <= start:
            continue
        if process == "poisson":
            n = int(rng.poisson(rate * (end - start)))
            out.append(np.sort(rng.uniform(start, end, n)))
        else:
            expected = carry + rate * (end - start)
            n = int(expected)
            first = (1.0 - carry) / rate if carry else 0.0
            out.append(start + first + np.arange(n) / rate)
            carry = expected - n
    return np.concatenate(out) if out else np.zeros(0)
