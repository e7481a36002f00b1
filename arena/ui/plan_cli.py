"""``packetflow-arena plan SCENARIO --slo "wait_p95<=3" --slo "drop_rate<=0.005" --rate-scale 1.5``
(``--load`` is the same option)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis.output import check_out_dir
from ..analysis.planning import format_plan, parse_slos, plan_capacity, write_plan
from ..scenario import load_scenario
from .args import checked
from .options import (
    add_backend_options,
    add_overlay_option,
    add_rate_scale_option,
    add_set_option,
)

if TYPE_CHECKING:  # annotations only
    import argparse


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="METRIC<=TARGET",
        help="an objective, e.g. 'wait_p95<=3' or 'drop_rate<=0.005' (repeatable)",
    )
    add_rate_scale_option(p, "--load")
    p.add_argument(
        "--seeds",
        type=checked(int, minimum=2, maximum=1000),
        default=6,
        help="runs per candidate (default 6)",
    )
    p.add_argument(
        "--verify-seeds",
        type=checked(int, minimum=2, maximum=10000),
        help="held-out runs for the verdicts (default: 2 x --seeds)",
    )
    add_backend_options(p)
    add_set_option(p, "arrivals.source.split=[val]")
    add_overlay_option(p)
    p.add_argument(
        "--confidence",
        type=checked(float, minimum=0.5, maximum=0.9999),
        default=0.95,
        help="interval level (0.95)",
    )
    p.add_argument(
        "--max-rounds",
        type=checked(int, minimum=1, maximum=1000),
        default=8,
        help="search rounds at most (8)",
    )
    p.add_argument(
        "--retries",
        type=checked(int, minimum=0, maximum=5),
        default=1,
        help="plan again with twice the seeds when the plan misses its own held-out check "
        "(the margin was thin), at most this many times (1; 0: never)",
    )
    p.add_argument("--no-uniform", action="store_true", help="skip the uniform-scaling search")
    p.add_argument("--out", default="plan_out", help="directory for plan.json, overlay.yaml, ...")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_cli(args: argparse.Namespace) -> int:
    objectives = parse_slos(args.slo)  # a mistyped objective fails here, before any run
    check_out_dir(args.out)  # and an unwritable --out too, not after minutes of simulation
    scenario = args.scenario
    if args.overlays or args.overrides:  # e.g. a tune's best.yaml, a calibrated gate.yaml
        scenario = load_scenario(args.scenario, overrides=args.overrides, overlays=args.overlays)
    plan = plan_capacity(
        scenario,
        objectives,
        load=args.rate_scale,
        seeds=args.seeds,
        verify_seeds=args.verify_seeds,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        confidence=args.confidence,
        max_rounds=args.max_rounds,
        uniform=not args.no_uniform,
        progress=not args.quiet,
        retries=args.retries,
    )
    print(format_plan(plan))
    sc = scenario if not isinstance(scenario, str) else None
    paths = write_plan(plan, args.out, sc, overlays=args.overlays)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0 if plan.met else 1
