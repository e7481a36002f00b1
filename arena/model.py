"""ArenaModel: the Spatial Knowledge Arena as a Mesa model.

One step: finished services free their slots -> queues refill free slots -> new intents
arrive (embedded once, routed) -> the physics moves every in-flight intent and zones capture the
ones that reach them (overflow, queue or drop when full) -> intents in flight too long are
dropped -> conservation is checked -> the DataCollector records zone load.

Captured intents are executed by the zone's best-matching capability through the core
:class:`capabilities.Engine`, with real effects and real failures.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
from mesa.experimental.continuous_space import ContinuousSpace

from capabilities import Embedder, Engine, Registry, default_cache_dir, with_faults

from .agents import CapabilityAgent, ZoneAgent
from .attraction import HeadSettings, SoftmaxHead, train_or_load
from .datasets import load_dataset
from .errors import ConservationError, ScenarioError
from .ledger import COMPLETED, DROP_REASONS, DROPPED, IN_SERVICE, QUEUED, STATE_NAMES, Ledger
from .physics import Physics, Workspace
from .physics_fast import select_kernel
from .routers import Router, make_router
from .scenario import Scenario, ServiceTime
from .swarm import Swarm

ARENA_INPUTS = ("text",)


class ArenaModel(mesa.Model):
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
        super().__init__(rng=scenario.seed if seed is None else seed)
        self.scenario = scenario
        self.seed_value = scenario.seed if seed is None else seed
        self.physics = physics if physics is not None else scenario.physics
        self.router = (
            router if isinstance(router, Router) else make_router(router or scenario.router)
        )
        self.rate_scale = rate_scale
        self.check_conservation = check_conservation
        self._step_kernel = select_kernel(kernel)
        self.registry = scenario.build_registry(Registry(embedder=embedder))
        self._inject_faults()
        self._bind_policies()
        self.engine = engine if engine is not None else Engine(self.registry)
        self.space = ContinuousSpace(
            [[0.0, scenario.width], [0.0, scenario.height]],
            torus=False,
            random=self.random,
            n_agents=len(scenario.zones) + len(scenario.capabilities),
        )
        self._build_zones()
        self._build_capabilities()
        self._prepare_source()
        self.ledger = Ledger(max(1024, len(self.source_text_index)))
        self.swarm = Swarm(self.k)
        self._work = Workspace()
        self.calendar: dict[int, list[int]] = {}
        self.arrived = 0
        self.completed = 0
        self.dropped = np.zeros(len(DROP_REASONS), dtype=np.int64)
        self._cursor = 0
        self._carry = 0.0
        self.datacollector = mesa.DataCollector(
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
        self.running = True

    # -- construction --------------------------------------------------------------------------
    def _inject_faults(self) -> None:
        for spec in self.scenario.capabilities:
            if spec.faults is not None and spec.faults.failure_rate > 0:
                faulty = with_faults(
                    self.registry.get(spec.name),
                    failure_rate=spec.faults.failure_rate,
                    rng=self.rng,
                )
                self.registry.register(faulty, replace=True)

    def _bind_policies(self) -> None:
        """Resilience policies run on simulated time: one step is one second of their clock, and
        retry backoff does not sleep (it happens within the step)."""
        for cap in self.registry:
            if cap.policy is not None and hasattr(cap.policy, "bind"):
                bound = cap.policy.bind(lambda: float(self.steps), sleep=lambda _s: None)
                self.registry.register(cap.replace(policy=bound), replace=True)

    def _build_zones(self) -> None:
        sc = self.scenario
        positions = _layout(sc)
        self.zones: list[ZoneAgent] = []
        for i, z in enumerate(sc.zones):
            self.zones.append(
                ZoneAgent(
                    self,
                    i,
                    z.name,
                    positions[i],
                    z.radius,
                    z.capacity,
                    z.queue_limit,
                    z.specialisation,
                    z.fallback,
                )
            )
        Z = len(self.zones)
        self.zone_names = [z.name for z in self.zones]
        self.zone_xy = np.array([positions[i] for i in range(Z)], dtype=np.float32)
        self.zone_radius2 = np.array([z.radius**2 for z in self.zones], dtype=np.float32)
        self.zone_capacity = np.array([z.capacity for z in self.zones], dtype=np.int64)
        self.zone_queue_limit = np.array([z.queue_limit for z in self.zones], dtype=np.int64)
        self.occupancy = np.zeros(Z, dtype=np.int64)
        self.queue_length = np.zeros(Z, dtype=np.int64)
        self.step_arrivals = np.zeros(Z, dtype=np.int64)
        self.step_completions = np.zeros(Z, dtype=np.int64)
        self.step_drops = np.zeros(Z, dtype=np.int64)
        self.queues: list[deque[int]] = [deque() for _ in range(Z)]
        self.fallback_index = next((i for i, z in enumerate(self.zones) if z.fallback), -1)
        self.routable_zones = np.array(
            [i for i in range(Z) if i != self.fallback_index], dtype=np.intp
        )
        if len(self.routable_zones) == 0:
            raise ScenarioError(
                sc.file, "zones", "every zone is a fallback; at least one must not be"
            )
        self.k = int(min(self.physics.candidates, len(self.routable_zones)))
        self.entry = np.array(
            sc.entry if sc.entry is not None else (sc.width / 2, sc.height / 2), dtype=np.float32
        )

    def _build_capabilities(self) -> None:
        names, vectors = self.registry.capability_vectors()
        self.capability_names = list(names)
        self.capability_vectors = vectors
        index = {n: i for i, n in enumerate(names)}
        self.capability_specs = {c.name: c for c in self.scenario.capabilities}
        self.zone_caps: list[np.ndarray] = []
        self.capability_agents: list[CapabilityAgent] = []
        for zi, (zone, spec) in enumerate(zip(self.zones, self.scenario.zones, strict=True)):
            idx = np.array([index[c] for c in spec.capabilities], dtype=np.intp)
            if len(idx) == 0:
                raise ScenarioError(
                    self.scenario.file,
                    f"zones[{zi}]",
                    f"zone {zone.name!r} hosts no capability, so it could not serve what it captures",
                )
            self.zone_caps.append(idx)
            for j, ci in enumerate(idx):
                angle = 2 * math.pi * j / len(idx)
                r = zone.radius * 0.6
                pos = (
                    float(np.clip(zone.position[0] + r * math.cos(angle), 0, self.scenario.width)),
                    float(np.clip(zone.position[1] + r * math.sin(angle), 0, self.scenario.height)),
                )
                self.capability_agents.append(CapabilityAgent(self, int(ci), names[ci], zone, pos))
        self.capability_agent_of = {a.index: a for a in self.capability_agents}
        for cap in self.registry:
            missing = sorted(cap.required_inputs - set(ARENA_INPUTS))
            if missing:
                raise ScenarioError(
                    self.scenario.file,
                    "capabilities",
                    f"capability {cap.name!r} requires {missing}, but the arena can only "
                    f"give it {list(ARENA_INPUTS)}",
                )
        self._spec_vectors = {}
        self.head = self._learned_head() if self.scenario.attraction.kind == "learned" else None
        texts = [
            (i, z.specialisation) for i, z in enumerate(self.scenario.zones) if z.specialisation
        ]
        if texts and self.head is None:
            vecs = self.registry.embedder.encode([t for _, t in texts])
            self._spec_vectors = {i: vecs[j] for j, (i, _) in enumerate(texts)}

    def _learned_head(self) -> SoftmaxHead:
        """Train (or load from the cache) the softmax head over the scenario's examples."""
        sc = self.scenario
        assert sc.examples is not None  # checked when the scenario was parsed
        data = load_dataset(sc.examples.source, scenario_file=sc.file, field="examples.source")
        l2c = sc.label_to_capability()
        index = {n: i for i, n in enumerate(self.capability_names)}
        rows = [
            (t, index[l2c[lab]])
            for t, lab in zip(data.texts, data.labels, strict=True)
            if lab in l2c
        ]
        seen = {c for _, c in rows}
        lacking = [n for i, n in enumerate(self.capability_names) if i not in seen]
        if lacking:
            raise ScenarioError(
                sc.file,
                "attraction.kind",
                f"'learned' needs examples for every capability; {lacking[:3]} have none "
                "in examples.source (check their labels)",
            )
        a = sc.attraction
        settings = HeadSettings(
            epochs=a.epochs, learning_rate=a.learning_rate, l2=a.l2, momentum=a.momentum
        )
        embedder = self.registry.embedder
        return train_or_load(
            default_cache_dir(),
            embedder.name,
            self.capability_names,
            [t for t, _ in rows],
            np.array([c for _, c in rows], dtype=np.int64),
            embedder.encode,
            settings,
        )

    def _prepare_source(self) -> None:
        data = self.scenario.load_source()
        self.source_texts = data.texts
        label_names = sorted({lab for lab in data.labels if lab is not None})
        self.label_names = label_names
        lid = {lab: i for i, lab in enumerate(label_names)}
        self.source_labels = np.array(
            [lid[lab] if lab is not None else -1 for lab in data.labels], dtype=np.int32
        )
        cap_index = {n: i for i, n in enumerate(self.capability_names)}
        zone_of_cap = np.full(len(self.capability_names), -1, dtype=np.int16)
        for zi, idx in enumerate(self.zone_caps):
            zone_of_cap[idx] = zi
        l2c = self.scenario.label_to_capability()
        oos = set(self.scenario.arrivals.out_of_scope_labels)
        self.label_capability = np.array(
            [cap_index[l2c[lab]] if lab in l2c else -1 for lab in label_names], dtype=np.int32
        )
        self.label_zone = np.array(
            [zone_of_cap[c] if c >= 0 else -1 for c in self.label_capability], dtype=np.int16
        )
        self.label_is_oos = np.array([lab in oos for lab in label_names], dtype=bool)
        self.text_zone_sim, self.text_best_cap = self.similarities(list(self.source_texts))
        n = len(self.source_texts)
        order = self.rng.permutation(n) if self.scenario.arrivals.shuffle else np.arange(n)
        self.source_text_index = order.astype(np.int32)

    def similarities(self, texts: list[str], chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """``(n, Z)`` similarity of each text to each zone and the best hosted capability per zone.

        A zone's attraction is that of its best-matching hosted capability: cosine similarity
        (or its specialisation text's, if closer), or with learned attraction the head's
        probability. Texts are embedded in batches through the cache.
        """
        n, Z = len(texts), len(self.zones)
        sims = np.empty((n, Z), dtype=np.float32)
        best = np.empty((n, Z), dtype=np.int32)
        embedder = self.registry.embedder
        for s in range(0, n, chunk):
            e = embedder.encode(texts[s : s + chunk])
            cs = self.head.proba(e) if self.head is not None else e @ self.capability_vectors.T
            rows = np.arange(len(e))
            for z, idx in enumerate(self.zone_caps):
                sub = cs[:, idx]
                a = sub.argmax(axis=1)
                sims[s : s + len(e), z] = sub[rows, a]
                best[s : s + len(e), z] = idx[a]
            for z, v in self._spec_vectors.items():
                np.maximum(sims[s : s + len(e), z], e @ v, out=sims[s : s + len(e), z])
        return sims, best

    # -- the step ------------------------------------------------------------------------------
    def step(self) -> None:
        t = self.steps
        self.step_arrivals[:] = 0
        self.step_completions[:] = 0
        self.step_drops[:] = 0
        self._complete(t)
        self._dequeue()
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

    @property
    def source_exhausted(self) -> bool:
        return not self.scenario.arrivals.repeat and self._cursor >= len(self.source_text_index)

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
        # out of scope: no routable zone is similar enough (the fallback zone is reached only
        # through this gate; a learned head's out-of-scope class lowers every other zone's score)
        oos = sims.max(axis=1) < self.physics.out_of_scope_threshold
        if oos.any():
            self.ledger.set(rows[oos], fallback=True)
            if self.fallback_index < 0:
                self._drop(rows[oos], np.full(int(oos.sum()), -1), "out_of_scope")
            elif not self.router.uses_physics:
                self._admit(rows[oos], np.full(int(oos.sum()), self.fallback_index, dtype=np.intp))
            else:
                fb = np.full((self.k, int(oos.sum())), self.fallback_index, dtype=np.intp)
                self._launch(rows[oos], fb, np.ones(fb.shape, dtype=np.float32), t)
        keep = ~oos
        if not keep.any():
            return
        rows, sims = rows[keep], sims[keep]
        if self.router.uses_physics:
            k = self.k
            top = (
                np.argpartition(-sims, k - 1, axis=1)[:, :k]
                if k < sims.shape[1]
                else np.argsort(-sims, axis=1)
            )
            tsim = np.take_along_axis(sims, top, axis=1)
            order = np.argsort(-tsim, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)[:, :k]
            tsim = np.take_along_axis(tsim, order, axis=1)[:, :k]
            self._launch(rows, top.T, tsim.T, t)
        else:
            self._admit(rows, self.router.choose(self, sims).astype(np.intp))

    def _launch(self, rows: np.ndarray, cand: np.ndarray, csim: np.ndarray, t: int) -> None:
        m = len(rows)
        x = np.full(m, self.entry[0], dtype=np.float32)
        y = np.full(m, self.entry[1], dtype=np.float32)
        self.swarm.add(x, y, cand.astype(np.int16), csim.astype(np.float32), self.zone_xy, rows, t)

    def zone_load(self) -> np.ndarray:
        """(occupancy + queue) / capacity per zone: what repulsion pushes against."""
        return ((self.occupancy + self.queue_length) / self.zone_capacity).astype(np.float32)

    def _move(self, t: int) -> None:
        sw = self.swarm
        if len(sw) == 0:
            return
        fav, d2 = self._step_kernel(
            sw.x,
            sw.y,
            sw.vx,
            sw.vy,
            sw.cand,
            sw.csim,
            sw.czx,
            sw.czy,
            self.zone_load(),
            self.physics,
            self.rng,
            self._work,
        )
        np.clip(sw.x, 0, self.scenario.width, out=sw.x)
        np.clip(sw.y, 0, self.scenario.height, out=sw.y)
        reached = d2 <= self.zone_radius2[fav]
        expired = ~reached & ((t - sw.born) >= self.physics.max_flight_steps)
        if reached.any():
            self._admit(
                sw.rid[reached],
                fav[reached],
                sw.cand[:, reached].astype(np.intp),
                sw.csim[:, reached],
            )
        if expired.any():
            self._drop(sw.rid[expired], np.full(int(expired.sum()), -1), "expired")
        sw.remove(reached | expired)

    # -- admission, service, queues ------------------------------------------------------------
    def _admit(
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
        take = _rank_in_group(zones) < free[zones]
        self._start_service(rows[take], zones[take])
        rest = ~take
        if alt is not None and rest.any():
            best = alt_sim.max(axis=0)
            for j in range(alt.shape[0]):
                idx = np.flatnonzero(rest)
                if len(idx) == 0:
                    break
                cz = alt[j, idx]
                free = self.zone_capacity - self.occupancy
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
                got = _rank_in_group(sz) < free[sz]
                self._start_service(rows[sel[got]], sz[got], overflow=True)
                rest[sel[got]] = False
        idx = np.flatnonzero(rest)
        if len(idx) == 0:
            return
        queued = self._enqueue(rows[idx], zones[idx])
        idx = idx[~queued]
        if len(idx) and alt is not None and self.physics.spill_margin > 0:
            idx = idx[~self._spill(rows[idx], zones[idx])]
        if len(idx):
            self._drop(rows[idx], zones[idx], "queue_full")

    def _enqueue(self, rows: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """Queue intents (sorted by zone, then arrival) where there is room; return who got in."""
        room = self.zone_queue_limit - self.queue_length
        queued = _rank_in_group(zones) < room[zones]
        for r, z in zip(rows[queued].tolist(), zones[queued].tolist(), strict=True):
            self.queues[z].append(r)
        if queued.any():
            counts = np.bincount(zones[queued], minlength=len(self.zones))
            self.queue_length += counts
            self.step_arrivals += counts
            self.ledger.set(rows[queued], state=QUEUED, zone=zones[queued])
        return queued

    def _spill(self, rows: np.ndarray, zones: np.ndarray) -> np.ndarray:
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
            free = self.zone_capacity - self.occupancy
            room = free + self.zone_queue_limit - self.queue_length
            options = np.where(room[None, :] > 0, sims, -np.inf)
            choice = options.argmax(axis=1)
            ok = ~skip & (options[np.arange(len(rows)), choice] >= floor)
            if not ok.any():
                break
            sel = np.flatnonzero(ok)
            order = np.lexsort((rows[sel], choice[sel]))
            sel = sel[order]
            z = choice[sel]
            rank = _rank_in_group(z)
            serve = rank < free[z]
            self._start_service(rows[sel[serve]], z[serve], overflow=True)
            wait = ~serve & (rank < room[z])
            self._enqueue(rows[sel[wait]], z[wait])
            self.ledger.set(rows[sel[wait]], overflow=True)
            placed[sel[serve | wait]] = True
            skip[sel[serve | wait]] = True
        if self.fallback_index >= 0:
            placed &= zones != self.fallback_index
        return placed

    def _drop(self, rows: np.ndarray, zones: np.ndarray, reason: str) -> None:
        code = DROP_REASONS.index(reason)
        self.ledger.set(rows, state=DROPPED, reason=code, zone=zones)
        self.dropped[code] += len(rows)
        z = zones[zones >= 0]
        if len(z):
            self.step_drops += np.bincount(z, minlength=len(self.zones))

    def _start_service(self, rows: np.ndarray, zones: np.ndarray, overflow: bool = False) -> None:
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
            result = self.engine.run(name, {"text": self.source_texts[text_i]})
            outcomes[i] = outcome_codes[result.status]
            spec = self.capability_specs[name]
            extra = spec.faults.extra_steps if spec.faults is not None else 0
            ends[i] = t + _sample_service(spec.service_time, self.rng) + extra
            self.capability_agent_of[cap_i].served += 1
            self.calendar.setdefault(int(ends[i]), []).append(row)
        self.ledger.set(rows, outcome=outcomes, end=ends)

    def _complete(self, t: int) -> None:
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

    def _dequeue(self) -> None:
        free = self.zone_capacity - self.occupancy
        for z in np.flatnonzero((free > 0) & (self.queue_length > 0)):
            q = self.queues[z]
            n = int(min(free[z], len(q)))
            rows = np.array([q.popleft() for _ in range(n)], dtype=np.int64)
            self.queue_length[z] -= n
            self.step_arrivals[z] -= n  # they were counted when they queued
            self._start_service(rows, np.full(n, z, dtype=np.intp))

    # -- invariants and results ----------------------------------------------------------------
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
        """Run ``steps`` steps (default: the scenario's steps, then until everything drains)."""
        if steps is not None:
            for _ in range(steps):
                self.step()
                if progress:
                    progress(self.steps)
            return
        limit = self.scenario.steps + self.physics.max_flight_steps + 10_000
        while self.running and self.steps < limit:
            self.step()
            if progress:
                progress(self.steps)

    def summary(self) -> dict[str, Any]:
        from .summary import summarise

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


def _rank_in_group(sorted_keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal keys (keys sorted)."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.searchsorted(sorted_keys, sorted_keys, side="left")
    return np.arange(n) - starts


def _sample_service(st: ServiceTime, rng: np.random.Generator) -> int:
    if st.distribution == "constant":
        return max(1, round(st.mean))
    if st.distribution == "geometric":
        return int(rng.geometric(1.0 / st.mean))
    if st.distribution == "exponential":
        return max(1, math.ceil(rng.exponential(st.mean)))
    return max(1, round(rng.uniform(st.low, st.high)))


def _layout(sc: Scenario) -> list[tuple[float, float]]:
    """Explicit positions where given; the rest on a circle (or grid) around the centre."""
    auto = [i for i, z in enumerate(sc.zones) if z.position is None]
    out: list[tuple[float, float]] = [z.position or (0.0, 0.0) for z in sc.zones]
    cx, cy = sc.width / 2, sc.height / 2
    if sc.layout == "circle":
        r = 0.38 * min(sc.width, sc.height)
        for j, i in enumerate(auto):
            a = 2 * math.pi * j / max(1, len(auto)) + math.pi / 2
            out[i] = (cx + r * math.cos(a), cy + r * math.sin(a))
    else:
        cols = max(1, math.ceil(math.sqrt(len(auto))))
        rows = max(1, math.ceil(len(auto) / cols))
        for j, i in enumerate(auto):
            out[i] = (sc.width * (j % cols + 0.5) / cols, sc.height * (j // cols + 0.5) / rows)
    return out
