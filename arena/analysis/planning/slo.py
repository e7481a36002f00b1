"""Service-level objectives: ``"wait_p95<=3"`` parsed into a checked :class:`Objective`.

Every objective is a budget of the same shape, ``Σ_z numerator_z <= share · Σ_z denominator_z``
over the zones (or per zone, for the ``zone_`` metrics), which is what lets the capacity search
tell *which* zone a slot should go to:

- ``wait_pNN <= T`` (time from arrival to the start of service, network delay included, over
  served intents): at most ``1 - NN/100`` of the served intents wait more than ``T``;
- ``latency_pNN <= T`` (also ``response_pNN``): the same for arrival to the end of service
  (network, wait and service), e.g. ``latency_p99<=2s``. Times are durations (``"250ms"``,
  ``"2s"``; a bare number is seconds);
- ``wait_mean <= T``: the waits sum to at most ``T`` per served intent;
- ``drop_rate <= r``: at most ``r`` of the arrivals are dropped (any reason);
- ``zone_wait_pNN`` / ``zone_response_pNN``: the quantile holds in every zone on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from capabilities import PacketFlowError

from ...errors import ScenarioError
from ...workload import parse_duration


class PlanError(PacketFlowError):
    """A capacity plan cannot be made as asked: a bad objective, an objective no capacity can
    meet, or a scenario the planner cannot size. The message says which and why."""


_SLO = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|=<|<|>=|>|==|=)\s*(\S+)\s*$")
_QUANTILE = re.compile(r"^(zone_)?(wait|response|latency)_p(\d{1,2}(?:\.\d{1,3})?)$")
KNOWN = (
    "latency_pNN (= response_pNN), wait_pNN, zone_latency_pNN, zone_wait_pNN, wait_mean, drop_rate"
)


@dataclass(frozen=True)
class Objective:
    """One objective: ``metric <= target``.

    ``kind`` is ``"wait"`` or ``"response"`` (a quantile of times, with ``quantile`` in (0, 1)),
    ``"wait_mean"`` or ``"drop_rate"``; ``per_zone`` says the budget holds in every zone.
    """

    metric: str
    target: float
    kind: str
    quantile: float | None = None
    per_zone: bool = False

    def __str__(self) -> str:
        return f"{self.metric}<={self.target:g}"

    @property
    def share(self) -> float:
        """The budget's share of the denominator (``1 - q``, the target mean, the drop rate)."""
        if self.quantile is not None:
            return 1.0 - self.quantile
        return self.target


def parse_slo(text: object) -> Objective:
    """``"wait_p95<=3"`` -> an :class:`Objective` (one passes through); anything else is a
    one-line :class:`PlanError`."""
    if isinstance(text, Objective):
        return text
    if not isinstance(text, str):
        raise PlanError(f"--slo: expected text like 'wait_p95<=3', got {type(text).__name__}")
    shown = text.strip().encode("unicode_escape").decode("ascii")[:60]
    m = _SLO.match(text)
    if m is None:
        raise PlanError(f"--slo {shown!r}: expected METRIC<=TARGET, e.g. 'wait_p95<=3'")
    metric, op, value = m.groups()
    if op not in ("<=", "=<"):
        raise PlanError(f"--slo {shown!r}: only upper bounds ('<=') can be planned for")
    target = _target(metric, value, shown)
    q = _QUANTILE.match(metric)
    if q is not None:
        zone, kind, pct = q.groups()
        kind = "response" if kind == "latency" else kind
        quantile = float(pct) / 100
        if not 0 < quantile < 1:
            raise PlanError(f"--slo {shown!r}: the percentile must be between 0 and 100")
        if target < 0:
            raise PlanError(f"--slo {shown!r}: a time target must be >= 0 s, got {target:g}")
        return Objective(metric, target, kind, quantile, per_zone=zone is not None)
    if metric == "wait_mean":
        if target < 0:
            raise PlanError(f"--slo {shown!r}: a time target must be >= 0 s, got {target:g}")
        return Objective(metric, target, "wait_mean")
    if metric == "drop_rate":
        if not 0 < target < 1:
            raise PlanError(
                f"--slo {shown!r}: drop_rate must be in (0, 1) (no finite test shows 0 drops "
                f"for sure), got {target:g}"
            )
        return Objective(metric, target, "drop_rate")
    raise PlanError(f"--slo {shown!r}: unknown metric {metric[:30]!r}; expected one of {KNOWN}")


def _target(metric: str, value: str, shown: str) -> float:
    """A time target in seconds (``"2s"``, ``"250ms"``; a bare number is seconds), or a
    plain number for ``drop_rate``."""
    if metric != "drop_rate":
        try:
            return parse_duration(value, file=None, field="--slo")
        except ScenarioError as exc:
            raise PlanError(f"--slo {shown!r}: {exc.problem}") from None
    try:
        target = float(value)
    except ValueError:
        raise PlanError(f"--slo {shown!r}: target {value[:20]!r} is not a number") from None
    if not math.isfinite(target):
        raise PlanError(f"--slo {shown!r}: target must be a finite number, got {value[:20]}")
    return target


def parse_slos(texts: Iterable[object]) -> tuple[Objective, ...]:
    """Several objectives, each metric at most once; at least one."""
    objectives = tuple(parse_slo(t) for t in texts)
    if not objectives:
        raise PlanError("--slo: give at least one objective, e.g. --slo 'wait_p95<=3'")
    seen: set[str] = set()
    for o in objectives:
        if o.metric in seen:
            raise PlanError(f"--slo: {o.metric} is given twice")
        seen.add(o.metric)
    return objectives
