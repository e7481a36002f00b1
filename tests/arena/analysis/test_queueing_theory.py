"""Queueing theory as a correctness check of the arena (issues #8 and #20).

With the physics bypassed, a zone is a multi-server FIFO queue, so its long-run mean wait and
utilisation are known. Since #20 the arena runs in continuous time (events at their exact times,
whatever the tick), so it is held to Erlang's continuous M/M/c directly, and to ``ciw`` — both
replaying the arena's own arrivals and services (every wait equal) and on its own random numbers
(mean and p95 wait within 3% or the pair's confidence interval), at a tick of a tenth of the
mean service time and at a tick equal to it.

The discrete chain below (:class:`arena.queueing.DiscreteMMc`) is what the capacity planner
still uses on a 1 s grid; its own tests stay:

- Time is in steps. Arrivals are Poisson(λ) per step, service is Geometric(1/mean) steps (the
  discrete memoryless law, so the zone's population is a Markov chain), finished services free
  their slots before the step's arrivals, and an arrival starts at once on a free slot.
- :class:`arena.queueing.DiscreteMMc` solves that chain exactly, so it is the arena's theory at
  ANY step size; no need for a tiny step (which would make the long runs unaffordable). It tends
  to Erlang C as the step shrinks, and at a finite step differs from it by the geometric
  service's smaller variance: waits scale by ``1 - 1/(2 mean)`` (exact for one slot by
  Pollaczek-Khinchine, the Lee-Longton approximation for more). Both are tested below, then the
  arena is held to the exact chain and to the corrected Erlang C, within 5%.
- A mean wait is a noisy statistic (its samples are strongly correlated): the chain gives the
  standard error of a run of a given length, and every statistical check here uses runs long
  enough that 5% is at least 3 standard errors. At ρ = 0.9 that takes ~1.5M intents, beyond this
  file's budget; by default that case checks utilisation at 5% and the wait at 3 standard
  errors (~12%), and ``PACKETFLOW_QUEUEING_LONG=1`` runs it long enough for 5%.
- ``ciw`` replays the arena's own arrivals and service times and must reproduce every intent's
  wait and zone exactly (zero-variance agreement), and on its own random numbers matches the
  chain.
"""

from __future__ import annotations

import math
import os

import ciw
import numpy as np
import pytest
import scipy.stats
from fakes import BagOfWordsEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.analysis.queueing import (
    DiscreteMMc,
    DiscreteOverflow,
    erlang_b,
    erlang_c,
    geometric_service_correction,
    mmc,
)
from arena.model import ArenaModel
from arena.physics import Physics
from arena.scenario import parse_scenario

TOLERANCE = 0.05  # the issue's: relative error of mean wait and utilisation
LONG = os.environ.get("PACKETFLOW_QUEUEING_LONG") == "1"


# -- the formulas ------------------------------------------------------------------------------
def test_erlang_formulas_match_textbook_values():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    q = mmc(arrival_rate=0.5, service_rate=1.0, servers=1)  # M/M/1
    assert q.wq == pytest.approx(1.0) and q.w == pytest.approx(2.0)
    assert q.utilisation == pytest.approx(0.5) and q.p_wait == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unstable"):
        mmc(2.0, 1.0, 2)
    with pytest.raises(ValueError, match="servers"):
        erlang_b(0, 1.0)


@given(st.integers(1, 30), st.floats(0.01, 40))
def test_erlang_b_recursion_equals_the_closed_form(c, a):
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    assert erlang_b(c, a) == pytest.approx(terms[-1] / sum(terms), rel=1e-9)


@given(st.integers(1, 20), st.floats(0.05, 0.95), st.floats(0.01, 0.04))
def test_erlang_c_waits_more_as_load_grows(c, rho, step):
    a, b = rho * c, min(rho + step, 0.99) * c
    assert erlang_b(c, a) <= erlang_c(c, a) <= 1
    assert erlang_c(c, a) < erlang_c(c, b)
    assert mmc(a, 1.0, c).lq == pytest.approx(a * mmc(a, 1.0, c).wq)  # Little


@settings(max_examples=25, deadline=None)
@given(st.floats(0.3, 0.92), st.sampled_from([1, 1.5, 2, 3, 5, 8]))
def test_one_slot_chain_is_pollaczek_khinchine_with_geometric_service(rho, mean):
    """For one slot the arena's wait has a closed form: P-K with E[S²] = (2 - p) / p², i.e.
    Erlang C times the geometric correction, exactly."""
    p = 1 / mean
    lam = rho * p
    chain = DiscreteMMc(lam, mean, 1).figures()
    assert chain.wq == pytest.approx(lam * (2 - p) / (2 * p * (p - lam)), rel=1e-7)
    assert chain.wq == pytest.approx(
        mmc(lam, p, 1).wq * geometric_service_correction(mean), rel=1e-7
    )
    assert chain.utilisation == pytest.approx(rho, rel=1e-9)
    assert chain.lq == pytest.approx(lam * chain.wq)


