"""The gateway's routing: the simulation's own model, router and gate, fed from a live board.

:class:`LiveRouting` is an :class:`~arena.model.ArenaModel` built from the same scenario and
seed as the simulation (so the same router objects, similarities, out-of-scope gate, physics
flight and random stream), which never steps. The gateway hands it micro-batches of requests;
:meth:`route_batch` embeds their texts, routes them through :meth:`ArenaModel.route` (the code
path of a simulated tick) and collects the zones the router chose where the simulation would
admit them (:meth:`admit`). Load comes from the board the zone workers report to; zones the
breaker marks down are left out of the routable zones the router may choose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..model import DROP_REASONS, DROPPED, ArenaModel
from ..physics import LoadBoard, LoadInfo
from ..scenario import Scenario


@dataclasses.dataclass(frozen=True)
class Decisions:
    """Per request of a batch: its zone (-1: not sent anywhere), the capability to run there
    (-1 for none), why it was not sent (None when it was), and the ``(zone, capability)`` it may
    overflow to, in order, should its zone have no idle slot (the simulation's overflow: the
    router's candidates within ``physics.overflow_margin`` of the best; physics router only)."""

    zone: np.ndarray
    capability: np.ndarray
    reason: list[str | None]
    overflow: list[list[tuple[int, int]]] = dataclasses.field(default_factory=list)


class LiveRouting(ArenaModel):
    """The simulation's model as a router only (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        router: str | None = None,
        rate_scale: float = 1.0,
    ):
        super().__init__(
            scenario, seed=seed, router=router, rate_scale=rate_scale, check_conservation=False
        )
        Z = len(self.zone_names)
        # what the workers last reported: the board routers read (as posted, never live)
        self.seen_occupancy = np.zeros(Z, dtype=np.int64)
        self.seen_queue = np.zeros(Z, dtype=np.int64)
        self.board = LoadBoard(LoadInfo(), self.seen_occupancy, self.seen_queue)
        self._chosen: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]
        self._chosen = []

    def report(self, zone: int, occupancy: int, queue: int) -> None:
        """A worker's load report (a down zone keeps showing full)."""
        if not self.down[zone]:
            self.seen_occupancy[zone] = occupancy
            self.seen_queue[zone] = queue

    def mark_down(self, zone: int, at: float | None = None) -> None:
        """The breaker opened: never route to ``zone`` again this run (the simulation's own
        :meth:`ArenaModel.mark_down`, which a simulated outage calls too); it shows full."""
        super().mark_down(zone, at)
        self.seen_occupancy[zone] = self.zone_capacity[zone]
        self.seen_queue[zone] = self.zone_queue_limit[zone]

    def admit(
        self,
        rows: np.ndarray,
        zones: np.ndarray,
        alt: np.ndarray | None = None,
        alt_sim: np.ndarray | None = None,
    ) -> None:
        """Where the simulation admits routed intents, the gateway takes their zones (and
        their candidates ``alt``/``alt_sim``, (k, m), for overflow)."""
        self._chosen.append((np.asarray(rows), np.asarray(zones), alt, alt_sim))

    def route_batch(self, ids: np.ndarray, texts: Sequence[str], now: float) -> Decisions:
        """Route the requests ``ids`` (arrival indices of the run) saying ``texts`` at ``now``
        (scenario seconds): embed, gate, route; one decision each."""
        m = len(ids)
        zone = np.full(m, -1, dtype=np.intp)
        cap = np.full(m, -1, dtype=np.intp)
        if m == 0:
            return Decisions(zone, cap, [])
        a = self.arrivals
        text = a.text[ids]
        L = self.state.ledger
        rows = L.append(text, self.source_labels[text], now)
        L.set(rows, input_tokens=a.input_tokens[ids], output_tokens=a.output_tokens[ids])
        if len(self.routable_zones) == 0:
            return Decisions(zone, cap, ["zone_down"] * m)  # as the simulation drops them
        sims, best, in_scope = self.similarities(list(texts))  # route() masks the down zones
        self.tick_index = int(now / self.tick)
        self._chosen = []
        self.route(rows, sims, in_scope)
        overflow: list[list[tuple[int, int]]] = [[] for _ in range(m)]
        for r, z, alt, alt_sim in self._chosen:
            zone[r - rows[0]] = z
            if alt is not None and alt_sim is not None:
                self._overflow_candidates(r - rows[0], z, alt, alt_sim, best, overflow)
        sent = zone >= 0
        cap[sent] = best[np.flatnonzero(sent), zone[sent]]
        reason: list[str | None] = [None] * m
        for i in np.flatnonzero(~sent).tolist():
            code = int(L.reason[rows[i]]) if L.state[rows[i]] == DROPPED else -1
            reason[i] = DROP_REASONS[code] if code >= 0 else "not routed"
        for i in np.flatnonzero(sent & self.down[np.maximum(zone, 0)]).tolist():
            reason[i] = "zone_down"
            zone[i] = -1
        return Decisions(zone, cap, reason, overflow)

    def _overflow_candidates(
        self,
        idx: np.ndarray,
        zones: np.ndarray,
        alt: np.ndarray,
        alt_sim: np.ndarray,
        best: np.ndarray,
        out: list[list[tuple[int, int]]],
    ) -> None:
        """Where each intent may overflow (the simulation's ``ZoneService._overflow_zone``
        filter, but the zone's own state is the worker's to judge): its candidates other than
        its zone, in similarity order, within ``overflow_margin`` of its best, not down."""
        top = alt_sim.max(axis=0)
        ok = (alt != zones[None, :]) & (alt_sim >= top[None, :] - self.physics.overflow_margin)
        ok &= ~self.down[alt]
        for j in np.flatnonzero(ok.any(axis=0)).tolist():
            i = int(idx[j])
            out[i] = [(int(cz), int(best[i, cz])) for cz in alt[ok[:, j], j].tolist()]
