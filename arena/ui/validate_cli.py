"""``packetflow-arena validate`` and ``calibrate``: the simulation against a live deployment of
the same scenario (:mod:`arena.analysis.sim_vs_live`; docs/live.md)."""

from __future__ import annotations

import argparse

from .args import DURATION, SEED, checked
from .options import add_overlay_option, add_set_option, add_speed_option


def _common(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", default=out, help=f"directory for the results (default {out})")
    add_speed_option(p)
    p.add_argument("--duration", type=DURATION, help="send the arrivals of this long, e.g. 30s")
    p.add_argument("--seed", type=SEED, help="override the scenario's seed")
    p.add_argument("--router", help="override the scenario's router")
    add_set_option(p)
    add_overlay_option(p)


def configure_validate(p: argparse.ArgumentParser) -> None:
    _common(p, "out-validate")
    p.add_argument(
        "--utilisation",
        type=checked(float, minimum=0, exclusive_min=True, maximum=1.5),
        help="scale the arrivals until the simulated fleet is this busy, e.g. 0.8 "
        "(default: the scenario's rates)",
    )
    p.add_argument(
        "--kill",
        metavar="ZONE@TIME",
        help="SIGKILL that zone's worker live; the same zone outage in the simulation",
    )


def configure_calibrate(p: argparse.ArgumentParser) -> None:
    _common(p, "out-calibrate")


def run_validate(args: argparse.Namespace) -> int:
    from ..analysis.sim_vs_live import validate

    run = validate(
        args.scenario,
        args.out,
        speed=args.speed,
        duration=args.duration,
        seed=args.seed,
        load=args.utilisation,
        router=args.router,
        kill=args.kill,
        overrides=args.overrides,
        overlays=args.overlays,
    )
    v = run.validation
    print(f"{'zone':18} {'metric':16} {'sim':>10} {'live':>10} {'error':>8}  goal")
    for r in v.rows:
        if r["goal"] is None and r["metric"] not in ("wait_ms.p95", "utilisation"):
            continue
        err = "-" if r["rel_error"] is None else f"{r['rel_error']:+.1%}"
        if r["metric"] == "drop_rate" and r["abs_error"] is not None:
            err = f"{r['abs_error'] * 100:+.2f}pt"
        goal = {True: "met", False: "MISSED", None: ""}[r["met"]]
        sim = "-" if r["sim"] is None else f"{r['sim']:.4g}"
        live = "-" if r["live"] is None else f"{r['live']:.4g}"
        print(f"{r['zone'][:18]:18} {r['metric']:16} {sim:>10} {live:>10} {err:>8}  {goal}")
    if v.routing_agreement is not None:
        print(f"same zone for {v.routing_agreement:.1%} of requests")
    print(f"wrote {run.out}/validation.json, validation.png, sim/requests.csv, live/")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from ..analysis.sim_vs_live import calibrate

    c = calibrate(
        args.scenario,
        args.out,
        speed=args.speed,
        duration=args.duration,
        seed=args.seed,
        router=args.router,
        overrides=args.overrides,
        overlays=args.overlays,
    )
    print(
        f"measured over {c.requests} requests (medians, scenario time): network "
        f"{c.network_s * 1000:.3f} ms, scheduling {c.scheduling_s * 1000:.3f} ms, slot slack "
        f"{c.slot_slack_s * 1000:.3f} ms"
    )
    print(f"wrote {c.overlay} (use it with --overlay on run, validate, plan)")
    return 0
