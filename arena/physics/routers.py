"""Routers: how an arriving intent gets to a zone. One interface, selectable per run.

``physics`` lets the intent fly through the arena under the routing physics. The baselines
teleport it straight to a zone chosen at arrival, so every figure of the physics router can be
set beside theirs in the same run:

- ``random``: a uniformly random zone;
- ``round_robin``: zones in turn;
- ``least_loaded``: the zone with the lowest (occupancy + queue) / capacity, counting the
  intents already sent in the same step;
- ``semantic_argmax``: the most similar zone, no physics (what the physics reduces to as the
  temperature goes to zero);
- ``power_of_d``, ``jsq_top_k``, ``argmax_spill``: the baselines a systems engineer would pick,
  among the semantically eligible zones (:mod:`arena.physics.baselines`).

Every router reads zone load through a :class:`RouterView` of the scenario's load board
(:mod:`arena.physics.board`): instant, refreshed every T steps, or delayed — the same for all.
A router from outside the package is named ``package.module:ClassName`` or by an entry point of
the group ``packetflow_arena.routers`` (:mod:`arena.physics.plugins`); ``docs/routers.md``
documents the protocol.

Out-of-scope detection (best similarity under the threshold) happens before any router, the
same for all, and the fallback zone only receives out-of-scope intents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from ..errors import RouterError


class ZoneState(Protocol):
    """What a router may read: the zone figures the routers need. The model hands routers a
    :class:`RouterView` (never itself), so a router sees load only as the load board shows it.
    Read-only (properties here), as the frozen :class:`RouterView` is."""

    @property
    def rng(self) -> np.random.Generator: ...

    @property
    def routable_zones(self) -> np.ndarray: ...  # zones a router may choose (not the fallback)

    @property
    def zone_capacity(self) -> np.ndarray: ...  # (Z,) service slots

    @property
    def occupancy(self) -> np.ndarray: ...  # (Z,) slots in use, as the load board shows them

    @property
    def queue_length(self) -> np.ndarray: ...  # (Z,) intents waiting, as the board shows them

    @property
    def zone_group(self) -> np.ndarray: ...  # (Z,) each zone's service: replicas share one

    @property
    def prefix(self) -> PrefixView | None: ...  # requests' prefixes and caches (LLM zones)

    @property
    def hosts(self) -> np.ndarray | None: ...  # (m, Z) zones hosting each request's capability


#: leading block hashes per request in :attr:`PrefixView.head`
HEAD_BLOCKS = 4


@dataclass(frozen=True, slots=True)
class PrefixView:
    """What an LLM-aware router may read of the step's requests and the replicas' caches.

    ``matched`` ``(m, Z)``: leading prompt blocks of each intent cached on each zone (0 on a
    zone without a cache); ``blocks`` ``(m,)``: each intent's prompt length in blocks;
    ``head`` ``(m, HEAD_BLOCKS)`` int64: the hashes of its first blocks, -1 past its end (what
    affinity keys are made of); ``kv_utilisation`` ``(Z,)``: the fraction of each zone's KV
    blocks held by the requests it serves, as the load board shows it. The model builds it
    (from :class:`~arena.workload.prefix_cache.PrefixFleet`); this layer only reads arrays, so
    routers never import the cache.
    """

    matched: np.ndarray
    blocks: np.ndarray
    head: np.ndarray
    kv_utilisation: np.ndarray

    def share(self) -> np.ndarray:
        """``(m, Z)`` the share of each intent's prompt blocks each zone holds as its leading
        run (leading cached blocks / prompt blocks; 0 for a request without blocks): llm-d's
        prefix score, and the physics' cache-affinity force."""
        blocks = np.asarray(self.blocks, dtype=np.float64)[:, None]
        matched = np.asarray(self.matched, dtype=np.float64)
        return np.where(blocks > 0, matched / np.where(blocks > 0, blocks, 1.0), 0.0)


@dataclass(frozen=True, slots=True)
class RouterView:
    """Everything a router may read of the model at one step (a :class:`ZoneState`).

    ``occupancy`` and ``queue_length`` come from the load board (stale when the scenario says
    so); ``zone_group`` (``(Z,)`` ints) tells replicas apart from different services; ``zone_xy``
    and ``entry`` give where zones are; ``step`` is the model's step; ``rng`` is the model's
    seeded generator (use it, not a global one, so runs stay reproducible). ``prefix`` is
    None unless the zones are LLM replicas with prefix caches (:class:`PrefixView`): one
    optional field, so every existing router and plug-in reads the view unchanged. ``hosts``
    (``(m, Z)`` bools, or None) says which zones host, at any quality, the capability that
    would serve each intent at its most similar zone: a general intake standing in for a
    specialist is a place it can be served, a wrong specialist is not.
    """

    rng: np.random.Generator
    routable_zones: np.ndarray
    zone_capacity: np.ndarray
    occupancy: np.ndarray
    queue_length: np.ndarray
    zone_group: np.ndarray
    zone_xy: np.ndarray
    entry: np.ndarray
    step: int
    prefix: PrefixView | None = None
    hosts: np.ndarray | None = None


class Router:
    """The router interface: ``choose`` gets the view and an ``(m, Z)`` similarity matrix."""

    name: ClassVar[str] = "router"
    uses_physics: ClassVar[bool] = False

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        """Zone index for each of the ``m`` intents; ``sims`` is ``(m, Z)`` (ineligible zones are -inf)."""
        raise NotImplementedError


def checked_choice(
    router: Router, view: RouterView, sims: np.ndarray, routable_mask: np.ndarray
) -> np.ndarray:
    """``router``'s zones for the ``m`` intents of ``sims``, checked: one routable zone index
    each, else a RouterError naming the router (a plug-in's mistake is caught where it is made)."""
    zones = np.asarray(router.choose(view, sims))
    m = sims.shape[0]
    if (
        zones.shape != (m,)
        or not np.issubdtype(zones.dtype, np.integer)
        or (len(zones) and (zones.min() < 0 or zones.max() >= len(routable_mask)))
        or not routable_mask[zones].all()
    ):
        raise RouterError(
            f"router {router.name!r}: choose() must return {m} routable zone indices "
            f"(integers in {np.flatnonzero(routable_mask).tolist()[:8]}...), got {zones.dtype} "
            f"{zones.shape} {zones.tolist()[:8]}"
        )
    return zones.astype(np.intp)


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


# -- the registry: the one place a built-in router name is looked up (scenario validation, the
# model, the CLI and widgets all ask it), so a router registered here is known everywhere;
# plug-ins by dotted path or entry point are resolved by arena.physics.plugins
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
    """Every registered router name, built-ins first."""
    return tuple(ROUTER_TYPES)
