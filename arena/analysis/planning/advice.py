"""What a plan that misses its own held-out check should tell its user: which objective
failed, in which zone, and what to do next.

Why a module of its own: the verdict (:mod:`.plan`) and the report (:mod:`.report`) both need
it — the verdict to decide whether to retry with more seeds, the report to print the advice —
and the rule (the worst zone by its figure against the target) is one rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .slo import Objective

if TYPE_CHECKING:
    # annotation-only: .plan imports this module (listed in the acyclic-siblings contract's
    # ignore_imports in pyproject.toml)
    from .plan import Plan, Verdict, ZonePlan


def missed(verdict: Verdict, objectives: Sequence[Objective]) -> list[Objective]:
    """The objectives whose budget interval on the held-out seeds ends over its share."""
    return [o for o in objectives if not verdict.intervals[o.metric].high <= o.share]


def worst_zone(zones: Sequence[ZonePlan], objective: Objective) -> ZonePlan | None:
    """The zone furthest over ``objective``'s target on the held-out seeds (by the upper end of
    its interval: its drop rate for a drop objective, its wait quantile otherwise)."""

    def excess(z: ZonePlan) -> float:
        figure = z.drop_rate if objective.kind == "drop_rate" else z.wait_quantile
        high = figure.high if math.isfinite(figure.high) else -math.inf
        return high / objective.target if objective.target > 0 else high

    return max(zones, key=excess, default=None)


def miss_summary(plan: Plan) -> str:
    """``wait_p95<=3 (worst zone: billing, wait p95 up to 3.6)``, for each objective the plan
    misses on the held-out seeds, joined by ``; `` (empty when it meets them all)."""
    parts = []
    for o in missed(plan.verdicts["plan"], plan.objectives):
        zone = worst_zone(plan.zones, o)
        where = ""
        if zone is not None:
            figure = zone.drop_rate if o.kind == "drop_rate" else zone.wait_quantile
            what = "drop rate" if o.kind == "drop_rate" else "wait quantile"
            where = f" (worst zone: {zone.name}, {what} up to {figure.high:.3g})"
        parts.append(f"{o}{where}")
    return "; ".join(parts)


def plan_advice(plan: Plan) -> list[str]:
    """Lines of advice for a plan that misses its own held-out check (none when it meets it):
    what failed, where, and the next step (more seeds; a slot more where it failed)."""
    if plan.met:
        return []
    seeds = len(plan.search_seeds)
    lines = [f"the plan misses on held-out seeds: {miss_summary(plan)}"]
    fails = [worst_zone(plan.zones, o) for o in missed(plan.verdicts["plan"], plan.objectives)]
    names = list(dict.fromkeys(z.name for z in fails if z is not None))
    lines.append(
        f"next: plan again with more seeds (--seeds {2 * seeds}; the search's intervals at "
        f"{seeds} seeds were too wide to see the miss)"
        + (
            f", or give {', '.join(names)} a slot or two more than planned and check with "
            "`run --overlay`"
            if names
            else ""
        )
    )
    return lines
