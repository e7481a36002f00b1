"""Capacity-planning benchmark (issue #17): plan quality and wall time, each against a baseline
from the same run.

For each scenario at 1.5x load with ``wait_p95<=3`` and ``drop_rate<=0.005``:

- the plan's total slots against the smallest *uniform* scaling of today's capacities that
  meets the objectives (found by the same simulation, confirmed with the same rigour), both
  judged on held-out seeds the search never used;
- the analytic first guess's error: its slots against the plan's, per zone and in total, and
  whether it meets the objectives on the held-out seeds;
- wall time of the whole plan on the Dask backend (2 workers) and, with ``--serial SCENARIO``, of the
  very same plan serially (the speed-up; every row is a pure function of its seed, so both
  produce the same plan).

Run: ``python -m benchmarks.bench_planning [--quick | --full] [--scenario customer_support ...]
[--serial customer_support]`` (default: customer_support, 4 seeds, on Dask).
Results: ``out/bench_planning/planning.json`` (and each plan's files beside it).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.analysis.planning import format_plan, plan_capacity, plan_to_dict, write_plan
from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
SLOS = ("wait_p95<=3", "drop_rate<=0.005")
FULL_SCENARIOS = ("customer_support", "clinc150_skewed", "clinc150")


def one(scenario: str, backend: str, seeds: int, out: Path, max_rounds: int = 8) -> dict:
    started = time.perf_counter()
    plan = plan_capacity(
        ROOT / "scenarios" / f"{scenario}.yaml",
        SLOS,
        load=1.5,
        seeds=seeds,
        backend=backend,
        max_rounds=max_rounds,
        progress=False,
    )
    wall = time.perf_counter() - started
    print(format_plan(plan), flush=True)
    write_plan(plan, out / f"{scenario}_{backend}")
    d = plan_to_dict(plan)
    zones = d["zones"]
    return {
        "scenario": scenario,
        "backend": backend,
        "wall_s": round(wall, 1),
        "timings": plan.timings,
        "runs": plan.runs,
        "met_on_held_out": plan.met,
        "plan_total": plan.verdicts["plan"].total,
        "uniform_total": plan.verdicts["uniform"].total if "uniform" in plan.verdicts else None,
        "uniform_factor": plan.uniform_factor,
        "uniform_met_on_held_out": plan.verdicts["uniform"].meets
        if "uniform" in plan.verdicts
        else None,
        "saving_vs_uniform": plan.saving,
        "analytic_total": plan.verdicts["analytic"].total,
        "analytic_met_on_held_out": plan.verdicts["analytic"].meets,
        "analytic_minus_plan": {z["name"]: z["analytic"] - z["planned"] for z in zones},
        "plan_minus_uniform": {
            z["name"]: z["planned"] - z["uniform"] for z in zones if z["uniform"] is not None
        },
        "capacities": {
            z["name"]: [z["today"], z["analytic"], z["planned"], z["uniform"]] for z in zones
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(p, "the three scenarios, 6 seeds (tens of minutes)")
    p.add_argument("--scenario", action="append", default=[])
    p.add_argument("--seeds", type=int, help="seeds per candidate (default 2 quick, 4, 6 full)")
    p.add_argument(
        "--backend", choices=("serial", "local", "dask"), help="default dask (quick: serial)"
    )
    p.add_argument(
        "--serial", action="append", default=[], help="also plan this scenario serially (speed-up)"
    )
    p.add_argument("--out", default=str(ROOT / "out" / "bench_planning"))
    args = p.parse_args(argv)
    seeds = args.seeds or by_size(args, 2, 4, 6)
    backend = args.backend or by_size(args, "serial", "dask", "dask")
    max_rounds = by_size(args, 2, 8, 8)
    default = by_size(args, ["customer_support"], ["customer_support"], list(FULL_SCENARIOS))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for scenario in args.scenario or default:
        if scenario in args.serial:  # serial first: any warm-up in this process favours dask
            results.append(one(scenario, "serial", seeds, out, max_rounds))
        results.append(one(scenario, backend, seeds, out, max_rounds))
        if scenario in args.serial:
            serial, dask = results[-2], results[-1]
            dask["speedup_over_serial"] = round(serial["wall_s"] / dask["wall_s"], 2)
            dask["same_plan_as_serial"] = serial["capacities"] == dask["capacities"]
        path = out / "planning.json"
        previous = json.loads(path.read_text()) if path.exists() else []
        keep = [
            r
            for r in previous
            if (r["scenario"], r["backend"]) not in {(x["scenario"], x["backend"]) for x in results}
        ]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(keep + results, indent=2) + "\n")
        tmp.replace(path)
        print(json.dumps(results[-1], indent=2), flush=True)
    return {
        f"{r['scenario']}_{key}": r[key]
        for r in results
        for key in ("plan_total", "uniform_total", "saving_vs_uniform", "wall_s")
        if isinstance(r[key], int | float)
    }


if __name__ == "__main__":
    main()
