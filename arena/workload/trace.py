"""A request trace: when each request arrived and how big it was, as numpy arrays.

A :class:`Trace` is what a replay needs of a real log (Azure, Mooncake, a CSV of one's own):
arrival times in float seconds from 0 and, when the log has them, each request's input and
output tokens and its prefix-block hash ids. It is immutable; :meth:`~Trace.window`,
:meth:`~Trace.speed` and :meth:`~Trace.scale` return new traces, so one file read serves many
replays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True, eq=False)
class Trace:
    """Arrivals of a trace. ``times`` are float64 seconds, non-decreasing, from 0;
    ``length_s`` is the span the trace covers (its last arrival, or a window's width, so that
    ``mean_rate`` of a quiet window is not inflated). Tokens are int64 or None when the log has
    none; ``hash_ids`` is ragged: request ``i`` has ``hash_ids[hash_offsets[i]:hash_offsets[i+1]]``."""

    times: np.ndarray
    input_tokens: np.ndarray | None = None
    output_tokens: np.ndarray | None = None
    hash_ids: np.ndarray | None = None
    hash_offsets: np.ndarray | None = None
    length_s: float = -1.0  # -1: the last arrival (set in __post_init__)

    def __post_init__(self) -> None:
        if self.length_s < 0:
            last = float(self.times[-1]) if self.times.size else 0.0
            object.__setattr__(self, "length_s", last)

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def duration(self) -> float:
        """Seconds the trace covers."""
        return self.length_s

    @property
    def mean_rate(self) -> float:
        """Requests per second over :attr:`duration` (0 for an empty or instant trace)."""
        return len(self) / self.length_s if self.length_s > 0 else 0.0

    @property
    def has_tokens(self) -> bool:
        return self.input_tokens is not None and self.output_tokens is not None

    def hashes(self, i: int) -> np.ndarray:
        """The prefix-block hash ids of request ``i`` (empty without hash ids)."""
        if self.hash_ids is None or self.hash_offsets is None:
            return np.empty(0, dtype=np.int64)
        return self.hash_ids[self.hash_offsets[i] : self.hash_offsets[i + 1]]

    def take(self, index: np.ndarray, times: np.ndarray, length_s: float) -> Trace:
        """The requests at ``index`` (in that order) with new ``times``: tokens and hash ids
        follow their request."""
        index = np.asarray(index, dtype=np.int64)

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        hash_ids = offsets = None
        if self.hash_ids is not None and self.hash_offsets is not None:
            starts, ends = self.hash_offsets[index], self.hash_offsets[index + 1]
            lengths = ends - starts
            offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
            # flat positions of every kept block: start of its request + rank inside it
            rank = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
            hash_ids = self.hash_ids[np.repeat(starts, lengths) + rank]
        return Trace(
            np.asarray(times, dtype=np.float64),
            pick(self.input_tokens),
            pick(self.output_tokens),
            hash_ids,
            offsets,
            float(length_s),
        )

    def window(self, start_s: float, end_s: float) -> Trace:
        """The requests in ``[start_s, end_s)``, re-based so ``start_s`` is 0."""
        if not (0 <= start_s < end_s):
            raise ValueError(f"window needs 0 <= start < end, got [{start_s}, {end_s})")
        lo, hi = np.searchsorted(self.times, [start_s, end_s], side="left")
        index = np.arange(lo, hi)
        width = min(end_s, max(self.length_s, start_s)) - start_s
        return self.take(index, self.times[lo:hi] - start_s, width)

    def speed(self, factor: float) -> Trace:
        """Replay ``factor`` times faster (times and span divided by it; 2 = twice the rate)."""
        if not (factor > 0 and np.isfinite(factor)):
            raise ValueError(f"speed must be a finite number above 0, got {factor}")
        return replace(self, times=self.times / factor, length_s=self.length_s / factor)

    def scale(self, factor: float, rng: np.random.Generator, *, max_offset_s: float = 1.0) -> Trace:
        """``factor`` times the traffic, keeping its burst structure (the speed is unchanged).

        Below 1, each request is kept with probability ``factor`` (independent thinning: the
        rate's ups and downs stay where they were). Above 1, the trace is superposed on itself:
        ``floor(factor)`` whole copies and one copy thinned to the fraction left, each copy but
        the first shifted by its own random offset in ``[0, max_offset_s)`` (wrapped inside the
        span) so copies do not arrive in lockstep; a burst longer than the offset stays a burst,
        ``factor`` times as tall. Tokens and hash ids travel with their request."""
        if not (factor > 0 and np.isfinite(factor)):
            raise ValueError(f"scale must be a finite number above 0, got {factor}")
        n = len(self)
        whole = int(np.floor(factor))
        parts_index, parts_times = [], []
        for copy in range(whole + 1):  # one loop per copy of the trace, not per request
            index = np.arange(n)
            if copy == whole:
                fraction = factor - whole
                if fraction <= 1e-12:
                    break
                index = index[rng.random(n) < fraction]
            times = self.times[index]
            if copy > 0 and self.length_s > 0:
                offset = rng.uniform(0.0, min(max_offset_s, self.length_s))
                times = np.mod(times + offset, self.length_s)
            parts_index.append(index)
            parts_times.append(times)
        index = np.concatenate(parts_index) if parts_index else np.empty(0, np.int64)
        times = np.concatenate(parts_times) if parts_times else np.empty(0)
        order = np.argsort(times, kind="stable")
        return self.take(index[order], times[order], self.length_s)
