"""Capacity planning: the smallest capacities per zone that meet service-level objectives.

``slo`` (objectives parsed from ``"wait_p95<=3"``), ``analytic`` (measured demand, Erlang C
sizing), ``figures`` (what each run reports; confidence intervals), ``evaluate`` (candidates on
the sweep backend), ``search`` (marginal allocation, uniform scaling), ``plan``
(:func:`plan_capacity`), ``overlay`` (a plan as a scenario overlay), ``report`` (text, files,
figure). See docs/capacity_planning.md.
"""

from .advice import miss_summary, plan_advice
from .analytic import ZoneDemand, blocking_mmck, erlang_c_real, measure_demand, size_zone
from .figures import Interval, interval
from .overlay import capacity_overlay, load_with_overlay
from .plan import Plan, Verdict, ZonePlan, plan_capacity, scale_load
from .report import format_plan, plan_figure, plan_to_dict, write_plan
from .slo import Objective, PlanError, parse_slo, parse_slos

__all__ = [
    "Interval",
    "Objective",
    "Plan",
    "PlanError",
    "Verdict",
    "ZoneDemand",
    "ZonePlan",
    "blocking_mmck",
    "capacity_overlay",
    "erlang_c_real",
    "format_plan",
    "interval",
    "load_with_overlay",
    "measure_demand",
    "miss_summary",
    "parse_slo",
    "parse_slos",
    "plan_advice",
    "plan_capacity",
    "plan_figure",
    "plan_to_dict",
    "scale_load",
    "size_zone",
    "write_plan",
]
