"""Command-line options shared by subcommands (``run``, ``sweep``, ``tune``)."""

from __future__ import annotations

import argparse

from ..errors import ScenarioError
from .args import SEED


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


def parse_seeds(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``, each seed checked like ``--seed`` (finite, 0 <= seed)."""
    try:
        return [SEED(s.strip()) for s in text.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        raise ScenarioError(None, "--seeds", f"expected comma-separated seeds: {exc}") from None
