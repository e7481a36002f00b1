"""A plan that misses its own held-out check names the objective and the zone that failed and
the next step, and ``plan_capacity`` retries with more seeds on its own (saying so)."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from arena.analysis.planning import (
    Plan,
    PlanError,
    Verdict,
    ZonePlan,
    format_plan,
    parse_slos,
    plan_advice,
    plan_capacity,
    plan_to_dict,
)
from arena.analysis.planning.figures import Interval

plan_module = importlib.import_module("arena.analysis.planning.plan")
OBJECTIVES = tuple(parse_slos(["wait_p95<=3", "drop_rate<=0.01"]))


def iv(mean: float, spread: float = 0.1) -> Interval:
    return Interval(mean, mean - spread, mean + spread)


def zone(name: str, wait: float, drops: float) -> ZonePlan:
    return ZonePlan(name, 4, 5, 5, None, 1.0, 1.5, 3.0, iv(0.8), iv(wait), iv(drops, 0.001), {})


def a_plan(wait_share: float, drop_rate: float, seeds: int = 3) -> Plan:
    """A plan whose held-out wait budget statistic is ``wait_share`` (budget 0.05) and drop
    rate ``drop_rate`` (budget 0.01); the billing zone carries the long waits."""
    intervals = {"wait_p95": iv(wait_share, 0.01), "drop_rate": iv(drop_rate, 0.001)}
    meets = wait_share + 0.01 <= 0.05 and drop_rate + 0.001 <= 0.01
    verdict = Verdict("plan", (5, 5), intervals, intervals, meets)
    return Plan(
        scenario="s",
        file=None,
        load=1.0,
        objectives=OBJECTIVES,
        confidence=0.95,
        zones=(zone("support", 1.0, 0.0), zone("billing", 4.0, 0.0)),
        verdicts={"plan": verdict},
        uniform_factor=None,
        search_seeds=tuple(range(1, seeds + 1)),
        verify_seeds=(10_001, 10_002),
    )


def test_a_missed_check_names_objective_zone_and_next_step():
    plan = a_plan(wait_share=0.08, drop_rate=0.0)
    advice = plan_advice(plan)
    assert "wait_p95<=3" in advice[0] and "billing" in advice[0]
    assert "drop_rate" not in advice[0]  # the objective it meets is not blamed
    assert "--seeds 6" in advice[1] and "billing" in advice[1] and "--overlay" in advice[1]
    text = format_plan(plan)
    assert "OBJECTIVES NOT MET" in text and advice[1] in text
    assert plan_to_dict(plan)["advice"] == advice
    assert plan_advice(a_plan(wait_share=0.01, drop_rate=0.0)) == []


def test_plan_retries_with_twice_the_seeds_when_the_check_fails_and_says_so(monkeypatch):
    calls: list[int] = []

    def attempt(scenario, slos, *, seeds, **kw):
        calls.append(seeds)
        return a_plan(0.08 if len(calls) == 1 else 0.01, 0.0, seeds)

    monkeypatch.setattr(plan_module, "_plan_once", attempt)
    plan = plan_capacity("s.yaml", ["wait_p95<=3"], seeds=3, progress=False)
    assert calls == [3, 6] and plan.met
    assert len(plan.notes) == 1 and "planned again with 6 seeds" in plan.notes[0]
    assert "billing" in plan.notes[0]
    assert f"note: {plan.notes[0]}" in format_plan(plan)
    calls.clear()
    plan = plan_capacity("s.yaml", ["wait_p95<=3"], seeds=3, progress=False, retries=0)
    assert calls == [3] and not plan.met and plan.notes == ()
    with pytest.raises(PlanError, match="--retries"):
        plan_capacity("s.yaml", ["wait_p95<=3"], retries=-1)


def test_a_plan_that_meets_is_not_retried(monkeypatch):
    calls: list[int] = []

    def attempt(scenario, slos, *, seeds, **kw):
        calls.append(seeds)
        return dataclasses.replace(a_plan(0.01, 0.0, seeds), runs=7)

    monkeypatch.setattr(plan_module, "_plan_once", attempt)
    plan = plan_capacity("s.yaml", ["wait_p95<=3"], seeds=3, progress=False, retries=3)
    assert calls == [3] and plan.runs == 7
