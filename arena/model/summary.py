"""The run summary: what happened to every intent, how well it was routed, how long it waited.

Computed from the ledger and the DataCollector only, so the same scenario and seed give the
same summary, bit for bit (no wall-clock figures in it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from capabilities import resilience_counts

from .agents import ZoneAgent
from .ledger import COMPLETED, DROP_REASONS, IN_SERVICE, OUTCOMES

if TYPE_CHECKING:  # annotations only: the model imports this module
    from .model import ArenaModel


@dataclass(frozen=True)
class WaitSteps:
    """Steps from arrival to the start of service, over served intents (None: none served)."""

    mean: float | None
    p50: float | None
    p95: float | None
    max: int | None


@dataclass(frozen=True)
class OutOfScope:
    """How well the out-of-scope gate found the intents labelled out of scope."""

    precision: float | None
    recall: float | None
    actual: int
    predicted: int


@dataclass(frozen=True)
class RunSummary:
    """What happened to every intent of a run; ``to_dict()`` is summary.json's content."""

    scenario: str
    router: str
    seed: int
    steps: int
    arrived: int
    in_flight: int
    queued: int
    in_service: int
    completed: int
    dropped: int
    dropped_by_reason: Mapping[str, int]
    lost: int
    drained: bool  # nothing left in flight, queued or in service when the run ended
    overflowed: int
    outcomes: Mapping[str, int]
    routing_accuracy: float | None
    capability_accuracy: float | None
    scored_intents: int
    served_well: float | None
    wait_steps: WaitSteps
    zone_utilisation: Mapping[str, Mapping[str, float | None]]
    resilience: Mapping[str, Mapping[str, int]]
    physics: Mapping[str, Any]
    rate_scale: float
    embedder: str  # the embedding model's name, e.g. all-MiniLM-L6-v2@onnx-int8 (the fast one)
    out_of_scope: OutOfScope | None = None  # only when the source has out-of-scope labels

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON, keys in summary.json's order (``out_of_scope`` only when set)."""
        out = dataclasses.asdict(self)
        if self.out_of_scope is None:
            del out["out_of_scope"]
        return out

    def format(self) -> str:
        """A short human-readable table."""
        return format_summary(self)


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def summarise(model: ArenaModel) -> RunSummary:
    L = model.ledger
    counts = model.counts()
    served = (L.state == IN_SERVICE) | (L.state == COMPLETED)
    label = L.label
    labelled = label >= 0
    lab = np.maximum(label, 0)
    if len(model.label_names):
        is_oos = labelled & model.label_is_oos[lab]
        true_group = model.label_group[lab]
        true_cap = model.label_capability[lab]
    else:  # an unlabelled source: nothing to score
        is_oos = np.zeros(len(L), dtype=bool)
        true_group = true_cap = np.full(len(L), -1)
    in_scope = labelled & ~is_oos
    scored = served & in_scope
    # routing is right when the zone belongs to the group (any replica) of the label's home zone
    zone_group = model.zone_group[np.maximum(L.zone, 0)]
    return RunSummary(
        scenario=model.scenario.name,
        router=model.router.name,
        seed=int(model.seed_value),
        steps=int(model.steps),
        **counts,
        dropped_by_reason={r: int(model.dropped[i]) for i, r in enumerate(DROP_REASONS)},
        lost=int(model.lost()),
        drained=counts["in_flight"] + counts["queued"] + counts["in_service"] == 0,
        overflowed=int(L.overflow.sum()),
        outcomes={
            name: int((L.outcome[served] == i).sum()) for i, name in enumerate(OUTCOMES) if i
        },
        routing_accuracy=_r(np.mean(zone_group[scored] == true_group[scored]))
        if scored.any()
        else None,
        capability_accuracy=_r(np.mean(L.capability[scored] == true_cap[scored]))
        if scored.any()
        else None,
        scored_intents=int(scored.sum()),
        served_well=_served_well(model, served, in_scope, true_cap),
        wait_steps=_waits((L.start - L.arrival)[served]),
        zone_utilisation=_utilisation(model),
        resilience=_resilience(model),
        physics={k: getattr(model.physics, k) for k in model.physics.describe()},
        rate_scale=model.rate_scale,
        embedder=model.registry.embedder.name,
        out_of_scope=_out_of_scope(L.fallback, is_oos, labelled)
        if model.label_is_oos.any() and labelled.any()
        else None,
    )


