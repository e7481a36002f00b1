"""The arena's state: zone arrays, the servers and queues of every zone, the ledger, the clock.

Why a class of its own: the model (step order, router, kernel), the zone service (admission at
exact times) and the readers (summary, plots, panel) all work on the same figures; holding them
here, with :class:`ArenaView` as the read-only face, keeps each of those modules to one job.

Exact times without a per-event calendar. A zone is a FIFO queue in front of ``capacity``
servers. When an intent reaches a zone at time ``a`` the zone knows when each server frees up
(a heap of times) and when each queued intent will start; its start is ``max(a, earliest free
server)`` (the Kiefer-Wolfowitz recursion, exact for FIFO G/G/c) and its end is the start plus
the service time the capability engine reports for the call. So completions and queue
hand-offs happen at their exact times however coarse the tick, and the ledger's states at any
time follow from its four times (see :meth:`ArenaState.advance`).
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np

from ..errors import ConservationError
from .ledger import (  # the states are 0-3 in lifecycle order (advance counts on it)
    COMPLETED,
    DROP_REASONS,
    DROPPED,
    IN_FLIGHT,
    IN_SERVICE,
    QUEUED,
    STATE_NAMES,
    Ledger,
)


class ZoneQueues:
    """Per zone: when each server is free again (a heap) and when each queued intent starts."""

    def __init__(self, capacity: np.ndarray):
        self.servers: list[list[float]] = [[0.0] * int(c) for c in capacity]
        self.waiting: list[deque[float]] = [deque() for _ in capacity]

    def free_at(self, zone: int, t: float) -> bool:
        """A server of ``zone`` is idle at time ``t``."""
        return self.servers[zone][0] <= t

    def next_start(self, zone: int, t: float) -> float:
        """When an intent reaching ``zone`` at ``t`` would start service (FIFO)."""
        return max(t, self.servers[zone][0])

    def queued_at(self, zone: int, t: float) -> int:
        """Intents waiting in ``zone``'s queue at ``t`` (admitted, not yet started)."""
        w = self.waiting[zone]
        while w and w[0] <= t:
            w.popleft()
        return len(w)

    def occupy(self, zone: int, reach: float, start: float, end: float) -> None:
        """Book the earliest-free server of ``zone`` from ``start`` to ``end``."""
        heapq.heapreplace(self.servers[zone], end)
        if start > reach:
            self.waiting[zone].append(start)


