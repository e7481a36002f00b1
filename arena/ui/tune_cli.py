"""``packetflow-arena tune SCENARIO --param temperature=0.005:0.5:log --param candidates
--objective "accuracy - 2*drop_rate - 0.00001*wait_p95" --seeds 1,2,3 --backend dask``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis.tuning import Objective, tune
from ..errors import ScenarioError
from .args import DURATION, SEED, checked
from .options import (
    add_backend_options,
    add_overlay_option,
    add_rate_scale_option,
    add_set_option,
    parse_seeds,
)

if TYPE_CHECKING:  # annotations only
    import argparse


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file (its arrivals are what is tuned on)")
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME[=LOW:HIGH[:log]]",
        help="a physics field to search, within its documented range or narrower bounds, e.g. "
        "--param temperature=0.005:0.5:log --param candidates (repeatable)",
    )
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument(
        "--objective",
        "--maximize",
        dest="maximize",
        metavar="EXPR",
        help="maximise this, e.g. 'accuracy - 2*drop_rate - 0.00001*wait_p95'",
    )
    goal.add_argument("--minimize", metavar="EXPR", help="minimise this, e.g. wait_p95")
    p.add_argument(
        "--constraint",
        dest="constraints",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'drop_rate<=0.01'; a violation costs --penalty x its size (repeatable)",
    )
    p.add_argument(
        "--penalty",
        type=checked(float, minimum=0, maximum=1e12),
        default=1000.0,
        help="score lost per unit violated",
    )
    p.add_argument("--seeds", default="1,2,3", help="simulation seeds, every point (default 1,2,3)")
    add_set_option(p, "'arrivals.source.split=[val]' (every run, the baseline included)")
    add_overlay_option(p)
    add_rate_scale_option(p)
    p.add_argument("--duration", type=DURATION, help="cap each run at this much model time")
    p.add_argument(
        "--popsize",
        type=checked(int, minimum=1, maximum=1000),
        default=5,
        help="population = popsize x params",
    )
    p.add_argument(
        "--maxiter",
        type=checked(int, minimum=0, maximum=10000),
        default=10,
        help="generations after the first",
    )
    p.add_argument(
        "--budget",
        type=checked(int, minimum=1, maximum=10**7),
        help="stop before this many simulation runs",
    )
    p.add_argument("--seed", type=SEED, default=0, help="the search's own seed")
    p.add_argument(
        "--tol",
        type=checked(float, minimum=0, maximum=1e6),
        default=0.0,
        help="stop early when scores converge (0: never)",
    )
    add_backend_options(p)
    p.add_argument("--embedder", help="dotted path of an embedder factory (default: MiniLM)")
    p.add_argument("--out", default="tune_out", help="directory for best.yaml and the tables")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    if not args.params:
        raise ScenarioError(None, "--param", "name at least one physics field to tune")
    objective = Objective.parse(
        args.maximize,
        minimize=args.minimize,
        constraints=args.constraints,
        penalty=args.penalty,
    )
    result = tune(
        args.scenario,
        args.params,
        objective,
        seeds=parse_seeds(args.seeds),
        overrides=args.overrides,
        overlays=args.overlays,
        rate_scale=args.rate_scale,
        duration=args.duration,
        popsize=args.popsize,
        maxiter=args.maxiter,
        budget=args.budget,
        seed=args.seed,
        tol=args.tol,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        embedder=args.embedder,
        out=args.out,
        progress=not args.quiet,
    )
    shown = [*result.params, "objective", "score", "accuracy", "drop_rate", "wait_p95"]
    print(f"{result.objective}")
    print(
        f"{len(result.evaluations)} points, {len(result.runs)} runs on seeds "
        f"{list(result.seeds)}, {result.batches} batches, {result.wall_s:.1f} s"
    )
    for label, row in (("scenario", result.baseline), ("best", result.best)):
        cells = "  ".join(f"{k} {_fmt(row[k])}" for k in shown if k in row)
        print(f"{label:>8}: {cells}")
    print(f"wrote {args.out}/best.yaml, evaluations.csv, runs.csv, tune.json")
    return 0


def _fmt(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
