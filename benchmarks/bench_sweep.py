"""Sweep benchmark: the same 16-run CLINC150 sweep serially, on 2 processes and on 2 Dask workers.

The sweep is physics.temperature × physics.repulsion (2 × 2) × 4 seeds on the CLINC150 scenario
with the real MiniLM embedder (warm persistent cache), one tidy row per run. Timed in the same
run, wall clock:

- serial: ``sweep(..., backend="serial")`` in this process (the baseline);
- processes: ``backend="processes"``, a fresh 2-process spawn pool (start-up included);
- dask, cold: ``backend="dask"``, which starts a 2-worker ``LocalCluster`` (start-up included);
- dask, warm: a 2-worker ``LocalCluster`` already running and warmed (what a sweep on a
  standing cluster costs), reached through ``address=``.

Every backend must return the serial rows exactly (checked). Target: ≥ 1.8× on 2 workers.
Default size: runs capped at 60 steps (seconds); ``--full``: each run is 1,500 steps of
repeated arrivals (≈ 30k intents), so work dominates process start-up.
Run: ``python -m benchmarks.bench_sweep`` or ``--full``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from arena.analysis.sweep import local_cluster, sweep

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "clinc150.yaml"
GRID = {"physics.temperature": [0.03, 0.1], "physics.repulsion": [1.0, 5.0]}
SEEDS = [1, 2, 3, 4]
TARGET = 1.8
HEADLINE = (  # what `packetflow-arena bench` shows
    "serial_s",
    "speedup_processes",
    "speedup_dask_cold",
    "speedup_dask_warm",
    "identical_rows",
    "load_before",
)


def _warm_worker() -> int:
    """Import the arena and fill this process's embedding cache for the CLINC150 scenario."""
    from arena.model import ArenaModel
    from arena.scenario import load_scenario

    ArenaModel(load_scenario(SCENARIO)).run(1)
    return os.getpid()


def measure(full: bool, workers: int = 2, rounds: int | None = None) -> dict[str, Any]:
    """Time every backend, each between two serial sweeps (S X1 S X2 S ... S).

    Why interleave: on a shared VM the CPU's speed drifts by 10-30% over a minute (host load
    we cannot see), so a serial time measured once at the start is a poor baseline for a
    parallel time measured a minute later. Each backend's speed-up is against the mean of the
    two serial sweeps around it; the standing cluster is timed ``rounds`` times (median kept).
    """
    rounds = rounds or (3 if full else 1)
    grid = dict(GRID)
    steps = None
    if full:
        grid = {"duration": [1500], "arrivals.repeat": [True], **grid}
    else:
        steps = 60
    kw = {"duration": steps, "progress": False}
    load_before = os.getloadavg()[0]
    _warm_worker()  # this process: the serial baseline also starts warm
    timings: dict[str, list[float]] = {}
    speedups: dict[str, list[float]] = {}
    frames: dict[str, pd.DataFrame] = {}

    def timed(label: str, **extra: Any) -> float:
        started = time.perf_counter()
        frames[label] = sweep(SCENARIO, grid, SEEDS, **kw, **extra)
        elapsed = time.perf_counter() - started
        timings.setdefault(label, []).append(elapsed)
        return elapsed

    def against_serial(label: str, **extra: Any) -> None:
        before = timings["serial"][-1]
        took = timed(label, **extra)
        after = timed("serial")
        speedups.setdefault(label, []).append((before + after) / 2 / took)

    timed("serial")
    against_serial("processes", backend="processes", workers=workers)
    against_serial("dask_cold", backend="dask", workers=workers)
    from distributed import Client

    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(_warm_worker)
        for _ in range(rounds):
            against_serial("dask_warm", backend="dask", address=cluster.scheduler_address)
    base = frames["serial"].drop(columns="duration_s")
    identical = all(
        base.equals(f.drop(columns="duration_s")) for k, f in frames.items() if k != "serial"
    )
    return {
        "runs": len(base),
        "workers": workers,
        "rounds": rounds,
        "mean_run_s": float(frames["serial"]["duration_s"].mean()),
        # mean wall time of one run inside each backend (its last sweep): if it grows with the
        # workers, the runs are starved of CPU, not slowed by the backend's overhead
        **{f"mean_run_s_{k}": float(f["duration_s"].mean()) for k, f in frames.items()},
        **{f"{k}_s": statistics.median(v) for k, v in timings.items()},
        **{f"speedup_{k}": statistics.median(v) for k, v in speedups.items()},
        "speedups_dask_warm": speedups["dask_warm"],
        "serial_spread": max(timings["serial"]) / min(timings["serial"]),
        "identical_rows": identical,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def print_table(f: dict[str, Any]) -> None:
    print(
        f"bench_sweep: {f['runs']} CLINC150 runs (mean {f['mean_run_s']:.2f} s each), "
        f"{f['workers']} workers, {f['cpus']} CPUs, load {f['load_before']:.1f} -> "
        f"{f['load_after']:.1f}"
    )
    print(
        f"  serial sweeps, timed between the others: median {f['serial_s']:.2f} s, slowest/"
        f"fastest {f['serial_spread']:.2f} (the machine's own drift)"
    )
    print(f"  {'backend':<40}{'wall':>9}{'speed-up':>10}{'one run':>10}")
    print(
        f"  {'serial (baseline)':<40}{f['serial_s']:>7.2f} s{'1.00x':>10}"
        f"{f['mean_run_s_serial']:>8.2f} s"
    )
    for key, label in (
        ("processes", "processes (pool start included)"),
        ("dask_cold", "dask, LocalCluster started"),
        ("dask_warm", f"dask, standing cluster (median of {f['rounds']})"),
    ):
        print(
            f"  {label:<40}{f[key + '_s']:>7.2f} s{f['speedup_' + key]:>9.2f}x"
            f"{f['mean_run_s_' + key]:>8.2f} s"
        )
    rounds = ", ".join(f"{x:.2f}x" for x in f["speedups_dask_warm"])
    print(f"  standing cluster, each round: {rounds}")
    best = max(f["speedup_processes"], f["speedup_dask_cold"], f["speedup_dask_warm"])
    verdict = "meets" if best >= TARGET else "MISSES"
    print(f"  best speed-up {best:.2f}x ({verdict} the ≥{TARGET}x target)")
    print(f"  rows identical across backends: {f['identical_rows']}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="long runs (a few minutes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, help="timings of the standing cluster (default 3 with --full, else 1)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.full, args.workers, args.rounds)
    print_table(figures)
    if args.json:
        print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
