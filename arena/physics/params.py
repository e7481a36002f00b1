"""The routing physics' parameters: every tunable, with its range and one-line meaning."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import PhysicsError


def _param(default: float, low: float, high: float, doc: str, *, integer: bool = False) -> Any:
    return field(
        default=default, metadata={"min": low, "max": high, "doc": doc, "integer": integer}
    )


@dataclass(frozen=True)
class Physics:
    """Every tunable of the routing physics, each with its range and meaning (``describe()``)."""

    temperature: float = _param(
        0.05, 1e-4, 5.0, "softmax temperature over similarity: lower is more decisive"
    )
    attraction: float = _param(
        20.0, 0.0, 100.0, "pull toward the preferred zones, in space units per step²"
    )
    repulsion: float = _param(
        1.0, 0.0, 50.0, "logit penalty per unit of zone load (occupancy + queue) / capacity"
    )
    falloff: float = _param(
        0.02, 0.0, 1.0, "logit penalty per space unit of distance: near zones pull harder"
    )
    damping: float = _param(0.6, 0.0, 0.99, "share of velocity kept from one step to the next")
    max_speed: float = _param(40.0, 0.1, 200.0, "speed limit, in space units per step")
    noise: float = _param(0.0, 0.0, 20.0, "std of a random velocity kick per step (model RNG)")
    choice_noise: float = _param(
        0.0,
        0.0,
        5.0,
        "scale of a Gumbel draw per intent and candidate, fixed at arrival: 1 makes the "
        "favourite a sample of the softmax (spreads intents that see the same stale load)",
    )
    capacity_bias: float = _param(
        0.0,
        0.0,
        5.0,
        "logit bonus per unit of log(capacity / largest capacity): big zones pull more",
    )
    cache_affinity: float = _param(
        0.0,
        0.0,
        50.0,
        "logit bonus per unit of the share of the request's prompt blocks a zone's prefix "
        "cache holds, read at arrival (LLM zones; 0 = off): cached context pulls; overflow "
        "weighs it too (temperature x this x share, in similarity units)",
    )
    candidates: int = _param(
        3, 1, 64, "zones each intent considers: its top-k most similar", integer=True
    )
    overflow_margin: float = _param(
        0.1, 0.0, 2.0, "a full zone hands an intent to a zone at most this much less similar"
    )
    spill_margin: float = _param(
        0.0,
        0.0,
        2.0,
        "last resort before a drop: any zone with room within this of the best (0 = never)",
    )
    out_of_scope_threshold: float = _param(
        0.0,
        -1.0,
        1.0,
        "in-scope score (attraction.out_of_scope_score) below this sends an intent to the "
        "fallback; the default 0 is in effect no gate (a learned head's scores are >= 0): calibrate one for a "
        "scenario with `packetflow-arena calibrate-gate SCENARIO` (docs/out_of_scope.md)",
    )
    max_flight_steps: int = _param(
        60, 1, 100000, "an intent still in flight after this many steps is dropped", integer=True
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            lo, hi = f.metadata["min"], f.metadata["max"]
            if f.metadata["integer"]:
                if isinstance(value, bool) or not isinstance(value, int | np.integer):
                    raise PhysicsError(f"physics.{f.name}: expected an integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                raise PhysicsError(f"physics.{f.name}: expected a number, got {value!r}")
            if not lo <= value <= hi:  # also refuses NaN: every comparison with it is false
                raise PhysicsError(f"physics.{f.name}: {value!r} is outside [{lo}, {hi}]")

    def replace(self, **changes: Any) -> Physics:
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Each parameter's default, range and one-line meaning (for docs and widgets)."""
        return {
            f.name: {
                "default": f.default,
                **{k: f.metadata[k] for k in ("min", "max", "doc", "integer")},
            }
            for f in dataclasses.fields(cls)
        }