def _served_well(
    model: ArenaModel, served: np.ndarray, in_scope: np.ndarray, true_cap: np.ndarray
) -> float | None:
    """Share of the in-scope labelled intents that arrived and were served by their own
    capability at a zone hosting it at full quality (quality 1): a drop, a wrong capability
    or a lower-quality host (a general intake standing in for a specialist) all count against.
    """
    if not in_scope.any():
        return None
    L = model.ledger
    cap = np.maximum(L.capability, 0)
    zone = np.maximum(L.zone, 0)
    well = served & in_scope & (L.capability == true_cap) & (model.cap_quality[zone, cap] >= 1.0)
    return _r(well.sum() / in_scope.sum())


def _waits(waits: np.ndarray) -> WaitSteps:
    if not waits.size:
        return WaitSteps(None, None, None, None)
    return WaitSteps(
        mean=_r(waits.mean()),
        p50=_r(np.percentile(waits, 50)),
        p95=_r(np.percentile(waits, 95)),
        max=int(waits.max()),
    )


def _out_of_scope(predicted: np.ndarray, is_oos: np.ndarray, labelled: np.ndarray) -> OutOfScope:
    tp = int((predicted & is_oos).sum())
    p = int(predicted[labelled].sum())
    a = int(is_oos.sum())
    return OutOfScope(
        precision=_r(tp / p) if p else None,
        recall=_r(tp / a) if a else None,
        actual=a,
        predicted=p,
    )


def _resilience(model: ArenaModel) -> dict[str, dict[str, int]]:
    """Retries, breaker trips, refusals, timeouts and fallbacks summed over each zone's capabilities."""
    out: dict[str, dict[str, int]] = {}
    for name, idx in zip(model.zone_names, model.zone_caps, strict=True):
        counts = resilience_counts(model.engine.metrics, [model.capability_names[i] for i in idx])
        total: dict[str, int] = {}
        for per_cap in counts.values():
            for key, value in per_cap.items():
                total[key] = total.get(key, 0) + int(value)
        out[name] = total
    return out


def _utilisation(model: ArenaModel) -> dict[str, dict[str, float | None]]:
    frame = model.datacollector.get_agenttype_vars_dataframe(ZoneAgent)
    result: dict[str, dict[str, float | None]] = {}
    if frame is None or len(frame) == 0:
        return {z: {"mean": None, "max": None} for z in model.zone_names}
    for name, g in frame.groupby("zone", sort=False):
        u = g["utilisation"].to_numpy(dtype=float)
        result[str(name)] = {"mean": _r(u.mean()), "max": _r(u.max())}
    return result


def format_summary(s: RunSummary) -> str:
    """A short human-readable table of a summary."""
    lines = [
        f"scenario {s.scenario}  router {s.router}  seed {s.seed}  steps {s.steps}  "
        f"embedder {s.embedder}",
        f"arrived {s.arrived}  completed {s.completed}  in flight {s.in_flight}  "
        f"queued {s.queued}  in service {s.in_service}  dropped {s.dropped} "
        f"{ {k: v for k, v in s.dropped_by_reason.items() if v} }  lost {s.lost}"
        + ("" if s.drained else "  (not drained)"),
    ]
    if s.routing_accuracy is not None:
        lines.append(
            f"routing accuracy {s.routing_accuracy:.4f}  capability accuracy "
            f"{s.capability_accuracy:.4f}  (over {s.scored_intents} labelled intents)"
        )
    if s.served_well is not None:
        lines.append(f"served well {s.served_well:.4f}  (own capability at full quality)")
    w = s.wait_steps
    if w.p50 is not None:
        lines.append(f"wait steps p50 {w.p50:g}  p95 {w.p95:g}  max {w.max}")
    if s.out_of_scope is not None:
        o = s.out_of_scope
        lines.append(f"out of scope precision {o.precision}  recall {o.recall}")
    lines.append(
        "zone utilisation (mean/max): "
        + ", ".join(
            f"{z} {u['mean']:.2f}/{u['max']:.2f}"
            for z, u in s.zone_utilisation.items()
            if u["mean"] is not None
        )
    )
    return "\n".join(lines)
