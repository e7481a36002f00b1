"""Routers: how an arriving intent gets to a zone. One interface, selectable per run.

``physics`` lets the intent fly through the arena under the routing physics. The baselines
teleport it straight to a zone chosen at arrival, so every figure of the physics router can be
set beside theirs in the same run:

- ``random``: a uniformly random zone;
- ``round_robin``: zones in turn;
- ``least_loaded``: the zone with the lowest (occupancy + queue) / capacity, counting the
  intents already sent in the same step;
- ``semantic_argmax``: the most similar zone, no physics (what the physics reduces to as the
  temperature goes to zero).

Out-of-scope detection (best similarity under the threshold) happens before any router, the
same for all, and the fallback zone only receives out-of-scope intents.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np

from ..errors import ScenarioError


class ZoneState(Protocol):
    """What a router may read of the model: the five zone figures the baselines need
    (``ArenaModel`` satisfies it), so routers sit below the model and never import it."""

    rng: np.random.Generator
    routable_zones: np.ndarray  # indices of the zones a router may choose (not the fallback)
    zone_capacity: np.ndarray  # (Z,) service slots
    occupancy: np.ndarray  # (Z,) slots in use
    queue_length: np.ndarray  # (Z,) intents waiting


class Router:
    name: ClassVar[str] = "router"
    uses_physics: ClassVar[bool] = False

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        """Zone index for each of the ``m`` intents; ``sims`` is ``(m, Z)`` (ineligible zones are -inf)."""
        raise NotImplementedError


class PhysicsRouter(Router):
    name = "physics"
    uses_physics = True


class RandomRouter(Router):
    name = "random"

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        eligible = model.routable_zones
        return eligible[model.rng.integers(0, len(eligible), size=sims.shape[0])]


class RoundRobinRouter(Router):
    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        eligible = model.routable_zones
        idx = (self._next + np.arange(sims.shape[0])) % len(eligible)
        self._next = int((self._next + sims.shape[0]) % len(eligible))
        return eligible[idx]


class LeastLoadedRouter(Router):
    name = "least_loaded"

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        m = sims.shape[0]
        eligible = model.routable_zones
        cap = model.zone_capacity[eligible].astype(np.float64)
        base = (model.occupancy[eligible] + model.queue_length[eligible]).astype(np.float64)
        # load each zone would have after receiving j more intents, for j = 0..m-1: the m
        # smallest values are the greedy one-at-a-time assignment, computed at once
        loads = (base[:, None] + np.arange(m)[None, :]) / cap[:, None]
        order = np.argsort(loads, axis=None, kind="stable")[:m]
        return eligible[order // m]


class SemanticArgmaxRouter(Router):
    name = "semantic_argmax"

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        return sims.argmax(axis=1)


# -- the registry: the one place a router name is looked up (scenario validation, the model,
# the CLI and widgets all ask it), so a router registered here is known everywhere
ROUTER_TYPES: dict[str, type[Router]] = {}


def register_router(router_type: type[Router], *, replace: bool = False) -> type[Router]:
    """Make ``router_type`` selectable by its ``name`` (usable as a class decorator)."""
    if router_type.name in ROUTER_TYPES and not replace:
        raise ValueError(f"router {router_type.name!r} is already registered")
    ROUTER_TYPES[router_type.name] = router_type
    return router_type


for _builtin in (
    PhysicsRouter,
    RandomRouter,
    RoundRobinRouter,
    LeastLoadedRouter,
    SemanticArgmaxRouter,
):
    register_router(_builtin)


def router_names() -> tuple[str, ...]:
    """Every selectable router name, built-ins first."""
    return tuple(ROUTER_TYPES)


def unknown_router_problem(name: str) -> str | None:
    """Why ``name`` is not a router (None when it is one): for validation messages."""
    if name in ROUTER_TYPES:
        return None
    return f"unknown router {name!r}; expected one of {', '.join(ROUTER_TYPES)}"


def make_router(name: str) -> Router:
    problem = unknown_router_problem(name)
    if problem is not None:
        raise ScenarioError(None, "router", problem)
    return ROUTER_TYPES[name]()
