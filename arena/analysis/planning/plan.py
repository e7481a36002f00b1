"""``plan_capacity``: the smallest capacities per zone that meet service-level objectives.

Theory first (:mod:`.analytic`), then simulation (:mod:`.search`), then a verdict on seeds the
search never saw: the plan, today's capacities, the analytic guess and the best uniform scaling
of today's capacities are all re-run on held-out seeds, and those runs are what is reported.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...scenario import Scenario, load_scenario
from ..sweep import backend_name
from ..sweep.specs import EmbedderSource
from .advice import miss_summary
from .analytic import Measurement, ZoneDemand, measure_demand, predicted, size_zone
from .evaluate import Evaluation, Evaluator
from .figures import Interval, interval
from .search import marginal_search, uniform_search
from .slo import Objective, PlanError, parse_slos

log = logging.getLogger(__name__)

VERIFY_SEED_BASE = 10_001  # held-out seeds: never used by the search


@dataclass(frozen=True)
class ZonePlan:
    """One zone: capacities (``today``, ``analytic`` guess, ``planned``, ``uniform`` scaling),
    its measured demand, and the plan's figures on the held-out seeds (with intervals)."""

    name: str
    today: int
    analytic: int
    planned: int
    uniform: int | None
    arrival_rate: float
    peak_rate: float
    mean_service: float
    utilisation: Interval
    wait_quantile: Interval
    drop_rate: Interval
    analytic_prediction: dict[str, float]


@dataclass(frozen=True)
class Verdict:
    """A capacity vector re-run on the held-out seeds: each objective's budget statistic
    (``intervals``, bounded by the objective's share) and metric value (``values``)."""

    name: str
    capacities: tuple[int, ...]
    intervals: dict[str, Interval]
    values: dict[str, Interval]
    meets: bool

    @property
    def total(self) -> int:
        return sum(self.capacities)


@dataclass(frozen=True)
class Plan:
    """A capacity plan. ``verdicts`` maps ``today``, ``analytic``, ``plan`` and ``uniform`` to
    their held-out runs; ``met`` is whether the plan meets every objective on them."""

    scenario: str
    file: str | None
    load: float
    objectives: tuple[Objective, ...]
    confidence: float
    zones: tuple[ZonePlan, ...]
    verdicts: dict[str, Verdict]
    uniform_factor: float | None
    search_seeds: tuple[int, ...]
    verify_seeds: tuple[int, ...]
    history: list[dict] = field(default_factory=list)
    uniform_tried: list[dict] = field(default_factory=list)
    runs: int = 0
    sweeps: int = 0
    backend: str = "processes"
    wall_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    notes: tuple[str, ...] = ()  # what the planner did on its own (a retry with more seeds)

    @property
    def capacities(self) -> tuple[int, ...]:
        return tuple(z.planned for z in self.zones)

    @property
    def met(self) -> bool:
        return self.verdicts["plan"].meets

    @property
    def saving(self) -> float | None:
        """Share of slots the plan saves against the best uniform scaling (None: none found)."""
        u = self.verdicts.get("uniform")
        return None if u is None else 1 - self.verdicts["plan"].total / u.total


def scale_load(scenario: Scenario, load: float) -> Scenario:
    """``scenario`` with every arrival rate (and schedule entry) multiplied by ``load``."""
    if isinstance(load, bool) or not isinstance(load, int | float) or not math.isfinite(load):
        raise PlanError(f"--load must be a finite number, got {load!r}")
    if load <= 0:
        raise PlanError(f"--load must be > 0, got {load:g}")
    arr = scenario.arrivals
    return scenario.replace(
        arrivals=dataclasses.replace(
            arr, rate=arr.rate * load, schedule=tuple((s, r * load) for s, r in arr.schedule)
        )
    )


def check_feasible(objectives: Sequence[Objective], m: Measurement) -> None:
    """One line, before any search, for an objective no capacity can meet."""
    for o in objectives:
        best = m.floor[o.metric]
        if not math.isfinite(best):
            raise PlanError(f"objective {o}: the metric is undefined (NaN): no intent was served")
        if best > o.target:
            why = {
                "wait": "the flight from arrival to a zone alone takes that long",
                "wait_mean": "the flight from arrival to a zone alone takes that long",
                "response": "service times (plus flight) alone take that long",
                "drop_rate": "intents are dropped in flight or as out of scope, not for room",
            }[o.kind]
            raise PlanError(
                f"objective {o} cannot be met: with unlimited slots {o.metric} is {best:.4g} "
                f"({why})"
            )


