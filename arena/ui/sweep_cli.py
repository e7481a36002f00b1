"""``packetflow-arena sweep SCENARIO --grid KEY=V1,V2 ... --seeds 1,2 --backend dask``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..analysis import check_out_dir
from ..analysis.sweep import sweep
from ..errors import ScenarioError
from ..scenario import load_scenario, parse_override_value
from .args import DURATION
from .options import (
    add_backend_options,
    add_overlay_option,
    add_rate_scale_option,
    parse_seeds,
)


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["physics.temperature=0.02,0.05", "router=physics,random"]`` -> a grid (YAML values)."""
    grid: dict[str, list[Any]] = {}
    for text in items:
        key, sep, values = text.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise ScenarioError(
                None, None, f"--grid {text!r} must look like 'physics.temperature=0.02,0.05'"
            )
        grid[key] = [
            parse_override_value(v.strip(), None, key) for v in values.split(",") if v.strip()
        ]
    return grid


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a swept override, e.g. --grid physics.temperature=0.02,0.05,0.1 (repeatable)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: the scenario's)")
    add_backend_options(p)
    p.add_argument("--duration", type=DURATION, help="cap each run at this much model time")
    add_rate_scale_option(p)
    add_overlay_option(p)
    p.add_argument(
        "--out", default="sweep_out", help="directory for sweep.csv (resumed if present)"
    )
    p.add_argument(
        "--embedder",
        help="dotted path of a zero-argument embedder factory importable by the workers "
        "(default: the MiniLM embedder)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    import pandas as pd

    grid = parse_grid(args.grid)
    if not grid:
        grid = {"router": [load_scenario(args.scenario, overlays=args.overlays).router]}
    seeds: list[int | None] = [None]
    if args.seeds:
        seeds = [*parse_seeds(args.seeds)]
    out = check_out_dir(args.out) / "sweep.csv"
    frame = sweep(
        args.scenario,
        grid,
        seeds,
        backend=args.backend,
        address=args.address,
        workers=args.workers,
        results=out,
        duration=args.duration,
        embedder=args.embedder,
        overlays=args.overlays,
        progress=not args.quiet,
        rate_scale=args.rate_scale,
    )
    shown = ["routing_accuracy", "wait_p95", "dropped", "completed", "lost"]
    table = frame.groupby(list(grid), sort=False)[shown].mean()
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(f"{len(frame)} runs ({frame['seed'].nunique()} seeds), mean over seeds:")
        print(table.round(4).to_string())
    print(f"wrote {out}")
    return 0 if int(frame["lost"].sum()) == 0 else 1
