"""Whole-step speed: ``ArenaModel.step`` with 100k and 1M intents in flight.

bench_physics times the physics kernel alone; this times everything one step of the model does
at that scale: arrivals (ledger rows, similarity lookup, top-k candidates, launch into the
swarm), the physics step, capture at zones, overflow, queueing, drops, service starts and
completions, the conservation check against the ledger and the DataCollector.

The scenario is built in code so the figure needs no data files and no real embedder: eight
zones on a circle, intents arriving at the centre at a constant rate ``R`` per step and flying
at most ``max_speed`` per step, so after the warm-up (the travel time, ~55 steps) about
``R * travel`` intents are in flight while ``R`` reach zones every step, where small capacities
and queues make capture, overflow, queueing and drops all happen. A deterministic hashing
embedder stands in for MiniLM (texts are embedded once, at construction).

Written against the public API only (``arena.parse_scenario``, ``arena.ArenaModel``), so the
same file runs on a tree from before the arena's restructuring (issue #12) for a before/after
ratio.

Run: ``python -m benchmarks.bench_step`` (100k in flight, ~half a minute) or ``--full`` (also 1M).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np

import arena
from benchmarks.timing import add_size_options, by_size

HEADLINE = ("step_100k_ms", "step_100k_best_ms", "step_1M_ms", "step_1M_best_ms")
ZONES = 8
SPACE = 200.0
MAX_SPEED = 1.5
TEXTS = 64


class HashEmbedder:
    """A deterministic stand-in for MiniLM: each word a fixed random unit vector, summed."""

    name = "bench-step-hash"
    dim = 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
                out[i] += np.random.default_rng(seed).standard_normal(self.dim)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.astype(np.float32)


def scenario_data(rate: float) -> dict:
    topics = [f"topic{z}" for z in range(ZONES)]
    return {
        "name": "bench_step",
        "seed": 7,
        "steps": 100_000,
        "space": {"width": SPACE, "height": SPACE},
        "capabilities": [
            {"name": f"serve_{t}", "intent": f"{t} request", "service_time": 3} for t in topics
        ],
        "zones": [
            {
                "name": f"zone_{t}",
                "capacity": 40,
                "queue_limit": 200,
                "radius": 6.0,
                "capabilities": [f"serve_{t}"],
            }
            for t in topics
        ],
        "arrivals": {
            "rate": rate,
            "process": "constant",
            "repeat": True,
            "texts": [f"{topics[i % ZONES]} request number{i}" for i in range(TEXTS)],
        },
        "physics": {
            "max_speed": MAX_SPEED,
            "max_flight_steps": 100_000,
            "candidates": 3,
            "noise": 0.5,
        },
    }


def build_model(in_flight: int) -> tuple[arena.ArenaModel, int]:
    """A model whose steady state holds about ``in_flight`` intents; and its warm-up steps."""
    # zones sit on a circle of radius 0.38 * width; an intent is captured at a zone's edge
    travel = int((0.38 * SPACE - 6.0) / MAX_SPEED) + 1
    sc = arena.parse_scenario(scenario_data(in_flight / travel))
    return arena.ArenaModel(sc, embedder=HashEmbedder(), kernel="auto"), travel + 8


def time_steps(model: arena.ArenaModel, steps: int) -> tuple[float, float, int]:
    """(median, best) seconds per step over ``steps`` steps; intents in flight at the end."""
    gc.collect()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), int(model.counts()["in_flight"])


def measure(in_flight: int, steps: int) -> dict[str, float]:
    model, warm = build_model(in_flight)
    for _ in range(warm):
        model.step()
    median, best, live = time_steps(model, steps)
    label = f"{in_flight // 1000}k" if in_flight < 1_000_000 else f"{in_flight // 1_000_000}M"
    c = model.counts()
    return {
        f"step_{label}_ms": median * 1e3,
        f"step_{label}_best_ms": best * 1e3,
        f"in_flight_{label}": live,
        f"dropped_{label}": c["dropped"],
        f"completed_{label}": c["completed"],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "also 1M intents in flight")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per size")
    args = parser.parse_args(argv)
    sizes = by_size(args, [10_000], [100_000], [100_000, 1_000_000])
    figures: dict[str, float] = {}
    for n in sizes:
        figures.update(measure(n, args.steps))
        gc.collect()
    print(
        f"ArenaModel.step, {ZONES} zones, median of {args.steps} steps after the warm-up; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'in flight':>12}  {'median step':>12}  {'best step':>10}  completed  dropped")
    for n in sizes:
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        print(
            f"{figures[f'in_flight_{label}']:>12,}  {figures[f'step_{label}_ms']:>9.1f} ms  "
            f"{figures[f'step_{label}_best_ms']:>7.1f} ms  {figures[f'completed_{label}']:>9,}  "
            f"{figures[f'dropped_{label}']:>7,}"
        )
    return figures


if __name__ == "__main__":
    main()
