"""The physics rule written the agent-based way: one ``mesa.Agent`` per in-flight intent.

This is the baseline the vectorised step is measured against (``bench_physics.py``): the same
rule as :func:`arena.physics.step.step_swarm` — logits, softmax over the candidate zones, force,
damping, speed limit, move, closest approach to the favourite zone — in plain Python ``math``
inside each agent's ``step()``, run by Mesa with ``model.agents.do("step")``. It is how one
would write the arena without the struct-of-arrays swarm, and it computes in float64, so it
also serves as an independent check of the vectorised arithmetic.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from arena.physics import Physics


class IntentAgent(mesa.Agent):
    """One in-flight intent: position, velocity and its candidate zones (index, similarity,
    coordinates)."""

    def __init__(
        self,
        model: PerAgentArena,
        x: float,
        y: float,
        vx: float,
        vy: float,
        candidates: list[tuple[int, float, float, float]],
    ):
        super().__init__(model)
        self.x, self.y, self.vx, self.vy = x, y, vx, vy
        self.candidates = candidates
        self.favourite = -1
        self.d2 = 0.0

    def step(self) -> None:
        p = self.model.physics
        load = self.model.zone_load
        x, y = self.x, self.y
        logits, vectors = [], []
        for zone, sim, zx, zy in self.candidates:
            dx, dy = zx - x, zy - y
            d = math.sqrt(dx * dx + dy * dy)
            logits.append(sim / p.temperature - p.repulsion * load[zone] - p.falloff * d)
            vectors.append((dx, dy, max(d, 1e-6)))
        best = max(logits)
        fav = logits.index(best)  # first maximum, like the vectorised argmax
        weights = [math.exp(lg - best) for lg in logits]
        total = sum(weights)
        fx = sum(w * dx / d for w, (dx, _, d) in zip(weights, vectors))
        fy = sum(w * dy / d for w, (_, dy, d) in zip(weights, vectors))
        vx = p.damping * self.vx + p.attraction * fx / total
        vy = p.damping * self.vy + p.attraction * fy / total
        speed = math.hypot(vx, vy)
        if speed > p.max_speed:
            vx, vy = vx * p.max_speed / speed, vy * p.max_speed / speed
        self.vx, self.vy = vx, vy
        sx, sy = x, y  # start of this step's segment
        self.x, self.y = x + vx, y + vy
        _, _, zx, zy = self.candidates[fav]
        self.favourite = self.candidates[fav][0]
        # closest approach to the favourite zone along the segment
        ox, oy = zx - sx, zy - sy
        speed2 = max(vx * vx + vy * vy, 1e-12)
        t = min(max((ox * vx + oy * vy) / speed2, 0.0), 1.0)
        ex, ey = ox - t * vx, oy - t * vy
        self.d2 = ex * ex + ey * ey


class PerAgentArena(mesa.Model):
    """A swarm of :class:`IntentAgent` built from the same arrays as the vectorised swarm."""

    def __init__(self, state: dict[str, np.ndarray], physics: Physics, seed: int = 0):
        super().__init__(rng=seed)
        self.physics = physics
        self.zone_load = [float(v) for v in state["zone_load"]]
        cand, csim, czx, czy = state["cand"], state["csim"], state["czx"], state["czy"]
        k, n = cand.shape
        self.intents = [
            IntentAgent(
                self,
                float(state["x"][i]),
                float(state["y"][i]),
                float(state["vx"][i]),
                float(state["vy"][i]),
                [
                    (int(cand[j, i]), float(csim[j, i]), float(czx[j, i]), float(czy[j, i]))
                    for j in range(k)
                ],
            )
            for i in range(n)
        ]

    def step(self) -> None:
        self.agents.do("step")

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([a.x for a in self.intents]),
            np.array([a.y for a in self.intents]),
        )
