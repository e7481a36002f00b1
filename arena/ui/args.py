"""Command-line arguments held to the scenario's bounds, and the one-line error guard.

Every failure of ``packetflow-arena`` is one line on stderr and exit status 2, never a
traceback: argparse's own errors (printed as one line by :class:`OneLineParser`), a user's
mistake (:class:`capabilities.PacketFlowError`), and — with a hint to report it — anything
unexpected. ``PACKETFLOW_DEBUG=1`` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from capabilities import PacketFlowError

from ..errors import ScenarioError
from ..scenario import Bounds, Reader
from ..workload import parse_duration

PROG = "packetflow-arena"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``prog: error: ...``; ``--help`` for usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def checked(kind: type, **bounds: Any) -> Callable[[str], Any]:
    """An argparse ``type=``: the text as ``kind`` (int or float), checked by the scenario
    reader's number rules (finite, ``bounds``), so ``--steps`` and ``steps:`` agree."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r:.40}") from None
        try:
            Reader(None).check_number(value, "", integer=kind is int, **bounds)
        except ScenarioError as exc:
            raise argparse.ArgumentTypeError(exc.problem) from None
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def DURATION(text: str) -> float:
    """``--duration 10m``: seconds, checked like the scenario's ``duration``."""
    try:
        return parse_duration(text, file=None, field="--duration", allow_zero=False)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


SEED = checked(int, minimum=0, maximum=Bounds.SEED)
RATE_SCALE = checked(float, minimum=0, exclusive_min=True, maximum=Bounds.RATE)
WORKERS = checked(int, minimum=1, maximum=1024)


def guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand; turn every failure into one line on stderr and exit status 2."""
    try:
        return int(handler(args) or 0)
    except PacketFlowError as exc:
        notes = "".join(f" ({note})" for note in getattr(exc, "__notes__", ()))
        say(f"error: {exc}{notes}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception as exc:  # a bug, not a user's mistake: still one line, with a hint
        if os.environ.get("PACKETFLOW_DEBUG"):
            traceback.print_exc()
        first = " ".join(str(exc).split())
        say(
            f"internal error: {type(exc).__name__}: {first:.200} "
            "(please report it; PACKETFLOW_DEBUG=1 shows the traceback)"
        )
        return 2


def say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)
