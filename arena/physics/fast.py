"""A fused, compiled physics step: the rule of :func:`arena.physics.step.step_swarm` in one pass.

Why: the NumPy reference makes ~30 passes over ``(n,)`` rows per step; at 1M in-flight intents
every pass is a trip to main memory. Here a ``numba`` kernel reads each intent's position,
velocity and candidates once and writes its results once, the loop over intents runs on every
core (``prange``), and LLVM SIMD-vectorises it. Three things make that vectorisation happen,
each measured (one core, 1M intents × k = 3: ~20M intent-steps/s scalar -> ~95-120M/s):

* the number of candidates ``k`` is a compile-time constant (one kernel per ``k``, built on
  first use and cached on disk by numba), so the loop over candidates unrolls and the loop over
  intents is the innermost loop;
* softmax is computed online (running max, rescaled sums) with a branch-free float32 ``exp``
  (Cephes' polynomial, ~1 ulp): a call to the C library's ``expf`` blocks the vectoriser;
* ``error_model="numpy"``: Python's division-by-zero checks add exits that block it too.

The rule is the NumPy reference's term for term in float32 (see :mod:`arena.physics.step`), which
stays the reference ``tests/arena/physics/test_physics_fast.py`` checks this path against: logits and the
favourite zone are computed with the same operations in the same order (identical), the
softmax weights agree to float32 rounding (``exp`` and the order of the sums differ in the last
bits), not bit for bit.

Noise stays reproducible from the model's RNG: the wrapper draws both noise vectors from the
caller's ``numpy.random.Generator`` exactly as the reference does (same calls, same order) and
hands them to the kernel, so a seeded run consumes its RNG identically on either path.

Choose a kernel with :func:`select_kernel` (``"numpy"``, ``"numba"`` or ``"auto"``); all share
``step_swarm``'s signature and outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

import numpy as np

from .params import Physics
from .step import SwarmArrays, Workspace, step_swarm

KernelName = Literal["numpy", "numba", "auto"]
StepKernel = Callable[..., tuple[np.ndarray, np.ndarray]]
# Below this many intents the step runs on one thread: one thread already does ~100M
# intent-steps/s, and waking a second costs tens of µs on a quiet machine and a whole
# scheduler slice (~4-8 ms) on a busy one — measured at 100k intents on the shared 2-core
# machine: one thread 0.94 ms median, two threads 2.1 ms median with a p90 of 8 ms.
PARALLEL_MIN_INTENTS = 250_000

try:  # numba is optional at import time: "auto" falls back to NumPy without it
    from numba import get_num_threads, njit, prange, set_num_threads

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


if HAVE_NUMBA:

    @njit(inline="always", fastmath=False, error_model="numpy", cache=True)
    def _exp_nonpositive(v):  # pragma: no cover - compiled
        """exp(v) for v <= 0 in float32, branch-free (Cephes expf; below -87 gives ~1e-38)."""
        v = max(v, np.float32(-87.0))
        nf = np.floor(v * np.float32(1.44269504088896341) + np.float32(0.5))
        r = v - nf * np.float32(0.693359375)
        r = r - nf * np.float32(-2.12194440e-4)
        z = r * r
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        p = p * z + r + np.float32(1.0)
        return p * np.int32((np.int32(nf) + 127) << 23).view(np.float32)


def _make_kernel(k: int):
    """The fused step for exactly ``k`` candidates (``K`` is a closure constant, so numba's
    disk cache keeps one compiled kernel per ``k``)."""
    K = k

    @njit(parallel=True, fastmath=False, error_model="numpy", cache=True, nogil=True)
    def fused_step(
        x,
        y,
        vx,
        vy,
        cand,
        csim,
        zx,
        zy,
        penalty,
        inv_t,
        falloff,
        attraction,
        damping,
        limit2,
        noise_x,
        noise_y,
        has_noise,
        cbias,
        has_bias,
        fav,
        d2,
    ):  # pragma: no cover - compiled; covered through step_swarm_numba
        # (k, >= n) C-contiguous candidate rows: row j of intent i is ``arr[j, i]``
        n = x.shape[0]
        zero = np.float32(0.0)
        one = np.float32(1.0)
        tiny = np.float32(1e-6)
        for i in prange(n):
            xi = x[i]
            yi = y[i]
            best = np.float32(-np.inf)
            total = zero
            fx = zero
            fy = zero
            fc = cand[0, i]
            fzx = zero
            fzy = zero
            for j in range(K):
                cx = zx[j, i]
                cy = zy[j, i]
                c = cand[j, i]
                dx = cx - xi
                dy = cy - yi
                d = np.sqrt(dx * dx + dy * dy)
                lg = csim[j, i] * inv_t - penalty[c] - d * falloff
                if has_bias:  # loop-invariant: compiled as two loops, one without the read
                    lg = lg + cbias[j, i]
                inv = one / max(d, tiny)
                better = lg > best
                e = _exp_nonpositive(-abs(lg - best))
                keep = e if better else one  # rescale what was summed so far
                add = one if better else e  # weight of this candidate
                total = total * keep + add
                fx = fx * keep + dx * inv * add
                fy = fy * keep + dy * inv * add
                best = lg if better else best
                fc = c if better else fc
                fzx = cx if better else fzx
                fzy = cy if better else fzy
            scale = attraction / total
            vxi = vx[i] * damping + fx * scale
            vyi = vy[i] * damping + fy * scale
            if has_noise:
                vxi += noise_x[i]
                vyi += noise_y[i]
            speed2 = vxi * vxi + vyi * vyi
            shrink = np.sqrt(limit2 / speed2) if speed2 > limit2 else one
            vxi *= shrink
            vyi *= shrink
            vx[i] = vxi
            vy[i] = vyi
            xi += vxi
            yi += vyi
            x[i] = xi
            y[i] = yi
            # closest approach to the favourite zone along this step's segment (start -> x),
            # as in the reference: a fast intent passing through a zone is not missed
            sx = (fzx - xi) + vxi  # zone - start of segment
            sy = (fzy - yi) + vyi
            sp2 = max(vxi * vxi + vyi * vyi, np.float32(1e-12))
            proj = min(max((sx * vxi + sy * vyi) / sp2, zero), one)
            ex = sx - proj * vxi
            ey = sy - proj * vyi
            d2[i] = ex * ex + ey * ey
            fav[i] = fc

    return fused_step


_KERNELS: dict[int, Callable] = {}
_KERNELS_LOCK = threading.Lock()


def _kernel(k: int) -> Callable:
    kern = _KERNELS.get(k)
    if kern is None:
        with _KERNELS_LOCK:
            kern = _KERNELS.get(k)
            if kern is None:
                kern = _KERNELS[k] = _make_kernel(k)
    return kern


def c_rows(a: np.ndarray, dtype: type) -> np.ndarray:
    """A ``(k, n)`` array as a C-contiguous ``(k, m >= n)`` array, without copying when its
    rows are contiguous slices of a larger C-contiguous buffer (the Swarm's ``(k,
    capacity)[:, :n]`` views are): the kernel then indexes ``[j, i]`` with ``i < n`` only."""
    a = np.asarray(a)
    if a.dtype == dtype and a.flags.c_contiguous:
        return a
    k, n = a.shape
    size = a.itemsize
    if (
        a.dtype == dtype
        and k > 1
        and n > 0
        and a.strides[1] == size
        and a.strides[0] >= n * size
        and a.strides[0] % size == 0
        and isinstance(a.base, np.ndarray)
    ):
        row = a.strides[0] // size
        start = a.__array_interface__["data"][0]
        low, high = _byte_bounds(a.base)
        if low <= start and start + k * row * size <= high:
            return np.lib.stride_tricks.as_strided(a, shape=(k, row), strides=(row * size, size))
    return np.ascontiguousarray(a, dtype=dtype)


_byte_bounds = getattr(np.lib, "array_utils", np).byte_bounds  # numpy 2 moved it
_EMPTY = np.zeros(0, dtype=np.float32)
_EMPTY_ROWS = np.zeros((1, 1), dtype=np.float32)


def step_swarm_numba(
    swarm: SwarmArrays,
    zone_load: np.ndarray,
    physics: Physics,
    rng: np.random.Generator | None = None,
    work: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`arena.physics.step.step_swarm` as one fused, parallel, vectorised pass.

    Same arguments, same in-place updates of ``x, y, vx, vy`` (which must be float32 ``(n,)``),
    same outputs: (favourite zone per intent, squared distance to it after the move).
    """
    x, y, vx, vy = swarm.x, swarm.y, swarm.vx, swarm.vy
    cand, csim, czx, czy = swarm.cand, swarm.csim, swarm.czx, swarm.czy
    if not HAVE_NUMBA:
        raise ImportError(
            "the 'numba' physics kernel needs the package 'numba' (pip install numba); "
            "use select_kernel('numpy') or 'auto' to fall back to the NumPy reference"
        )
    k, n = cand.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    for name, arr in (("x", x), ("y", y), ("vx", vx), ("vy", vy)):
        if arr.dtype != np.float32 or arr.shape != (n,) or not arr.flags.c_contiguous:
            raise ValueError(
                f"step_swarm_numba: {name} must be contiguous float32 of shape ({n},), "
                f"got {arr.dtype} {arr.shape}"
            )
    for name, arr in (("csim", csim), ("czx", czx), ("czy", czy)):
        if arr.shape != (k, n):
            raise ValueError(
                f"step_swarm_numba: {name} must have shape ({k}, {n}), got {arr.shape}"
            )
    f32 = np.float32
    # the same float32 constants as the reference; zero repulsion/falloff contribute exactly 0
    penalty = np.ascontiguousarray(f32(physics.repulsion) * np.asarray(zone_load), dtype=f32)
    if physics.noise and rng is not None:  # same draws, same order as the reference
        noise_x = rng.normal(0.0, physics.noise, size=(n,)).astype(f32)
        noise_y = rng.normal(0.0, physics.noise, size=(n,)).astype(f32)
        has_noise = True
    else:
        noise_x = noise_y = _EMPTY
        has_noise = False
    cbias = swarm.cbias
    has_bias = cbias is not None
    if cbias is not None and cbias.shape != (k, n):
        raise ValueError(f"step_swarm_numba: cbias must have shape ({k}, {n}), got {cbias.shape}")
    cbias_rows = c_rows(cbias, f32) if cbias is not None else _EMPTY_ROWS
    cand_rows = c_rows(cand, np.int64 if cand.dtype == np.int64 else np.int16)
    csim_rows = c_rows(csim, f32)
    zx_rows = c_rows(czx, f32)
    zy_rows = c_rows(czy, f32)
    fav = np.empty(n, dtype=np.intp)
    d2 = (work or Workspace()).get("fast_d2", n)
    args = (
        x,
        y,
        vx,
        vy,
        cand_rows,
        csim_rows,
        zx_rows,
        zy_rows,
        penalty,
        f32(1.0 / physics.temperature),
        f32(physics.falloff),
        f32(physics.attraction),
        f32(physics.damping),
        f32(physics.max_speed) ** 2,
        noise_x,
        noise_y,
        has_noise,
        cbias_rows,
        has_bias,
        fav,
        d2,
    )
    kernel = _kernel(k)
    threads = get_num_threads()
    if n >= PARALLEL_MIN_INTENTS or threads == 1:
        kernel(*args)
    else:
        set_num_threads(1)
        try:
            kernel(*args)
        finally:
            set_num_threads(threads)
    return fav, d2


def select_kernel(name: KernelName | str = "auto") -> StepKernel:
    """The physics step to use: ``"numpy"`` (the reference), ``"numba"`` (fused, compiled; an
    ImportError naming the package if numba is missing) or ``"auto"`` (numba when installed)."""
    if name == "numpy":
        return step_swarm
    if name == "numba":
        if not HAVE_NUMBA:
            raise ImportError(
                "physics kernel 'numba' needs the package 'numba' (pip install numba)"
            )
        return step_swarm_numba
    if name == "auto":
        return step_swarm_numba if HAVE_NUMBA else step_swarm
    raise ValueError(f"physics kernel: expected 'numpy', 'numba' or 'auto', got {name!r}")