@pytest.mark.parametrize("servers", [2, 4, 8])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_discrete_chain_tends_to_erlang_c_as_the_step_shrinks(servers, rho):
    gaps, corrected = [], []
    for mean in (2, 4, 10, 40):
        lam = rho * servers / mean
        chain = DiscreteMMc(lam, mean, servers).figures()
        erlang = mmc(lam, 1 / mean, servers)
        assert chain.utilisation == pytest.approx(erlang.utilisation, rel=1e-9)
        gaps.append(abs(chain.wq / erlang.wq - 1))
        corrected.append(abs(chain.wq / (erlang.wq * geometric_service_correction(mean)) - 1))
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 0.015  # -> Erlang C
    assert max(corrected[1:]) < 0.015 and corrected[0] < 0.05  # the correction explains the gap
    assert corrected[-1] < 0.001


def test_overflow_chain_blocking_tends_to_erlang_b():
    a = 1.6  # offered load to a 2-slot zone A
    blocking = [DiscreteOverflow(a / m, m, 2, 3).figures().blocking for m in (2, 5, 20, 60)]
    gaps = [abs(b / erlang_b(2, a) - 1) for b in blocking]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 0.01


@pytest.mark.parametrize("rho", [0.5, 0.7])
def test_five_percent_is_tight_enough_to_catch_plausible_bugs(rho):
    """Slips the one-zone check below must catch, each moving a checked figure by > 10%."""
    mean, c = MEAN_SERVICE, 1
    lam = rho * c / mean
    right = DiscreteMMc(lam, mean, c).figures()
    # service half a step too long on average, or the arrival rate 10% too high
    assert DiscreteMMc(lam, mean + 0.5, c).figures().utilisation > 1.2 * right.utilisation
    assert DiscreteMMc(lam * 1.1, mean, c).figures().wq > 1.1 * right.wq
    # completions after the step's arrivals: whoever finds the zone full waits at least one
    # more step, so the mean wait grows by at least p_wait
    assert right.p_wait > 0.1 * right.wq
    # one slot too many
    assert DiscreteMMc(lam, mean, c + 1).figures().wq < 0.5 * right.wq


# -- the arena: one zone, physics bypassed ------------------------------------------------------
def queue_scenario(
    rate: float,
    mean: float,
    servers: int,
    duration: float,
    zones: int,
    seed: int,
    tick: float | None = None,
    service: dict | None = None,
):
    """``zones`` identical, independent single-zone queues in one model: the ``random`` router
    thins the Poisson(rate x zones) arrivals uniformly, so each zone sees Poisson(rate).
    Service is exponential with ``mean`` seconds unless ``service`` says otherwise."""
    data = {
        "name": "mmc",
        "seed": seed,
        "duration": duration,
        "clock": {"tick": tick if tick is not None else mean / 10},
        "space": {"width": 100, "height": 100},
        "capabilities": [
            {
                "name": f"desk_{i}",
                "intent": "answer questions",
                "service_time": service or {"distribution": "exponential", "mean": mean},
            }
            for i in range(zones)
        ],
        "zones": [
            {
                "name": f"zone_{i}",
                "capacity": servers,
                "queue_limit": 1_000_000,  # effectively unbounded
                "radius": 5,
                "capabilities": [f"desk_{i}"],
            }
            for i in range(zones)
        ],
        "arrivals": {"rate": rate * zones, "texts": ["a question"], "repeat": True},
        "router": "random",
    }
    return parse_scenario(data, file="queueing.yaml")


def run_arena(scenario, **kw) -> ArenaModel:
    model = ArenaModel(scenario, embedder=BagOfWordsEmbedder(), check_conservation=False, **kw)
    model.run()  # the scenario's arrivals, then until every intent is served
    assert model.summary().dropped == 0 and model.lost() == 0
    return model


def waits_by_zone(model: ArenaModel, warm_up: float) -> list[np.ndarray]:
    L = model.ledger
    keep = L.arrival > warm_up
    return [(L.start - L.reach)[keep & (L.zone == z)] for z in range(len(model.zone_names))]


