"""The ledger: one row per intent that ever arrived, as growable NumPy columns.

The swarm holds only intents the physics is still routing; the ledger remembers every intent's
fate (state, zone, capability, exact times, drop reason, outcome) so the summary can score
routing and latency, and the conservation check can count states independently of the live
structures. Times are float seconds from the run's start (units exist only at the edges):
``arrival`` (at the gateway), ``reach`` (at the zone, after network delay; also the time of a
drop), ``start`` and ``end`` of service. ``input_tokens`` / ``output_tokens`` come from a trace
(0 without one) and size per-token service times; on an LLM replica, ``cached_tokens`` is the
prompt its prefix cache held and ``first_token`` the time of the first output token.
"""

from __future__ import annotations

import numpy as np

IN_FLIGHT, QUEUED, IN_SERVICE, COMPLETED, DROPPED = range(5)
STATE_NAMES = ("in_flight", "queued", "in_service", "completed", "dropped")
DROP_REASONS = ("out_of_scope", "queue_full", "expired", "zone_down")
OUTCOMES = ("pending", "ok", "degraded", "failed")

_COLUMNS: dict[str, tuple[type, float]] = {  # dtype, fill (ints and bools are floats to mypy)
    "text": (np.int32, -1),
    "label": (np.int32, -1),
    "arrival": (np.float64, np.nan),
    "routed": (np.float64, np.nan),  # live runs: when the gateway chose the zone
    "reach": (np.float64, np.nan),
    "state": (np.int8, IN_FLIGHT),
    "zone": (np.int16, -1),
    "capability": (np.int32, -1),
    "start": (np.float64, np.nan),
    "end": (np.float64, np.nan),
    "input_tokens": (np.int32, 0),
    "output_tokens": (np.int32, 0),
    "cached_tokens": (np.int32, 0),  # prompt tokens an LLM replica's prefix cache held
    "first_token": (np.float64, np.nan),  # time of the first output token (LLM zones only)
    "reason": (np.int8, -1),
    "outcome": (np.int8, 0),
    "overflow": (np.bool_, False),
    "fallback": (np.bool_, False),
}


class Ledger:
    def __init__(self, capacity: int = 4096):
        self.n = 0
        self._cap = 0
        self._cols: dict[str, np.ndarray] = {}
        self._grow(capacity)

    def _grow(self, cap: int) -> None:
        for name, (dtype, fill) in _COLUMNS.items():
            new: np.ndarray = np.full(cap, fill, dtype=dtype)
            old = self._cols.get(name)
            if old is not None:
                new[: self.n] = old[: self.n]
            self._cols[name] = new
        self._cap = cap

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def __len__(self) -> int:
        return self.n

    def append(
        self, text: np.ndarray, label: np.ndarray, arrival: np.ndarray | float
    ) -> np.ndarray:
        """Add ``m`` arrivals (``arrival``: their times in seconds); return their row ids."""
        m = len(text)
        if self.n + m > self._cap:
            self._grow(max(self.n + m, 2 * self._cap))
        rows = np.arange(self.n, self.n + m)
        self._cols["text"][rows] = text
        self._cols["label"][rows] = label
        self._cols["arrival"][rows] = arrival
        self.n += m
        return rows

    def set(self, rows: np.ndarray | int, **values: object) -> None:
        for name, value in values.items():
            self._cols[name][rows] = value

    def state_counts(self) -> np.ndarray:
        return np.bincount(self.state, minlength=len(STATE_NAMES))
