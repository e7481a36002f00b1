"""Integer search over capacities by simulation: marginal allocation on a ladder, and the
smallest uniform scaling of today's capacities, for comparison.

**Marginal allocation.** Each round evaluates a ladder of five candidates around the current
one, ``c + k·step`` for ``k = -2..2`` (each zone its own step), all in one sweep. Zones barely
interact, so the ladder gives every zone's budget figures (see :mod:`.slo`) at five capacities
at once. From those curves the next candidate is built greedily (Fox 1966): start every zone at
its lowest rung, add slots where they buy the largest cut in the objectives' excess per slot
until, on the curves, every budget holds with ``margin``; then take back any rung that is
slack. A zone whose choice is inside its ladder halves its step. The search stops when the
candidate repeats with unit steps; the plan is the smallest candidate that any round found
*feasible* in full simulation, i.e. with overflow and routing included (the confidence bound
of every objective at or under its target).

**Uniform scaling.** ``ceil(f · today)`` for every zone: factors bracketed and then bisected,
five per sweep, until the smallest feasible and the largest infeasible factor give capacities
within one slot of each other in every zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .evaluate import Capacities, Evaluation, Evaluator
from .figures import NO_ZONE
from .slo import Objective

OFFSETS = (-2, -1, 0, 1, 2)


@dataclass
class SearchResult:
    best: Evaluation | None
    history: list[dict] = field(default_factory=list)


def excess(
    objectives: Sequence[Objective], num: np.ndarray, den: np.ndarray, margin: Sequence[float]
) -> float:
    """How far the budgets are from holding (0: all hold). ``num`` / ``den``: ``(O, Z + 1)``
    mean numerators and denominators per objective and zone (the last column: no zone);
    ``margin``: per objective, the share of its budget the means may use."""
    total = 0.0
    for i, o in enumerate(objectives):
        budget = margin[i] * o.share
        if o.per_zone:
            n, d = num[i, :-1], den[i, :-1]
            share = np.divide(n, d, out=np.zeros_like(n), where=d > 0)
            total += float(np.maximum(share - budget, 0).sum() / o.share)
        else:
            d = den[i].sum()
            if d > 0:
                total += max(0.0, num[i].sum() / d - budget) / o.share
    return total


def budget_arrays(
    ev: Evaluation, objectives: Sequence[Objective], zones: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean (over seeds) numerators and denominators, ``(O, Z + 1)`` each."""
    cols = [*zones, NO_ZONE]
    num = np.array([[ev.rows[f"n.{o.metric}.{z}"].mean() for z in cols] for o in objectives])
    den = np.array([[ev.rows[f"d.{o.metric}.{z}"].mean() for z in cols] for o in objectives])
    return num, den