def batch_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of a 95% interval over independent replications."""
    values = np.asarray(values, dtype=float)
    half = scipy.stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


RHO_CASES = {"rho=0.5": (0.5, 2), "rho=0.8": (0.8, 2)}
MEAN_SERVICE = 2.0  # seconds


@pytest.mark.parametrize("tick_share", [0.1, 1.0])
@pytest.mark.parametrize("case", RHO_CASES)
def test_one_zone_matches_erlang_c(case, tick_share):
    """Utilisation and mean wait of 16 independent M/M/c zones against Erlang C: within 5%
    or 3 standard errors of the replications, at a tick of 1/10 of the mean service time and
    at a tick equal to it (no discretisation error: events keep their exact times)."""
    rho, c = RHO_CASES[case]
    lam = rho * c / MEAN_SERVICE
    erlang = mmc(lam, 1 / MEAN_SERVICE, c)
    model = run_arena(
        queue_scenario(lam, MEAN_SERVICE, c, 3_000, 16, seed=11, tick=tick_share * MEAN_SERVICE)
    )
    per_zone = [w.mean() for w in waits_by_zone(model, 200)]
    wq, half = batch_ci(per_zone)
    assert wq == pytest.approx(erlang.wq, rel=max(TOLERANCE, 1.5 * half / erlang.wq))
    util = model.summary().zone_utilisation
    mean_util = np.mean([u["mean"] for u in util.values()])
    assert mean_util == pytest.approx(erlang.utilisation, rel=TOLERANCE)


def test_a_service_shorter_than_the_tick_is_served_at_its_own_length():
    """A 20 ms service under a 1 s tick: latency is 20 ms, not a tick."""
    model = run_arena(
        queue_scenario(
            5.0,
            0.02,
            4,
            60,
            1,
            seed=3,
            tick=1.0,
            service={"distribution": "constant", "mean": "20ms"},
        )
    )
    s = model.summary()
    assert s.latency_ms.p50 == pytest.approx(20.0) and s.latency_ms.p99 == pytest.approx(20.0)
    assert s.wait_ms.p99 == 0


# -- ciw: the same queue in an independent simulator --------------------------------------------
class OverflowArrivals(ciw.ArrivalNode):
    """Each arrival joins node 1 (zone A) if it has a free server, else node 2 (zone B)."""

    def release_individual(self, next_node, next_individual):
        a, b = self.simulation.transitive_nodes
        self.send_individual(a if a.number_of_individuals < a.c else b, next_individual)


def arrival_gaps(model: ArenaModel) -> list[float]:
    """The arena's inter-arrival gaps (ciw's first arrival comes one gap after time 0)."""
    t = np.sort(model.ledger.arrival)
    return np.diff(t, prepend=0.0).tolist()


def service_times_in_start_order(model: ArenaModel, zone: int) -> list[float]:
    L = model.ledger
    rows = np.flatnonzero(L.zone == zone)
    rows = rows[np.lexsort((rows, L.start[rows]))]
    return (L.end - L.start)[rows].tolist()


def ciw_waits(sim: ciw.Simulation) -> tuple[np.ndarray, np.ndarray]:
    """(wait, node) per customer in arrival order."""
    records = sorted(sim.get_all_records(), key=lambda r: r.id_number)
    return (
        np.array([r.waiting_time for r in records]),
        np.array([r.node for r in records]),
    )


@pytest.mark.parametrize("tick_share", [0.1, 1.0])
@pytest.mark.parametrize("service", ["exponential", "lognormal"])
def test_ciw_replaying_the_arenas_arrivals_and_services_reproduces_every_wait(service, tick_share):
    """Zero-variance agreement: same inputs, same FIFO multi-server queue, same waits, to
    floating-point rounding, whatever the tick (M/M/c and M/G/c with lognormal service)."""
    lam, c, mean = 0.9, 3, 3.0
    law = (
        {"distribution": "exponential", "mean": mean}
        if service == "exponential"
        else {"distribution": "lognormal", "median": "2s", "p99": "20s"}
    )
    model = run_arena(
        queue_scenario(lam, mean, c, 2_500, 1, seed=5, tick=tick_share * mean, service=law)
    )
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([*arrival_gaps(model), 1e12])],
        service_distributions=[ciw.dists.Sequential(service_times_in_start_order(model, 0))],
        number_of_servers=[c],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(float(model.ledger.end.max()) + 1)
    waits, _ = ciw_waits(sim)
    L = model.ledger
    order = np.argsort(L.arrival, kind="stable")
    assert len(waits) == len(L) > 1_500
    assert (waits > 1e-9).mean() > 0.3, "the queue must actually build up"
    np.testing.assert_allclose(waits, (L.start - L.arrival)[order], atol=1e-6)


def test_ciw_on_its_own_random_numbers_matches_the_arena():
    """Independent random numbers: mean and p95 wait of the arena and of ciw agree within 3% or
    the confidence interval of the pair (replications of each)."""
    rho, c, mean = 0.8, 2, MEAN_SERVICE
    lam = rho * c / mean
    arena = waits_by_zone(run_arena(queue_scenario(lam, mean, c, 2_000, 12, seed=21)), 200)
    ciw_runs = []
    for rep in range(12):
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(lam)],
            service_distributions=[ciw.dists.Exponential(1 / mean)],
            number_of_servers=[c],
        )
        ciw.seed(100 + rep)
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(2_000)
        ciw_runs.append(
            np.array([r.waiting_time for r in sim.get_all_records() if r.arrival_date > 200])
        )
    for stat in (np.mean, lambda w: np.percentile(w, 95)):
        a, ha = batch_ci([stat(w) for w in arena])
        b, hb = batch_ci([stat(w) for w in ciw_runs])
        assert abs(a - b) <= max(0.03 * b, np.hypot(ha, hb)), (a, b, ha, hb)


# -- two zones: the physics routes to a parallel zone when the first is full --------------------
def overflow_scenario(rate: float, mean: float, primary: int, secondary: int, duration, seed):
    """Zones A and B host capabilities with the same meaning; intents enter inside A, so the
    physics captures them there at once when A has a free server; when A is full they overflow
    to B (a free server) or, via ``spill_margin``, join B's queue. A itself has no queue."""
    cap = {
        "intent": "answer questions",
        "service_time": {"distribution": "exponential", "mean": mean},
    }
    data = {
        "name": "overflow",
        "seed": seed,
        "duration": duration,
        "clock": {"tick": mean / 10},
        "space": {"width": 100, "height": 100},
        "entry": [31, 50],
        "capabilities": [{"name": "desk_a", **cap}, {"name": "desk_b", **cap}],
        "zones": [
            {
                "name": "a",
                "position": [30, 50],
                "capacity": primary,
                "queue_limit": 0,
                "radius": 5,
                "capabilities": ["desk_a"],
            },
            {
                "name": "b",
                "position": [70, 50],
                "capacity": secondary,
                "queue_limit": 1_000_000,
                "radius": 5,
                "capabilities": ["desk_b"],
            },
        ],
        "arrivals": {"rate": rate, "texts": ["a question"], "repeat": True},
        "router": "physics",
    }
    return parse_scenario(data, file="overflow.yaml")


