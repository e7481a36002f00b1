"""Load forces against the baselines people use, on paired seeds, with stale load information.

Two tables, every figure from runs in this process (same seeds for every router):

1. **Pareto / CI table** on ``scenarios/clinc150_replicated.yaml`` (three replicas of unequal
   capacity per CLINC150 domain, ~0.9 load with a burst): routing (domain) accuracy, drop rate,
   p95 and mean wait per router, with a load board refreshed every 5 steps and with instant
   information. Means over paired seeds with 95% t confidence intervals (``scipy.stats``), and
   the paired difference physics − baseline with its interval. **Held out**: CLINC150
   validation is split in two halves (even / odd utterance of each intent); the physics'
   parameters are chosen by a small grid search (``arena.sweep``) on the *tune* half only, and
   every reported figure comes from the *report* half. The baselines are run as configured in
   the scenario (``router_params``: power of 2 and JSQ among each intent's top 3 zones, which
   on this scenario are exactly its domain's three replicas).
2. **Stale-information table** (Mitzenmacher 2000) on a homogeneous arena: 20 identical
   single-slot zones, exponential-like (geometric, mean 10 steps) service, Poisson arrivals at
   0.9 load, teleporting routers; mean and p95 wait against the board period T for random,
   least loaded and power of 2, with standard errors over seeds — and where the physics sits.

Run: ``python -m benchmarks.bench_load --full`` for the reported figures (10 seeds, the whole
tuning grid, 5 seeds per board period; ~15 minutes on 2 shared cores); without ``--full`` a
small version (a 2-point grid, 2 seeds) runs in about a minute. ``--out DIR`` writes
``bench_load.json`` there.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from arena import sweep
from arena.model import ArenaModel
from arena.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
REPLICATED = ROOT / "scenarios" / "clinc150_replicated.yaml"
CLINC150 = ROOT.parent / "shared" / "data" / "clinc150"
ROUTERS = (
    "physics",
    "semantic_argmax",
    "power_of_d",
    "jsq_top_k",
    "argmax_spill",
    "least_loaded",
    "random",
)
BOARD = ("load_info.mode=board", "load_info.period=5")
INSTANT = ("load_info.mode=instant",)
# the physics grid searched on the tune half (choice_noise / capacity_bias are the load-sharing
# mechanism; repulsion the load force; attraction how fast an intent reaches its zone)
TUNE_GRID = {
    "physics.choice_noise": [0.0, 1.0, 2.0],
    "physics.capacity_bias": [0.0, 1.0],
    "physics.repulsion": [1.0, 2.0, 5.0],
    "physics.attraction": [20.0, 50.0],
}


def split_validation(directory: Path) -> tuple[Path, Path]:
    """CLINC150 validation in two halves, alternating utterances within each intent."""
    data = json.loads((CLINC150 / "data_train_val.json").read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    halves: tuple[list, list] = ([], [])
    for text, label in data["val"]:
        i = seen.get(label, 0)
        seen[label] = i + 1
        halves[i % 2].append([text, label])
    out = []
    for name, rows in zip(("tune", "report"), halves, strict=True):
        path = directory / f"clinc150_val_{name}.json"
        path.write_text(json.dumps({"val": rows}), encoding="utf-8")
        out.append(path)
    return out[0], out[1]


def ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval."""
    a = np.asarray(values, dtype=float)
    if len(a) < 2 or np.all(a == a[0]):
        return float(a.mean()), 0.0
    lo, hi = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    return float(a.mean()), float((hi - lo) / 2)


def figures(model: ArenaModel) -> dict[str, float]:
    s = model.summary()
    return {
        "accuracy": 100 * float(s.routing_accuracy or 0.0),
        "drops": 100 * s.dropped / max(1, s.arrived),
        "p95": float(s.wait_ms.p95 or 0.0),
        "mean": float(s.wait_ms.mean or 0.0),
    }


def run(scenario: Path, overrides: Sequence[str], router: str, seed: int) -> dict[str, float]:
    sc = load_scenario(scenario, overrides=list(overrides))
    model = ArenaModel(sc, router=router, seed=seed)
    model.run()
    return figures(model)