def marginal_search(
    evaluator: Evaluator,
    start: Capacities,
    seeds: Sequence[int],
    *,
    max_rounds: int = 8,
    confirm_seeds: Sequence[int] = (),
) -> SearchResult:
    """See the module docstring. ``confirm_seeds`` (more seeds, still not the held-out ones)
    re-run the smallest feasible candidates at the end, pooled with ``seeds``: the smallest of
    many noisy candidates is the one most likely to have passed by luck."""
    objectives = evaluator.objectives
    zones = [z.name for z in evaluator.scenario.zones]
    result = SearchResult(None)
    center = tuple(start)
    steps = [max(1, round(0.05 * c)) for c in center]
    seen: set[Capacities] = set()
    for round_no in range(1, max_rounds + 1):
        ladder = [
            tuple(max(1, c + k * s) for c, s in zip(center, steps, strict=True)) for k in OFFSETS
        ]
        evals = evaluator.evaluate(ladder, seeds, label=f"search round {round_no}")
        for ev in evals:
            if ev.feasible and (result.best is None or ev.total < result.best.total):
                result.best = ev
        seen.add(center)
        # per zone: its capacity and budget figures on each rung
        rungs = np.array(ladder)  # (K, Z)
        arrays = [budget_arrays(ev, objectives, zones) for ev in evals]
        num = np.stack([a[0] for a in arrays])  # (K, O, Z + 1)
        den = np.stack([a[1] for a in arrays])
        levels = _allocate(
            objectives, rungs, num, den, _margins(evals[OFFSETS.index(0)], objectives)
        )
        proposal = tuple(int(rungs[k, z]) for z, k in enumerate(levels))
        result.history.append(
            {
                "round": round_no,
                "center": list(center),
                "center_total": sum(center),
                "center_feasible": evals[OFFSETS.index(0)].feasible,
                "proposal": list(proposal),
                "best_total": result.best.total if result.best else None,
            }
        )
        edge = [k in (0, len(OFFSETS) - 1) for k in levels]
        steps = [s if at_edge else max(1, s // 2) for s, at_edge in zip(steps, edge, strict=True)]
        if proposal in seen and all(s == 1 for s in steps):
            break
        center = proposal
    if confirm_seeds:
        found = [ev for ev in evaluator.evaluated() if ev.feasible]
        confirmed, record = confirm_smallest(evaluator, found, [*seeds, *confirm_seeds])
        result.history.append(record)
        result.best = confirmed or result.best
    return result


def _margins(center: Evaluation, objectives: Sequence[Objective]) -> list[float]:
    """Per objective, the share of the budget the means may fill so that the upper confidence
    bound still fits: ``1 - (high - mean) / share`` from the current candidate's spread (at
    least 0.3, at most 0.95)."""
    out = []
    for o in objectives:
        i = center.intervals[o.metric]
        spread = (i.high - i.mean) / o.share if np.isfinite(i.high) else 0.5
        out.append(float(np.clip(1 - spread, 0.3, 0.95)))
    return out


def confirm_smallest(
    evaluator: Evaluator, feasible: Sequence[Evaluation], seeds: Sequence[int]
) -> tuple[Evaluation | None, dict]:
    """The smallest of the four smallest ``feasible`` candidates that stays feasible on more
    ``seeds`` (one sweep) at a stricter level (a fifth of the error rate: 99% for 95%), and a
    record of the check."""
    smallest = sorted(
        {ev.capacities: ev for ev in feasible}.values(), key=lambda ev: (ev.total, ev.capacities)
    )[:4]
    if not smallest:
        return None, {"confirm": [], "seeds": len(seeds)}
    evals = evaluator.evaluate([ev.capacities for ev in smallest], seeds, label="confirm")
    # stricter than the search and the verdicts: a candidate that only just passes here would
    # fail about half of the time on as many fresh seeds
    strict = 1 - (1 - evaluator.confidence) / 5
    evals = [evaluator.judge(ev.capacities, ev.rows, strict) for ev in evals]
    confirmed = [ev for ev in evals if ev.feasible]
    record = {"confirm": [[list(ev.capacities), ev.feasible] for ev in evals], "seeds": len(seeds)}
    return (confirmed[0] if confirmed else None), record


def _allocate(
    objectives: Sequence[Objective],
    rungs: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    margin: Sequence[float],
) -> list[int]:
    """Greedy marginal allocation over the ladder's rungs; returns a rung index per zone."""
    K, Z = rungs.shape
    center = OFFSETS.index(0)
    levels = [0] * Z

    def figures(lv: list[int]) -> tuple[np.ndarray, np.ndarray]:
        n = np.stack([num[lv[z], :, z] for z in range(Z)], axis=1)
        d = np.stack([den[lv[z], :, z] for z in range(Z)], axis=1)
        return (
            np.concatenate([n, num[center, :, Z:]], axis=1),
            np.concatenate([d, den[center, :, Z:]], axis=1),
        )

    def value(lv: list[int]) -> float:
        return excess(objectives, *figures(lv), margin)

    current = value(levels)
    while current > 0:
        best, best_gain = None, 0.0
        for z in range(Z):
            if levels[z] + 1 >= K:
                continue
            slots = rungs[levels[z] + 1, z] - rungs[levels[z], z]
            trial = levels.copy()
            trial[z] += 1
            gain = (current - value(trial)) / max(int(slots), 1)
            if gain > best_gain:
                best, best_gain = z, gain
        if best is None:  # no single rung helps: raise every zone still over its budget
            n, _d = figures(levels)
            over = [z for z in range(Z) if levels[z] + 1 < K and (n[:, z] > 0).any()]
            if not over:
                break
            for z in over:
                levels[z] += 1
        else:
            levels[best] += 1
        current = value(levels)
    # take back rungs that are slack, the largest saving first
    for z in sorted(range(Z), key=lambda z: -int(rungs[levels[z], z])):
        while levels[z] > 0:
            trial = levels.copy()
            trial[z] -= 1
            if value(trial) > current + 1e-12:
                break
            levels = trial
    return levels


def uniform_vector(today: Capacities, factor: float) -> Capacities:
    return tuple(max(1, math.ceil(factor * c - 1e-9)) for c in today)


def uniform_search(
    evaluator: Evaluator,
    today: Capacities,
    guess: float,
    seeds: Sequence[int],
    *,
    max_rounds: int = 6,
    confirm_seeds: Sequence[int] = (),
) -> tuple[float | None, Evaluation | None, list[dict]]:
    """The smallest factor ``f`` whose ``ceil(f · today)`` is feasible (see the module
    docstring), confirmed on ``confirm_seeds`` as the marginal search's plan is (the same
    rigour for the baseline); returns it, its evaluation and the factors tried."""
    lo, hi = 0.0, None  # largest infeasible, smallest feasible factor found
    best: Evaluation | None = None
    tried: list[dict] = []
    factors = [guess * r for r in (0.8, 0.9, 1.0, 1.1, 1.25)]
    for round_no in range(1, max_rounds + 1):
        vectors = [uniform_vector(today, f) for f in factors]
        evals = evaluator.evaluate(vectors, seeds, label=f"uniform round {round_no}")
        for f, ev in zip(factors, evals, strict=True):
            tried.append({"factor": f, "total": ev.total, "feasible": ev.feasible})
            if ev.feasible and (hi is None or f < hi):
                hi, best = f, ev
        infeasible = [t["factor"] for t in tried if not t["feasible"]]
        lo = max([f for f in infeasible if hi is None or f < hi], default=0.0)
        if hi is None:  # nothing feasible yet: look higher
            top = max(factors)
            factors = [top * r for r in (1.2, 1.45, 1.75, 2.1, 2.5)]
            continue
        gap = np.abs(np.array(uniform_vector(today, hi)) - np.array(uniform_vector(today, lo)))
        if lo > 0 and gap.max() <= 1:
            break
        low = lo if lo > 0 else hi * 0.5
        factors = list(np.linspace(low, hi, 6)[1:-1]) + ([] if lo > 0 else [low])
    if confirm_seeds and best is not None:
        by_factor = {uniform_vector(today, t["factor"]): t["factor"] for t in tried}
        feasible = [
            ev for ev in evaluator.evaluated() if ev.feasible and ev.capacities in by_factor
        ]
        confirmed, record = confirm_smallest(evaluator, feasible, [*seeds, *confirm_seeds])
        tried.append(record)
        if confirmed is not None:
            best = confirmed
            hi = min(f for v, f in by_factor.items() if v == confirmed.capacities)
    return hi, best, tried
