"""Admission and service at exact times: what happens when intents reach zones.

A zone captures an intent when a server is idle at the moment it arrives, else hands it to a
similar candidate zone with an idle server (within ``overflow_margin``), else queues it, else
spills it (``spill_margin``), else drops it. A captured or queued intent's start and end times
are set at once (see :mod:`arena.model.state`): the capability engine runs the call with its
policy's clock reading the start time, and the simulated time the call took (service time,
retries, backoff, fallback) is how long it holds its server.

Why sequential: the start of each intent in a FIFO multi-server queue depends on the end of the
ones before it (the Kiefer-Wolfowitz recursion), so admission walks the intents in time order;
each step is O(log capacity), and the engine call it makes costs more than the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .ledger import IN_SERVICE, QUEUED

if TYPE_CHECKING:  # annotations only
    from capabilities import Engine

    from ..physics import LoadBoard, Physics
    from .clock import CallClock
    from .llm import LLMZones
    from .state import ArenaState

OUTCOME_CODES = {"ok": 1, "degraded": 2, "failed": 3}


class ZoneService:
    """Admission (capture, overflow, queue, spill, drop) and service starts, on an
    :class:`ArenaState`; the catalogue arrays say which capability serves a text in a zone."""

    def __init__(
        self,
        state: ArenaState,
        *,
        engine: Engine,
        clock: CallClock,
        physics: Callable[[], Physics],
        board: LoadBoard,
        text_best_cap: np.ndarray,
        text_zone_sim: np.ndarray,
        capability_names: Sequence[str],
        texts: Sequence[str],
        fallback_index: int,
        served: np.ndarray,
        llm: LLMZones | None = None,
    ):
        self.state = state
        self.engine = engine
        self.clock = clock
        self.physics = physics
        self.board = board
        self.text_best_cap = text_best_cap
        self.text_zone_sim = text_zone_sim
        self.capability_names = capability_names
        self.texts = texts
        self.fallback_index = fallback_index
        self.served = served  # per capability: intents it started serving
        self.llm = llm  # the prefix caches of LLM zones (None: no zone has one)

    def admit(
        self,
        rows: np.ndarray,
        zones: np.ndarray,
        reach: np.ndarray,
        alt: np.ndarray | None = None,
        alt_sim: np.ndarray | None = None,
        overflow: bool = False,
    ) -> None:
        """Intents ``rows`` reach ``zones`` at times ``reach``; ``alt``/``alt_sim`` (k, m) are
        their candidate zones and similarities, for overflow and spill."""
        if (alt is None) != (alt_sim is None):
            raise ValueError("admit: alt and alt_sim are given together or not at all")
        if len(rows) == 0:
            return
        order = np.lexsort((rows, reach))
        st = self.state
        q = st.queues
        p = self.physics()
        # what the load board shows free (with live information: the zones' exact state)
        seen_free = st.zone_capacity - self.board.occupancy if self.board.info.stale else None
        if alt is not None and alt_sim is not None:
            alt, alt_sim = self._with_cache_pull(rows, alt, alt_sim, p)
        best = alt_sim.max(axis=0) if alt_sim is not None else None
        drops: list[tuple[int, int, float]] = []
        started: list[int] = []
        for i in order.tolist():
            row, z, a = int(rows[i]), int(zones[i]), float(reach[i])
            if q.free_at(z, a):
                self._start(row, z, a, a, overflow)
                started.append(row)
                continue
            if alt is not None and alt_sim is not None and best is not None:  # all or none
                cz = self._overflow_zone(z, a, alt[:, i], alt_sim[:, i], best[i], p, seen_free)
                if cz >= 0:
                    self._start(row, cz, a, a, True)
                    started.append(row)
                    continue
            if q.queued_at(z, a) < st.zone_queue_limit[z]:
                self._start(row, z, a, q.next_start(z, a), overflow)
                started.append(row)
                continue
            if alt is not None and p.spill_margin > 0 and z != self.fallback_index:
                sz = self._spill_zone(row, a, p.spill_margin)
                if sz >= 0:
                    self._start(row, sz, a, q.next_start(sz, a), True)
                    started.append(row)
                    continue
            drops.append((row, z, a))
        st.admitted(np.array(started, dtype=np.int64))
        if drops:
            d = np.array(drops, dtype=np.float64)
            st.drop(d[:, 0].astype(np.int64), d[:, 1].astype(np.intp), "queue_full", d[:, 2])

    def _with_cache_pull(
        self, rows: np.ndarray, alt: np.ndarray, alt_sim: np.ndarray, p: Physics
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidates (k, m) as the overflow walk weighs them. With a cache pull
        (``cache_affinity``) on LLM zones, a candidate's similarity gains the force's bonus in
        similarity units (``temperature * cache_affinity * share`` it holds now) and the walk
        goes best first: a full replica holding the prompt hands it on only to one within
        ``overflow_margin`` of it, so the margin prices a lost hit against a wait. Without a
        pull, unchanged."""
        if not p.cache_affinity or self.llm is None or not self.llm.enabled:
            return alt, alt_sim
        view = self.llm.view(rows)
        share = view.share()[np.arange(len(rows))[None, :], alt]  # type: ignore[union-attr]
        pulled = alt_sim + (p.temperature * p.cache_affinity * share).astype(alt_sim.dtype)
        order = np.argsort(-pulled, axis=0, kind="stable")
        return np.take_along_axis(alt, order, 0), np.take_along_axis(pulled, order, 0)

    def _overflow_zone(
        self,
        z: int,
        a: float,
        cand: np.ndarray,
        csim: np.ndarray,
        best: float,
        p: Physics,
        seen_free: np.ndarray | None,
    ) -> int:
        """The first candidate (in similarity order) with an idle server that the load board
        shows free too, within ``overflow_margin`` of the best; -1 for none."""
        q = self.state.queues
        for cz, s in zip(cand.tolist(), csim.tolist(), strict=True):
            if (
                cz != z
                and s >= best - p.overflow_margin
                and (seen_free is None or seen_free[cz] > 0)
                and q.free_at(cz, a)
            ):
                return int(cz)
        return -1

    def _spill_zone(self, row: int, a: float, margin: float) -> int:
        """Last resort before dropping: the most similar routable zone with an idle server or
        queue room, within ``margin`` of the best; -1 for none."""
        st = self.state
        sims = self.text_zone_sim[st.ledger.text[row]].astype(np.float64)
        if self.fallback_index >= 0:
            sims[self.fallback_index] = -np.inf
        floor = sims.max() - margin
        for z in np.argsort(-sims, kind="stable").tolist():
            if sims[z] < floor:
                break
            if st.queues.free_at(z, a) or st.queues.queued_at(z, a) < st.zone_queue_limit[z]:
                return int(z)
        return -1

    def _start(self, row: int, zone: int, reach: float, start: float, overflow: bool) -> None:
        """Run the call through the engine (its clock at ``start``), book the server until the
        call's end and write the row's times."""
        st = self.state
        L = st.ledger
        text = int(L.text[row])
        cap = int(self.text_best_cap[text, zone])
        tin = int(L.input_tokens[row])
        hit = self.llm.book(row, zone) if self.llm is not None else 0
        self.clock.begin(start, tin, int(L.output_tokens[row]), hit, request=row)
        result = self.engine.run(self.capability_names[cap], {"text": self.texts[text]})
        end = start + self.clock.busy()
        if hit or np.isfinite(self.clock.first_token):  # an LLM call: its TTFT and its hit
            cached = min(hit * int(self.llm.block_tokens[zone]), tin) if self.llm else 0
            L.set(row, first_token=start + self.clock.first_token, cached_tokens=cached)
        st.queues.occupy(zone, reach, start, end)
        self.served[cap] += 1
        L.set(
            row,
            state=IN_SERVICE if start <= reach else QUEUED,
            zone=zone,
            capability=cap,
            reach=reach,
            start=start,
            end=end,
            outcome=OUTCOME_CODES[result.status],
        )
        if overflow:
            L.set(row, overflow=True)
        st.step_arrivals[zone] += 1