class ArenaState:
    """Everything that changes during a run, in arrays (see the module docstring)."""

    def __init__(self, capacity: np.ndarray, queue_limit: np.ndarray, ledger_size: int = 1024):
        Z = len(capacity)
        self.zone_capacity = np.asarray(capacity, dtype=np.int64)
        self.zone_queue_limit = np.array(queue_limit, dtype=np.int64)  # a zone's own: see close
        self.queues = ZoneQueues(self.zone_capacity)
        self.ledger = Ledger(ledger_size)
        self.now = 0.0
        self.arrived = 0
        self.completed = 0
        self.dropped = np.zeros(len(DROP_REASONS), dtype=np.int64)
        # live figures at ``now`` (what zones know of themselves; routers read the load board)
        self.occupancy = np.zeros(Z, dtype=np.int64)
        self.queue_length = np.zeros(Z, dtype=np.int64)
        self.in_network = np.zeros(Z, dtype=np.int64)
        # per step: admissions (served or queued), completions and drops per zone
        self.step_arrivals = np.zeros(Z, dtype=np.int64)
        self.step_completions = np.zeros(Z, dtype=np.int64)
        self.step_drops = np.zeros(Z, dtype=np.int64)
        self._active = np.zeros(0, dtype=np.int64)  # admitted rows not yet completed

    @property
    def n_zones(self) -> int:
        return len(self.zone_capacity)

    def admitted(self, rows: np.ndarray) -> None:
        """Rows whose reach, start and end times are set join the active set."""
        if len(rows):
            self._active = np.concatenate([self._active, np.asarray(rows, dtype=np.int64)])

    def advance(self, now: float) -> None:
        """Move the clock to ``now``: every active row's state follows from its times (in the
        network before ``reach``, queued before ``start``, in service before ``end``), the rows
        that ended leave the active set, and the live figures are recounted (one ``bincount``
        of zone x state: the states are numbered in that order, 0 to 3)."""
        self.now = float(now)
        a = self._active
        if len(a) == 0:
            self.occupancy[:] = 0
            self.queue_length[:] = 0
            self.in_network[:] = 0
            return
        L = self.ledger
        code = (L.reach[a] <= now).astype(np.int8)
        code += L.start[a] <= now
        code += L.end[a] <= now
        L.set(a, state=code)
        zone = L.zone[a].astype(np.intp)
        per = np.bincount(zone * 4 + code, minlength=4 * self.n_zones).reshape(-1, 4)
        self.in_network[:] = per[:, IN_FLIGHT]
        self.queue_length[:] = per[:, QUEUED]
        self.occupancy[:] = per[:, IN_SERVICE]
        done = per[:, COMPLETED]
        if done.any():
            self.completed += int(done.sum())
            self.step_completions += done
            self._active = a[code != COMPLETED]

    def active_rows(self) -> np.ndarray:
        """The admitted rows not yet completed (as of the last :meth:`advance`)."""
        return self._active

    def last_end(self) -> float:
        """When the last admitted intent finishes (``now`` if none is active)."""
        a = self._active
        return float(self.ledger.end[a].max()) if len(a) else self.now

    def drop(self, rows: np.ndarray, zones: np.ndarray, reason: str, at: np.ndarray) -> None:
        """Drop ``rows`` (at zone ``zones``, -1 for none) at times ``at`` for ``reason``."""
        if len(rows) == 0:
            return
        code = DROP_REASONS.index(reason)
        self.ledger.set(rows, state=DROPPED, reason=code, zone=zones, reach=at)
        self.dropped[code] += len(rows)
        z = zones[zones >= 0]
        if len(z):
            self.step_drops += np.bincount(z, minlength=self.n_zones)

    def close_zone(self, zone: int, at: float) -> np.ndarray:
        """Zone ``zone`` goes out of service at ``at``: whatever it holds then (on its way,
        queued, or in service: every active row there that would end after ``at``) is dropped
        (``zone_down``) at ``at``; its servers never free again and it queues nothing more.
        Returns the rows dropped."""
        a = self._active
        L = self.ledger
        hit = a[(L.zone[a] == zone) & (L.end[a] > at)]
        L.set(hit, start=np.nan, end=np.nan)
        self._active = a[~np.isin(a, hit)]
        self.drop(hit, np.full(len(hit), zone, dtype=np.intp), "zone_down", np.full(len(hit), at))
        self.queues.servers[zone] = [math.inf] * len(self.queues.servers[zone])
        self.queues.waiting[zone].clear()
        self.zone_queue_limit[zone] = 0
        return hit

    def reset_step_counts(self) -> None:
        self.step_arrivals[:] = 0
        self.step_completions[:] = 0
        self.step_drops[:] = 0

    def counts(self, routing: int = 0) -> dict[str, int]:
        """Where every intent is at ``now``; ``routing`` adds those the physics still routes."""
        return {
            "arrived": int(self.arrived),
            "in_flight": int(routing + self.in_network.sum()),
            "queued": int(self.queue_length.sum()),
            "in_service": int(self.occupancy.sum()),
            "completed": int(self.completed),
            "dropped": int(self.dropped.sum()),
        }

    def lost(self, routing: int = 0) -> int:
        """Intents unaccounted for: arrived minus every place an intent can be."""
        c = self.counts(routing)
        return c["arrived"] - sum(c[k] for k in STATE_NAMES)

    def check_conservation(self, routing: int = 0, full: bool = True) -> None:
        """Raise ConservationError unless the live counts account for every arrival and (with
        ``full``, O(arrivals)) the ledger's census of states agrees with them exactly."""
        c = self.counts(routing)
        if self.lost(routing) != 0 or len(self.ledger) != c["arrived"]:
            raise ConservationError(
                f"t={self.now:.6f} s: conservation broken: live {c}, ledger rows {len(self.ledger)}"
            )
        if full:
            census = self.ledger_counts()
            if any(census[s] != c[s] for s in census):
                raise ConservationError(
                    f"t={self.now:.6f} s: conservation broken: live {c}, ledger {census}"
                )

    def ledger_counts(self) -> dict[str, int]:
        return dict(zip(STATE_NAMES, self.ledger.state_counts().tolist(), strict=True))
