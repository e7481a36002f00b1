"""Physics benchmark: intent-steps/s of the vectorised step against one Mesa agent per intent.

One physics step moves every in-flight intent (logits over its k candidate zones, softmax,
force, damping, speed limit, move, capture distance). Measured in the same run:

* ``mesa``: the same rule in plain Python inside one ``mesa.Agent`` per intent
  (``benchmarks/mesa_reference.py``, ``model.agents.do("step")``), on a smaller swarm —
  intent-steps/s is a per-intent rate and the per-agent loop is linear in n, so the ratio is
  fair (and a 1M-agent Mesa model would take minutes to build);
* ``numpy``: :func:`arena.physics.step.step_swarm`, the NumPy reference;
* ``numba``: :func:`arena.physics.fast.step_swarm_numba`, the fused compiled kernel.

Swarms are built directly (random zone positions, random similarities, each intent's top-k
zones by similarity, as the model orders them): no embeddings are needed for a speed figure.
Before timing, one step of each kernel is checked against the per-agent Mesa version on the
same inputs (positions equal to float32 rounding, same favourite zones). Peak memory is the
tracemalloc peak of building the 1M (``--full``) swarm and stepping it.

Targets (issues #4 and #8): ≥ 100× the per-agent loop, ≥ 20M intent-steps/s at 1M × 10 zones
for the vectorised step and ≥ 50M/s for the fast path.

Run: ``python -m benchmarks.bench_physics`` (seconds) or ``--full``.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arena.physics import Physics, Swarm, SwarmArrays, Workspace, step_swarm
from arena.physics.fast import HAVE_NUMBA, step_swarm_numba
from benchmarks.timing import add_size_options, by_size

from .mesa_reference import PerAgentArena

ZONES = 10
SPACE = 1000.0
HEADLINE = (
    "mesa_per_s",
    "numpy_100k_per_s",
    "numba_100k_per_s",
    "numpy_1M_per_s",
    "numba_1M_per_s",
    "numba_1M_vs_mesa",
    "numba_100k_vs_mesa",
    "numpy_peak_mb",
)
TARGET_VS_MESA = 100.0
TARGET_NUMPY_1M = 20e6
TARGET_FAST_1M = 50e6


def build_swarm(n: int, k: int, zones: int = ZONES, seed: int = 0) -> tuple[Swarm, np.ndarray]:
    """A real :class:`Swarm` of ``n`` intents scattered over the space, at rest, and zone loads."""
    rng = np.random.default_rng(seed)
    zone_xy = rng.uniform(0, SPACE, (zones, 2)).astype(np.float32)
    swarm = Swarm(k, capacity=n)
    chunk = 1 << 18
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        sims = rng.uniform(-0.2, 0.9, (m, zones)).astype(np.float32)
        top = np.argsort(-sims, axis=1)[:, :k]
        tsim = np.take_along_axis(sims, top, axis=1)
        swarm.add(
            rng.uniform(0, SPACE, m).astype(np.float32),
            rng.uniform(0, SPACE, m).astype(np.float32),
            top.T.astype(np.int16),
            tsim.T,
            zone_xy,
            np.arange(s, s + m),
            born=0,
        )
    load = rng.uniform(0, 1.5, zones).astype(np.float32)
    return swarm, load


def swarm_state(swarm: Swarm, load: np.ndarray) -> dict[str, np.ndarray]:
    """Copies of the swarm's live arrays (what step_swarm takes), so kernels start equal."""
    names = ("x", "y", "vx", "vy", "cand", "csim", "czx", "czy")
    state = {name: np.ascontiguousarray(getattr(swarm, name)).copy() for name in names}
    state["zone_load"] = load.copy()
    return state


def run_kernel(kernel: Callable, swarm: Swarm, load: np.ndarray, physics: Physics, work: Workspace):
    return kernel(swarm.arrays(), load, physics, None, work)


def time_steps(step: Callable[[], Any], steps: int) -> tuple[float, float]:
    """(median, best) seconds per step after one warm-up step. The median is the figure; the
    best shows what the machine gives when no neighbour is busy (it is shared)."""
    step()
    gc.collect()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def check_against_mesa(k: int, physics: Physics, n: int = 500) -> dict[str, float]:
    """One step of each kernel and of the Mesa agents on the same inputs: positions must agree."""
    swarm, load = build_swarm(n, k, seed=99)
    state = swarm_state(swarm, load)
    mesa_model = PerAgentArena(state, physics)
    mesa_model.step()
    mx, my = mesa_model.positions()
    mfav = np.array([a.favourite for a in mesa_model.intents])
    out = {}
    kernels = {"numpy": step_swarm} | ({"numba": step_swarm_numba} if HAVE_NUMBA else {})
    for name, kernel in kernels.items():
        s = {key: v.copy() for key, v in state.items()}
        arrays = SwarmArrays(**{key: v for key, v in s.items() if key != "zone_load"})
        fav, _ = kernel(arrays, s["zone_load"], physics=physics)
        err = float(max(np.abs(s["x"] - mx).max(), np.abs(s["y"] - my).max()))
        same = float((fav == mfav).mean())
        if err > 1e-2 or same < 0.999:
            raise AssertionError(
                f"{name} step disagrees with the per-agent Mesa rule: max position error "
                f"{err:.3g}, same favourite zone for {same:.1%} of intents"
            )
        out[name] = err
    return out


def bench_mesa(n: int, k: int, physics: Physics, steps: int) -> float:
    swarm, load = build_swarm(n, k, seed=1)
    model = PerAgentArena(swarm_state(swarm, load), physics)
    return n / time_steps(model.step, steps)[0]


