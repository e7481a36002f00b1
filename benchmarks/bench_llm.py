"""LLM zones on the Mooncake conversation trace: the cost of prefix caches and the LLM routers.

Eight replicas of one LLM service (capacity 3 each; prefill 0.1 ms and decode 12 ms per token,
20 ms overhead; 512-token blocks, 4096 blocks of cache) replay the trace at a 10 ms tick. The
baseline, timed in the same run, is the same fleet with the same per-token costs but no cache
(``per_token`` service) routed by ``jsq_top_k``: the arena without LLM zones. Each run is built
before the clock starts (warm); the table gives wall time, its ratio to the baseline, and the
run's TTFT, latency and cache hit rate (figures of a model with the assumptions of docs/llm.md,
not tuned or checked against a real fleet).

    python -m benchmarks.bench_llm           # the first 10 minutes of the trace (seconds)
    python -m benchmarks.bench_llm --full    # the whole hour
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arena.model import ArenaModel
from arena.scenario import parse_scenario
from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
MOONCAKE = ROOT.parent / "shared" / "data" / "mooncake" / "conversation_trace.jsonl"
REPLICAS = 8
COSTS = {"prefill_per_token": "0.1ms", "decode_per_token": "12ms", "overhead": "20ms"}
LLM = {"llm": {**COSTS, "block_tokens": 512, "cache_blocks": 4096}}
NO_CACHE = {"per_token": {"base": "20ms", "input": "0.1ms", "output": "12ms"}}
# (label, router, its router_params): prefix_affinity keyed by the first block and by two (every
# Mooncake request opens with the same block: one key for all)
ROUTERS = (
    ("llm_d", "llm_d", {}),
    ("prefix_affinity", "prefix_affinity", {}),
    ("prefix_affinity key_blocks=2", "prefix_affinity", {"key_blocks": 2}),
    ("category", "category", {}),
    ("jsq_top_k", "jsq_top_k", {}),
)


class OneTopic:
    """Every text means the same: the fleet is one service, routing is by load and cache."""

    name = "one-topic"
    dim = 4

    def encode(self, texts, **_):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def scenario_data(
    service: dict, router: str, window: list[str] | None, params: dict | None = None
) -> dict[str, Any]:
    trace: dict[str, Any] = {"file": str(MOONCAKE), "format": "mooncake"}
    if window:
        trace["window"] = window
    return {
        "name": "llm_bench",
        "seed": 1,
        "duration": "2h",
        "clock": {"tick": "10ms"},
        "capabilities": [{"name": "chat", "intent": "chat", "service_time": service}],
        "zones": [
            {
                "name": f"r{i}",
                "group": "chat",
                "capacity": 3,
                "queue_limit": 100_000,
                "radius": 5,
                "capabilities": ["chat"],
            }
            for i in range(REPLICAS)
        ],
        "arrivals": {"trace": trace, "texts": ["chat"], "repeat": True},
        "router": router,
        "router_params": {router: params or {}},
    }


def timed(
    service: dict, router: str, window: list[str] | None, params: dict | None = None
) -> dict[str, Any]:
    sc = parse_scenario(scenario_data(service, router, window, params), file="bench_llm.yaml")
    model = ArenaModel(sc, embedder=OneTopic(), check_conservation=False)
    start = time.perf_counter()
    while model.running:
        model.step()
    wall = time.perf_counter() - start
    s = model.summary().to_dict()
    return {
        "wall_s": wall,
        "completed": s["completed"],
        "dropped": s["dropped"],
        "ttft_p99_ms": (s.get("ttft_ms") or {}).get("p99"),
        "latency_p99_ms": s["latency_ms"]["p99"],
        "cache_hit_rate": s.get("cache_hit_rate"),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_options(parser, "the whole hour")
    args = parser.parse_args(argv)
    if not MOONCAKE.is_file():
        print(f"skipped: {MOONCAKE} not found")
        return {}
    window = by_size(args, ["0s", "2m"], ["0s", "10m"], None)
    rows = {"baseline per_token + jsq_top_k": timed(NO_CACHE, "jsq_top_k", window)}
    for label, router, params in ROUTERS:
        rows[f"llm + {label}"] = timed(LLM, router, window, params)
    base = rows["baseline per_token + jsq_top_k"]["wall_s"]
    print(
        f"{'run':40} {'wall s':>7} {'x base':>7} {'done':>6} {'ttft p99':>9} "
        f"{'lat p99':>9} {'hit':>6}"
    )
    for name, r in rows.items():
        r["ratio"] = r["wall_s"] / base
        ttft = "-" if r["ttft_p99_ms"] is None else f"{r['ttft_p99_ms']:.0f}"
        hit = "-" if r["cache_hit_rate"] is None else f"{r['cache_hit_rate']:.3f}"
        print(
            f"{name:40} {r['wall_s']:7.2f} {r['ratio']:7.2f} {r['completed']:6d} {ttft:>9} "
            f"{r['latency_p99_ms']:9.0f} {hit:>6}"
        )
    return {
        f"{name}: {key}": value
        for name, r in rows.items()
        for key, value in r.items()
        if key in ("wall_s", "ratio", "ttft_p99_ms")
    }


if __name__ == "__main__":
    main()
