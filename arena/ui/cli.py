"""``packetflow-arena``: the command line. Each subcommand lives in the module that owns it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from capabilities import PacketFlowError, mcp_cli

from . import bench as _bench
from .args import DURATION, PROG, SEED, OneLineParser, checked, guarded, say
from .fit_cli import configure_parser as _configure_fit
from .fit_cli import run_cli as _fit
from .gate_cli import configure_parser as _configure_gate
from .gate_cli import run_cli as _gate
from .live_cli import configure_parser as _configure_live
from .live_cli import run_cli as _live
from .logs import LEVELS, LOG_LEVEL_ENV, default_level, logging_to_stderr
from .options import add_overlay_option, add_rate_scale_option, add_set_option
from .plan_cli import configure_parser as _configure_plan
from .plan_cli import run_cli as _plan
from .sweep_cli import configure_parser as _configure_sweep
from .sweep_cli import run_cli as _sweep
from .tune_cli import configure_parser as _configure_tune
from .tune_cli import run_cli as _tune
from .validate_cli import configure_calibrate as _configure_calibrate
from .validate_cli import configure_validate as _configure_validate
from .validate_cli import run_calibrate as _calibrate
from .validate_cli import run_validate as _validate


def _demo(args: argparse.Namespace) -> int:
    """A small tour of the capability engine (declare, discover, run, observe)."""
    from capabilities import Engine
    from capabilities.examples.customer import build_registry

    registry = build_registry()
    with Engine(registry) as engine:
        for query in ("my internet is down, I need help", "how much money is in my account"):
            best = registry.discover(query, k=1)[0]
            print(f"{query!r} -> {best.capability.name} (similarity {best.score:.2f})")
        result = engine.run("account_balance", {"account_id": "acc-42"})
        print(f"account_balance: {result.outputs} in {result.duration * 1e6:.0f} µs")
    return 0


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--duration",
        type=DURATION,
        help="model time to run, e.g. 90s or 10m (default: the scenario's, then drain)",
    )
    p.add_argument(
        "--router",
        help="physics, semantic_argmax, power_of_d, jsq_top_k, argmax_spill, least_loaded, "
        "random, round_robin, llm_d, prefix_affinity, category, or a plug-in as "
        "package.module:ClassName (docs/routers.md)",
    )
    p.add_argument("--seed", type=SEED, help="override the scenario's seed")
    p.add_argument("--out", default="out", help="directory for summary.json, CSV and plots")
    add_rate_scale_option(p)
    add_set_option(p)
    add_overlay_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _run(args: argparse.Namespace) -> int:
    # loaded on use, so `packetflow-arena --help` and `mcp` start without Mesa
    from ..analysis.runner import load_plots_meanwhile, run_scenario
    from ..model import format_summary

    load_plots_meanwhile()  # a first run embeds for seconds: the plots' import fits beside it
    _, summary = run_scenario(
        args.scenario,
        duration=args.duration,
        router=args.router,
        seed=args.seed,
        overrides=args.overrides,
        overlays=args.overlays,
        rate_scale=args.rate_scale,
        out=args.out,
        progress=not args.quiet,
    )
    print(format_summary(summary))
    print(f"wrote {args.out}/summary.json, zone_load.csv, zone_load.png, arena_snapshot.png")
    if not summary.drained:
        left = summary.in_flight + summary.queued + summary.in_service
        hint = (
            "run without --duration to drain it"
            if args.duration is not None
            else "service outlasts the drain limit; check service times and capacity"
        )
        say(f"warning: not drained: {left} intents still in flight, queued or in service ({hint})")
    return 0 if summary.lost == 0 else 1


def _configure_viz(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=checked(int, minimum=1, maximum=65535), default=8765)


def _viz(args: argparse.Namespace) -> int:
    try:  # solara is an optional extra; the page module imports it
        from .viz import serve
    except ImportError as exc:
        raise PacketFlowError(
            f"the viz page needs the 'viz' extra (pip install -e .[viz]): {exc}"
        ) from None
    return serve(args.scenario, args.host, args.port)


def _mcp(args: argparse.Namespace) -> int:
    # loaded on use: the MCP server stack (mcp, starlette, uvicorn...) costs ~1 s of start-up
    # that every other command, `run` above all, would pay for nothing
    from .mcp import scenario_mcp

    return mcp_cli.run(args, scenario_loader=scenario_mcp)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None, Callable]] = {
    "run": ("run a scenario and write its summary and plots", _configure_run, _run),
    "live": (
        "run a scenario as a real deployment on this machine (gateway, zone workers)",
        _configure_live,
        _live,
    ),
    "validate": (
        "simulate a scenario and run it live on the same arrivals; the error table per zone",
        _configure_validate,
        _validate,
    ),
    "calibrate": (
        "measure a live deployment's own overheads and write them as a scenario overlay",
        _configure_calibrate,
        _calibrate,
    ),
    "demo": ("tour of the capability engine", None, _demo),
    "mcp": ("serve capabilities to AI agents over MCP", mcp_cli.configure_parser, _mcp),
    "sweep": (
        "run a scenario over a grid of overrides and seeds (serial, processes or Dask)",
        _configure_sweep,
        _sweep,
    ),
    "tune": (
        "search the physics for the best stated objective (differential evolution)",
        _configure_tune,
        _tune,
    ),
    "plan": (
        "plan the smallest capacity per zone that meets service-level objectives",
        _configure_plan,
        _plan,
    ),
    "calibrate-gate": (
        "calibrate the out-of-scope threshold for a scenario (writes an overlay)",
        _configure_gate,
        _gate,
    ),
    "fit": (
        "fit service-time distributions to measured latencies and print the YAML to paste",
        _configure_fit,
        _fit,
    ),
    "viz": ("serve a live Mesa SolaraViz page of a scenario", _configure_viz, _viz),
    "bench": (
        "run the benchmarks and print their headline figures",
        _bench.configure_parser,
        _bench.run,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Capabilities and the Spatial Knowledge Arena: route intents to zones.",
    )
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=default_level(),
        help=f"our log records from this level on, on stderr (default ${LOG_LEVEL_ENV} or info)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if configure is not None:
            configure(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. A user's mistake (a PacketFlowError) prints one line, not a traceback."""
    args = build_parser().parse_args(argv)
    with logging_to_stderr(args.log_level):
        return guarded(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