def tune_physics(
    tune_file: Path, seeds: Sequence[int], progress: bool, grid_values: dict | None = None
) -> dict[str, float]:
    """The grid point with the lowest mean p95 wait (ties: mean wait) among those that keep
    drops at the best grid point's level + 0.5 points, on the tune half, board T = 5."""
    grid: dict[str, list[Any]] = {
        "arrivals.source.file": [str(tune_file)],
        "load_info.mode": ["board"],
        "load_info.period": [5],
        "physics.max_speed": [60.0],
        **(grid_values or TUNE_GRID),
    }
    rows = sweep(REPLICATED, grid, seeds=seeds, backend="serial", progress=progress)
    rows["drops"] = 100 * rows["dropped"] / rows["arrived"]
    keys = list(grid_values or TUNE_GRID)
    mean = rows.groupby(keys)[["wait_p95", "wait_mean", "drops", "routing_accuracy"]].mean()
    ok = mean[mean["drops"] <= mean["drops"].min() + 0.5]
    best = ok.sort_values(["wait_p95", "wait_mean"]).index[0]
    return {**{k: float(v) for k, v in zip(keys, best, strict=True)}, "physics.max_speed": 60.0}


def pareto_table(
    report_file: Path, physics: dict[str, float], seeds: Sequence[int]
) -> dict[str, Any]:
    """Every router on the report half, paired seeds, board T = 5 and instant information."""
    tuned = [f"{k}={v}" for k, v in physics.items()]
    out: dict[str, Any] = {}
    for info_name, info in (("board T=5", BOARD), ("instant", INSTANT)):
        base = [f"arrivals.source.file={report_file}", *info]
        runs = {
            r: [run(REPLICATED, [*base, *(tuned if r == "physics" else ())], r, s) for s in seeds]
            for r in ROUTERS
        }
        table = {}
        for r, rs in runs.items():
            row = {m: ci95([x[m] for x in rs]) for m in ("accuracy", "drops", "p95", "mean")}
            if r != "physics":
                row["physics_minus"] = {
                    m: ci95([p[m] - x[m] for p, x in zip(runs["physics"], rs, strict=True)])
                    for m in ("accuracy", "drops", "p95", "mean")
                }
            table[r] = row
        out[info_name] = table
    return out


def pool_data(
    period: int,
    router: str,
    seed: int,
    *,
    zones: int = 20,
    service: float = 10.0,
    steps: int = 3000,
    load: float = 0.9,
) -> dict[str, Any]:
    """Scenario data of the homogeneous arena: ``zones`` identical single-slot replicas (one
    group), geometric service of mean ``service`` steps, Poisson arrivals at ``load``, a board
    refreshed every ``period`` steps; power of d is power of two among all zones."""
    return {
        "name": "homogeneous",
        "seed": seed,
        "steps": steps,
        "capabilities": [
            {
                "name": "serve",
                "intent": "serve any request",
                "service_time": {"distribution": "geometric", "mean": service},
            }
        ],
        "zones": [
            {
                "name": f"z{i}",
                "group": "pool",
                "capacity": 1,
                "queue_limit": 100_000,
                "radius": 4,
                "capabilities": ["serve"],
            }
            for i in range(zones)
        ],
        "arrivals": {
            "rate": load * zones / service,
            "texts": ["please serve this request"],
            "repeat": True,
        },
        "load_info": {"mode": "board", "period": period},
        "physics": {
            "choice_noise": 1.0,
            "repulsion": 2.0,
            "attraction": 50.0,
            "max_speed": 60.0,
            "candidates": zones,
            "max_flight_steps": 1000,
        },
        "router": router,
        "router_params": {"power_of_d": {"d": 2, "top_k": 0}},
    }


def homogeneous(period: int, router: str, seed: int, embedder=None, **kw) -> dict[str, float]:
    """Mean and p95 wait of one run of the homogeneous arena (:func:`pool_data`)."""
    data = pool_data(period, router, seed, **kw)
    model = ArenaModel(parse_scenario(data), seed=seed, embedder=embedder)
    model.run(data["steps"])
    s = model.summary()
    return {"mean": float(s.wait_ms.mean or 0.0), "p95": float(s.wait_ms.p95 or 0.0)}


