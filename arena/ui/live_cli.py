"""``packetflow-arena live``: run a scenario as a real deployment on this machine
(:func:`arena.live.run_live`; docs/live.md)."""

from __future__ import annotations

import argparse

from .args import DURATION, SEED
from .options import (
    add_overlay_option,
    add_rate_scale_option,
    add_set_option,
    add_speed_option,
)


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", default="out-live", help="directory for requests.csv, summary.json")
    add_speed_option(p)
    p.add_argument("--duration", type=DURATION, help="send the arrivals of this long, e.g. 10s")
    p.add_argument("--seed", type=SEED, help="override the scenario's seed")
    p.add_argument("--router", help="override the scenario's router")
    p.add_argument(
        "--kill",
        metavar="ZONE@TIME",
        help="SIGKILL that zone's worker at that scenario time, e.g. technical_support@2s",
    )
    add_rate_scale_option(p)
    add_set_option(p)
    add_overlay_option(p)


def run_cli(args: argparse.Namespace) -> int:
    from ..live import run_live  # loaded on use: Mesa and the embedder only when run
    from ..model import format_summary

    result = run_live(
        args.scenario,
        args.out,
        speed=args.speed,
        duration=args.duration,
        seed=args.seed,
        kill=args.kill,
        router=args.router,
        rate_scale=args.rate_scale,
        overrides=args.overrides,
        overlays=args.overlays,
    )
    print(format_summary(result.summary))
    rows = result.requests
    ended = rows[rows["outcome"].isin(["failed", "dropped"])]
    if len(ended):
        reasons = ended.groupby(["outcome", "reason"], dropna=False).size()
        print(
            "failed or dropped: "
            + ", ".join(f"{o} {n} ({r})" for (o, r), n in reasons.head(6).items())
        )
    print(f"wrote {result.out}/summary.json, requests.csv, requests.sqlite")
    return 0 if result.summary.lost == 0 else 1
