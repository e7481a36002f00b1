"""Command-line options shared by subcommands (``run``, ``sweep``, ``tune``)."""

from __future__ import annotations

import argparse

from ..analysis.sweep import BACKEND_ALIASES, BACKENDS
from ..errors import ScenarioError
from .args import RATE_SCALE, SEED, WORKERS, checked, say


def add_set_option(p: argparse.ArgumentParser, example: str = "physics.temperature=0.05") -> None:
    """``--set KEY=VALUE`` (repeatable): a scenario field overridden, its value read as YAML."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a scenario field, e.g. --set {example}",
    )


def add_overlay_option(p: argparse.ArgumentParser) -> None:
    """``--overlay FILE`` (repeatable): a partial scenario merged over the scenario file."""
    p.add_argument(
        "--overlay",
        dest="overlays",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML overlay merged over the scenario before validation, e.g. a tune's best.yaml "
        "(repeatable; later ones win)",
    )


def add_rate_scale_option(p: argparse.ArgumentParser, *aliases: str) -> None:
    """``--rate-scale X``: every arrival rate (the schedule's too) times X, the same word on
    ``run``, ``sweep``, ``tune`` and ``plan`` (whose ``--load`` is an alias)."""
    p.add_argument(
        "--rate-scale",
        *aliases,
        dest="rate_scale",
        type=RATE_SCALE,
        default=1.0,
        help="multiply every arrival rate, schedule included (default 1)",
    )


def add_backend_options(p: argparse.ArgumentParser, default: str = "processes") -> None:
    """``--backend``, ``--address`` and ``--workers``: where the runs of a sweep, a tune or a
    plan execute (one spelling for every subcommand that fans runs out; an old word such as
    plan's ``local`` is accepted with a note naming the new one)."""
    p.add_argument(
        "--backend",
        type=_backend,
        choices=BACKENDS,
        default=default,
        help=f"where runs execute: {', '.join(BACKENDS)} (default {default})",
    )
    p.add_argument("--address", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument(
        "--workers", type=WORKERS, help="worker processes (default: 2 for dask, cores otherwise)"
    )


def _backend(text: str) -> str:
    if text in BACKEND_ALIASES:
        say(f"note: --backend {text} is spelled --backend {BACKEND_ALIASES[text]} now")
        return BACKEND_ALIASES[text]
    return text


def parse_seeds(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``, each seed checked like ``--seed`` (finite, 0 <= seed)."""
    try:
        return [SEED(s.strip()) for s in text.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        raise ScenarioError(None, "--seeds", f"expected comma-separated seeds: {exc}") from None


def add_speed_option(p: argparse.ArgumentParser) -> None:
    """``--speed X``: a live run's time compressed X times (``live``, ``validate``,
    ``calibrate``)."""
    p.add_argument(
        "--speed",
        type=checked(float, minimum=0, exclusive_min=True, maximum=1000),
        default=1.0,
        help="run time this many times faster (services, board periods and arrivals alike); "
        "times are reported in scenario seconds",
    )