def plan_capacity(
    scenario: str | Path | Scenario,
    slos: Sequence[str | Objective],
    *,
    load: float = 1.0,
    seeds: int = 6,
    verify_seeds: int | None = None,
    backend: str = "processes",
    workers: int | None = None,
    address: str | None = None,
    confidence: float = 0.95,
    max_rounds: int = 8,
    uniform: bool = True,
    embedder: EmbedderSource = None,
    progress: bool = True,
    retries: int = 1,
) -> Plan:
    """Plan the capacities of ``scenario``'s zones for ``slos`` at ``load`` times its arrival
    rate. ``seeds`` runs per candidate in the search (seeds 1..N; the smallest feasible
    candidates are confirmed on 2N more), ``verify_seeds`` (default 2N) held-out runs for the
    verdicts; ``backend`` ``serial``, ``processes`` (a pool on this machine; ``local``, the old
    word, is accepted with a warning) or
    ``dask`` (one ``arena.local_cluster`` of ``workers`` for the whole plan, or ``address``).
    ``embedder`` is as for :func:`arena.analysis.sweep.sweep` (importable by the workers).
    Raises :class:`PlanError` for a bad or unreachable objective before anything is searched.

    A plan that misses its own held-out check had too thin a margin for the search's seeds to
    see: it is planned again with twice the seeds (and twice the held-out seeds, unless
    ``verify_seeds`` is given), up to ``retries`` times; ``Plan.notes`` says each time it did.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise PlanError(f"--retries must be an integer >= 0, got {retries!r}")
    notes: list[str] = []
    runs = sweeps = 0
    started = time.perf_counter()
    for attempt in range(retries + 1):
        plan = _plan_once(
            scenario,
            slos,
            load=load,
            seeds=seeds,
            verify_seeds=verify_seeds,
            backend=backend,
            workers=workers,
            address=address,
            confidence=confidence,
            max_rounds=max_rounds,
            uniform=uniform,
            embedder=embedder,
            progress=progress,
        )
        runs, sweeps = runs + plan.runs, sweeps + plan.sweeps
        if plan.met or attempt == retries:
            break
        note = (
            f"with {seeds} seeds the plan missed on held-out seeds ({miss_summary(plan)}): "
            f"the margin was thin; planned again with {2 * seeds} seeds"
        )
        notes.append(note)
        if progress:
            log.warning("plan: %s", note)
        seeds *= 2
    return dataclasses.replace(
        plan,
        notes=tuple(notes),
        runs=runs,
        sweeps=sweeps,
        wall_s=time.perf_counter() - started,
    )


def _plan_once(
    scenario: str | Path | Scenario,
    slos: Sequence[str | Objective],
    *,
    load: float,
    seeds: int,
    verify_seeds: int | None,
    backend: str,
    workers: int | None,
    address: str | None,
    confidence: float,
    max_rounds: int,
    uniform: bool,
    embedder: EmbedderSource,
    progress: bool,
) -> Plan:
    """One plan at ``seeds`` seeds per candidate (see :func:`plan_capacity`)."""
    started = time.perf_counter()
    objectives = parse_slos(slos)
    try:
        backend = backend_name(backend)
    except ValueError as exc:
        raise PlanError(f"--{exc}") from None
    for name, n in (("--seeds", seeds), ("verify seeds", verify_seeds or seeds)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise PlanError(f"{name} must be an integer >= 2 (an interval needs two), got {n!r}")
    if not 0.5 <= confidence < 1:
        raise PlanError(f"confidence must be in [0.5, 1), got {confidence!r}")
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = scale_load(base, load)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    measurement = measure_demand(sc, objectives, seed=base.seed, embedder=embedder)
    check_feasible(objectives, measurement)
    analytic = tuple(size_zone(z, objectives) for z in measurement.zones)
    today = tuple(z.capacity for z in sc.zones)
    lap("theory")
    cluster = None
    if backend == "dask" and address is None:
        from ..sweep import local_cluster

        cluster = local_cluster(workers or 2)
        address = cluster.scheduler_address
        lap("cluster_start")
    evaluator = Evaluator(
        sc,
        objectives,
        confidence,
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        embedder=embedder,
    )
    search_seeds = tuple(range(1, seeds + 1))
    held_out = tuple(range(VERIFY_SEED_BASE, VERIFY_SEED_BASE + (verify_seeds or 2 * seeds)))
    try:
        confirm = tuple(range(seeds + 1, 3 * seeds + 1))  # twice as many again
        found = marginal_search(
            evaluator, analytic, search_seeds, max_rounds=max_rounds, confirm_seeds=confirm
        )
        planned = found.best.capacities if found.best else last_proposal(found.history)
        lap("search")
        factor, uniform_caps = None, None
        tried: list[Any] = []
        if uniform:
            # uniform scaling must give the zone that needs the most growth what the plan gives it
            guess = max(p / t for p, t in zip(planned, today, strict=True))
            factor, best_uniform, tried = uniform_search(
                evaluator, today, guess, search_seeds, confirm_seeds=confirm
            )
            uniform_caps = best_uniform.capacities if best_uniform else None
        lap("uniform")
        named = {"today": today, "analytic": analytic, "plan": planned}
        if uniform_caps is not None:
            named["uniform"] = uniform_caps
        evals = evaluator.evaluate(list(named.values()), held_out, label="held-out seeds")
        lap("held_out")
    finally:
        if cluster is not None:
            cluster.close()
            lap("cluster_close")
    verdicts = {
        name: Verdict(name, ev.capacities, ev.intervals, ev.values, ev.feasible)
        for name, ev in zip(named, evals, strict=True)
    }
    zones = _zone_plans(
        measurement.zones, analytic, planned, uniform_caps, evals[2], objectives, confidence
    )
    return Plan(
        scenario=sc.name,
        file=sc.file,
        load=float(load),
        objectives=objectives,
        confidence=confidence,
        zones=zones,
        verdicts=verdicts,
        uniform_factor=factor,
        search_seeds=search_seeds,
        verify_seeds=held_out,
        history=found.history,
        uniform_tried=tried,
        runs=evaluator.runs + 1,
        sweeps=evaluator.sweeps,
        backend=backend,
        wall_s=time.perf_counter() - started,
        timings=timings,
    )


def _zone_plans(
    demand: Sequence[ZoneDemand],
    analytic: Sequence[int],
    planned: Sequence[int],
    uniform: Sequence[int] | None,
    ev: Evaluation,
    objectives: Sequence[Objective],
    confidence: float,
) -> tuple[ZonePlan, ...]:
    rows = ev.rows
    out = []
    for i, z in enumerate(demand):
        col = f"z.{z.name}."
        drops = float((rows[col + "drop_rate"] * rows[col + "arrived"]).sum())
        out.append(
            ZonePlan(
                name=z.name,
                today=z.today,
                analytic=analytic[i],
                planned=planned[i],
                uniform=None if uniform is None else uniform[i],
                arrival_rate=z.arrival_rate,
                peak_rate=z.peak_rate,
                mean_service=z.mean_service,
                utilisation=interval(rows[col + "util"], confidence),
                wait_quantile=interval(rows[col + "wait_q"], confidence),
                drop_rate=interval(
                    rows[col + "drop_rate"],
                    confidence,
                    events=drops,
                    trials=float(rows[col + "arrived"].sum()),
                ),
                analytic_prediction=_prediction(z, planned[i], analytic[i], objectives),
            )
        )
    return tuple(out)


def _prediction(
    z: ZoneDemand, planned: int, analytic: int, objectives: Sequence[Objective]
) -> dict[str, Any]:
    """What the theory predicts for the zone at the analytic and at the planned capacity."""
    return {
        "utilisation_at_analytic": z.offered_load / analytic,
        "utilisation_at_plan": z.offered_load / planned,
        **{f"{o.metric}_at_plan": predicted(z, planned, o) for o in objectives},
    }


def last_proposal(history: Sequence[Mapping[str, Any]]) -> tuple[int, ...]:
    """The search's last proposal, when no candidate met the objectives (the history may end
    with the confirmation's record, which proposes nothing)."""
    for record in reversed(history):
        if "proposal" in record:
            return tuple(record["proposal"])
    raise PlanError("the capacity search ran no round; nothing to propose")
