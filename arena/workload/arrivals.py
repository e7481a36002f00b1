"""Synthetic arrival processes: sorted float64 arrival times in seconds within ``[start, end)``.

For when there is no trace: Poisson at a constant rate, a piecewise-constant schedule, a
Markov-modulated Poisson process (MMPP: the rate jumps between states, so arrivals come in
bursts, as real traffic does), and a diurnal rate (a daily swing, by thinning). All vectorised
(no Python loop per arrival) and reproducible from an ``np.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: no generator draws more than this many arrivals at once (the expected count is checked)
MAX_ARRIVALS = 100_000_000


def _check_span(start: float, end: float) -> float:
    if not (math.isfinite(start) and math.isfinite(end) and end >= start):
        raise ValueError(f"need finite start <= end, got [{start}, {end})")
    return end - start


def _check_count(expected: float) -> None:
    if expected > MAX_ARRIVALS:
        raise ValueError(f"~{expected:.3g} arrivals expected; more than {MAX_ARRIVALS:.0e}")


def piecewise_times(
    starts: np.ndarray, rates: np.ndarray, end: float, rng: np.random.Generator
) -> np.ndarray:
    """Poisson arrivals at ``rates[i]`` per second from ``starts[i]`` to the next start (the
    last to ``end``). ``starts`` must be increasing; rates >= 0."""
    starts = np.asarray(starts, dtype=np.float64)
    rates = np.asarray(rates, dtype=np.float64)
    if starts.size == 0:
        return np.empty(0)
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("rates must be finite and >= 0")
    widths = np.diff(np.append(starts, end))
    if np.any(widths < 0):
        raise ValueError("segment starts must be increasing and before the end")
    _check_count(float(rates @ widths))
    counts = rng.poisson(rates * widths)
    offsets = rng.random(int(counts.sum())) * np.repeat(widths, counts)
    times = np.repeat(starts, counts) + offsets
    times.sort()
    return np.minimum(times, np.nextafter(end, -np.inf)) if times.size else times


def poisson_times(
    rate_per_s: float, start: float, end: float, rng: np.random.Generator
) -> np.ndarray:
    """A homogeneous Poisson process: exponential gaps, ``rate_per_s`` on average."""
    _check_span(start, end)
    return piecewise_times(np.array([start]), np.array([rate_per_s]), end, rng)


def schedule_times(
    schedule: Sequence[tuple[float, float]], start: float, end: float, rng: np.random.Generator
) -> np.ndarray:
    """Poisson at a piecewise-constant rate: ``schedule`` is ``[(time_s, rate_per_s), ...]``
    sorted by time; each rate holds from its time to the next (the first from ``start``)."""
    _check_span(start, end)
    if not schedule:
        return np.empty(0)
    at = np.array([t for t, _ in schedule], dtype=np.float64)
    rates = np.array([r for _, r in schedule], dtype=np.float64)
    if np.any(np.diff(at) < 0):
        raise ValueError("schedule times must be sorted")
    # the rate in force at `start`, then every change inside (start, end)
    first = max(int(np.searchsorted(at, start, side="right")) - 1, 0)
    inside = (at > start) & (at < end)
    starts = np.concatenate(([start], at[inside]))
    seg_rates = np.concatenate(([rates[first] if at[first] <= start else 0.0], rates[inside]))
    return piecewise_times(starts, seg_rates, end, rng)


def mmpp_times(
    rates: Sequence[float],
    sojourn_s: Sequence[float],
    start: float,
    end: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A Markov-modulated Poisson process: the rate is ``rates[k]`` while the hidden state is
    ``k``; state ``k`` lasts an exponential time of mean ``sojourn_s[k]``, then jumps to another
    state chosen uniformly. It starts in its stationary law (state ``k`` with probability
    proportional to ``sojourn_s[k]``). The counts are over-dispersed (variance > mean): bursts."""
    span = _check_span(start, end)
    rates_a = np.asarray(rates, dtype=np.float64)
    means = np.asarray(sojourn_s, dtype=np.float64)
    if rates_a.size < 1 or rates_a.shape != means.shape:
        raise ValueError("mmpp needs as many sojourn times as rates")
    if np.any(means <= 0) or not np.all(np.isfinite(means)):
        raise ValueError("sojourn times must be finite and > 0")
    k = rates_a.size
    state = int(rng.choice(k, p=means / means.sum()))
    starts_parts, states_parts, t = [], [], start
    batch = int(min(max(16, 2 * span / means.min()), 1_000_000))
    while t < end:  # one pass per batch of sojourns, not per sojourn
        jumps = rng.integers(1, k, size=batch) if k > 1 else np.zeros(batch, np.int64)
        path = (state + np.concatenate(([0], np.cumsum(jumps[:-1])))) % k
        stay = rng.exponential(means[path])
        begins = t + np.concatenate(([0.0], np.cumsum(stay[:-1])))
        keep = begins < end
        starts_parts.append(begins[keep])
        states_parts.append(path[keep])
        t = float(begins[-1] + stay[-1])
        state = int((path[-1] + jumps[-1]) % k)
    return piecewise_times(
        np.concatenate(starts_parts), rates_a[np.concatenate(states_parts)], end, rng
    )


def diurnal_rate(
    t: np.ndarray, mean_rate: float, peak_ratio: float, period_s: float, peak_at_s: float
) -> np.ndarray:
    """``mean * (1 + a cos(2 pi (t - peak_at) / period))`` with ``a = (peak-1)/(peak+1)``, so
    the busiest moment is ``peak_ratio`` times the quietest and the average is ``mean_rate``."""
    a = (peak_ratio - 1.0) / (peak_ratio + 1.0)
    return mean_rate * (1.0 + a * np.cos(2.0 * np.pi * (np.asarray(t) - peak_at_s) / period_s))


def diurnal_times(
    mean_rate: float,
    peak_ratio: float,
    period_s: float,
    start: float,
    end: float,
    rng: np.random.Generator,
    *,
    peak_at_s: float | None = None,
) -> np.ndarray:
    """A daily (or any ``period_s``) swing of the rate, by thinning: draw Poisson at the peak
    rate and keep each arrival with probability ``rate(t) / peak``. ``peak_at_s`` (default half
    a period: midday of a day from midnight) is when the rate is highest."""
    _check_span(start, end)
    if not (peak_ratio >= 1 and math.isfinite(peak_ratio)):
        raise ValueError(f"peak ratio must be >= 1, got {peak_ratio}")
    if not (period_s > 0 and math.isfinite(period_s)):
        raise ValueError(f"period must be > 0, got {period_s}")
    peak_at = period_s / 2 if peak_at_s is None else peak_at_s
    top = float(diurnal_rate(np.array(peak_at), mean_rate, peak_ratio, period_s, peak_at))
    candidates = poisson_times(top, start, end, rng)
    if top <= 0:
        return candidates
    rate = diurnal_rate(candidates, mean_rate, peak_ratio, period_s, peak_at)
    return candidates[rng.random(candidates.size) * top < rate]
