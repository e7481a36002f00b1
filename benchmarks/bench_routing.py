"""Routing quality on real data: the physics router against every baseline, in the same run.

CLINC150 **validation** (3,000 in-scope requests; tuning was done on validation too — there is
no held-out figure here) routed by ``scenarios/clinc150.yaml`` with each router, at light load
(30% of total service capacity) and at 1.5x total capacity — as a burst (every request once,
then drain) and sustained (arrivals at 1.5x for 200 steps, texts repeating). A plain nearest-centroid classifier
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
from arena.physics import ROUTER_TYPES
from arena.scenario import load_scenario
from benchmarks.timing import add_size_options, by_size
from capabilities import default_embedder

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "clinc150.yaml"
CLINC150 = ROOT.parent / "shared" / "data" / "clinc150"


def capacity_per_step(model: ArenaModel) -> float:
    """Intents per step the routable zones can serve: slots / mean service steps."""
    total = 0.0
    for zi in model.routable_zones:
        caps = [model.capability_specs[model.capability_names[c]] for c in model.zone_caps[zi]]
        mean_service = float(np.mean([c.service_time.mean() for c in caps]))
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


SUSTAINED_STEPS = 200


def run_router(
    router: str,
    load: float,
    limit: int | None,
    seed: int,
    extra: Sequence[str] = (),
    sustained: bool = False,
) -> dict[str, Any]:
    """One run. A *burst* sends every validation request once at ``load`` and drains; a
    *sustained* run keeps arriving at ``load`` for SUSTAINED_STEPS steps (texts repeat)."""
    # in-scope requests only (val, not oos_val), so no out-of-scope labels and no gate
    overrides = [
        "arrivals.source.split=[val]",
        "arrivals.out_of_scope_labels=[]",
        "physics.out_of_scope_threshold=0.0",
        *extra,
    ]
    if limit:
        overrides.append(f"arrivals.source.limit={limit}")
    base = load_scenario(SCENARIO, overrides=overrides)
    probe = ArenaModel(base, router=router, seed=seed)
    rate = load * capacity_per_step(probe)
    n = len(probe.source_text_index)
    steps = int(np.ceil(1.1 * n / rate)) + 10  # long enough for every request to arrive
    if sustained:
        steps = SUSTAINED_STEPS
        overrides.append("arrivals.repeat=true")
    sc = load_scenario(
        SCENARIO, overrides=[*overrides, f"arrivals.rate={rate:.6f}", f"duration={steps}"]
    )
    model = ArenaModel(sc, router=router, seed=seed)
    model.run()
    s = model.summary().to_dict()
    util = [
        u["mean"]
        for z, u in s["zone_utilisation"].items()
        if z != model.zone_names[model.fallback_index]
    ]
    return {
        "router": router,
        "load": load,
        "mode": "sustained" if sustained else "burst",
        "arrived": s["arrived"],
        "routing_accuracy": s["routing_accuracy"],
        "capability_accuracy": s["capability_accuracy"],
        "dropped_share": s["dropped"] / max(1, s["arrived"]),
        "overflowed": s["overflowed"],
        "wait_p50": s["wait_ms"]["p50"],
        "wait_p95": s["wait_ms"]["p95"],
        "mean_utilisation": float(np.mean(util)),
        "lost": s["lost"],
    }


def averaged(
    router: str,
    load: float,
    limit: int | None,
    seeds: Sequence[int],
    extra: Sequence[str] = (),
    sustained: bool = False,
) -> dict[str, Any]:
    """Mean figures over ``seeds`` (the same seeds for every router)."""
    runs = [run_router(router, load, limit, s, extra, sustained) for s in seeds]
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = float(np.mean([r[key] for r in runs]))
    out["overflowed"] = int(sum(r["overflowed"] for r in runs))
    out["lost"] = int(sum(r["lost"] for r in runs))
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "all 3,000 validation requests, 3 seeds")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override for every run, e.g. physics.repulsion=0.5",
    )
    # the LLM routers need LLM zones (prefix caches): bench_llm measures them
    general = [r for r in ROUTER_TYPES if r not in ("llm_d", "prefix_affinity", "category")]
    parser.add_argument("--routers", default=",".join(general), help="comma-separated routers")
    parser.add_argument(
        "--paired-seeds",
        type=int,
        default=0,
        metavar="N",
        help="also compare physics and least_loaded drops under sustained "
        "1.5x overload on N more paired seeds (mean difference ± standard error)",
    )
    args = parser.parse_args(argv)
    limit = by_size(args, 100, 600, None)
    seeds = [args.seed + i for i in range(3 if args.full else 1)]
    routers = args.routers.split(",")
    plan = [(0.3, False), (1.5, False), (1.5, True)]
    rows = [
        averaged(r, load, limit, seeds, args.overrides, sus) for load, sus in plan for r in routers
    ]
    centroid = nearest_centroid_accuracy(limit)
    print(
        f"CLINC150 validation ({rows[0]['arrived']} requests, mean of {len(seeds)} seed(s)), "
        f"nearest-centroid reference: {centroid:.4f} domain accuracy"
    )
    print(
        f"{'load':>5} {'mode':<10} {'router':<16} {'accuracy':>9} {'cap.acc':>8} {'dropped':>8} "
        f"{'overflow':>8} {'wait p50':>8} {'wait p95':>8} {'util':>6}"
    )
    for r in rows:
        print(
            f"{r['load']:>5.1f} {r['mode']:<10} {r['router']:<16} {r['routing_accuracy']:>9.4f} "
            f"{r['capability_accuracy']:>8.4f} {r['dropped_share']:>8.2%} {r['overflowed']:>8d} "
            f"{r['wait_p50']:>8.1f} {r['wait_p95']:>8.1f} {r['mean_utilisation']:>6.2f}"
        )
    figures: dict[str, Any] = {"rows": rows, "nearest_centroid_accuracy": centroid}
    if not {"physics", "least_loaded"} <= set(routers):
        return figures

    def row(router: str, load: float, mode: str) -> dict[str, Any]:
        return next(r for r in rows if (r["router"], r["load"], r["mode"]) == (router, load, mode))

    figures["light_accuracy"] = row("physics", 0.3, "burst")["routing_accuracy"]
    figures["light_accuracy_vs_centroid"] = figures["light_accuracy"] - centroid
    parts = [
        f"physics at light load {figures['light_accuracy']:.4f} "
        f"({figures['light_accuracy_vs_centroid']:+.4f} vs nearest centroid)"
    ]
    for mode in ("burst", "sustained"):
        p, ll = row("physics", 1.5, mode), row("least_loaded", 1.5, mode)
        figures[f"overload_{mode}_accuracy"] = p["routing_accuracy"]
        figures[f"overload_{mode}_drop_vs_least_loaded"] = p["dropped_share"] - ll["dropped_share"]
        figures[f"overload_{mode}_p95_vs_least_loaded"] = (
            p["wait_p95"] / ll["wait_p95"] if ll["wait_p95"] else None
        )
        parts.append(
            f"1.5x {mode}: accuracy {p['routing_accuracy']:.4f}, drops "
            f"{figures[f'overload_{mode}_drop_vs_least_loaded']:+.2%} vs least_loaded, p95 wait "
            f"{p['wait_p95']:.1f} vs {ll['wait_p95']:.1f}"
        )
    print("; ".join(parts))
    if args.paired_seeds:
        diffs = np.array(
            [
                run_router("physics", 1.5, limit, s, args.overrides, True)["dropped_share"]
                - run_router("least_loaded", 1.5, limit, s, args.overrides, True)["dropped_share"]
                for s in range(1000, 1000 + args.paired_seeds)
            ]
        )
        se = diffs.std(ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
        figures["sustained_paired_drop_diff"] = float(diffs.mean())
        figures["sustained_paired_drop_diff_se"] = float(se)
        print(
            f"sustained 1.5x, {len(diffs)} paired seeds: physics drops "
            f"{diffs.mean():+.2%} ± {se:.2%} (standard error) vs least_loaded"
        )
    return figures


if __name__ == "__main__":
    main()
