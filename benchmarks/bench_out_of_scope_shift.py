"""Out-of-scope detection under shift: leave one CLINC150 domain out of every fit and choice,
and count how many of its requests the gate catches (``arena.analysis.out_of_scope_shift``).

For each of the 10 domains: a head trained on train + oos_train without it, distance scores
fitted on the same rows, a threshold at in-scope zone accuracy ≥ 95% chosen on half of the
other domains' validation rows (stratified, seed 0); judged on the domain's 1,800 train + val
requests (recall), on the 100 ``oos_val`` requests (recall; never fitted on) and on the other
half of the validation rows (zone accuracy, flagged ones counted wrong). The nested mix's
weight and the shift operating point are chosen on an inner fold without the domain and the
next three (their requests are the pseudo-unknowns). Intervals: 95% Wilson
(``scipy.stats.binomtest``). Scores are ranked by their *worst* domain.

Run: ``python -m benchmarks.bench_out_of_scope_shift`` (first run trains 20 heads, ~15 s each
on 2 busy cores, cached under ``heads/``; later runs take ~1-2 min for the scores).
``--zones banking meta`` runs a few domains (a small first run).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from arena.analysis.out_of_scope_shift import (
    SHIFT_SCORES,
    ShiftResult,
    cached_head_fitter,
    leave_one_zone_out,
    scenario_shift_data,
)
from arena.model import ArenaModel
from arena.scenario import load_scenario
from benchmarks.timing import add_size_options

HEADLINE = (
    "worst_recall",
    "worst_recall_low",
    "oos_recall_min",
    "zone_accuracy_min",
    "fallback_class_worst_recall",
    "best_zone_worst_recall",
)
ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "clinc150.yaml"
CHOSEN = "energy_mahalanobis"  # the shipped gate's score, its weight the deployed one
NESTED = "energy_mahalanobis_nested"  # the same with the weight chosen per fold, nested


def _pct(k: int, n: int, ci: tuple[float, float]) -> str:
    return f"{k / n:.1%} [{ci[0]:.1%}, {ci[1]:.1%}]"


def print_summary(result: ShiftResult) -> None:
    header = (
        "score",
        "worst domain",
        "recall [95% CI]",
        "mean recall",
        "oos_val recall min/mean",
        "zone accuracy min",
    )
    rows = []
    for name, zs in sorted(result.per_score.items(), key=lambda kv: -kv[1][0].unknown.recall):
        w = zs[0].unknown
        rows.append(
            (
                name,
                zs[0].zone,
                _pct(w.oos_caught, w.oos_total, w.intervals()["recall"]),
                f"{np.mean([z.unknown.recall for z in zs]):.1%}",
                f"{min(z.oos.recall for z in zs):.1%} / {np.mean([z.oos.recall for z in zs]):.1%}",
                f"{min(z.unknown.zone_accuracy for z in zs):.1%}",
            )
        )
    _table(header, rows)


def print_zones(result: ShiftResult, score: str) -> None:
    header = (
        "held-out domain",
        "recall [95% CI]",
        "oos_val recall [95% CI]",
        "zone accuracy [95% CI]",
        "mix",
        "shift: accuracy aimed",
        "recall",
        "zone accuracy",
    )
    rows = []
    for z in result.per_score[score]:
        u, o = z.unknown, z.oos
        rows.append(
            (
                z.zone,
                _pct(u.oos_caught, u.oos_total, u.intervals()["recall"]),
                _pct(o.oos_caught, o.oos_total, o.intervals()["recall"]),
                _pct(u.in_scope_right, u.in_scope_total, u.intervals()["zone_accuracy"]),
                "" if z.mix is None else f"{z.mix:.1f}",
                "" if z.shift_accuracy is None else f"{z.shift_accuracy:.1%}",
                "" if z.shift is None else f"{z.shift.recall:.1%}",
                "" if z.shift is None else f"{z.shift.zone_accuracy:.1%}",
            )
        )
    _table(header, rows)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", type=float, default=0.95, help="zone accuracy to keep")
    parser.add_argument("--target", type=float, default=0.85, help="recall the shift point aims at")
    parser.add_argument("--inner", type=int, default=3, help="extra domains an inner fold removes")
    parser.add_argument("--zones", nargs="*", help="held-out domains (default: all)")
    add_size_options(parser, "the same run as the default (it has one size)")
    args = parser.parse_args(argv)
    if args.quick and not args.zones:  # a smoke run: one held-out domain
        args.zones = ["banking"]
    model = ArenaModel(load_scenario(SCENARIO))
    data, texts = scenario_shift_data(model)
    zones = None
    if args.zones:
        zones = [list(data.zone_names).index(z) for z in args.zones]
    result = leave_one_zone_out(
        data,
        cached_head_fitter(model, data, texts),
        goal=args.goal,
        target=args.target,
        inner=args.inner,
        zones=zones,
        scores=SHIFT_SCORES,
    )
    print(
        f"{model.registry.embedder.name}; leave one domain out of {len(data.zone_names)}; "
        f"threshold at in-scope zone accuracy >= {args.goal:.0%} on half of the other domains' "
        f"validation rows; scores ranked by their worst domain"
    )
    print_summary(result)
    for name in (CHOSEN, NESTED):
        print(
            f"\n{name} per held-out domain, worst first (shift: the operating point at which "
            f"the inner fold's worst pseudo-unknown domain reaches {args.target:.0%} recall):"
        )
        print_zones(result, name)
    print(
        "\nThe mix for a model that keeps every domain, by its worst outer fold (recall at the "
        "goal): "
        + ", ".join(f"{m:.1f}: {w:.1%}" for m, w in result.mix_worst.items())
        + f" -> {result.deployed_mix:.1f}"
    )
    worst = result.worst(CHOSEN)
    zs = result.per_score[CHOSEN]
    return {
        "worst_recall": worst.unknown.recall,
        "worst_recall_low": worst.unknown.intervals()["recall"][0],
        "mean_recall": float(np.mean([z.unknown.recall for z in zs])),
        "oos_recall_min": min(z.oos.recall for z in zs),
        "oos_recall_mean": float(np.mean([z.oos.recall for z in zs])),
        "zone_accuracy_min": min(z.unknown.zone_accuracy for z in zs),
        "fallback_class_worst_recall": result.worst("fallback_class").unknown.recall,
        "best_zone_worst_recall": result.worst("best_zone").unknown.recall,
        "deployed_mix": float(result.deployed_mix),
        "nested_worst_recall": result.worst(NESTED).unknown.recall,
        "shift_recall_min": min(z.shift.recall for z in zs),
        "shift_zone_accuracy_min": min(z.shift.zone_accuracy for z in zs),
    }


if __name__ == "__main__":
    main()
