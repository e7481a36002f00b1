"""The first guess from theory: measure each zone's demand, then size it with Erlang C.

:func:`measure_demand` runs the scenario once with unlimited slots, so nothing queues, overflows
or is dropped for lack of room: each zone's routed arrival rate, service-time law and the
flight time from arrival to capture are then what the router and the physics alone produce.

:func:`size_zone` finds each zone's smallest capacity for the objectives on its own (every
zone meets each budget by itself), in continuous time (seconds). The wait is the network
delay (measured) plus the queueing wait: Erlang C for its probability, an exponential tail
with mean ``1 / (cμ - λ)`` (exact for M/M/c) times Allen-Cunneen's ``(1 + Cs²) / 2`` for
other service laws. Erlang C is extended to real ``c`` through the regularised incomplete
gamma function (``scipy.special.gammaincc``), so each objective is first solved for a real
``c`` with ``scipy.optimize.brentq``, then settled at the integers around the root. Drops come
from the M/M/c/K queue with ``K = c + queue_limit``.

What the theory does not see, and the simulation does: bursts (a stationary queue at the
mean rate), routing that moves with load, overflow between zones, and the pooling of the
global quantile objectives over zones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...model import ArenaModel
from ...scenario import Scenario
from ..sweep.specs import EmbedderSource, embedder_for
from .figures import ZoneFigures
from .slo import Objective, PlanError

UNLIMITED = 100_000  # slots per zone in the measuring run: nothing ever waits for room


@dataclass(frozen=True)
class ZoneDemand:
    """One zone's load as the measuring run saw it (rates per second, times in seconds).

    ``flight`` (network delay) and ``service`` are samples of the measured times (at most
    :data:`SAMPLES` each); ``peak_rate`` is the busiest 10 s window's rate (a burst the mean
    hides)."""

    name: str
    today: int
    queue_limit: int
    arrival_rate: float
    peak_rate: float
    mean_service: float
    scv: float
    correction: float
    flight: tuple[float, ...]
    service: tuple[float, ...]

    @property
    def offered_load(self) -> float:
        return self.arrival_rate * self.mean_service


@dataclass(frozen=True)
class Measurement:
    """The measuring run: each zone's demand, and each objective's value with unlimited slots
    (the best any capacity can do: flight and service times and drops in flight stay)."""

    zones: tuple[ZoneDemand, ...]
    floor: dict[str, float]
    steps: int


def unlimited(scenario: Scenario) -> Scenario:
    return scenario.replace(
        zones=tuple(dataclasses.replace(z, capacity=UNLIMITED) for z in scenario.zones)
    )


def measure_demand(
    scenario: Scenario,
    objectives: Sequence[Objective],
    seed: int | None = None,
    embedder: EmbedderSource = None,
) -> Measurement:
    """Run ``scenario`` (already at the planned load) once with unlimited slots; see the module
    docstring. Raises :class:`PlanError` if no intent reaches a zone."""
    model = ArenaModel(unlimited(scenario), seed=seed, embedder=embedder_for(embedder))
    model.run()
    floor = ZoneFigures(tuple(objectives))(model)
    L = model.ledger
    served = np.isfinite(L.start)
    if not served.any():
        raise PlanError(f"scenario {scenario.name}: no intent reached a zone; nothing to size")
    window = int(L.arrival[served].max()) + 1
    # the declared rate over the day times each zone's measured share: less noise than counts
    # (a trace or a bursty process has no declared rate: its measured one)
    arr = scenario.arrivals
    if arr.trace is None and arr.bursty is None:
        rate = float(np.mean([arr.rate_at(t) for t in np.arange(0.5, window)]))
    else:
        rate = int(served.sum()) / max(float(L.arrival[served].max()), 1e-9)
    zones = []
    caps = {c.name: c for c in scenario.capabilities}
    for i, spec in enumerate(scenario.zones):
        here = served & (L.zone == i)
        service = (L.end - L.start)[here]
        flight = (L.start - L.arrival)[here]  # network delay (nothing queues here)
        n = int(here.sum())
        mean = _declared_mean(scenario, model, here) if n else 1.0
        scv = float(service.var() / mean**2) if n > 1 else 1.0
        laws = {
            caps[c].service_time.describe().get("distribution", "per_token")
            for c in spec.capabilities
        }
        memoryless = laws <= {"exponential", "geometric"}
        starts = np.bincount(L.start[here].astype(np.int64), minlength=window + 10)[: window + 10]
        peak = float(np.convolve(starts, np.ones(10) / 10, mode="valid").max()) if n else 0.0
        zones.append(
            ZoneDemand(
                name=spec.name,
                today=spec.capacity,
                queue_limit=spec.queue_limit,
                arrival_rate=rate * n / max(int(served.sum()), 1),
                peak_rate=peak,
                mean_service=mean,
                scv=scv,
                correction=1.0 if memoryless else (1 + scv) / 2,
                flight=_samples(flight, model.rng),
                service=_samples(service, model.rng),
            )
        )
    floor_values = {o.metric: floor[f"m.{o.metric}"] for o in objectives}
    return Measurement(tuple(zones), floor_values, int(model.steps))


def _declared_mean(scenario: Scenario, model: ArenaModel, here: np.ndarray) -> float:
    """Mean service seconds of a zone: each capability's declared mean (plus injected extra
    time), or the measured one where the law has none (per-token sizes); weighted by how
    often the measuring run used each."""
    specs = {c.name: c for c in scenario.capabilities}
    L = model.ledger
    caps = L.capability[here]
    took = (L.end - L.start)[here]
    total = 0.0
    for i in np.unique(caps):
        spec = specs[model.capability_names[i]]
        st = spec.service_time
        extra = spec.faults.extra if spec.faults is not None else 0
        mine = caps == i
        # tokens or retries: the law alone does not say, the measurement does
        measured = st.needs_tokens or spec.policy
        mean = float(took[mine].mean()) if measured else st.mean() + extra
        total += mean * mine.sum()
    return total / len(caps)


SAMPLES = 2000  # measured times kept per zone: the fixed part's law, as an empirical sample


def _samples(values: np.ndarray, rng: np.random.Generator) -> tuple[float, ...]:
    if not len(values):
        return (0.0,)
    if len(values) > SAMPLES:
        values = rng.choice(values, SAMPLES, replace=False)
    return tuple(np.sort(values).tolist())


# -- queueing formulas (scipy) -------------------------------------------------------------------
def erlang_c_real(servers: float, offered_load: float) -> float:
    """Erlang C for a real number of servers: ``B = a^c e^-a / Γ(c+1, a)`` (the upper incomplete
    gamma function, ``scipy.special.gammaincc``), ``C = B / (1 - ρ (1 - B))``; equal to
    :func:`arena.analysis.queueing.erlang_c` at the integers."""
    from scipy import special

    a, c = offered_load, servers
    if a <= 0:
        return 0.0
    rho = a / c
    if rho >= 1:
        return 1.0
    log_b = c * math.log(a) - a - special.gammaln(c + 1) - math.log(special.gammaincc(c + 1, a))
    b = math.exp(min(log_b, 0.0))
    return b / (1 - rho * (1 - b))


def blocking_mmck(servers: int, limit: int, offered_load: float) -> float:
    """The M/M/c/K loss probability (``K = servers + queue places``), in log space
    (``scipy.special.gammaln``, ``logsumexp``) so large zones do not overflow."""
    from scipy import special

    a, c = offered_load, servers
    if a <= 0:
        return 0.0
    n = np.arange(limit + 1)
    log_pi = np.where(
        n <= c,
        n * math.log(a) - special.gammaln(n + 1),
        c * math.log(a) - special.gammaln(c + 1) + (n - c) * math.log(a / c),
    )
    return float(math.exp(log_pi[-1] - special.logsumexp(log_pi)))


def wait_law(zone: ZoneDemand, servers: float) -> tuple[float, float]:
    """``(P(wait > 0), E[wait | wait > 0])`` of the queueing wait, in seconds: Erlang C
    (extended to real ``c``), the conditional wait exponential with mean ``1 / (cμ - λ)``
    (exact for exponential service) times the Allen-Cunneen ``(1 + Cs²) / 2`` for other laws.
    An unstable zone waits for ever: ``(1, inf)``."""
    lam, m = zone.arrival_rate, zone.mean_service
    if lam <= 0:
        return 0.0, 0.0
    if lam * m >= servers:
        return 1.0, math.inf
    p_wait = erlang_c_real(servers, lam * m)
    return p_wait, zone.correction / (servers / m - lam)


def wait_tail(zone: ZoneDemand, servers: float, t: np.ndarray) -> np.ndarray:
    """``P(Q > t)`` for the queueing wait ``Q`` (``1`` for ``t < 0``):
    ``P(Q > 0) · exp(-t / E[Q | Q > 0])``, the M/M/c law."""
    p_wait, cond = wait_law(zone, servers)
    if not math.isfinite(cond):
        return np.ones_like(t, dtype=float)
    if cond <= 0:
        return np.where(t < 0, 1.0, 0.0)
    return np.where(t < 0, 1.0, p_wait * np.exp(-np.maximum(t, 0) / cond))


def fixed_part(zone: ZoneDemand, kind: str, rng_seed: int = 0) -> np.ndarray:
    """Samples of the time that no capacity shortens: network delay (wait), network plus
    service (response); the two paired by a fixed shuffle so the sample stays reproducible."""
    flight = np.asarray(zone.flight)
    if kind in ("wait", "wait_mean"):
        return flight
    service = np.random.default_rng(rng_seed).permutation(np.asarray(zone.service))
    n = min(len(flight), len(service))
    return flight[:n] + service[:n] if n else np.zeros(1)


def exceed_probability(zone: ZoneDemand, servers: float, kind: str, threshold: float) -> float:
    """``P(fixed + Q > threshold)``, averaging the queueing tail over the fixed part's sample."""
    fixed = fixed_part(zone, kind)
    return float(np.mean(wait_tail(zone, servers, threshold - fixed)))


