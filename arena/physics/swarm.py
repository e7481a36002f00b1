"""In-flight intents as a struct of arrays: one row per intent, no Python object per intent.

Per intent we keep only what the physics needs: position and velocity (float32), the indices,
similarities and coordinates of its ``k`` candidate zones (candidate-major, ``(k, n)``, so each
physics operation runs over a contiguous row), the ledger row it belongs to and when it arrived.
That is ``16 + k * 14 + 12`` bytes an intent: 1M intents with k = 3 take about 70 MB. A
per-candidate preference bias (``cbias``, ``k * 4`` bytes more) is kept only once some intent
carried one (``choice_noise`` / ``capacity_bias`` / ``cache_affinity`` of the physics).
"""

from __future__ import annotations

import numpy as np

from .params import Physics
from .step import SwarmArrays

_VECTORS = ("x", "y", "vx", "vy")


class Swarm:
    # the storage, ``capacity`` long (set by ``_alloc``); the properties are its live rows
    _x: np.ndarray
    _y: np.ndarray
    _vx: np.ndarray
    _vy: np.ndarray

    def __init__(self, k: int, capacity: int = 1024):
        self.k = k
        self.n = 0
        self.has_bias = False  # some intent carries a preference bias: pass cbias to the step
        self._alloc(max(capacity, 16))

    def _alloc(self, cap: int) -> None:
        old = getattr(self, "_cap", 0)
        n = self.n
        f32 = np.float32

        def grow(arr: np.ndarray | None, shape: tuple[int, ...], dtype: type) -> np.ndarray:
            new: np.ndarray = np.zeros(shape, dtype=dtype)
            if arr is not None and n:
                new[..., :n] = arr[..., :n]
            return new

        g = (lambda name: getattr(self, "_" + name, None)) if old else (lambda name: None)
        for name in _VECTORS:
            setattr(self, "_" + name, grow(g(name), (cap,), f32))
        self._cand = grow(g("cand"), (self.k, cap), np.int16)
        self._csim = grow(g("csim"), (self.k, cap), f32)
        self._czx = grow(g("czx"), (self.k, cap), f32)
        self._czy = grow(g("czy"), (self.k, cap), f32)
        self._cbias = grow(g("cbias"), (self.k, cap), f32)
        self._rid = grow(g("rid"), (cap,), np.int64)
        self._born = grow(g("born"), (cap,), np.int32)
        self._cap = cap

    # views of the live rows
    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    @property
    def vx(self) -> np.ndarray:
        return self._vx[: self.n]

    @property
    def vy(self) -> np.ndarray:
        return self._vy[: self.n]

    @property
    def cand(self) -> np.ndarray:
        return self._cand[:, : self.n]

    @property
    def csim(self) -> np.ndarray:
        return self._csim[:, : self.n]

    @property
    def czx(self) -> np.ndarray:
        return self._czx[:, : self.n]

    @property
    def czy(self) -> np.ndarray:
        return self._czy[:, : self.n]

    @property
    def cbias(self) -> np.ndarray:
        return self._cbias[:, : self.n]

    @property
    def rid(self) -> np.ndarray:
        return self._rid[: self.n]

    @property
    def born(self) -> np.ndarray:
        return self._born[: self.n]

    def arrays(self) -> SwarmArrays:
        """Views of the live rows, as the physics step takes them."""
        return SwarmArrays(
            self.x,
            self.y,
            self.vx,
            self.vy,
            self.cand,
            self.csim,
            self.czx,
            self.czy,
            self.cbias if self.has_bias else None,
        )

    def __len__(self) -> int:
        return self.n

    @property
    def nbytes(self) -> int:
        return sum(
            getattr(self, "_" + a).nbytes
            for a in (*_VECTORS, "cand", "csim", "czx", "czy", "cbias", "rid", "born")
        )

    def add(
        self,
        x: np.ndarray,
        y: np.ndarray,
        cand: np.ndarray,
        csim: np.ndarray,
        zone_xy: np.ndarray,
        rid: np.ndarray,
        born: int,
        cbias: np.ndarray | None = None,
    ) -> None:
        """Append ``m`` intents at ``(x, y)`` at rest; ``cand``/``csim``/``cbias`` are ``(k, m)``."""
        m = len(rid)
        if m == 0:
            return
        need = self.n + m
        if need > self._cap:
            self._alloc(max(need, 2 * self._cap))
        s = slice(self.n, need)
        self._x[s] = x
        self._y[s] = y
        self._vx[s] = 0
        self._vy[s] = 0
        self._cand[:, s] = cand
        self._csim[:, s] = csim
        self._czx[:, s] = zone_xy[cand, 0]
        self._czy[:, s] = zone_xy[cand, 1]
        self._cbias[:, s] = 0 if cbias is None else cbias
        self.has_bias |= cbias is not None
        self._rid[s] = rid
        self._born[s] = born
        self.n = need

    def remove(self, gone: np.ndarray) -> None:
        """Drop the rows where ``gone`` is True, keeping the others in order."""
        if not gone.any():
            return
        keep = np.flatnonzero(~gone)
        m = len(keep)
        for name in (*_VECTORS, "rid", "born"):
            arr = getattr(self, "_" + name)
            arr[:m] = arr[: self.n][keep]
        for name in ("cand", "csim", "czx", "czy", "cbias"):
            arr = getattr(self, "_" + name)
            arr[:, :m] = arr[:, : self.n][:, keep]
        self.n = m


def choice_bias(
    physics: Physics,
    rng: np.random.Generator,
    cand: np.ndarray,
    capacity_share: np.ndarray,
    cached_share: np.ndarray | None = None,
) -> np.ndarray | None:
    """The fixed per-candidate logit bias of newly launched intents (None: no bias): a Gumbel
    draw scaled by ``choice_noise``, ``capacity_bias * log(capacity share)`` (a zone's
    capacity over the largest routable zone's) and ``cache_affinity * cached share``
    (``cached_share`` ``(m, Z)``: the share of each intent's prompt blocks each zone's prefix
    cache holds at arrival, :meth:`~arena.physics.routers.PrefixView.share`; None or all 0
    off LLM zones). ``cand`` is ``(k, m)``."""
    cache = physics.cache_affinity and cached_share is not None
    if not (physics.choice_noise or physics.capacity_bias or cache):
        return None
    bias = np.zeros(cand.shape, dtype=np.float32)
    if physics.choice_noise:
        bias += (physics.choice_noise * rng.gumbel(size=cand.shape)).astype(np.float32)
    if physics.capacity_bias:
        bias += (physics.capacity_bias * np.log(capacity_share[cand])).astype(np.float32)
    if cache and cached_share is not None:
        intent = np.arange(cand.shape[1])[None, :]
        bias += (physics.cache_affinity * cached_share[intent, cand]).astype(np.float32)
    return bias
