"""Issue #22's study: the tuned physics against the routers practitioners deploy, held out.

``scenarios/llm_fleet_mooncake.yaml`` (8 LLM replicas, ~0.8 utilisation, the physics tuned on the
Mooncake hour's first half) runs the hour's **second half** — arrivals no choice of the study
has seen — under four routers: the tuned physics, ``llm_d`` at llm-d's default weights
(prefix 3, queue 2, kv 2), ``prefix_affinity`` (consistent hashing with bounded load, first two
blocks as the key) and JSQ(2) (``power_of_d`` with d = 2, over all 8 replicas). Every router runs
on the same seeds (the trace thinned to 0.9 by each seed: same arrivals per seed across
routers), with load reports every 50 ms and every 5 s. Reported per seed, then over seeds with
a Student-t 95% interval (:mod:`arena.analysis.llm_study`): the physics' p99 TTFT change
against each router (goal: -30% against ``llm_d``, at an equal or higher cache hit rate and no
more drops; and against the best of ``prefix_affinity`` and JSQ(2)), and each router's change
from fresh to 5 s old reports. Figures of a model with docs/llm.md's assumptions.

    python -m benchmarks.bench_llm_study --quick   # 2 minutes of the half, 2 seeds (smoke)
    python -m benchmarks.bench_llm_study           # 10 minutes of the half, 5 seeds
    python -m benchmarks.bench_llm_study --full    # the whole held-out half hour, 5 seeds
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.analysis import compare_routers, run_study, staleness_effect, summarise_routers
from benchmarks.bench_llm import MOONCAKE, OneTopic
from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "llm_fleet_mooncake.yaml"
PHYSICS = "physics (tuned)"
LLM_D = "llm_d (3/2/2)"
OTHERS = ("prefix_affinity", "JSQ(2)")
HEADLINE = (
    "vs llm_d fresh: ttft_p99_change",
    "vs llm_d fresh: hit_rate_diff",
    "vs best other fresh: ttft_p99_change",
    "vs llm_d stale: ttft_p99_change",
    "stale/fresh ttft_p99 physics",
    "stale/fresh ttft_p99 llm_d",
)


def _ci(d: dict[str, float], scale: float = 1.0, unit: str = "") -> str:
    return f"{d['mean'] * scale:+.3g}{unit} [{d['low'] * scale:+.3g}, {d['high'] * scale:+.3g}]"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_options(parser, "the whole held-out half hour, 5 seeds")
    args = parser.parse_args(argv)
    if not MOONCAKE.is_file():
        print(f"skipped: {MOONCAKE} not found")
        return {}
    window = by_size(args, ["30m", "32m"], ["30m", "40m"], None)  # None: the file's [30m, 60m]
    seeds = by_size(args, [1, 2], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    rows = run_study(SCENARIO, seeds=seeds, window=window, embedder=OneTopic())
    means = summarise_routers(rows)
    print(f"held-out window {window or ['30m', '60m']}, seeds {seeds}; means over seeds")
    print(means.round(3).to_string(index=False))
    figures: dict[str, Any] = {"seeds": len(seeds), "cpu_s": float(rows["cpu_s"].sum())}
    for period, tag in (("50ms", "fresh"), ("5s", "stale")):
        at = means[means["period"] == period].set_index("router")
        best = min(OTHERS, key=lambda r: at.loc[r, "ttft_p99"])  # best by mean p99 TTFT
        print(f"\nload reports every {period} ({tag}): {PHYSICS} against ...")
        for other in (LLM_D, *OTHERS):
            c = compare_routers(rows, PHYSICS, other, period)
            mark = "  (best of the two by mean p99 TTFT)" if other == best else ""
            print(
                f"  {other:16} p99 TTFT {_ci(c['ttft_p99_change'], 100, '%')}, "
                f"hit rate {_ci(c['hit_rate_diff'])}, drops {_ci(c['drops_diff'])}{mark}"
            )
            for name in ("llm_d",) * (other == LLM_D) + ("best other",) * (other == best):
                figures[f"vs {name} {tag}: ttft_p99_change"] = c["ttft_p99_change"]["mean"]
                figures[f"vs {name} {tag}: hit_rate_diff"] = c["hit_rate_diff"]["mean"]
                figures[f"vs {name} {tag}: drops_diff"] = c["drops_diff"]["mean"]
        figures[f"best other {tag}"] = best
    print("\n5 s old reports against 50 ms, per router (stale / fresh - 1):")
    for router, s in staleness_effect(rows).items():
        print(
            f"  {router:16} p99 TTFT {_ci(s['ttft_p99_change'], 100, '%')}, "
            f"hit rate {_ci(s['hit_rate_diff'])}"
        )
        short = router.split(" ")[0]
        figures[f"stale/fresh ttft_p99 {short}"] = 1.0 + s["ttft_p99_change"]["mean"]
    return figures


if __name__ == "__main__":
    main()