def predicted(zone: ZoneDemand, servers: int, o: Objective) -> float:
    """The objective's zone-level value the theory predicts at ``servers`` slots: the share
    exceeding the threshold (quantiles), the mean wait, or the drop rate."""
    lam, m = zone.arrival_rate, zone.mean_service
    if o.kind == "drop_rate":
        return blocking_mmck(servers, servers + zone.queue_limit, lam * m)
    if o.kind == "wait_mean":
        if lam * m >= servers:
            return math.inf
        p_wait, cond = wait_law(zone, servers)
        return float(np.mean(zone.flight)) + p_wait * cond
    return exceed_probability(zone, servers, o.kind, o.target)


def size_zone(zone: ZoneDemand, objectives: Sequence[Objective]) -> int:
    """The smallest capacity at which the theory says the zone meets every objective alone.

    Where the zone's fixed part alone (its flight time, or flight plus service) already
    exceeds a budget, no capacity meets it alone: the zone is then sized to come within a
    tenth of the budget of that floor (what queueing adds becomes small), and the simulation,
    which pools a global objective over zones, decides the rest.
    """
    if zone.arrival_rate <= 0:
        return 1
    need = 1
    for o in objectives:
        budget = o.target if o.kind in ("drop_rate", "wait_mean") else o.share
        floor = predicted(zone, UNLIMITED, o) if o.kind != "drop_rate" else 0.0
        goal = max(budget, floor + 0.1 * budget)
        need = max(need, _smallest(lambda c, o=o, g=goal: predicted(zone, c, o) - g, zone))
    return need


def _smallest(excess, zone: ZoneDemand) -> int:
    """Smallest integer ``c`` with ``excess(c) <= 0`` (``excess`` decreasing in ``c``): the
    continuous root by ``scipy.optimize.brentq`` where the formula is continuous in ``c``,
    then the integers around it."""
    from scipy import optimize

    a = zone.offered_load
    lo = max(1.0, math.floor(a) + 1.0)
    if excess(int(lo)) <= 0:
        return int(lo)
    hi = lo
    limit = 10 * a + 1000
    while excess(math.ceil(hi)) > 0:
        if hi > limit:
            raise PlanError(
                f"zone {zone.name}: no capacity up to {limit:.0f} slots meets the objective"
            )
        lo, hi = hi, hi * 2
    try:
        root = optimize.brentq(lambda c: excess(c), lo, hi, xtol=0.01)
        c = max(1, math.ceil(root))
    except (ValueError, TypeError):  # an integer-only formula (M/M/c/K): bisect the integers
        c = math.ceil(hi)
    while c > 1 and excess(c - 1) <= 0:
        c -= 1
    while excess(c) > 0:
        c += 1
    return c
