"""The run's arrivals, drawn once: when each intent arrives, what it says and how big it is.

Why all at once: arrival times are a property of the workload, not of routing, so drawing them
up front (vectorised, from the model's RNG) costs one array per run, lets a step take its slice
with one ``searchsorted``, and lets the model jump over quiet stretches of time instead of
ticking through them.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from ..errors import ScenarioError
from ..scenario import ArrivalSpec, Scenario
from ..workload import MAX_ARRIVALS, MMPPProcess, Trace, TraceSpec

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


def draw_arrivals(
    sc: Scenario, rng: np.random.Generator, rate_scale: float, rows: np.ndarray
) -> ArrivalStream:
    """Every arrival of the run at once: its time (a replayed trace, a bursty process or
    the Poisson/constant rate schedule, times ``rate_scale``), its source row (``rows``: the
    day's order of the source's rows) and its tokens and prefix blocks (from a trace)."""
    arr = sc.arrivals
    n_in = n_out = trace = None
    if arr.trace is not None:
        trace = load_trace(arr.trace, rate_scale, rng, sc.file)
        keep = trace.times < sc.duration
        times = trace.times[keep]
        if trace.input_tokens is not None and trace.output_tokens is not None:  # has_tokens
            n_in, n_out = trace.input_tokens[keep], trace.output_tokens[keep]
    elif arr.process in ("poisson", "constant"):
        segments = [(a, b, r * rate_scale) for a, b, r in arr.segments(sc.duration)]
        check_count(sc, sum(r * (b - a) for a, b, r in segments))
        times = poisson_schedule_times(segments, rng, arr.process)
    else:
        assert arr.bursty is not None  # the parser sets it for mmpp and diurnal
        check_count(sc, arr.bursty.mean_rate * rate_scale * sc.duration)
        times = bursty_times(arr, sc.duration, rate_scale, rng)
    check_tokens(sc, n_in is not None)
    kept, text, dry = assign_texts(times, rows, arr.repeat)
    m = len(kept)
    zeros = np.zeros(m, dtype=np.int32)
    hashes = offsets = None
    if trace is not None and trace.hash_ids is not None and trace.hash_offsets is not None:
        offsets = trace.hash_offsets[: m + 1]  # the kept arrivals are the trace's first m
        hashes = trace.hash_ids[: int(offsets[-1])]
    return ArrivalStream(
        times=kept,
        text=text.astype(np.int32),
        input_tokens=n_in[:m].astype(np.int32) if n_in is not None else zeros,
        output_tokens=n_out[:m].astype(np.int32) if n_out is not None else zeros,
        ran_dry_at=dry,
        hash_ids=hashes,
        hash_offsets=offsets,
    )


def check_count(sc: Scenario, expected: float) -> None:
    """Arrivals are drawn at once: a rate and duration asking for more than the generators'
    cap is refused before any memory is taken (one line, naming both)."""
    if expected > MAX_ARRIVALS:
        raise ScenarioError(
            sc.file,
            "arrivals.rate",
            f"~{expected:.3g} arrivals over the duration ({sc.duration:g} s); at most "
            f"{MAX_ARRIVALS:.0e} per run: lower the rate or shorten the duration",
        )


def check_tokens(sc: Scenario, have_tokens: bool) -> None:
    """A service time sized by tokens (``per_token``, ``llm``) needs arrivals that carry them."""
    if have_tokens:
        return
    for i, c in enumerate(sc.capabilities):
        if c.service_time.needs_tokens:
            raise ScenarioError(
                sc.file,
                f"capabilities[{i}].service_time",
                f"capability {c.name!r}: per_token and llm need the requests' tokens; replay a "
                "trace that has them (arrivals.trace, format azure_llm or mooncake)",
            )
