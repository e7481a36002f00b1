"""``packetflow-arena bench``: run the benchmark set and print one table of headline figures.

Every ``benchmarks/bench_*.py`` is a script whose ``main(argv)`` prints its own table and
returns a dict of figures (see ``benchmarks/README.md``). This command runs each one — small
sizes by default, ``--full`` for the reported figures, ``--only NAME`` for some — keeps their
own output unless ``--verbose``, and prints one summary: per benchmark, how long it took and
its headline figures (a module's ``HEADLINE`` keys if it names them, else its numeric figures).
A benchmark that fails is reported in the table and makes the command exit 1; the others still
run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]  # arena/ui/bench.py -> the repository
BENCH_DIR = REPO_ROOT / "benchmarks"
MAX_FIGURES = 8


def available() -> list[str]:
    """Benchmark names (``bench_physics.py`` -> ``physics``), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true", help="the real sizes (minutes, not seconds)")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (repeatable), e.g. --only physics",
    )
    p.add_argument("--verbose", action="store_true", help="also show each benchmark's own table")


def _format(value: float) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (abs(value) >= 100 and float(value).is_integer()):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:,.1f}k"
    digits = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{value:.{min(digits, 4)}f}"


def headline(module: Any, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures to show for one benchmark: its ``HEADLINE`` keys, else its scalars."""
    keys = getattr(module, "HEADLINE", None) or [
        k for k, v in figures.items() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    shown = [(k, _format(figures[k])) for k in keys if k in figures]
    return shown[:MAX_FIGURES]


def run_one(name: str, full: bool, verbose: bool) -> dict[str, Any]:
    """Import and run ``benchmarks.bench_<name>.main``; capture its output unless verbose."""
    if str(REPO_ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
        sys.path.insert(0, str(REPO_ROOT))
    out = io.StringIO()
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        with contextlib.redirect_stdout(sys.stdout if verbose else out):
            figures = module.main(["--full"] if full else [])
        if not isinstance(figures, dict):
            raise TypeError(f"main() returned {type(figures).__name__}, not a dict of figures")
        return {
            "name": name,
            "ok": True,
            "seconds": time.perf_counter() - start,
            "figures": headline(module, figures),
        }
    except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the others
        if not verbose:
            sys.stderr.write(out.getvalue())
        traceback.print_exc(file=sys.stderr)
        return {
            "name": name,
            "ok": False,
            "seconds": time.perf_counter() - start,
            "figures": [("error", f"{type(exc).__name__}: {exc}"[:120])],
        }


def print_table(results: list[dict[str, Any]], full: bool) -> None:
    rows = []
    for r in results:
        status = f"{r['seconds']:.1f} s" if r["ok"] else "FAILED"
        for i, (key, value) in enumerate(r["figures"] or [("", "")]):
            rows.append((r["name"] if i == 0 else "", status if i == 0 else "", key, value))
    header = ("benchmark", "time", "figure", "value")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print(f"\nBenchmarks ({'--full' if full else 'small sizes; --full for the reported figures'})")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.rjust(w) if i == 3 else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def run(args: argparse.Namespace) -> int:
    names = available()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        print(
            f"packetflow-arena bench: no benchmark named {', '.join(unknown)}; "
            f"available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    chosen = [n for n in names if not args.only or n in args.only]
    results = []
    for name in chosen:
        print(f"running bench_{name} ...", file=sys.stderr, flush=True)
        results.append(run_one(name, args.full, args.verbose))
    print_table(results, args.full)
    return 0 if all(r["ok"] for r in results) else 1