OVERFLOW_PHYSICS = Physics(repulsion=0.0, spill_margin=0.5, noise=0.0)


def test_physics_overflow_blocks_as_erlang_b():
    """A has no queue, so the share of arrivals it turns away is Erlang B of its offered load
    (exact for Poisson arrivals, whatever B does), and its utilisation follows."""
    lam, primary, secondary = 2.5, 4, 4
    model = run_arena(
        overflow_scenario(lam, MEAN_SERVICE, primary, secondary, 6_000, seed=3),
        physics=OVERFLOW_PHYSICS,
    )
    L = model.ledger
    keep = L.arrival > 200
    wait = L.start - L.reach
    assert (wait[L.zone == 0] == 0).all() and not L.overflow[L.zone == 0].any()
    blocking = erlang_b(primary, lam * MEAN_SERVICE)
    assert (keep & (L.zone == 1)).sum() / keep.sum() == pytest.approx(blocking, rel=TOLERANCE)
    util_a = model.summary().zone_utilisation["a"]["mean"]
    assert util_a == pytest.approx(lam * MEAN_SERVICE * (1 - blocking) / primary, rel=TOLERANCE)


def test_ciw_overflow_network_reproduces_every_intents_zone_and_wait():
    lam, primary, secondary = 1.0, 2, 2
    model = run_arena(
        overflow_scenario(lam, MEAN_SERVICE, primary, secondary, 2_000, seed=8),
        physics=OVERFLOW_PHYSICS,
    )
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([*arrival_gaps(model), 1e12]), None],
        service_distributions=[
            ciw.dists.Sequential(service_times_in_start_order(model, 0)),
            ciw.dists.Sequential(service_times_in_start_order(model, 1)),
        ],
        number_of_servers=[primary, secondary],
        queue_capacities=[0, float("inf")],
        routing=[[0.0, 0.0], [0.0, 0.0]],
    )
    sim = ciw.Simulation(network, arrival_node_class=OverflowArrivals)
    sim.simulate_until_max_time(float(model.ledger.end.max()) + 1)
    waits, nodes = ciw_waits(sim)
    L = model.ledger
    order = np.argsort(L.arrival, kind="stable")
    assert len(waits) == len(L) > 1_500
    assert (nodes == 2).mean() > 0.2 and (waits > 1e-9).mean() > 0.05, "B must overflow and queue"
    np.testing.assert_array_equal(nodes - 1, L.zone[order])
    np.testing.assert_allclose(waits, (L.start - L.arrival)[order], atol=1e-6)
