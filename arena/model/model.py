"""ArenaModel: the Spatial Knowledge Arena as a Mesa model.

One step: finished services free their slots -> queues refill free slots -> new intents
arrive (embedded once, routed) -> the physics moves every in-flight intent and zones capture the
ones that reach them (overflow, queue or drop when full) -> intents in flight too long are
dropped -> conservation is checked -> the DataCollector records zone load.

Captured intents are executed by the zone's best-matching capability through the core
:class:`capabilities.Engine`, with real effects and real failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
from mesa.experimental.continuous_space import ContinuousSpace

from capabilities import Embedder, Engine, Registry

from ..errors import ConservationError, RouterError
from ..physics import (
    LoadBoard,
    Physics,
    Router,
    RouterView,
    Swarm,
    Workspace,
    make_router,
    top_candidates,
)
from ..physics.fast import select_kernel
from ..scenario import Scenario, build_registry, check_run_options
from .agents import ZoneAgent
from .build import ArenaBuild
from .ledger import DROP_REASONS, STATE_NAMES, Ledger
from .service import ZoneService
from .summary import RunSummary, summarise


class ArenaModel(ArenaBuild, ZoneService, mesa.Model):
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
        name = router or scenario.router
        self.router = (
            router
            if isinstance(router, Router)
            else make_router(name, scenario.router_params.get(name), file=scenario.file)
        )
        self.rate_scale = rate_scale
        self.check_conservation = check_conservation
        self._step_kernel = select_kernel(kernel)
        self._bind_engine(embedder, engine)
        self.space = ContinuousSpace(
            [[0.0, scenario.width], [0.0, scenario.height]],
            torus=False,
            random=self.random,
            n_agents=len(scenario.zones) + len(scenario.capabilities),
        )
        self.build_zones()
        self.board = LoadBoard(scenario.load_info, self.occupancy, self.queue_length)
        self.build_capabilities()
        self.prepare_source()
        self._init_flow()
        self.datacollector = _datacollector()
        self.running = True

    def _bind_engine(self, embedder: Embedder | None, engine: Engine | None) -> None:
        """The registry of the scenario's capabilities (faults injected, policies on model
        time) and the engine that runs them."""
        self.registry = build_registry(self.scenario, Registry(embedder=embedder))
        self.inject_faults()
        self.inject_service_times()
        self.bind_policies()
        self.engine = engine if engine is not None else Engine(self.registry)

    def _init_flow(self) -> None:
        """The ledger, the swarm and the counters of intents flowing through the arena."""
        self.ledger = Ledger(max(1024, len(self.source_text_index)))
        self.swarm = Swarm(self.k)
        self._work = Workspace()
        self.calendar: dict[int, list[int]] = {}
        self.arrived = 0
        self.completed = 0
        self.dropped = np.zeros(len(DROP_REASONS), dtype=np.int64)
        self._cursor = 0
        self._carry = 0.0

    def step(self) -> None:
        t = self.steps
        self.step_arrivals[:] = 0
        self.step_completions[:] = 0
        self.step_drops[:] = 0
        self.complete_due(t)
        self.dequeue()
        self.board.post(t)
        self._arrive(t)
        if self.router.uses_physics:
            self._move(t)
        if self.check_conservation:
            self.assert_conservation()
        self.datacollector.collect(self)
        if t >= self.scenario.steps and self.idle:
            self.running = False

    @property
    def idle(self) -> bool:
        return len(self.swarm) == 0 and not self.occupancy.any() and not self.queue_length.any()

    def _arrivals_now(self, t: int) -> int:
        rate = self.scenario.arrivals.rate_at(t) * self.rate_scale
        if self.scenario.arrivals.process == "poisson":
            m = int(self.rng.poisson(rate)) if rate > 0 else 0
        else:
            self._carry += rate
            m = int(self._carry)
            self._carry -= m
        if not self.scenario.arrivals.repeat:
            m = min(m, len(self.source_text_index) - self._cursor)
        return m

    def _arrive(self, t: int) -> None:
        if t > self.scenario.steps:
            return
        m = self._arrivals_now(t)
        if m <= 0:
            return
        n = len(self.source_text_index)
        text = self.source_text_index[np.arange(self._cursor, self._cursor + m) % n]
        self._cursor += m
        rows = self.ledger.append(text, self.source_labels[text], t)
        self.arrived += m
        sims = self.text_zone_sim[text].copy()
        if self.fallback_index >= 0:
            sims[:, self.fallback_index] = -np.inf
        # out of scope: the in-scope score (attraction.out_of_scope_score: the best routable
        # zone's, or 1 - the head's out-of-scope probability) is below the threshold; the
        # fallback zone is reached only through this gate
        oos = self.text_in_scope[text] < self.physics.out_of_scope_threshold
        if oos.any():
            self._route_out_of_scope(rows[oos], t)
        keep = ~oos
        if not keep.any():
            return
        rows, sims = rows[keep], sims[keep]
        if self.router.uses_physics:
            top, tsim = top_candidates(sims, self.k)
            self._launch(rows, top.T, tsim.T, t)
        else:
            self.admit(rows, self._choose(sims))

    def router_view(self) -> RouterView:
        """What a router may read this step (load as the board shows it)."""
        return RouterView(
            rng=self.rng,
            routable_zones=self.routable_zones,
            zone_capacity=self.zone_capacity,
            occupancy=self.board.occupancy,
            queue_length=self.board.queue_length,
            zone_group=self.zone_group,
            zone_xy=self.zone_xy,
            entry=self.entry,
            step=int(self.steps),
        )

    def _choose(self, sims: np.ndarray) -> np.ndarray:
        """The router's zones for these intents, checked: one routable zone index per intent."""
        zones = np.asarray(self.router.choose(self.router_view(), sims))
        m = sims.shape[0]
        if (
            zones.shape != (m,)
            or not np.issubdtype(zones.dtype, np.integer)
            or not np.isin(zones, self.routable_zones).all()
        ):
            raise RouterError(
                f"router {self.router.name!r}: choose() must return {m} routable zone indices "
                f"(integers in {self.routable_zones.tolist()[:8]}...), got {zones.dtype} "
                f"{zones.shape} {zones.tolist()[:8]}"
            )
        return zones.astype(np.intp)

    def _route_out_of_scope(self, rows: np.ndarray, t: int) -> None:
        """Out-of-scope intents go to the fallback zone (flying there under physics), or are
        dropped when the scenario has none."""
        m = len(rows)
        self.ledger.set(rows, fallback=True)
        if self.fallback_index < 0:
            self.drop(rows, np.full(m, -1), "out_of_scope")
        elif not self.router.uses_physics:
            self.admit(rows, np.full(m, self.fallback_index, dtype=np.intp))
        else:
            fb = np.full((self.k, m), self.fallback_index, dtype=np.intp)
            self._launch(rows, fb, np.ones(fb.shape, dtype=np.float32), t, bias=False)

    def _launch(
        self, rows: np.ndarray, cand: np.ndarray, csim: np.ndarray, t: int, bias: bool = True
    ) -> None:
        m = len(rows)
        x = np.full(m, self.entry[0], dtype=np.float32)
        y = np.full(m, self.entry[1], dtype=np.float32)
        cbias = self._choice_bias(cand) if bias else None
        self.swarm.add(
            x, y, cand.astype(np.int16), csim.astype(np.float32), self.zone_xy, rows, t, cbias
        )

    def _choice_bias(self, cand: np.ndarray) -> np.ndarray | None:
        """The fixed per-candidate logit bias of newly launched intents (None: no bias): a
        Gumbel draw scaled by ``choice_noise`` and ``capacity_bias * log(capacity share)``."""
        p = self.physics
        if not (p.choice_noise or p.capacity_bias):
            return None
        bias = np.zeros(cand.shape, dtype=np.float32)
        if p.choice_noise:
            bias += (p.choice_noise * self.rng.gumbel(size=cand.shape)).astype(np.float32)
        if p.capacity_bias:
            share = self.zone_capacity / self.zone_capacity[self.routable_zones].max()
            bias += (p.capacity_bias * np.log(share[cand])).astype(np.float32)
        return bias

    def zone_load(self) -> np.ndarray:
        """(occupancy + queue) / capacity per zone, live (what the zones know of themselves)."""
        return ((self.occupancy + self.queue_length) / self.zone_capacity).astype(np.float32)

    def _move(self, t: int) -> None:
        sw = self.swarm
        if len(sw) == 0:
            return
        fav, d2 = self._step_kernel(
            sw.arrays(), self.board.load(self.zone_capacity), self.physics, self.rng, self._work
        )
        np.clip(sw.x, 0, self.scenario.width, out=sw.x)
        np.clip(sw.y, 0, self.scenario.height, out=sw.y)
        reached = d2 <= self.zone_radius2[fav]
        expired = ~reached & ((t - sw.born) >= self.physics.max_flight_steps)
        if reached.any():
            self.admit(
                sw.rid[reached],
                fav[reached],
                sw.cand[:, reached].astype(np.intp),
                sw.csim[:, reached],
            )
        if expired.any():
            self.drop(sw.rid[expired], np.full(int(expired.sum()), -1), "expired")
        sw.remove(reached | expired)

    def counts(self) -> dict[str, int]:
        return {
            "arrived": int(self.arrived),
            "in_flight": len(self.swarm),
            "queued": int(self.queue_length.sum()),
            "in_service": int(self.occupancy.sum()),
            "completed": int(self.completed),
            "dropped": int(self.dropped.sum()),
        }

    def lost(self) -> int:
        """Intents unaccounted for: arrived minus every place an intent can be."""
        c = self.counts()
        return c["arrived"] - (
            c["in_flight"] + c["queued"] + c["in_service"] + c["completed"] + c["dropped"]
        )

    def assert_conservation(self) -> None:
        """Raise ConservationError unless the live structures and the ledger agree exactly."""
        c = self.counts()
        ledger = dict(zip(STATE_NAMES, self.ledger.state_counts().tolist(), strict=True))
        if (
            self.lost() != 0
            or len(self.ledger) != c["arrived"]
            or any(ledger[s] != c[s] for s in STATE_NAMES)
        ):
            raise ConservationError(
                f"step {self.steps}: conservation broken: live {c}, ledger {ledger}"
            )

    def run(self, steps: int | None = None, progress: Callable[[int], Any] | None = None) -> None:
        """Run ``steps`` steps (default: the scenario's steps, then until everything drains,
        at most :meth:`drain_limit` steps in all)."""
        if steps is not None:
            check_run_options(self.scenario.file, steps=steps)
            for _ in range(steps):
                self.step()
                if progress:
                    progress(self.steps)
            return
        limit = self.drain_limit()
        while self.running and self.steps < limit:
            self.step()
            if progress:
                progress(self.steps)

    def drain_limit(self) -> int:
        """The most steps an undirected :meth:`run` takes: the scenario's, then room to drain."""
        return self.scenario.steps + self.physics.max_flight_steps + 10_000

    def summary(self) -> RunSummary:
        return summarise(self)

    def zone_load_frame(self):
        """Per step and zone: occupancy, queue, utilisation, arrivals, completions, drops."""
        df = self.datacollector.get_agenttype_vars_dataframe(ZoneAgent).reset_index()
        df = df.rename(columns={"Step": "step"}).drop(columns=["AgentID"])
        cols = [
            "step",
            "zone",
            "occupancy",
            "queue",
            "utilisation",
            "arrivals",
            "completions",
            "drops",
        ]
        return df[cols]


def _datacollector() -> mesa.DataCollector:
    """Per step: the model's counts; per zone: load, arrivals, completions and drops."""
    return mesa.DataCollector(
        model_reporters={
            "arrived": "arrived",
            "completed": "completed",
            "in_flight": lambda m: len(m.swarm),
            "queued": lambda m: int(m.queue_length.sum()),
            "in_service": lambda m: int(m.occupancy.sum()),
            "dropped": lambda m: int(m.dropped.sum()),
        },
        agenttype_reporters={
            ZoneAgent: {
                "zone": "name",
                "occupancy": "occupancy",
                "queue": "queue_length",
                "utilisation": "utilisation",
                "arrivals": "arrivals",
                "completions": "completions",
                "drops": "drops",
            }
        },
    )
