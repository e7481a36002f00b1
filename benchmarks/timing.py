"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def best_per_call(run: Callable[[int], Any], calls: int, repeats: int) -> float:
    """Seconds per call of ``run(calls)`` (which makes ``calls`` calls), best of ``repeats``.

    The best run is the one least disturbed by other processes on a shared machine.
    """
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run(calls)
        best = min(best, time.perf_counter() - start)
    return best / calls


def add_size_options(parser: argparse.ArgumentParser, full_help: str) -> None:
    """``--full`` (the reported sizes) and ``--quick`` (a smoke run of seconds: what the test
    suite runs through ``packetflow-arena bench --quick``); neither: the small default."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help=full_help)
    size.add_argument("--quick", action="store_true", help="a smoke run: the smallest sizes")


def by_size(args: argparse.Namespace, quick: T, small: T, full: T) -> T:
    """The setting for the size chosen by :func:`add_size_options`."""
    return full if args.full else quick if args.quick else small
