"""The routers practitioners deploy in front of LLM replicas, as baselines on the one interface.

- ``llm_d``: llm-d's inference scheduler shape, filter -> score -> pick. Filter: the replicas of
  the intent's service (its most similar zone's group, as :func:`~.baselines.eligible_zones`).
  Score, each in [0, 1]: prefix-cache hit ratio (leading cached blocks / request blocks),
  queue depth (min-max normalised over the candidates: shortest 1, longest 0, all equal 1),
  KV-cache utilisation (1 - used fraction); the weighted sum with llm-d's published defaults
  prefix 3, queue 2, kv 2 or the scenario's ``router_params``. Pick: the highest total, ties
  at random (llm-d's max-score picker).
- ``prefix_affinity``: consistent hashing of the request's affinity key (its first
  ``key_blocks`` prefix blocks) onto the replicas of its service, with bounded loads (Mirrokni, Thorup &
  Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018): walk the ring clockwise
  from the key and skip a replica whose load would pass ``(1 + eps)`` x its share of the load.
- ``category``: the vLLM Semantic Router shape: the request's semantic class (the group of its
  most similar zone) picks the pool, then the least loaded replica of that pool; a request no
  class claims (best similarity under ``min_similarity``) goes to the fallback pool (every
  routable zone).

Every one reads load (occupancy, queue) only through the :class:`~.routers.RouterView`, so the
scenario's load-board staleness applies to them as to every router, and the prefix state only
through ``view.prefix`` (:class:`~.routers.PrefixView`). All are vectorised over the step's
intents (loops run over candidate ranks or service groups, never over intents).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import RouterError
from .baselines import (
    check_margin,
    check_top_k,
    eligible_zones,
    first_with_room,
    join_least_loaded,
    seen_counts,
)
from .routers import HEAD_BLOCKS, Router, ZoneState, register_router

#: llm-d's published default scorer weights (prefix-cache, queue, kv-cache utilisation)
LLM_D_DEFAULT_WEIGHTS = {"prefix": 3.0, "queue": 2.0, "kv": 2.0}


def _weight(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise ValueError(f"weight {name} must be a finite number >= 0, got {v!r}")
    return float(v)


def llm_d_scores(view: ZoneState, cand: np.ndarray, ok: np.ndarray) -> dict[str, np.ndarray]:
    """The three llm-d scorers, ``(m, k)`` each in [0, 1], over candidates ``cand`` (``ok``
    marks the eligible ones; the queue scorer's min-max runs over those).

    Followed from kubernetes-sigs/gateway-api-inference-extension v1.3.1 (the endpoint picker
    llm-d's inference scheduler extends), under ``pkg/epp/scheduling/framework/plugins/``:
    ``scorer/queue.go`` (min-max of the waiting queue, a neutral 1 when all queues are equal),
    ``scorer/kvcache_utilization.go`` (``1 - KVCacheUsagePercent``) and
    ``multi/prefix/plugin.go`` (``matchLen / total`` prefix blocks, 0 for a request without
    blocks); the weighted sum and max-score pick as ``framework/weighted_scorer.go`` and the
    max-score picker do."""
    m, k = cand.shape
    rows = np.arange(m)[:, None]
    queue = view.queue_length[cand].astype(np.float64)
    lo = np.where(ok, queue, np.inf).min(axis=1, keepdims=True)
    hi = np.where(ok, queue, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    q_score = np.where(span > 0, (hi - queue) / np.where(span > 0, span, 1.0), 1.0)
    pv = view.prefix
    if pv is None:  # no caches: the prefix and kv scorers have nothing to see
        zero = np.zeros((m, k))
        return {"prefix": zero, "queue": q_score, "kv": zero}
    p_score = pv.share()[rows, cand]
    kv_score = 1.0 - np.clip(np.asarray(pv.kv_utilisation, dtype=np.float64)[cand], 0.0, 1.0)
    return {"prefix": p_score, "queue": q_score, "kv": kv_score}


class LlmDRouter(Router):
    """llm-d's weighted scorer (see the module doc): ``prefix``, ``queue``, ``kv`` weights."""

    name = "llm_d"

    def __init__(
        self,
        prefix: float = LLM_D_DEFAULT_WEIGHTS["prefix"],
        queue: float = LLM_D_DEFAULT_WEIGHTS["queue"],
        kv: float = LLM_D_DEFAULT_WEIGHTS["kv"],
        top_k: int = 0,
        margin: float | None = None,
    ) -> None:
        self.weights = {
            "prefix": _weight("prefix", prefix),
            "queue": _weight("queue", queue),
            "kv": _weight("kv", kv),
        }
        if not any(self.weights.values()):
            raise ValueError("at least one of the weights prefix, queue, kv must be above 0")
        self.top_k, self.margin = check_top_k(top_k), check_margin(margin)

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        cand, ok = eligible_zones(
            sims, model.zone_group, self.top_k, self.margin, getattr(model, "hosts", None)
        )
        scores = llm_d_scores(model, cand, ok)
        total = sum(w * scores[name] for name, w in self.weights.items())
        total = np.where(ok, total, -np.inf)
        best = total.max(axis=1, keepdims=True)
        # the max-score picker: a random one among the candidates at the top score
        tie = np.where(total >= best - 1e-12, model.rng.random(total.shape), -1.0)
        return cand[np.arange(len(cand)), tie.argmax(axis=1)]


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, vectorised: a well-spread uint64 hash of each int64."""
    z = np.asarray(x, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def affinity_keys(head: np.ndarray, n: int) -> np.ndarray:
    """One non-negative int64 key per request from its first ``n`` block hashes (``head``,
    -1 past a request's end), chained as block hashes are; -1 for a request without blocks."""
    head = np.asarray(head, dtype=np.int64)
    key = np.full(head.shape[0], -1, dtype=np.int64)
    for j in range(min(n, head.shape[1])):  # a loop over block positions, not requests
        h = head[:, j]
        present = h >= 0
        chained = mix64(np.where(key >= 0, key * 31 + h, h)).view(np.int64) & np.int64(2**62 - 1)
        key = np.where(present, chained, key)
    return key


class HashRing:
    """A consistent-hash ring of ``zones`` with ``vnodes`` points each (hashed from the zone's
    index, so a zone keeps its points when others join or leave) and, per ring point, the
    zones in the order a clockwise walk from it meets them (``prefs``, ``(R, n)``)."""

    def __init__(self, zones: np.ndarray, vnodes: int):
        zones = np.asarray(zones, dtype=np.int64)
        n = len(zones)
        ids = (zones[:, None] << np.int64(20)) + np.arange(vnodes, dtype=np.int64)[None, :]
        pos = mix64(ids).ravel()
        owner = np.repeat(np.arange(n), vnodes)
        order = np.argsort(pos, kind="stable")
        self.points, owner = pos[order], owner[order]
        R = len(self.points)
        # distance clockwise from each point to the first point of each zone, then sort zones
        nxt = np.full((R, n), R, dtype=np.int64)
        r = np.arange(R)
        for j in range(n):  # a loop over the service's replicas, not over requests
            mine = np.flatnonzero(owner == j)
            at = np.searchsorted(mine, r)
            nxt[:, j] = (mine[at % len(mine)] - r) % R
        self.prefs = zones[np.argsort(nxt, axis=1, kind="stable")]

    def walk(self, keys: np.ndarray) -> np.ndarray:
        """``(m, n)``: for each key, the zones clockwise from its point on the ring."""
        at = np.searchsorted(self.points, mix64(keys), side="left") % len(self.points)
        return self.prefs[at]


class PrefixAffinityRouter(Router):
    """Consistent hashing with bounded loads (see the module doc); ``eps`` is the slack above
    the mean, ``vnodes`` the ring points per replica, ``key_blocks`` how many leading blocks
    make the key (1: the first block, the textbook choice; on a trace whose requests all open
    with one system prompt, as Mooncake's, that key is one value for all and 2 is the
    conversation)."""

    name = "prefix_affinity"

    def __init__(self, eps: float = 0.25, vnodes: int = 64, key_blocks: int = 1) -> None:
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps <= 10:
            raise ValueError(f"eps must be a number in (0, 10], got {eps!r}")
        if isinstance(vnodes, bool) or not isinstance(vnodes, int) or not 1 <= vnodes <= 4096:
            raise ValueError(f"vnodes must be an integer in [1, 4096], got {vnodes!r}")
        if (
            isinstance(key_blocks, bool)
            or not isinstance(key_blocks, int)
            or not 1 <= key_blocks <= HEAD_BLOCKS
        ):
            raise ValueError(
                f"key_blocks must be an integer in [1, {HEAD_BLOCKS}], got {key_blocks!r}"
            )
        self.eps, self.vnodes, self.key_blocks = float(eps), vnodes, key_blocks
        self._rings: dict[tuple[int, ...], HashRing] = {}

    def _ring(self, zones: np.ndarray) -> HashRing:
        key = tuple(zones.tolist())
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = HashRing(zones, self.vnodes)
        return ring

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        pv = model.prefix
        if pv is None:
            raise RouterError(
                "prefix_affinity needs each request's prefix blocks (LLM zones fed by a "
                "trace with hash ids); this scenario gives none"
            )
        m = sims.shape[0]
        keys = affinity_keys(pv.head, self.key_blocks)
        none = keys < 0
        if none.any():  # no blocks: any replica is as good as another
            keys[none] = model.rng.integers(0, 2**62, size=int(none.sum()))
        group = model.zone_group[sims.argmax(axis=1)]
        base = seen_counts(model)
        cap = model.zone_capacity.astype(np.float64)
        routable = np.zeros(len(cap), dtype=bool)
        routable[model.routable_zones] = True
        out = np.empty(m, dtype=np.intp)
        for g in np.unique(group).tolist():  # one pass per service in this step
            rows = np.flatnonzero(group == g)
            zones = np.flatnonzero((model.zone_group == g) & routable)  # holds the argmax
            out[rows] = self._bounded(self._ring(zones).walk(keys[rows]), zones, base, cap)
        return out

    def _bounded(
        self, prefs: np.ndarray, zones: np.ndarray, base: np.ndarray, cap: np.ndarray
    ) -> np.ndarray:
        """Each request to the first replica on its walk with room under the bound; the bound
        is ``(1 + eps)`` x the replica's capacity share of the load the service will hold at
        the end of this step (the board's load plus this step's requests), rounded up, so
        the step's requests always fit."""
        total = base[zones].sum() + len(prefs)
        bound = np.ceil((1.0 + self.eps) * total * cap / cap[zones].sum() - 1e-9)
        return first_with_room(prefs, np.maximum(bound - base, 0.0))


class CategoryRouter(Router):
    """The semantic class picks the pool, the least loaded replica of the pool serves; a
    request under ``min_similarity`` (None: every request has a class) goes to the fallback
    pool, every routable zone."""

    name = "category"

    def __init__(self, min_similarity: float | None = None) -> None:
        if min_similarity is not None and (
            isinstance(min_similarity, bool)
            or not isinstance(min_similarity, int | float)
            or not math.isfinite(min_similarity)
        ):
            raise ValueError(
                f"min_similarity must be a finite number or null, got {min_similarity!r}"
            )
        self.min_similarity = None if min_similarity is None else float(min_similarity)

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        m, Z = sims.shape
        rows = np.arange(m)
        best = sims.argmax(axis=1)
        routable = np.zeros(Z, dtype=bool)
        routable[model.routable_zones] = True
        ok = (model.zone_group[None, :] == model.zone_group[best][:, None]) & routable
        ok &= np.isfinite(sims)
        ok[rows, best] = True  # the class's best zone is in its pool whatever else is
        if self.min_similarity is not None:
            fallback = sims[rows, best] < self.min_similarity
            ok[fallback] = routable
        cand = np.argsort(-np.where(np.isfinite(sims), sims, -np.inf), axis=1, kind="stable")
        cok = np.take_along_axis(ok, cand, axis=1)
        return join_least_loaded(cand, cok, seen_counts(model), model.zone_capacity)


for _router in (LlmDRouter, PrefixAffinityRouter, CategoryRouter):
    register_router(_router)
