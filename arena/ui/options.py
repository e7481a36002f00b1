"""Command-line options shared by subcommands (``run``, ``sweep``, ``tune``)."""

from __future__ import annotations

import argparse

from ..errors import ScenarioError
from .args import SEED, WORKERS


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


def add_backend_options(
    p: argparse.ArgumentParser, backends: tuple[str, ...], default: str
) -> None:
    """``--backend``, ``--address`` and ``--workers``: where the runs of a sweep, a tune or a
    plan execute (one spelling for every subcommand that fans runs out)."""
    p.add_argument("--backend", choices=backends, default=default)
    p.add_argument("--address", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument(
        "--workers", type=WORKERS, help="worker processes (default: 2 for dask, cores otherwise)"
    )


def parse_seeds(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``, each seed checked like ``--seed`` (finite, 0 <= seed)."""
    try:
        return [SEED(s.strip()) for s in text.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        raise ScenarioError(None, "--seeds", f"expected comma-separated seeds: {exc}") from None