def stale_table(periods: Sequence[int], seeds: Sequence[int], **pool: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for router, period in itertools.product(
        ("random", "least_loaded", "power_of_d", "physics"), periods
    ):
        rs = [homogeneous(period, router, s, **pool) for s in seeds]
        out.setdefault(router, {})[period] = {
            m: (float(np.mean([x[m] for x in rs])), float(stats.sem([x[m] for x in rs])))
            for m in ("mean", "p95")
        }
    return out


def format_pareto(table: dict[str, Any]) -> str:
    lines = []
    for info, rows in table.items():
        lines += [
            f"\n{info}: mean ± 95% CI over paired seeds (report half of validation)",
            "| router | zone accuracy % | drops % | p95 wait | mean wait | physics − router: acc / drops / p95 |",
            "|---|---|---|---|---|---|",
        ]
        for r, row in rows.items():
            cells = [
                f"{row[m][0]:.2f} ± {row[m][1]:.2f}" for m in ("accuracy", "drops", "p95", "mean")
            ]
            diff = row.get("physics_minus")
            d = (
                " / ".join(
                    f"{diff[m][0]:+.2f} ± {diff[m][1]:.2f}" for m in ("accuracy", "drops", "p95")
                )
                if diff
                else "—"
            )
            lines.append(f"| {r} | {' | '.join(cells)} | {d} |")
    return "\n".join(lines)


def format_stale(table: dict[str, Any]) -> str:
    periods = list(next(iter(table.values())))
    head = "| router | " + " | ".join(f"T={t}" for t in periods) + " |"
    lines = []
    for metric in ("mean", "p95"):
        lines += [
            f"\n{metric} wait (ms) ± standard error",
            head,
            "|---" * (len(periods) + 1) + "|",
        ]
        for r, per in table.items():
            cells = [f"{per[t][metric][0]:.2f} ± {per[t][metric][1]:.2f}" for t in periods]
            lines.append(f"| {r} | {' | '.join(cells)} |")
    return "\n".join(lines)


HEADLINE = (
    "board_physics_p95",
    "board_best_baseline_p95",
    "board_physics_accuracy_minus_argmax",
    "instant_physics_p95",
    "instant_jsq_p95",
    "stale_least_loaded_over_power_of_2",
)


def headline_figures(result: dict[str, Any]) -> dict[str, float]:
    """The scalar figures ``packetflow-arena bench`` shows."""
    out: dict[str, float] = {}
    if "pareto" in result:
        board, instant = result["pareto"]["board T=5"], result["pareto"]["instant"]
        out["board_physics_p95"] = board["physics"]["p95"][0]
        out["board_best_baseline_p95"] = min(
            board[r]["p95"][0] for r in ("power_of_d", "jsq_top_k")
        )
        out["board_physics_accuracy_minus_argmax"] = board["semantic_argmax"]["physics_minus"][
            "accuracy"
        ][0]
        out["instant_physics_p95"] = instant["physics"]["p95"][0]
        out["instant_jsq_p95"] = instant["jsq_top_k"]["p95"][0]
    if "stale" in result:
        last = max(result["stale"]["least_loaded"])
        out["stale_least_loaded_over_power_of_2"] = (
            result["stale"]["least_loaded"][last]["mean"][0]
            / result["stale"]["power_of_d"][last]["mean"][0]
        )
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the reported sizes (~15 minutes)")
    parser.add_argument("--out", type=Path, help="directory for bench_load.json")
    parser.add_argument("--skip-pareto", action="store_true")
    parser.add_argument("--skip-stale", action="store_true")
    args = parser.parse_args(argv)
    if args.full:
        seeds, tune_seeds, grid = list(range(1, 11)), [1, 2, 3], TUNE_GRID
        periods, stale_seeds, pool = (1, 2, 5, 10, 20, 50), [1, 2, 3, 4, 5], {}
    else:
        seeds, tune_seeds = [1, 2], [1]
        grid = {"physics.choice_noise": [0.0, 2.0], "physics.repulsion": [2.0]}
        periods, stale_seeds, pool = (1, 25), [1, 2], {"zones": 8, "service": 5, "steps": 800}
    result: dict[str, Any] = {"seeds": seeds}
    if not args.skip_pareto:
        with tempfile.TemporaryDirectory() as tmp:
            tune_file, report_file = split_validation(Path(tmp))
            physics = tune_physics(tune_file, tune_seeds, progress=args.full, grid_values=grid)
            print("physics tuned on the tune half (board T=5):", physics)
            result["tuned_physics"] = physics
            result["pareto"] = pareto_table(report_file, physics, seeds)
        print(format_pareto(result["pareto"]))
    if not args.skip_stale:
        result["stale"] = stale_table(periods, stale_seeds, **pool)
        print(format_stale(result["stale"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        tmp_file = args.out / "bench_load.json.tmp"
        tmp_file.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
        tmp_file.replace(args.out / "bench_load.json")
    return {**headline_figures(result), **result}


if __name__ == "__main__":
    main()