def bench_vectorised(
    n: int, k: int, physics: Physics, steps: int
) -> dict[str, tuple[float, float]]:
    """(median, best) intent-steps/s of each vectorised kernel on a fresh n-intent swarm."""
    rates = {}
    kernels = {"numpy": step_swarm} | ({"numba": step_swarm_numba} if HAVE_NUMBA else {})
    for name, kernel in kernels.items():
        swarm, load = build_swarm(n, k, seed=2)
        step = _stepper(kernel, swarm, load, physics)
        median, best = time_steps(step, steps)
        rates[name] = (n / median, n / best)
        gc.collect()
    return rates


def _stepper(kernel: Callable, swarm: Swarm, load: np.ndarray, physics: Physics) -> Callable:
    work = Workspace()
    return lambda: run_kernel(kernel, swarm, load, physics, work)


def peak_memory(n: int, k: int, physics: Physics) -> dict[str, float]:
    """tracemalloc peak (NumPy reports its buffers to it) of building an n-swarm and stepping
    it once with each kernel; and the process's max RSS so far."""
    out = {}
    kernels = {"numpy": step_swarm} | ({"numba": step_swarm_numba} if HAVE_NUMBA else {})
    for name, kernel in kernels.items():
        gc.collect()
        tracemalloc.start()
        swarm, load = build_swarm(n, k, seed=3)
        built = tracemalloc.get_traced_memory()[0]
        run_kernel(kernel, swarm, load, physics, Workspace())
        out[f"{name}_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        out["swarm_mb"] = built / 1e6
        del swarm
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    return out


def _si(rate: float) -> str:
    return f"{rate / 1e6:,.2f} M/s" if rate >= 1e5 else f"{rate / 1e3:,.1f} k/s"


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "10k/100k/1M intents (a minute)")
    parser.add_argument("--k", type=int, default=3, help="candidate zones per intent")
    parser.add_argument("--steps", type=int, help="timed steps per size (median)")
    args = parser.parse_args(argv)
    sizes = by_size(args, (10_000,), (10_000, 100_000), (10_000, 100_000, 1_000_000))
    mesa_n = by_size(args, 500, 2_000, 10_000)
    steps = args.steps or by_size(args, 2, 5, 11)
    physics = Physics(candidates=args.k)
    k = args.k

    errors = check_against_mesa(k, physics)
    mesa_rate = bench_mesa(mesa_n, k, physics, max(3, steps // 3))
    rows, figures = [], {"mesa_per_s": mesa_rate}
    for n in sizes:
        rates = bench_vectorised(n, k, physics, steps)
        for name, (rate, best) in rates.items():
            label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
            figures[f"{name}_{label}_per_s"] = rate
            figures[f"{name}_{label}_vs_mesa"] = rate / mesa_rate
            figures[f"{name}_{label}_best_per_s"] = best
            vs_numpy = rate / rates["numpy"][0]
            rows.append(
                (
                    f"{name} step",
                    f"{n:,}",
                    _si(rate),
                    _si(best),
                    f"{rate / mesa_rate:,.0f}×",
                    f"{vs_numpy:.1f}×",
                )
            )
    mem = peak_memory(sizes[-1], k, physics)
    figures.update(mem)
    figures.update({f"max_position_error_{name}": e for name, e in errors.items()})

    load = os.getloadavg()[0]
    print(
        f"Physics step, {ZONES} zones, k = {k} candidates, random similarities (a speed figure; "
        f"no embeddings), median of {steps} steps; load average {load:.1f} on "
        f"{os.cpu_count()} cores"
    )
    header = ("kernel", "intents", "intent-steps/s", "best step", "vs Mesa", "vs NumPy")
    body = [("Mesa, 1 agent per intent", f"{mesa_n:,}", _si(mesa_rate), "", "1×", ""), *rows]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *body]:
        print(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    big = f"{sizes[-1] // 1000}k" if sizes[-1] < 1_000_000 else "1M"
    print(
        f"\nPeak memory, {sizes[-1]:,} intents: swarm {mem['swarm_mb']:.0f} MB; swarm + one step "
        f"(tracemalloc peak) NumPy {mem['numpy_peak_mb']:.0f} MB"
        + (f", numba {mem['numba_peak_mb']:.0f} MB" if "numba_peak_mb" in mem else "")
        + f"; process max RSS {mem['max_rss_mb']:.0f} MB"
    )
    print(
        "Check: one step of each kernel equals the per-agent Mesa rule on 500 intents "
        + ", ".join(f"{n} max |Δposition| {e:.1e}" for n, e in errors.items())
    )
    np_rate = figures[f"numpy_{big}_per_s"]
    best_vs_mesa = max(v for key, v in figures.items() if key.endswith(f"{big}_vs_mesa"))
    verdict = [
        f"vs Mesa ≥ {TARGET_VS_MESA:.0f}×: {'met' if best_vs_mesa >= TARGET_VS_MESA else 'NOT met'} "
        f"({best_vs_mesa:,.0f}× at {big})",
    ]
    if args.full:
        verdict.append(f"NumPy ≥ 20M/s at 1M: {'met' if np_rate >= TARGET_NUMPY_1M else 'NOT met'}")
        if HAVE_NUMBA:
            fast = figures["numba_1M_per_s"]
            verdict.append(
                f"fast path ≥ 50M/s at 1M: {'met' if fast >= TARGET_FAST_1M else 'NOT met'}"
            )
    print("Targets: " + "; ".join(verdict))
    return figures


if __name__ == "__main__":
    main()
