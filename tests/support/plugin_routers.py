"""A user-defined router, as docs/routers.md shows it: importable as
``plugin_routers:CapacityWeightedRandom`` (tests/support is on the test path)."""

from __future__ import annotations

import numpy as np


class CapacityWeightedRandom:
    """Among the zones within ``margin`` of each intent's best similarity, pick one at random
    with odds proportional to its free slots on the load board (plus one)."""

    name = "capacity_weighted_random"
    uses_physics = False

    def __init__(self, margin: float = 0.05):
        if not isinstance(margin, int | float) or margin < 0:
            raise ValueError(f"margin must be a number >= 0, got {margin!r}")
        self.margin = float(margin)

    def choose(self, view, sims: np.ndarray) -> np.ndarray:
        free = np.maximum(view.zone_capacity - view.occupancy - view.queue_length, 0) + 1.0
        eligible = sims >= sims.max(axis=1, keepdims=True) - self.margin
        # Gumbel-max: argmax of log(weight) + Gumbel noise samples zones in proportion to weight
        score = np.log(free)[None, :] + view.rng.gumbel(size=sims.shape)
        return np.where(eligible, score, -np.inf).argmax(axis=1)


class NotARouter:
    """Has no choose method: selecting it must fail with a one-line error."""


class ReturnsNonsense:
    name = "nonsense"

    def choose(self, view, sims):
        return np.full(sims.shape[0], 10_000)


def not_a_class(view, sims):
    return sims.argmax(axis=1)
