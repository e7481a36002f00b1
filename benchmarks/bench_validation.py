"""Sim against live: how far the arena's predictions are from a real deployment (issue #21).

For each scenario, one ``calibrate`` (the deployment's gateway, transport and scheduling time,
measured at 30% load and written as ``network.base``), then ``validate`` at 0.5, 0.8 and 0.95
of the fleet's capacity: the same arrivals and seed simulated and run live (zone workers
executing the capabilities through the engine, the gateway routing with the simulation's
router, the client replaying in wall-clock time, ``--speed`` times faster), compared request by
request. Reported per cell: latency p50/p95/p99 relative error (goals 5%, 5%, 10%), drop-rate
difference in points (goal 0.5), routing agreement, with the paired bootstrap intervals in
``validation.json`` under ``--out``.

Scenarios: ``customer_support`` (unequal services, rows cycled), ``clinc150_replicated`` with
the load board refreshed every 500 ms (30 worker processes), and the Azure trace onto the
CLINC150 zones with lognormal services (``azure_clinc150``, a window of the hour).

Run: ``python -m benchmarks.bench_validation`` (customer_support, ~3 min), ``--full`` (all three
scenarios, ~15 min on two idle cores), ``--quick`` (one cell, ~40 s).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS: dict[str, dict[str, Any]] = {
    "customer_support": {
        "file": "scenarios/customer_support.yaml",
        "sets": ["arrivals.repeat=true"],
        "duration": 60.0,
        "speed": 10.0,
    },
    "clinc150_replicated": {
        "file": "scenarios/clinc150_replicated.yaml",
        "sets": ["load_info.period=500ms", "arrivals.repeat=true", "arrivals.schedule=[]"],
        "duration": 40.0,
        "speed": 10.0,
    },
    "azure_clinc150": {
        "file": "scenarios/azure_clinc150.yaml",
        "sets": ["arrivals.trace.window=[0s, 10m]"],
        "duration": 600.0,
        "speed": 30.0,
    },
}
LOADS = (0.5, 0.8, 0.95)
HEADLINE = ("cells", "cells_met", "worst_p50_error", "worst_p95_error", "worst_p99_error")


def cell_figures(validation: dict[str, Any]) -> dict[str, Any]:
    rows = {(r["zone"], r["metric"]): r for r in validation["rows"]}

    def rel(metric: str) -> float | None:
        r = rows.get(("all", metric))
        return None if r is None else r["rel_error"]

    drop = rows[("all", "drop_rate")]
    goals = [r["met"] for r in validation["rows"] if r["zone"] == "all" and r["met"] is not None]
    return {
        "p50": rel("latency_ms.p50"),
        "p95": rel("latency_ms.p95"),
        "p99": rel("latency_ms.p99"),
        "drop_pt": None if drop["abs_error"] is None else 100 * drop["abs_error"],
        "agreement": validation["routing_agreement"],
        "met": bool(goals) and all(goals),
        "requests": validation["requests"]["live"],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from arena.analysis.sim_vs_live import calibrate, validate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_options(parser, "all three scenarios at three loads")
    parser.add_argument("--out", type=Path, help="keep every run here (default: a temp dir)")
    args = parser.parse_args(argv)
    names = by_size(args, ["customer_support"], ["customer_support"], list(SCENARIOS))
    loads = by_size(args, (0.8,), LOADS, LOADS)
    scale = by_size(args, 0.3, 1.0, 1.0)  # the quick run: shorter windows
    out = args.out or Path(tempfile.mkdtemp(prefix="packetflow-validation-"))
    cells: dict[str, dict[str, Any]] = {}
    for name in names:
        spec = SCENARIOS[name]
        file = str(ROOT / spec["file"])
        duration = spec["duration"] * scale
        cal = calibrate(
            file,
            out / name / "calibrate",
            speed=spec["speed"],
            duration=duration,
            overrides=spec["sets"],
        )
        print(
            f"{name}: calibrated over {cal.requests} requests: network "
            f"{cal.network_s * 1000:.1f} ms + scheduling {cal.scheduling_s * 1000:.1f} ms, "
            f"slot slack {cal.slot_slack_s * 1000:.1f} ms (scenario time, x{spec['speed']:g})"
        )
        for load in loads:
            run = validate(
                file,
                out / name / f"load-{load:g}",
                speed=spec["speed"],
                duration=duration,
                load=load,
                overrides=spec["sets"],
                overlays=[cal.overlay],
            )
            text = (run.out / "validation.json").read_text()
            cells[f"{name}@{load:g}"] = cell_figures(json.loads(text))
    print(
        f"\n{'cell':28} {'p50 err':>8} {'p95 err':>8} {'p99 err':>8} {'drops':>8} "
        f"{'same zone':>9} {'requests':>8}  goals"
    )

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:+.1%}"

    for key, c in cells.items():
        drop = "-" if c["drop_pt"] is None else f"{c['drop_pt']:+.2f}pt"
        agree = "-" if c["agreement"] is None else f"{c['agreement']:.1%}"
        print(
            f"{key:28} {pct(c['p50']):>8} {pct(c['p95']):>8} {pct(c['p99']):>8} {drop:>8} "
            f"{agree:>9} {c['requests']:>8}  {'met' if c['met'] else 'MISSED'}"
        )
    print(f"(every run kept in {out})")

    def worst(key: str) -> float | None:
        values = [abs(c[key]) for c in cells.values() if c[key] is not None]
        return max(values) if values else None

    return {
        "cells": len(cells),
        "cells_met": sum(c["met"] for c in cells.values()),
        "worst_p50_error": worst("p50"),
        "worst_p95_error": worst("p95"),
        "worst_p99_error": worst("p99"),
        **{f"{k}: {m}": v for k, c in cells.items() for m, v in c.items() if m != "met"},
    }


if __name__ == "__main__":
    main()
