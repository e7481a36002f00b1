"""Admission, service and queues: what happens when intents ask zones for service.

A mixin of :class:`arena.model.ArenaModel` (it works on the model's zone arrays: capacity,
occupancy, queues, the ledger and the calendar of service ends), kept apart so the step's
routing and physics (``model``) and construction (``build``) read separately.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from .ledger import COMPLETED, DROP_REASONS, DROPPED, IN_SERVICE, QUEUED

if TYPE_CHECKING:  # annotations only
    from capabilities import Engine

    from ..physics import LoadBoard, Physics
    from .agents import CapabilityAgent, ZoneAgent
    from .clock import CallClock
    from .ledger import Ledger


class ZoneService:
    """Capture, overflow, queueing, spilling, dropping, service starts and completions."""

    # set by ArenaModel / ArenaBuild
    zones: list[ZoneAgent]
    zone_capacity: np.ndarray
    zone_queue_limit: np.ndarray
    occupancy: np.ndarray
    queue_length: np.ndarray
    step_arrivals: np.ndarray
    step_completions: np.ndarray
    step_drops: np.ndarray
    queues: list[deque[int]]
    fallback_index: int
    text_zone_sim: np.ndarray
    text_best_cap: np.ndarray
    capability_names: list[str]
    capability_agent_of: dict[int, CapabilityAgent]
    source_texts: tuple[str, ...]
    calendar: dict[int, list[int]]
    call_clock: CallClock
    dropped: np.ndarray
    completed: int
    ledger: Ledger
    board: LoadBoard
    physics: Physics
    engine: Engine
    rng: np.random.Generator
    steps: int

    def admit(
        self,
        rows: np.ndarray,
        zones: np.ndarray,
        alt: np.ndarray | None = None,
        alt_sim: np.ndarray | None = None,
    ) -> None:
        """Intents ask ``zones`` for service: capture where a slot is free, else overflow to the
        most similar candidate zone with room (within ``overflow_margin``), else queue, else drop.
        Vectorised: contention inside a zone is resolved in arrival order."""
        order = np.lexsort((rows, zones))
        rows, zones = rows[order], zones[order]
        if alt is not None:
            alt, alt_sim = alt[:, order], alt_sim[:, order]
        free = self.zone_capacity - self.occupancy
        take = rank_in_group(zones) < free[zones]
        self.start_service(rows[take], zones[take])
        rest = ~take
        if alt is not None and rest.any():
            best = alt_sim.max(axis=0)
            for j in range(alt.shape[0]):
                idx = np.flatnonzero(rest)
                if len(idx) == 0:
                    break
                cz = alt[j, idx]
                # hand over only where the zone has room and the load board says so too
                free = np.minimum(self.zone_capacity - self.occupancy, self.seen_free())
                ok = (
                    (cz != zones[idx])
                    & (alt_sim[j, idx] >= best[idx] - self.physics.overflow_margin)
                    & (free[cz] > 0)
                )
                if not ok.any():
                    continue
                sel, sz = idx[ok], cz[ok]
                o = np.lexsort((rows[sel], sz))
                sel, sz = sel[o], sz[o]
                got = rank_in_group(sz) < free[sz]
                self.start_service(rows[sel[got]], sz[got], overflow=True)
                rest[sel[got]] = False
        idx = np.flatnonzero(rest)
        if len(idx) == 0:
            return
        queued = self.enqueue(rows[idx], zones[idx])
        idx = idx[~queued]
        if len(idx) and alt is not None and self.physics.spill_margin > 0:
            idx = idx[~self.spill(rows[idx], zones[idx])]
        if len(idx):
            self.drop(rows[idx], zones[idx], "queue_full")

    def enqueue(self, rows: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """Queue intents (sorted by zone, then arrival) where there is room; return who got in."""
        room = self.zone_queue_limit - self.queue_length
        queued = rank_in_group(zones) < room[zones]
        for r, z in zip(rows[queued].tolist(), zones[queued].tolist(), strict=True):
            self.queues[z].append(r)
        if queued.any():
            counts = np.bincount(zones[queued], minlength=len(self.zones))
            self.queue_length += counts
            self.step_arrivals += counts
            self.ledger.set(rows[queued], state=QUEUED, zone=zones[queued])
        return queued

    def spill(self, rows: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """Last resort before dropping: the most similar routable zone with a free slot or queue
        room, within ``spill_margin`` of the best. Returns who was placed (served or queued)."""
        placed = np.zeros(len(rows), dtype=bool)
        if self.fallback_index >= 0:
            placed |= zones == self.fallback_index  # out-of-scope intents only go to the fallback
        sims = self.text_zone_sim[self.ledger.text[rows]].astype(np.float64)
        if self.fallback_index >= 0:
            sims[:, self.fallback_index] = -np.inf
        floor = sims.max(axis=1) - self.physics.spill_margin
        skip = placed.copy()
        for _ in range(len(self.zones)):
            free = np.minimum(self.zone_capacity - self.occupancy, self.seen_free())
            room = np.minimum(
                self.zone_capacity - self.occupancy + self.zone_queue_limit - self.queue_length,
                self.seen_free() + self.zone_queue_limit - self.board.queue_length,
            )
            options = np.where(room[None, :] > 0, sims, -np.inf)
            choice = options.argmax(axis=1)
            ok = ~skip & (options[np.arange(len(rows)), choice] >= floor)
            if not ok.any():
                break
            sel = np.flatnonzero(ok)
            order = np.lexsort((rows[sel], choice[sel]))
            sel = sel[order]
            z = choice[sel]
            rank = rank_in_group(z)
            serve = rank < free[z]
            self.start_service(rows[sel[serve]], z[serve], overflow=True)
            wait = ~serve & (rank < room[z])
            self.enqueue(rows[sel[wait]], z[wait])
            self.ledger.set(rows[sel[wait]], overflow=True)
            placed[sel[serve | wait]] = True
            skip[sel[serve | wait]] = True
        if self.fallback_index >= 0:
            placed &= zones != self.fallback_index
        return placed

    def seen_free(self) -> np.ndarray:
        """Free slots per zone as the load board shows them (live with instant information)."""
        return self.zone_capacity - self.board.occupancy

    def drop(self, rows: np.ndarray, zones: np.ndarray, reason: str) -> None:
        code = DROP_REASONS.index(reason)
        self.ledger.set(rows, state=DROPPED, reason=code, zone=zones)
        self.dropped[code] += len(rows)
        z = zones[zones >= 0]
        if len(z):
            self.step_drops += np.bincount(z, minlength=len(self.zones))

    def start_service(self, rows: np.ndarray, zones: np.ndarray, overflow: bool = False) -> None:
        if len(rows) == 0:
            return
        t = self.steps
        texts = self.ledger.text[rows]
        caps = self.text_best_cap[texts, zones]
        counts = np.bincount(zones, minlength=len(self.zones))
        self.occupancy += counts
        self.step_arrivals += counts
        self.ledger.set(rows, state=IN_SERVICE, zone=zones, capability=caps, start=t)
        if overflow:
            self.ledger.set(rows, overflow=True)
        outcome_codes = {"ok": 1, "degraded": 2, "failed": 3}
        outcomes = np.empty(len(rows), dtype=np.int8)
        ends = np.empty(len(rows), dtype=np.int32)
        for i, (row, cap_i, text_i) in enumerate(zip(rows.tolist(), caps.tolist(), texts.tolist())):
            name = self.capability_names[cap_i]
            self.call_clock.begin()
            result = self.engine.run(name, {"text": self.source_texts[text_i]})
            outcomes[i] = outcome_codes[result.status]
            ends[i] = t + self.call_clock.busy_steps()  # service, retries, backoff, fallback
            self.capability_agent_of[cap_i].served += 1
            self.calendar.setdefault(int(ends[i]), []).append(row)
        self.ledger.set(rows, outcome=outcomes, end=ends)

    def complete_due(self, t: int) -> None:
        rows = self.calendar.pop(t, None)
        if not rows:
            return
        rows = np.array(rows, dtype=np.int64)
        zones = self.ledger.zone[rows].astype(np.intp)
        counts = np.bincount(zones, minlength=len(self.zones))
        self.occupancy -= counts
        self.step_completions += counts
        self.completed += len(rows)
        self.ledger.set(rows, state=COMPLETED)

    def dequeue(self) -> None:
        free = self.zone_capacity - self.occupancy
        for z in np.flatnonzero((free > 0) & (self.queue_length > 0)):
            q = self.queues[z]
            n = int(min(free[z], len(q)))
            rows = np.array([q.popleft() for _ in range(n)], dtype=np.int64)
            self.queue_length[z] -= n
            self.step_arrivals[z] -= n  # they were counted when they queued
            self.start_service(rows, np.full(n, z, dtype=np.intp))


def rank_in_group(sorted_keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal keys (keys sorted)."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.searchsorted(sorted_keys, sorted_keys, side="left")
    return np.arange(n) - starts
