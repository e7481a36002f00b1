"""The run summary: what happened to every intent, how well it was routed, how long it waited.

Computed from the ledger and the DataCollector only, so the same scenario and seed give the
same summary, bit for bit (no wall-clock figures in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .ledger import COMPLETED, DROP_REASONS, IN_SERVICE, OUTCOMES

if TYPE_CHECKING:
    from .model import ArenaModel


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def summarise(model: ArenaModel) -> dict[str, Any]:
    L = model.ledger
    counts = model.counts()
    served = (L.state == IN_SERVICE) | (L.state == COMPLETED)
    label = L.label
    labelled = label >= 0
    lab = np.maximum(label, 0)
    if len(model.label_names):
        is_oos = labelled & model.label_is_oos[lab]
        true_zone = model.label_zone[lab]
        true_cap = model.label_capability[lab]
    else:  # an unlabelled source: nothing to score
        is_oos = np.zeros(len(L), dtype=bool)
        true_zone = true_cap = np.full(len(L), -1)
    in_scope = labelled & ~is_oos
    scored = served & in_scope
    waits = (L.start - L.arrival)[served]
    out: dict[str, Any] = {
        "scenario": model.scenario.name,
        "router": model.router.name,
        "seed": int(model.seed_value),
        "steps": int(model.steps),
        **counts,
        "dropped_by_reason": {r: int(model.dropped[i]) for i, r in enumerate(DROP_REASONS)},
        "lost": int(model.lost()),
        "overflowed": int(L.overflow.sum()),
        "outcomes": {
            name: int((L.outcome[served] == i).sum()) for i, name in enumerate(OUTCOMES) if i
        },
        "routing_accuracy": _r(np.mean(L.zone[scored] == true_zone[scored]))
        if scored.any()
        else None,
        "capability_accuracy": _r(np.mean(L.capability[scored] == true_cap[scored]))
        if scored.any()
        else None,
        "scored_intents": int(scored.sum()),
        "wait_steps": {
            "mean": _r(waits.mean()) if waits.size else None,
            "p50": _r(np.percentile(waits, 50)) if waits.size else None,
            "p95": _r(np.percentile(waits, 95)) if waits.size else None,
            "max": int(waits.max()) if waits.size else None,
        },
        "zone_utilisation": _utilisation(model),
        "resilience": _resilience(model),
        "physics": {k: getattr(model.physics, k) for k in model.physics.describe()},
        "rate_scale": model.rate_scale,
    }
    if model.label_is_oos.any() and labelled.any():
        predicted = L.fallback
        tp = int((predicted & is_oos).sum())
        p = int(predicted[labelled].sum())
        a = int(is_oos.sum())
        out["out_of_scope"] = {
            "precision": _r(tp / p) if p else None,
            "recall": _r(tp / a) if a else None,
            "actual": a,
            "predicted": p,
        }
    return out


def _resilience(model: ArenaModel) -> dict[str, dict[str, int]]:
    """Retries, breaker trips, refusals, timeouts and fallbacks summed over each zone's capabilities."""
    from capabilities import resilience_counts

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
    df = model.datacollector.get_agenttype_vars_dataframe
    from .agents import ZoneAgent

    frame = df(ZoneAgent)
    result: dict[str, dict[str, float | None]] = {}
    if frame is None or len(frame) == 0:
        return {z: {"mean": None, "max": None} for z in model.zone_names}
    for name, g in frame.groupby("zone", sort=False):
        u = g["utilisation"].to_numpy(dtype=float)
        result[str(name)] = {"mean": _r(u.mean()), "max": _r(u.max())}
    return result
