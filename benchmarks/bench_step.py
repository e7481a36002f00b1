"""Whole-step speed: ``ArenaModel.step`` routing a burst of 100k and 1M intents at once.

bench_physics times the physics kernel alone; this times everything one step of the model does
at that scale: arrivals (ledger rows, similarity lookup, top-k candidates, launch into the
swarm), the physics' flight until every intent reached a zone (since #20 the flight is the
router's deliberation within the tick, so a step's work is every physics step of its burst),
admission at exact times (capture, overflow, queueing, drops, service starts through the
capability engine) and the conservation check.

The scenario is built in code so the figure needs no data files and no real embedder: eight
zones on a circle, ``N`` intents arriving at the centre each 1 s tick and flying at most
``max_speed`` per physics step (~47 physics steps to a zone), small capacities and queues so
capture, overflow, queueing and drops all happen. The headline is intent-steps per second of
the whole step (one intent moved once = one intent-step), beside where the time goes.

Run: ``python -m benchmarks.bench_step`` (100k a tick) or ``--full`` (also 1M).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import os
import pstats
import statistics
import time
from collections.abc import Sequence

import numpy as np

import arena
from benchmarks.timing import add_size_options, by_size

HEADLINE = ("step_100k_ms", "intent_steps_per_s_100k", "step_1M_ms", "intent_steps_per_s_1M")
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
        "duration": 60,  # seconds: far more ticks than the timed steps need
        "clock": {"tick": "1s"},
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


def build_model(burst: int) -> arena.ArenaModel:
    """A model whose every 1 s tick brings ``burst`` intents at the centre."""
    sc = arena.parse_scenario(scenario_data(burst))
    return arena.ArenaModel(sc, embedder=HashEmbedder(), kernel="auto")


def measure(burst: int, steps: int) -> dict[str, float]:
    model = build_model(burst)
    model.step()  # warm: numba compiled, buffers grown
    gc.collect()
    times, flown = [], []
    profile = cProfile.Profile()
    for i in range(steps):
        before = model.flight_steps
        if i == steps - 1:
            profile.enable()
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
        if i == steps - 1:
            profile.disable()
        flown.append(model.flight_steps - before)
    label = f"{burst // 1000}k" if burst < 1_000_000 else f"{burst // 1_000_000}M"
    median = statistics.median(times)
    split = _split(profile, times[-1])
    c = model.counts()
    return {
        f"step_{label}_ms": median * 1e3,
        f"step_{label}_best_ms": min(times) * 1e3,
        f"intent_steps_per_s_{label}": statistics.median(flown) / median,
        f"flight_share_{label}": split["flight"],
        f"admission_share_{label}": split["admission"],
        f"dropped_{label}": c["dropped"],
        f"completed_{label}": c["completed"],
    }


def _split(profile: cProfile.Profile, total: float) -> dict[str, float]:
    """Shares of one step's time in the flight (physics steps) and in admission (capture,
    queues, engine calls), from the profile of that step."""
    stats = pstats.Stats(profile).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    cum = {key[2]: value[3] for key, value in stats.items()}
    whole = max(cum.get("step", total), 1e-12)
    return {
        "flight": cum.get("_move", 0.0) / whole - cum.get("admit", 0.0) / whole,
        "admission": cum.get("admit", 0.0) / whole,
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
        f"ArenaModel.step, {ZONES} zones, median of {args.steps} steps; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'burst':>10}  {'median step':>12}  {'intent-steps/s':>15}  flight  admission")
    for n in sizes:
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        print(
            f"{n:>10,}  {figures[f'step_{label}_ms']:>9.1f} ms  "
            f"{figures[f'intent_steps_per_s_{label}'] / 1e6:>12.1f} M  "
            f"{100 * figures[f'flight_share_{label}']:>5.0f}%  "
            f"{100 * figures[f'admission_share_{label}']:>8.0f}%"
        )
    return figures


if __name__ == "__main__":
    main()
