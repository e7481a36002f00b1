"""Out-of-scope detection on requests held back from every fit and threshold choice.

``scenarios/clinc150.yaml``'s rows: the learned head is trained on train + oos_train (15,100);
the arrivals are val + oos_val (3,100). **Held back**: a stratified half of the arrivals —
``round(0.5 * n)`` rows of each label (10 per intent = 1,500 in scope, and 50 of the 100
``oos_val``), drawn with ``numpy.random.default_rng(0)`` (``arena.physics.stratified_holdout``).
No fit and no threshold choice reads them. **Calibration pool**: the other half of the arrivals,
scored by the scenario's head (none of them trained it). All 15,100 examples are also scored
5-fold out of fold, for the variant that pools them too.

Each gate's threshold catches the most out-of-scope requests of its pool at in-scope zone
accuracy ≥ 95% + a margin: 0 ("at the goal"), or the cross-validated one — the smallest for
which thresholds chosen on 4 folds of the pool keep, pooled over the 5th, zone accuracy ≥ 95%
at 95% confidence (``arena.physics.cross_validated_margin``). Compared in the same run:

* ``best_zone`` at the goal — the old way: a threshold on the best zone's score;
* ``best_zone`` with the cross-validated margin;
* ``fallback_class`` (the learned out-of-scope class, ``1 - P(oos)``) at the goal;
* ``fallback_class``, cross-validated margin, the examples pooled in (rejected: train rows are
  easier than validation rows, so the threshold flags too much on new requests);
* ``fallback_class`` with the cross-validated margin — what ``scenarios/clinc150.yaml`` ships.

Reported on the held-back rows: recall and precision of out of scope, in-scope zone accuracy
(argmax zone; flagged in-scope requests count as wrong), each with a 95% Wilson interval
(``scipy.stats.binomtest``), and each score's AUROC (threshold-free). Goal: recall ≥ 80% at
zone accuracy ≥ 95%.

Run: ``python -m benchmarks.bench_out_of_scope`` (first run trains 5 fold heads, ~1 min each
on 2 busy cores; they are cached, later runs take seconds).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Sequence
from pathlib import Path

from scipy.stats import mannwhitneyu

from arena.analysis.gate_calibration import OutOfScopeCalibrator
from arena.model import ArenaModel
from arena.scenario import load_scenario
from benchmarks.timing import add_size_options, by_size

HEADLINE = (
    "holdout_recall",
    "holdout_recall_low",
    "holdout_precision",
    "holdout_zone_accuracy",
    "holdout_zone_accuracy_low",
    "best_zone_holdout_recall",
    "auroc_energy_mahalanobis",
    "auroc_fallback_class",
    "routing_time_ratio",
    "job_time_ratio",
)
ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "clinc150.yaml"
VARIANTS = (  # score, pool includes the examples out of fold, margin (None: cross-validated)
    ("best_zone", False, 0.0, "best zone score, threshold at the goal (no CV)"),
    ("best_zone", False, None, "best zone score, CV margin"),
    ("fallback_class", False, 0.0, "learned out-of-scope class, at the goal (no CV)"),
    ("fallback_class", True, None, "learned class, CV margin, examples pooled"),
    ("fallback_class", False, None, "learned out-of-scope class, CV margin"),
    ("energy_mahalanobis", False, None, "energy + relative Mahalanobis, CV margin (shipped)"),
)
SCORES = ("best_zone", "fallback_class", "energy_mahalanobis")
OFF = ("attraction.out_of_scope_score=best_zone", "physics.out_of_scope_threshold=0.0")


def auroc(cal: OutOfScopeCalibrator, score: str) -> float:
    """Probability that a held-back out-of-scope request scores lower (less in scope) than a
    held-back in-scope one: the Mann-Whitney U statistic over both counts."""
    held = cal.arrivals.take(cal.held)
    s = held.score(score, cal.fallback_columns)
    u = mannwhitneyu(s[~held.is_oos], s[held.is_oos]).statistic
    return float(u / (held.is_oos.sum() * (~held.is_oos).sum()))


def gate_overhead(kind: str, threshold: float, repeats: int = 3) -> dict[str, float]:
    """The main job with the gate ``kind`` at ``threshold`` against the gate off (``best_zone``
    at threshold 0: nothing is below it), interleaved, best of ``repeats`` each, timed in two
    parts: the build (where each source text is scored once; the fitted mix comes from the
    cache) and the run (routing every arrival; the gate is a lookup and a comparison)."""
    on = (f"attraction.out_of_scope_score={kind}", f"physics.out_of_scope_threshold={threshold}")
    best = {f"{part}_{name}": float("inf") for part in ("build", "run") for name in ("off", "on")}
    arrived = 0
    for _ in range(repeats):
        for name, overrides in (("off", OFF), ("on", on)):
            gc.collect()
            start = time.perf_counter()
            model = ArenaModel(load_scenario(SCENARIO, overrides=list(overrides)))
            built = time.perf_counter()
            model.run()
            done = time.perf_counter()
            best[f"build_{name}"] = min(best[f"build_{name}"], built - start)
            best[f"run_{name}"] = min(best[f"run_{name}"], done - built)
            arrived = model.arrived
    off = best["build_off"] + best["run_off"]
    on_total = best["build_on"] + best["run_on"]
    return {
        **{f"{k}_s": v for k, v in best.items()},
        "routing_time_ratio": best["run_on"] / best["run_off"],
        "job_time_ratio": on_total / off,
        "gate_us_per_request": 1e6 * (on_total - off) / max(arrived, 1),
    }


def _pct(x: float, ci: tuple[float, float]) -> str:
    return f"{x:.1%} [{ci[0]:.1%}, {ci[1]:.1%}]"


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", type=float, default=0.95, help="zone accuracy to keep")
    parser.add_argument("--folds", type=int, help="cross-validation folds (default 5; 2 quick)")
    parser.add_argument("--holdout", type=float, default=0.5, help="share of arrivals held back")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs, gate on and off")
    add_size_options(parser, "the same run as the default (it has one size)")
    args = parser.parse_args(argv)
    folds = args.folds or by_size(args, 2, 5, 5)
    # quick: the first (the baseline) and the shipped gate only
    variants = by_size(args, (VARIANTS[0], VARIANTS[-1]), VARIANTS, VARIANTS)
    cal = OutOfScopeCalibrator(load_scenario(SCENARIO), holdout_fraction=args.holdout, folds=folds)
    held = cal.arrivals.take(cal.held)
    print(
        f"{cal.model.registry.embedder.name}; held back {int(cal.held.sum())} arrivals "
        f"({int(held.is_oos.sum())} out of scope); calibration pool {len(cal.pool().is_oos)} rows "
        f"({int(cal.pool().is_oos.sum())} out of scope); {len(cal.pool(examples=True).is_oos)} "
        f"with the examples scored {folds}-fold out of fold; goal: zone accuracy {args.goal}"
    )
    header = (
        "gate",
        "margin",
        "threshold",
        "held-out recall [95% CI]",
        "precision [95% CI]",
        "zone accuracy [95% CI]",
    )
    rows, out = [], {}
    for score, examples, margin, label in variants:
        c = cal.calibrate(score, goal=args.goal, examples=examples, margin=margin)
        out[label] = c
        h, ci = c.holdout, c.holdout.intervals()
        rows.append(
            (
                label,
                f"{c.margin:.4f}",
                f"{c.threshold:.4f}",
                _pct(h.recall, ci["recall"]),
                _pct(h.precision, ci["precision"]),
                _pct(h.zone_accuracy, ci["zone_accuracy"]),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    shipped = out[VARIANTS[-1][-1]]
    kind = VARIANTS[-1][0]
    best = shipped.holdout
    met = best.recall >= 0.80 and best.zone_accuracy >= 0.95
    cv = shipped.cross_validated
    print(
        f"Shipped gate: attraction.out_of_scope_score {kind}, "
        f"physics.out_of_scope_threshold {shipped.threshold:.4f} (cross-validated margin "
        f"{shipped.margin:g}; out of fold on the pool: recall {cv.recall:.1%}, "
        f"zone accuracy {cv.zone_accuracy:.1%})"
    )
    print(
        "Threshold-free comparison, AUROC of out-of-scope vs in-scope on the held-back rows: "
        + ", ".join(f"{k} {auroc(cal, k):.4f}" for k in SCORES)
    )
    print(
        f"Goal recall ≥ 80% at zone accuracy ≥ 95% on held-back requests: "
        f"{'met' if met else 'NOT met'} ({best.recall:.1%}, {best.zone_accuracy:.1%})"
    )
    ci = best.intervals()
    base = out[VARIANTS[0][-1]].holdout
    cost = gate_overhead(kind, shipped.threshold, args.repeats)
    print(
        f"Gate cost, main job ({len(cal.arrivals.is_oos)} arrivals), best of {args.repeats}, gate "
        f"off -> on: routing (the run) {cost['run_off_s']:.3f} -> {cost['run_on_s']:.3f} s "
        f"(x{cost['routing_time_ratio']:.3f}); build (scores every text once) "
        f"{cost['build_off_s']:.3f} -> {cost['build_on_s']:.3f} s; whole job "
        f"x{cost['job_time_ratio']:.3f}, {cost['gate_us_per_request']:.0f} µs per request"
    )
    return {
        **cost,
        "holdout_recall": best.recall,
        "holdout_recall_low": ci["recall"][0],
        "holdout_recall_high": ci["recall"][1],
        "holdout_precision": best.precision,
        "holdout_zone_accuracy": best.zone_accuracy,
        "holdout_zone_accuracy_low": ci["zone_accuracy"][0],
        "best_zone_holdout_recall": base.recall,
        "best_zone_holdout_zone_accuracy": base.zone_accuracy,
        **{f"auroc_{k}": auroc(cal, k) for k in SCORES},
        "threshold": shipped.threshold,
    }


if __name__ == "__main__":
    main()
