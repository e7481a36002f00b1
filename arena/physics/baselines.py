"""The baselines a systems engineer would compare a semantic router against.

All three restrict themselves to the zones that can serve each intent: the *group* of its most
similar zone (that zone and its replicas, ``RouterView.zone_group``) — optionally widened to the
other zones within ``margin`` of the best similarity (lower-quality hosts of the same work, a
spill a designer chooses), and optionally capped at the ``top_k`` most similar (0: no cap).
Eligibility by group, not by similarity rank, is what keeps a baseline replica-safe by default:
the three most similar zones of a scenario whose services have one or two replicas include
other services, and a baseline routing there is a weakened baseline. Load is read only through
the :class:`~arena.physics.routers.RouterView` (the same load board as the physics):

- ``power_of_d``: sample ``d`` eligible zones at random, join the least loaded of them
  (Mitzenmacher's power of d choices);
- ``jsq_top_k``: join the least loaded eligible zone (join-shortest-queue);
- ``argmax_spill``: the most similar zone while the board shows it a free slot, else the next
  most similar eligible zone with one, else the most similar.

Load is (occupancy + queue) / capacity as the board shows it, plus the intents this router has
already sent in the same step (a dispatcher knows what it just did; it does not know what the
board has not posted since). Everything is vectorised over the step's intents: the greedy
assignment runs in *rounds*, each of which assigns many intents at once (see
:func:`join_least_loaded`), never one Python iteration per intent in the common case.
"""

from __future__ import annotations

import numpy as np

from .routers import Router, ZoneState, register_router


def top_candidates(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each intent's ``k`` most similar zones, most similar first, and their similarities."""
    top = (
        np.argpartition(-sims, k - 1, axis=1)[:, :k]
        if k < sims.shape[1]
        else np.argsort(-sims, axis=1)
    )
    tsim = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-tsim, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)[:, :k]
    tsim = np.take_along_axis(tsim, order, axis=1)[:, :k]
    return top, tsim


