"""ArenaModel: the Spatial Knowledge Arena as a thin Mesa model over an explicit state.

Time is float seconds from the run's start. The model steps in ticks (``clock.tick``); one step
covers ``[t, t + tick)``: the load board posts what routers may see, the arrivals of the tick
are routed (a baseline router picks a zone at once; under the physics each intent flies through
the arena until it reaches a zone, the flight being the router's deliberation, not time), each
reaches its zone after the network delay and is admitted at its exact time (see
:mod:`arena.model.service`), and the state advances to the tick's end. Ticks with nothing to do
are skipped, so a quiet hour costs nothing.

Parts: :class:`~arena.model.state.ArenaState` (zones' servers and queues, ledger, counters),
:class:`~arena.model.service.ZoneService` (admission at exact times, through the capability
engine), :class:`~arena.model.view.ArenaView` (what analysis and UI read), and construction in
:class:`~arena.model.build.ArenaBuild`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from mesa.experimental.continuous_space import ContinuousSpace

from capabilities import Embedder, Engine, Registry

from ..physics import (
    LoadBoard,
    Physics,
    Router,
    RouterView,
    Swarm,
    Workspace,
    checked_choice,
    choice_bias,
    make_router,
    top_candidates,
)
from ..physics.fast import select_kernel
from ..scenario import Scenario, build_registry, check_run_options
from .build import ArenaBuild
from .ledger import Ledger
from .llm import LLMZones, zone_llm_models
from .service import ZoneService
from .source import warn_ran_dry
from .state import ArenaState
from .summary import RunSummary, summarise
from .view import ArenaView, zone_load_frame

if TYPE_CHECKING:  # annotations only
    import pandas as pd


class ArenaModel(ArenaBuild, mesa.Model):
    """Route a scenario's intents through zones; see the module docstring for one step.

    ``router``, ``seed`` and ``physics`` override the scenario's; ``rate_scale`` multiplies its
    arrival rate (e.g. 1.5 for overload). ``embedder`` replaces the default MiniLM embedder.
    ``kernel`` picks the physics step: ``"numpy"`` (the reference), ``"numba"`` (fused,
    compiled) or ``"auto"`` (numba when installed). Each is deterministic for a seed; the two
    differ in the last float bits, so compare summaries within one kernel.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        router: str | Router | None = None,
        seed: int | None = None,
        physics: Physics | None = None,
        rate_scale: float = 1.0,
        embedder: Embedder | None = None,
        engine: Engine | None = None,
        check_conservation: bool = True,
        kernel: str = "auto",
    ):
        check_run_options(scenario.file, seed=seed, rate_scale=rate_scale)
        super().__init__(rng=scenario.seed if seed is None else seed)
        self.scenario = scenario
        self.seed_value = scenario.seed if seed is None else seed
        self.physics = physics if physics is not None else scenario.physics
        if isinstance(router, Router):
            self.router = router
        else:
            name = router or scenario.router
            self.router = make_router(name, scenario.router_params.get(name), file=scenario.file)
        self.rate_scale = rate_scale
        self.check_conservation = check_conservation
        self.tick = scenario.clock.tick
        self._step_kernel = select_kernel(kernel)
        self._bind_engine(embedder, engine)
        self.space = ContinuousSpace(
            [[0.0, scenario.width], [0.0, scenario.height]],
            torus=False,
            random=self.random,
            n_agents=len(scenario.zones) + len(scenario.capabilities),
        )
        self.build_zones()
        self.build_capabilities()
        self.prepare_source()
        self.arrivals = self.draw_arrivals()
        self.zone_delay = self.network_delays()
        self.state = ArenaState(
            self.zone_capacity, self.zone_queue_limit, max(1024, len(self.arrivals))
        )
        self.board = LoadBoard(scenario.load_info, self.state.occupancy, self.state.queue_length)
        a = self.arrivals
        self.llm = LLMZones(
            zone_llm_models(scenario), a.hash_ids, a.hash_offsets, scenario.load_info, scenario.file
        )
        self.service = ZoneService(
            self.state,
            engine=self.engine,
            clock=self.call_clock,
            physics=lambda: self.physics,
            board=self.board,
            text_best_cap=self.text_best_cap,
            text_zone_sim=self.text_zone_sim,
            capability_names=self.capability_names,
            texts=self.source_texts,
            fallback_index=self.fallback_index,
            served=self.capability_served,
            llm=self.llm,
        )
        self.view = ArenaView(self)
        self.swarm = Swarm(self.k)
        self._work = Workspace()
        self.tick_index = 0
        self.flight_steps = 0  # intent-steps the physics has flown (one intent moved once = 1)
        self.running = True
        names = [z.name for z in scenario.zones]
        self.outages = [(o.at, names.index(o.zone)) for o in scenario.outages]
        self.down = np.zeros(len(names), dtype=bool)  # zones out of service (mark_down)

    def _bind_engine(self, embedder: Embedder | None, engine: Engine | None) -> None:
        """The registry of the scenario's capabilities (faults injected, policies on model
        time) and the engine that runs them."""
        self.registry = build_registry(self.scenario, Registry(embedder=embedder))
        self.inject_faults()
        self.inject_service_times()
        self.bind_policies()
        self.engine = engine if engine is not None else Engine(self.registry)

    # -- the clock -----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The model's time in seconds: the start of the next tick to run."""
        return self.tick_index * self.tick

    # the state's figures, read by agents, plots and the panel
    @property
    def ledger(self) -> Ledger:
        return self.state.ledger

    @property
    def occupancy(self) -> np.ndarray:
        return self.state.occupancy

    @property
    def queue_length(self) -> np.ndarray:
        return self.state.queue_length

    @property
    def arrived(self) -> int:
        return self.state.arrived

    @property
    def completed(self) -> int:
        return self.state.completed

    @property
    def dropped(self) -> np.ndarray:
        return self.state.dropped

    def step(self) -> None:
        st = self.state
        t0 = self.now
        t1 = t0 + self.tick
        st.reset_step_counts()
        if st.now != t0:  # quiet ticks were skipped: catch the zones up
            st.advance(t0)
        self.board.post(t0)
        self.llm.post(t0, st.ledger, st.active_rows())
        while self.outages and self.outages[0][0] < t1:  # a zone goes down within the tick
            at, zone = self.outages.pop(0)
            self._arrive(t0, max(at, t0))
            self.mark_down(zone, max(at, t0))
        self._arrive(t0, t1)
        st.advance(t1)
        dry = self.arrivals.ran_dry_at
        if dry is not None and t0 <= dry < t1:
            warn_ran_dry(self.scenario.file, dry, len(self.arrivals))
        if self.check_conservation:
            # the counts every step; the ledger's full census (O(arrivals)) every 64 steps
            self.assert_conservation(full=self.steps % 64 == 0 or not self.arrivals_left)
        self.tick_index = self._next_tick(t1)
        if t1 >= self.scenario.duration and not self.arrivals_left and self.idle:
            self.running = False
            if self.check_conservation:
                self.assert_conservation(full=True)

    @property
    def arrivals_left(self) -> bool:
        next_time = self.arrivals.next_time()
        return next_time is not None and next_time < self.scenario.duration

    def _next_tick(self, t1: float) -> int:
        """The next tick with work: the next arrival's, or the next board posting's while
        intents are in the system; when only service remains, the tick the last one ends."""
        nxt = self.tick_index + 1
        upcoming = [self.arrivals.next_time(), self.outages[0][0] if self.outages else None]
        if not self.idle:
            upcoming.append(self.board.next_post(t1))
            upcoming.append(self.state.last_end())
        times = [u for u in upcoming if u is not None]
        if not times:
            return max(nxt, math.ceil(self.scenario.duration / self.tick))
        return max(nxt, math.floor(min(times) / self.tick + 1e-9))

    @property
    def idle(self) -> bool:
        """Nothing in the system at the model's time (nothing routing, queued or in service)."""
        return len(self.swarm) == 0 and self.state.last_end() <= self.state.now

    # -- arrivals and routing ------------------------------------------------------------------
    def _arrive(self, t0: float, t1: float) -> None:
        if t0 >= self.scenario.duration:
            return
        s = self.arrivals.take_until(min(t1, self.scenario.duration))
        m = s.stop - s.start
        if m <= 0:
            return
        a, st, text = self.arrivals, self.state, self.arrivals.text[s]
        rows = st.ledger.append(text, self.source_labels[text], a.times[s])
        st.ledger.set(rows, input_tokens=a.input_tokens[s], output_tokens=a.output_tokens[s])
        st.arrived += m
        self.route(rows, self.text_zone_sim[text].copy(), self.text_in_scope[text])

    def route(self, rows: np.ndarray, sims: np.ndarray, in_scope: np.ndarray) -> None:
        """Route intents ``rows`` (``sims`` (m, Z) their zone similarities, overwritten;
        ``in_scope`` (m,) their gate scores): the out-of-scope gate, then the router, each
        routed intent handed to :meth:`admit`. The live gateway routes through here too."""
        sims[:, ~self.routable_mask] = -np.inf  # the fallback zone and any zone that is down
        if len(self.routable_zones) == 0:  # every zone is down
            self.state.drop(rows, np.full(len(rows), -1), "zone_down", self.ledger.arrival[rows])
            return
        # out of scope: the in-scope score (attraction.out_of_scope_score: the best routable
        # zone's, or 1 - the head's out-of-scope probability) is below the threshold; the
        # fallback zone is reached only through this gate
        oos = in_scope < self.physics.out_of_scope_threshold
        if oos.any():
            self._route_out_of_scope(rows[oos])
        if oos.all():
            return
        rows, sims = rows[~oos], sims[~oos]
        if self.router.uses_physics:
            top, tsim = top_candidates(sims, self.k)
            self._launch(rows, top.T, tsim.T)
            self._fly()
        else:
            self.admit(rows, self._choose(sims, rows))

    def admit(
        self,
        rows: np.ndarray,
        zones: np.ndarray,
        alt: np.ndarray | None = None,
        alt_sim: np.ndarray | None = None,
    ) -> None:
        """Intents reach their zones after the network delay and are admitted there."""
        reach = self.ledger.arrival[rows] + self.zone_delay[zones]
        self.service.admit(rows, zones, reach, alt, alt_sim)

    def mark_down(self, zone: int, at: float | None = None) -> None:
        """Take ``zone`` out of service: routers no longer see it and nothing more is admitted
        there; with ``at`` (a simulated outage), what it holds then is dropped (``zone_down``).
        The live gateway calls it when a worker dies."""
        self.down[zone] = True
        self.routable_mask[zone] = False
        self.routable_zones = np.flatnonzero(self.routable_mask)
        if at is not None:
            self.state.close_zone(zone, at)

    def router_view(self, rows: np.ndarray | None = None) -> RouterView:
        """What a router may read this step (load as the board shows it; the prefix state of
        the intents ``rows`` on LLM zones)."""
        return RouterView(
            rng=self.rng,
            routable_zones=self.routable_zones,
            zone_capacity=self.zone_capacity,
            occupancy=self.board.occupancy,
            queue_length=self.board.queue_length,
            zone_group=self.zone_group,
            zone_xy=self.zone_xy,
            entry=self.entry,
            step=int(self.tick_index),
            prefix=self.llm.view(rows) if rows is not None else None,
            hosts=self.hosts_of(rows) if rows is not None else None,
        )

    def _choose(self, sims: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The router's zones for intents ``rows``, checked: one routable zone index each."""
        return checked_choice(self.router, self.router_view(rows), sims, self.routable_mask)

    def _route_out_of_scope(self, rows: np.ndarray) -> None:
        """Out-of-scope intents go to the fallback zone, or are dropped when there is none."""
        m = len(rows)
        self.ledger.set(rows, fallback=True)
        if self.fallback_index < 0:
            self.state.drop(rows, np.full(m, -1), "out_of_scope", self.ledger.arrival[rows])
        else:
            self.admit(rows, np.full(m, self.fallback_index, dtype=np.intp))

    def _launch(self, rows: np.ndarray, cand: np.ndarray, csim: np.ndarray) -> None:
        m = len(rows)
        x = np.full(m, self.entry[0], dtype=np.float32)
        y = np.full(m, self.entry[1], dtype=np.float32)
        share = self.zone_capacity / self.zone_capacity[self.routable_zones].max()
        prefix = self.llm.view(rows) if self.physics.cache_affinity else None
        cached = prefix.share() if prefix is not None else None  # cache contents at arrival
        cbias = choice_bias(self.physics, self.rng, cand, share, cached)
        self.swarm.add(
            x, y, cand.astype(np.int16), csim.astype(np.float32), self.zone_xy, rows, 0, cbias
        )

    def _fly(self) -> None:
        """Move the swarm until every intent reached a zone or flew ``max_flight_steps``
        physics steps (dropped as ``expired``): routing deliberation within the tick."""
        for i in range(1, self.physics.max_flight_steps + 1):
            if len(self.swarm) == 0:
                return
            self._move(i)

    def _move(self, i: int) -> None:
        sw = self.swarm
        self.flight_steps += len(sw)
        fav, d2 = self._step_kernel(
            sw.arrays(), self.board.load(self.zone_capacity), self.physics, self.rng, self._work
        )
        np.clip(sw.x, 0, self.scenario.width, out=sw.x)
        np.clip(sw.y, 0, self.scenario.height, out=sw.y)
        reached = d2 <= self.zone_radius2[fav]
        expired = ~reached & ((i - sw.born) >= self.physics.max_flight_steps)
        if reached.any():
            self.admit(
                sw.rid[reached],
                fav[reached].astype(np.intp),
                sw.cand[:, reached].astype(np.intp),
                sw.csim[:, reached],
            )
        if expired.any():
            rows = sw.rid[expired]
            self.state.drop(rows, np.full(len(rows), -1), "expired", self.ledger.arrival[rows])
        sw.remove(reached | expired)

    # -- accounting ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return self.state.counts(routing=len(self.swarm))

    def lost(self) -> int:
        """Intents unaccounted for: arrived minus every place an intent can be."""
        return self.state.lost(routing=len(self.swarm))

    def assert_conservation(self, full: bool = True) -> None:
        """Raise ConservationError unless every arrival is accounted for (and, with ``full``,
        the ledger's census agrees): see :meth:`ArenaState.check_conservation`."""
        self.state.check_conservation(routing=len(self.swarm), full=full)

    def run(
        self,
        duration: float | None = None,
        progress: Callable[[float], Any] | None = None,
    ) -> None:
        """Run for ``duration`` more seconds of model time (default: the scenario's duration,
        then until everything drains, at most :meth:`drain_limit` seconds in all)."""
        if duration is not None:
            check_run_options(self.scenario.file, duration=duration)
            end = self.now + duration
            while self.now < end - 1e-12:
                self.step()
                if progress:
                    progress(self.now)
            if self.state.now < end:  # quiet ticks at the end were skipped: the clock reads end
                self.state.advance(end)
            return
        limit = self.drain_limit()
        while self.running and self.now < limit:
            self.step()
            if progress:
                progress(min(self.now, self.scenario.duration))

    def drain_limit(self) -> float:
        """The most model time an undirected :meth:`run` takes: the duration, then a day to
        drain (a run that has not drained by then says so in its summary)."""
        return self.scenario.duration + 86_400.0

    def summary(self) -> RunSummary:
        return summarise(self.view)

    def zone_load_frame(self, interval: float | None = None) -> pd.DataFrame:
        """Per report interval and zone: occupancy, queue, utilisation, arrivals, completions,
        drops (see :func:`arena.model.view.zone_load_frame`)."""
        return zone_load_frame(self.view, interval)
