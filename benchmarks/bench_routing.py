"""Routing quality on real data: the physics router against every baseline, in the same run.

CLINC150 **validation** (3,000 in-scope requests; tuning was done on validation too — there is
no held-out figure here) routed by ``scenarios/clinc150.yaml`` with each router, at light load
(30% of total service capacity) and at 1.5x total capacity. A plain nearest-centroid classifier
over the same MiniLM embeddings (centroids from the train split) is the reference for accuracy.

Figures per router: routing accuracy (served intents in a zone hosting their label's
capability), capability accuracy, share dropped, wait p50/p95 in steps, mean zone utilisation.

Run: ``python -m benchmarks.bench_routing`` (600 requests) or ``--full`` (all 3,000).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arena.model import ArenaModel
from arena.routers import ROUTER_TYPES
from arena.scenario import load_scenario
from capabilities import default_embedder

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "clinc150.yaml"
CLINC150 = ROOT.parent / "shared" / "data" / "clinc150"


def capacity_per_step(model: ArenaModel) -> float:
    """Intents per step the routable zones can serve: slots / mean service steps."""
    total = 0.0
    for zi in model.routable_zones:
        caps = [model.capability_specs[model.capability_names[c]] for c in model.zone_caps[zi]]
        mean_service = float(np.mean([c.service_time.mean for c in caps]))
        total += model.zone_capacity[zi] / mean_service
    return total


def nearest_centroid_accuracy(limit: int | None) -> float:
    """Domain accuracy of nearest intent-centroid (train split) on validation, MiniLM embeddings."""
    data = json.loads((CLINC150 / "data_train_val.json").read_text())
    domains = json.loads((CLINC150 / "domains.json").read_text())
    domain_of = {lab: d for d, labs in domains.items() for lab in labs}
    emb = default_embedder()
    train_x = emb.encode([t for t, _ in data["train"]])
    labels = sorted({lab for _, lab in data["train"]})
    li = {lab: i for i, lab in enumerate(labels)}
    y = np.array([li[lab] for _, lab in data["train"]])
    centroids = np.zeros((len(labels), train_x.shape[1]), dtype=np.float32)
    np.add.at(centroids, y, train_x)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    val = data["val"][:limit] if limit else data["val"]
    pred = (emb.encode([t for t, _ in val]) @ centroids.T).argmax(axis=1)
    return float(
        np.mean(
            [domain_of[labels[p]] == domain_of[lab] for p, (_, lab) in zip(pred, val, strict=True)]
        )
    )


def run_router(
    router: str, load: float, limit: int | None, seed: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    overrides = ["arrivals.source.split=[val]", "physics.out_of_scope_threshold=0.0", *extra]
    if limit:
        overrides.append(f"arrivals.source.limit={limit}")
    base = load_scenario(SCENARIO, overrides=overrides)
    probe = ArenaModel(base, router=router, seed=seed)
    rate = load * capacity_per_step(probe)
    n = len(probe.source_text_index)
    steps = int(np.ceil(1.1 * n / rate)) + 10  # long enough for every request to arrive
    sc = load_scenario(
        SCENARIO, overrides=[*overrides, f"arrivals.rate={rate:.6f}", f"steps={steps}"]
    )
    model = ArenaModel(sc, router=router, seed=seed)
    model.run()
    s = model.summary()
    util = [
        u["mean"]
        for z, u in s["zone_utilisation"].items()
        if z != model.zone_names[model.fallback_index]
    ]
    return {
        "router": router,
        "load": load,
        "arrived": s["arrived"],
        "routing_accuracy": s["routing_accuracy"],
        "capability_accuracy": s["capability_accuracy"],
        "dropped_share": s["dropped"] / max(1, s["arrived"]),
        "overflowed": s["overflowed"],
        "wait_p50": s["wait_steps"]["p50"],
        "wait_p95": s["wait_steps"]["p95"],
        "mean_utilisation": float(np.mean(util)),
        "lost": s["lost"],
    }


def averaged(
    router: str, load: float, limit: int | None, seeds: Sequence[int], extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Mean figures over ``seeds`` (the same seeds for every router)."""
    runs = [run_router(router, load, limit, s, extra) for s in seeds]
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = float(np.mean([r[key] for r in runs]))
    out["overflowed"] = int(sum(r["overflowed"] for r in runs))
    out["lost"] = int(sum(r["lost"] for r in runs))
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="all 3,000 validation requests, 3 seeds"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override for every run, e.g. physics.repulsion=0.5",
    )
    parser.add_argument("--routers", default=",".join(ROUTER_TYPES), help="comma-separated routers")
    args = parser.parse_args(argv)
    limit = None if args.full else 600
    seeds = [args.seed + i for i in range(3 if args.full else 1)]
    routers = args.routers.split(",")
    rows = [averaged(r, load, limit, seeds, args.overrides) for load in (0.3, 1.5) for r in routers]
    centroid = nearest_centroid_accuracy(limit)
    print(
        f"CLINC150 validation ({rows[0]['arrived']} requests, mean of {len(seeds)} seed(s)), "
        f"nearest-centroid reference: {centroid:.4f} domain accuracy"
    )
    print(
        f"{'load':>5} {'router':<16} {'accuracy':>9} {'cap.acc':>8} {'dropped':>8} {'overflow':>8} "
        f"{'wait p50':>8} {'wait p95':>8} {'util':>6}"
    )
    for r in rows:
        print(
            f"{r['load']:>5.1f} {r['router']:<16} {r['routing_accuracy']:>9.4f} {r['capability_accuracy']:>8.4f} "
            f"{r['dropped_share']:>8.2%} {r['overflowed']:>8d} {r['wait_p50']:>8.1f} {r['wait_p95']:>8.1f} "
            f"{r['mean_utilisation']:>6.2f}"
        )
    if not {"physics", "least_loaded"} <= set(routers):
        return {"rows": rows, "nearest_centroid_accuracy": centroid}
    physics_light = next(r for r in rows if r["router"] == "physics" and r["load"] == 0.3)
    physics_over = next(r for r in rows if r["router"] == "physics" and r["load"] == 1.5)
    ll_over = next(r for r in rows if r["router"] == "least_loaded" and r["load"] == 1.5)
    figures = {
        "rows": rows,
        "nearest_centroid_accuracy": centroid,
        "light_accuracy_vs_centroid": physics_light["routing_accuracy"] - centroid,
        "overload_accuracy": physics_over["routing_accuracy"],
        "overload_drop_vs_least_loaded": physics_over["dropped_share"] - ll_over["dropped_share"],
        "overload_p95_vs_least_loaded": (physics_over["wait_p95"] / ll_over["wait_p95"])
        if ll_over["wait_p95"]
        else None,
    }
    print(
        f"physics at light load vs nearest centroid: {figures['light_accuracy_vs_centroid']:+.4f}; "
        f"overload: accuracy {figures['overload_accuracy']:.4f}, drops vs least_loaded "
        f"{figures['overload_drop_vs_least_loaded']:+.2%}"
    )
    return figures


if __name__ == "__main__":
    main()