def eligible_zones(
    sims: np.ndarray,
    group: np.ndarray,
    top_k: int = 0,
    margin: float | None = None,
    hosts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(m, k)`` candidate zones (eligible ones first, most similar first) and an ``(m, k)``
    mask of the eligible ones: the zones of the most similar zone's ``group`` (``(Z,)`` ints),
    the zones that ``hosts`` (``(m, Z)`` bools) says can serve the intent's capability (lower-
    quality hosts included), plus any zone within ``margin`` of the best similarity, at most
    ``top_k`` (0: all). The most similar zone is always the first, and eligible."""
    m = sims.shape[0]
    rows = np.arange(m)
    best = sims.argmax(axis=1)
    ok = group[None, :] == group[best][:, None]
    if hosts is not None:
        ok |= hosts
    if margin is not None:
        ok |= sims >= sims[rows, best][:, None] - margin
    ok &= np.isfinite(sims)
    ok[rows, best] = True
    cand = np.argsort(np.where(ok, -sims, np.inf), axis=1, kind="stable")
    cok = np.take_along_axis(ok, cand, axis=1)
    if top_k > 0:
        cok &= np.cumsum(cok, axis=1) <= top_k  # eligible ones come first: cumsum is the rank
    k = max(1, int(cok.sum(axis=1).max())) if m else 1
    return cand[:, :k], cok[:, :k]


def seen_counts(view: ZoneState) -> np.ndarray:
    """(occupancy + queue) per zone as the board shows it, as floats."""
    return (view.occupancy + view.queue_length).astype(np.float64)


def join_least_loaded(
    cand: np.ndarray, ok: np.ndarray, base: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """Greedy join-the-least-loaded over each intent's eligible candidates, in arrival order,
    counting the intents assigned so far. Ties go to the earlier (more similar) candidate.

    Runs in rounds: every unassigned intent picks its least loaded candidate; a zone picked by
    several accepts as many of them (in arrival order) as it can take while its load stays
    below the second-best load of every one of them — so each accepted intent's zone is still
    its best when it is assigned: a greedy assignment, one intent after another, in an order
    the rounds define. When the intents share one candidate set (replicas of one service) that
    order is arrival order and the result is exactly the sequential greedy one. A round
    assigns at least one intent per picked zone, so equal loads across many zones take a few
    rounds, not one per intent.
    """
    m = cand.shape[0]
    added = np.zeros_like(base)
    out = np.empty(m, dtype=np.intp)
    todo = np.arange(m)
    cap = cap.astype(np.float64)
    while todo.size:
        cz, cok = cand[todo], ok[todo]
        load = np.where(cok, (base[cz] + added[cz]) / cap[cz], np.inf)
        j = load.argmin(axis=1)
        rows = np.arange(len(todo))
        pick = cz[rows, j]
        best = load[rows, j]
        load[rows, j] = np.inf
        load[cz == pick[:, None]] = np.inf  # the same zone listed twice is no alternative
        second = load.min(axis=1)
        order = np.lexsort((todo, pick))
        pz = pick[order]
        zones, start, count = np.unique(pz, return_index=True, return_counts=True)
        # the tightest second-best among each zone's pickers bounds how many it can take
        tight = np.minimum.reduceat(second[order], start)
        level = best[order][start]
        # accepting j more keeps the zone strictly below ``tight`` while j < (tight - level) * cap
        room = np.where(np.isfinite(tight), np.ceil((tight - level) * cap[zones] - 1e-9), count)
        take = np.clip(room, 1, count).astype(np.int64)
        rank = np.arange(len(pz)) - np.repeat(start, count)
        accept = rank < np.repeat(take, count)
        won = order[accept]
        out[todo[won]] = pick[won]
        added += np.bincount(pick[won], minlength=len(base))
        keep = np.ones(len(todo), dtype=bool)
        keep[won] = False
        todo = todo[keep]
    return out


class PowerOfDRouter(Router):
    """Power of ``d`` choices among the eligible zones (``d = 2``)."""

    name = "power_of_d"

    def __init__(self, d: int = 2, top_k: int = 0, margin: float | None = None) -> None:
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"d must be an integer >= 1, got {d!r}")
        self.d, self.top_k, self.margin = d, check_top_k(top_k), check_margin(margin)

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        cand, ok = eligible_zones(
            sims, model.zone_group, self.top_k, self.margin, getattr(model, "hosts", None)
        )
        m, k = cand.shape
        keys = np.where(ok, model.rng.random((m, k)), np.inf)
        pick = np.argsort(keys, axis=1)[:, : self.d]
        sampled = np.take_along_axis(cand, pick, axis=1)
        sok = np.take_along_axis(ok, pick, axis=1)
        sok[:, 0] = True  # at least one eligible zone is always sampled first
        return join_least_loaded(sampled, sok, seen_counts(model), model.zone_capacity)


class JoinShortestQueueRouter(Router):
    """Join the least loaded of the eligible zones."""

    name = "jsq_top_k"

    def __init__(self, top_k: int = 0, margin: float | None = None) -> None:
        self.top_k, self.margin = check_top_k(top_k), check_margin(margin)

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        cand, ok = eligible_zones(
            sims, model.zone_group, self.top_k, self.margin, getattr(model, "hosts", None)
        )
        return join_least_loaded(cand, ok, seen_counts(model), model.zone_capacity)


class ArgmaxSpillRouter(Router):
    """The most similar zone with a free slot on the board, in similarity order."""

    name = "argmax_spill"

    def __init__(self, top_k: int = 0, margin: float | None = None) -> None:
        self.top_k, self.margin = check_top_k(top_k), check_margin(margin)

    def choose(self, model: ZoneState, sims: np.ndarray) -> np.ndarray:
        cand, ok = eligible_zones(
            sims, model.zone_group, self.top_k, self.margin, getattr(model, "hosts", None)
        )
        room = model.zone_capacity - (model.occupancy + model.queue_length)
        return first_with_room(cand, room, ok)


def first_with_room(cand: np.ndarray, room: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
    """Each intent's first candidate (``(m, k)``, in preference order; only where ``ok``) that
    still has ``room`` (per zone), zones filled in arrival order; an intent no candidate has
    room for keeps its first. A loop over candidate ranks, not over intents."""
    m, k = cand.shape
    room = np.array(room, copy=True)
    out = cand[:, 0].astype(np.intp)
    todo = np.arange(m)
    for j in range(k):
        if not todo.size:
            break
        sel = todo if ok is None else todo[ok[todo, j]]
        z = cand[sel, j]
        order = np.lexsort((sel, z))
        sel, z = sel[order], z[order]
        _, start, count = np.unique(z, return_index=True, return_counts=True)
        rank = np.arange(len(z)) - np.repeat(start, count)
        got = rank < room[z]
        out[sel[got]] = z[got]
        room -= np.bincount(z[got], minlength=len(room))
        todo = np.setdiff1d(todo, sel[got], assume_unique=True)
    return out


def check_top_k(v: int) -> int:
    """A ``top_k`` router parameter, checked (0: no cap)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"top_k must be an integer >= 0 (0: no cap), got {v!r}")
    return v


def check_margin(v: float | None) -> float | None:
    """A ``margin`` router parameter, checked (None: no widening)."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
        raise ValueError(f"margin must be a finite number >= 0 (or null), got {v!r}")
    return float(v)


for _baseline in (PowerOfDRouter, JoinShortestQueueRouter, ArgmaxSpillRouter):
    register_router(_baseline)
