"""One zone of the arena against ``ciw`` with the same distributions (issue #20's first goal).

For utilisation 0.5, 0.8 and 0.95, M/M/c and M/G/c with lognormal service, at a tick of a tenth
of the mean service time and at a tick equal to it: the arena's and ciw's mean and p95 wait,
each over independent replications (its own seeds), their relative difference, and the 95%
interval of the pair (Welch: the half-widths of the two means combined). A cell passes when
the difference is within 3% or within the pair's interval, whichever is wider.

    python -m benchmarks.bench_ciw_agreement --full     # the table (minutes)
    python -m benchmarks.bench_ciw_agreement --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import ciw
import numpy as np
from scipy import stats

from arena.model import ArenaModel
from arena.scenario import parse_scenario
from benchmarks.timing import add_size_options, by_size

SERVERS = 2
MEAN = 1.0  # seconds of service on average
LOGNORMAL_CV = 1.5  # a heavier tail than exponential (cv 1)


class FixedEmbedder:
    """Every text the same vector: one zone, nothing to route by meaning."""

    name = "fixed"
    dim = 4

    def encode(self, texts, **_):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def service_spec(law: str) -> dict:
    if law == "exponential":
        return {"distribution": "exponential", "mean": MEAN}
    return {"distribution": "lognormal", "mean": MEAN, "cv": LOGNORMAL_CV}


def arena_waits(rho: float, law: str, tick: float, duration: float, seed: int) -> np.ndarray:
    lam = rho * SERVERS / MEAN
    data = {
        "name": "one_zone",
        "seed": seed,
        "duration": duration,
        "clock": {"tick": tick},
        "capabilities": [{"name": "desk", "intent": "q", "service_time": service_spec(law)}],
        "zones": [
            {
                "name": "z",
                "capacity": SERVERS,
                "queue_limit": 1_000_000,
                "radius": 5,
                "capabilities": ["desk"],
            }
        ],
        "arrivals": {"rate": lam, "texts": ["q"], "repeat": True},
        "router": "random",
    }
    model = ArenaModel(parse_scenario(data), embedder=FixedEmbedder(), check_conservation=False)
    model.run()
    L = model.ledger
    keep = L.arrival > duration * 0.05
    return (L.start - L.reach)[keep]


def ciw_waits(rho: float, law: str, duration: float, seed: int) -> np.ndarray:
    lam = rho * SERVERS / MEAN
    if law == "exponential":
        service = ciw.dists.Exponential(1 / MEAN)
    else:
        sigma = np.sqrt(np.log(1 + LOGNORMAL_CV**2))
        service = ciw.dists.Lognormal(np.log(MEAN) - sigma**2 / 2, sigma)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(lam)],
        service_distributions=[service],
        number_of_servers=[SERVERS],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(duration)
    return np.array(
        [r.waiting_time for r in sim.get_all_records() if r.arrival_date > duration * 0.05]
    )


def mean_ci(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return float(a.mean()), float(half)


STATS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda w: float(w.mean()),
    "p95": lambda w: float(np.percentile(w, 95)),
}


def compare(
    arena: list[np.ndarray], reference: list[np.ndarray]
) -> dict[str, dict[str, float | bool]]:
    out: dict[str, dict[str, float | bool]] = {}
    for name, stat in STATS.items():
        a, ha = mean_ci([stat(w) for w in arena])
        b, hb = mean_ci([stat(w) for w in reference])
        diff = abs(a - b)
        pair = float(np.hypot(ha, hb))
        out[name] = {
            "arena": round(a, 5),
            "ciw": round(b, 5),
            "rel_diff": round(diff / b, 4) if b else 0.0,
            "pair_ci": round(pair / b, 4) if b else 0.0,
            "pass": diff <= max(0.03 * b, pair),
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(ap, "8 replications of 10,000 s (40,000 s at 0.95) per cell")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args(argv)
    reps = by_size(args, 2, 3, 8)
    base = by_size(args, 300, 2_000, 10_000)
    rhos = by_size(args, (0.8,), (0.5, 0.8, 0.95), (0.5, 0.8, 0.95))
    laws = by_size(
        args, ("exponential",), ("exponential", "lognormal"), ("exponential", "lognormal")
    )
    rows = []
    started = time.perf_counter()
    for rho in rhos:
        # the wait's correlation time grows like 1 / (1 - rho)^2: runs grow with it
        duration = base * (1 if rho < 0.9 else 4)
        for law in laws:
            reference = [ciw_waits(rho, law, duration, 1000 + r) for r in range(reps)]
            for share in (0.1, 1.0):
                arena = [arena_waits(rho, law, share * MEAN, duration, 1 + r) for r in range(reps)]
                row = {"rho": rho, "service": law, "tick_over_mean": share}
                row.update({k: v for k, v in compare(arena, reference).items()})
                rows.append(row)
                m, p = row["mean"], row["p95"]
                print(
                    f"rho {rho:<4} {law:<11} tick {share:>3}x mean | mean wait arena "
                    f"{m['arena']:.4f} ciw {m['ciw']:.4f} diff {100 * m['rel_diff']:.1f}% "
                    f"(pair CI {100 * m['pair_ci']:.1f}%) {'ok' if m['pass'] else 'MISS'} | "
                    f"p95 {p['arena']:.4f} vs {p['ciw']:.4f} diff {100 * p['rel_diff']:.1f}% "
                    f"(CI {100 * p['pair_ci']:.1f}%) {'ok' if p['pass'] else 'MISS'}",
                    flush=True,
                )
    passing = sum(r["mean"]["pass"] and r["p95"]["pass"] for r in rows)
    print(f"{len(rows)} cells, {passing} pass, {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return {
        "cells": len(rows),
        "cells_pass": passing,
        "worst_mean_rel_diff": max(r["mean"]["rel_diff"] for r in rows),
        "worst_p95_rel_diff": max(r["p95"]["rel_diff"] for r in rows),
    }


if __name__ == "__main__":
    main()
