"""What routers know of zone load: live, a bulletin board refreshed every T steps, or delayed.

Why: a real dispatcher rarely sees the instant load of every server. Mitzenmacher ("How useful
is old information?", IEEE TPDS 11(1), 2000) showed that with a stale *bulletin board*
join-the-least-loaded herds every request onto the queues that looked short when the board was
posted, and does worse than picking two at random and taking the better (power of two choices)
— eventually worse than random. The arena makes that a scenario setting, applied equally to
every router, the physics' repulsion included:

- ``instant``: the live occupancy and queue (what the arena always did);
- ``board``: the figures posted at the last multiple of ``period`` seconds;
- ``delayed``: the figures of ``delay`` seconds ago (as of the last tick at or before then).

Only routing decisions read the board (where to send an intent, the physics' load term, where a
full zone hands an intent over to); a zone admitting an intent always knows its own state.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

LOAD_INFO_MODES = ("instant", "board", "delayed")


@dataclass(frozen=True)
class LoadInfo:
    """How fresh the load information routers read is (see the module docstring)."""

    mode: str = "instant"
    period: float = 1.0  # board: seconds between postings
    delay: float = 0.0  # delayed: seconds of lag

    def __post_init__(self) -> None:
        if self.mode not in LOAD_INFO_MODES:
            raise ValueError(
                f"load_info.mode: expected one of {', '.join(LOAD_INFO_MODES)}, got {self.mode!r}"
            )
        for name, positive in (("period", True), ("delay", False)):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float | np.integer | np.floating)
                or not np.isfinite(value)
                or value < 0
                or (positive and value == 0)
            ):
                raise ValueError(
                    f"load_info.{name}: expected seconds {'> 0' if positive else '>= 0'}, "
                    f"got {value!r}"
                )

    @property
    def stale(self) -> bool:
        return not (
            self.mode == "instant"
            or (self.mode == "board" and self.period <= 0)
            or (self.mode == "delayed" and self.delay == 0)
        )


class LoadBoard:
    """The occupancy and queue figures routers see, per :class:`LoadInfo`.

    :meth:`post` is called once per step, before arrivals are routed,
    with the live arrays. With fresh information :attr:`occupancy` and :attr:`queue_length` *are*
    the live arrays (so routing in the same step sees the intents just admitted, as before);
    otherwise they are copies from the step the setting says.
    """

    def __init__(self, info: LoadInfo, occupancy: np.ndarray, queue_length: np.ndarray):
        self.info = info
        self._live = (occupancy, queue_length)
        self.occupancy = occupancy
        self.queue_length = queue_length
        self.posted_at = 0.0
        self._posted: float | None = None
        self._history: deque[tuple[float, np.ndarray, np.ndarray]] = deque()
        if info.stale:
            self.occupancy = occupancy.copy()
            self.queue_length = queue_length.copy()

    def post(self, t: float) -> None:
        """Record the live figures at time ``t`` (seconds) and update what routers see."""
        info = self.info
        if not info.stale:
            return
        occ, queue = self._live
        if info.mode == "board":
            due = math.floor(t / info.period + 1e-9) * info.period
            if self._posted is None or due > self._posted:
                self.occupancy = occ.copy()
                self.queue_length = queue.copy()
                self._posted = due
                self.posted_at = due
            return
        self._history.append((t, occ.copy(), queue.copy()))
        while len(self._history) > 1 and self._history[1][0] <= t - info.delay:
            self._history.popleft()
        self.posted_at, self.occupancy, self.queue_length = self._history[0]

    def next_post(self, t: float) -> float | None:
        """When the board changes next after ``t`` (None: it follows the live figures)."""
        if not self.info.stale:
            return None
        if self.info.mode == "board":
            return (math.floor(t / self.info.period + 1e-9) + 1) * self.info.period
        return t + self.info.delay

    def load(self, capacity: np.ndarray) -> np.ndarray:
        """(occupancy + queue) / capacity per zone as seen: what repulsion pushes against."""
        return ((self.occupancy + self.queue_length) / capacity).astype(np.float32)
