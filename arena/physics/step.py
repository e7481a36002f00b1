"""The routing physics: parameters, and the vectorised step over every in-flight intent.

Each in-flight intent considers its ``candidates`` most similar zones (top-k by semantic
similarity, fixed at arrival). Every step, for intent *i* and candidate zone *j*::

    logit_ij = sim_ij / temperature  - repulsion * load_j  - falloff * distance_ij  + bias_ij
    w_i      = softmax_j(logit_ij)                                  # where it wants to go
    v_i     <- damping * v_i + attraction * sum_j w_ij * unit(zone_j - x_i) + noise
    x_i     <- x_i + clip(v_i, max_speed)

so semantics pulls, load pushes away, nearer zones pull harder (which breaks ties between
equally similar zones), and damping keeps motion smooth. ``bias_ij`` is fixed per intent at
arrival (zero unless the physics sets ``choice_noise``, ``capacity_bias`` or ``cache_affinity``): a Gumbel draw
makes the favourite a *sample* of the softmax rather than its argmax (Gumbel-max), so intents
launched on the same stale load board spread over equally good replicas instead of herding onto
one, and ``capacity_bias * log(capacity_j / max capacity)`` makes that spread proportional to
capacity, and ``cache_affinity * share_j`` (the share of the request's prompt blocks zone *j*'s
prefix cache holds at arrival, LLM zones only) pulls a conversation back to the replica that
holds its context. An intent inside the radius of its
favourite zone (the argmax of ``w_i``) asks that zone to capture it; the model decides between
capture, overflow, queueing and dropping (see :mod:`arena.model.service`).

As ``temperature -> 0`` the similarity term dominates, the favourite is the most similar zone,
and the physics reproduces the ``semantic_argmax`` router. As it grows, load dominates and the
physics spreads work like ``least_loaded``.

Everything here is NumPy over arrays of shape ``(n, k)``: a handful of passes per step, no
Python loop over intents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import Physics


class Workspace:
    """Scratch buffers reused across steps, so a step allocates (almost) nothing."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int) -> np.ndarray:
        buf = self._bufs.get(name)
        if buf is None or buf.shape[0] < n:
            buf = np.empty(max(n, 1024), dtype=np.float32)
            self._bufs[name] = buf
        return buf[:n]


@dataclass(frozen=True, slots=True)
class SwarmArrays:
    """The arrays one physics step reads and updates: what :func:`step_swarm` takes.

    Candidate-major so every operation is over a contiguous row of ``n`` values:
    ``x, y, vx, vy``: ``(n,)`` float32, updated in place; ``cand``: ``(k, n)`` zone indices;
    ``csim``: ``(k, n)`` similarities; ``czx, czy``: ``(k, n)`` the candidate zones' coordinates
    (zones do not move, so they are gathered once at arrival); ``cbias``: ``(k, n)`` a fixed
    per-candidate logit bias, or None for none. ``Swarm.arrays()`` gives views of its live rows.
    """

    x: np.ndarray
    y: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    cand: np.ndarray
    csim: np.ndarray
    czx: np.ndarray
    czy: np.ndarray
    cbias: np.ndarray | None = None


def step_swarm(
    swarm: SwarmArrays,
    zone_load: np.ndarray,
    physics: Physics,
    rng: np.random.Generator | None = None,
    work: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance every intent one step, in place; return (favourite zone, squared closest distance).

    ``swarm`` holds the intents' arrays (see :class:`SwarmArrays`); ``zone_load``: ``(Z,)``.
    """
    x, y, vx, vy = swarm.x, swarm.y, swarm.vx, swarm.vy
    cand, csim, czx, czy = swarm.cand, swarm.csim, swarm.czx, swarm.czy
    cbias = swarm.cbias
    k, n = cand.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    f32 = np.float32
    w = work or Workspace()
    inv_t = f32(1.0 / physics.temperature)
    penalty = (f32(physics.repulsion) * zone_load).astype(f32)
    falloff = f32(physics.falloff)
    dxs, dys, dists, logits = [], [], [], []
    for j in range(k):
        dx = np.subtract(czx[j], x, out=w.get(f"dx{j}", n))
        dy = np.subtract(czy[j], y, out=w.get(f"dy{j}", n))
        d = np.multiply(dx, dx, out=w.get(f"d{j}", n))
        t = np.multiply(dy, dy, out=w.get("t", n))
        d += t
        np.sqrt(d, out=d)
        lg = np.multiply(csim[j], inv_t, out=w.get(f"l{j}", n))
        if physics.repulsion:
            lg -= penalty.take(cand[j])
        if falloff:
            np.multiply(d, falloff, out=t)
            lg -= t
        if cbias is not None:
            lg += cbias[j]
        dxs.append(dx)
        dys.append(dy)
        dists.append(d)
        logits.append(lg)
    best = w.get("best", n)
    best[:] = logits[0]
    fav = cand[0].astype(np.intp)
    fcx = w.get("fcx", n)
    fcy = w.get("fcy", n)
    fcx[:] = czx[0]
    fcy[:] = czy[0]
    for j in range(1, k):
        better = np.greater(logits[j], best)
        np.maximum(best, logits[j], out=best)
        np.copyto(fav, cand[j], where=better, casting="unsafe")
        np.copyto(fcx, czx[j], where=better)
        np.copyto(fcy, czy[j], where=better)
    total = w.get("total", n)
    total[:] = 0
    fx = w.get("fx", n)
    fy = w.get("fy", n)
    fx[:] = 0
    fy[:] = 0
    for j in range(k):
        lg = logits[j]
        lg -= best
        np.exp(lg, out=lg)  # unnormalised weight in (0, 1]
        total += lg
        np.maximum(dists[j], f32(1e-6), out=dists[j])
        lg /= dists[j]  # weight / distance: unit vectors below
        dxs[j] *= lg
        fx += dxs[j]
        dys[j] *= lg
        fy += dys[j]
    scale = np.divide(f32(physics.attraction), total, out=total)
    vx *= f32(physics.damping)
    vy *= f32(physics.damping)
    fx *= scale
    fy *= scale
    vx += fx
    vy += fy
    if physics.noise and rng is not None:
        vx += rng.normal(0.0, physics.noise, size=(n,)).astype(f32)
        vy += rng.normal(0.0, physics.noise, size=(n,)).astype(f32)
    speed2 = np.multiply(vx, vx, out=fx)
    speed2 += np.multiply(vy, vy, out=fy)
    limit2 = f32(physics.max_speed) ** 2
    too_fast = speed2 > limit2
    if too_fast.any():
        shrink = np.sqrt(limit2 / speed2[too_fast])
        vx[too_fast] *= shrink
        vy[too_fast] *= shrink
    x += vx
    y += vy
    # closest approach to the favourite zone along this step's segment (x - v -> x), so a fast
    # intent that passes through a zone is captured rather than overshooting it
    fcx -= x
    fcy -= y
    fcx += vx  # (zone - start of segment)
    fcy += vy
    proj = np.multiply(fcx, vx, out=w.get("proj", n))
    proj += fcy * vy
    speed2 = np.multiply(vx, vx, out=fx)
    speed2 += vy * vy
    np.maximum(speed2, f32(1e-12), out=speed2)
    proj /= speed2
    np.clip(proj, 0, 1, out=proj)
    fcx -= proj * vx
    fcy -= proj * vy
    fcx *= fcx
    fcy *= fcy
    fcx += fcy
    return fav, fcx
