"""Tuning benchmark: the same differential-evolution search of the CLINC150 physics on 2 local
processes and on 2 Dask workers, timed in the same run.

Order P D P (processes, Dask, processes): on a shared VM the CPU's speed drifts over a minute,
so Dask's wall time is compared with the mean of the two process runs around it. Each search
starts its own pool (start-up included, as a user's ``tune`` does). Also reported: how busy the
workers were (sum of the runs' own durations / (wall × workers); 1.0 = never idle), which says
what the backend's batching costs whatever the machine's speed, and whether both backends gave
the same table (they must: the search is seeded and every run is a pure function of its spec).

Default: 2 parameters, 6 points per generation, 1 seed, 2 generations, runs capped at 60 s of model time
(about a minute). ``--full``: the search of docs/tuning.md (6 parameters, 12 points, 2 seeds,
7 generations, whole runs: 168 runs per backend, several minutes).
Run: ``python -m benchmarks.bench_tune`` or ``--full``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.analysis.tuning import tune

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "clinc150.yaml"
OBJECTIVE = "accuracy - 2*drop_rate - 0.00001*wait_p95"
SMALL = {
    "params": ["temperature=0.005:0.5:log", "repulsion=0:5"],
    "seeds": [1],
    "popsize": 3,
    "maxiter": 1,
    "duration": 60.0,
}
FULL = {
    "params": [
        "temperature=0.005:0.5:log",
        "repulsion=0:5",
        "falloff=0:0.1",
        "attraction=5:60",
        "candidates=1:6",
        "overflow_margin=0:0.5",
    ],
    "seeds": [1, 2],
    "popsize": 2,
    "maxiter": 6,
    "duration": None,
}
HEADLINE = ("runs", "processes_s", "dask_s", "dask_vs_processes", "busy_processes", "busy_dask")


def measure(full: bool, workers: int = 2) -> dict[str, Any]:
    setup = FULL if full else SMALL
    load_before = os.getloadavg()[0]
    walls: dict[str, list[float]] = {}
    results: dict[str, Any] = {}
    busy: dict[str, float] = {}
    for backend in ("processes", "dask", "processes"):
        started = time.perf_counter()
        r = tune(
            SCENARIO,
            objective=OBJECTIVE,
            backend=backend,
            workers=workers,
            seed=0,
            progress=False,
            **setup,
        )
        wall = time.perf_counter() - started
        walls.setdefault(backend, []).append(wall)
        results[backend] = r
        busy[backend] = float(r.runs["duration_s"].sum()) / (wall * workers)
    processes = sum(walls["processes"]) / 2
    p, d = results["processes"], results["dask"]
    return {
        "runs": len(p.runs),
        "points": len(p.evaluations),
        "workers": workers,
        "processes_s": processes,
        "processes_spread": max(walls["processes"]) / min(walls["processes"]),
        "dask_s": walls["dask"][0],
        "dask_vs_processes": walls["dask"][0] / processes,
        "busy_processes": busy["processes"],
        "busy_dask": busy["dask"],
        "identical_tables": p.evaluations.equals(d.evaluations),
        "baseline_objective": p.baseline["objective"],
        "best_objective": p.best["objective"],
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def print_table(f: dict[str, Any]) -> None:
    print(
        f"bench_tune: {f['runs']} CLINC150 runs ({f['points']} points) per search, "
        f"{f['workers']} workers, {f['cpus']} CPUs, load {f['load_before']:.1f} -> "
        f"{f['load_after']:.1f}"
    )
    print(f"  {'backend':<36}{'wall':>9}{'ratio':>8}{'workers busy':>14}")
    print(
        f"  {'processes (mean of 2, baseline)':<36}{f['processes_s']:>7.1f} s{'1.00':>8}"
        f"{f['busy_processes']:>13.0%}"
    )
    print(
        f"  {'dask LocalCluster':<36}{f['dask_s']:>7.1f} s{f['dask_vs_processes']:>8.2f}"
        f"{f['busy_dask']:>13.0%}"
    )
    print(f"  the two process searches differ by {f['processes_spread']:.2f}x (machine drift)")
    print(f"  same table on both backends: {f['identical_tables']}")
    print(
        f"  objective: scenario's settings {f['baseline_objective']:.4f}, "
        f"best found {f['best_objective']:.4f}"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole search (several minutes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.full, args.workers)
    print_table(figures)
    if args.json:
        print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
