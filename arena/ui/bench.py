"""``packetflow-arena bench``: run the benchmark set and print one table of headline figures.

Every ``benchmarks/bench_*.py`` is a script whose ``main(argv)`` prints its own table and
returns a dict of figures (see ``benchmarks/README.md``). This command runs each one — small
sizes by default, ``--quick`` for a smoke run of seconds each (what the test suite runs),
``--full`` for the reported figures, ``--only NAME`` for some — keeps their own output unless
``--verbose``, and prints one summary: per benchmark, how long it took and its headline
figures. A benchmark that fails is reported in the table and makes the command exit 1; the
others still run. One whose optional baseline is not installed (LangGraph, the ``bench``
extra) is reported as skipped and does not fail the command.

Each benchmark runs as ``python -m benchmarks.run NAME`` in a subprocess whose working
directory is the repository root: ``benchmarks/`` is not part of the installed package, so
``arena`` never imports it (no ``sys.path`` edit, no import the layer contracts cannot see),
and every benchmark starts in a fresh interpreter. From an installed wheel, where there is no
``benchmarks/`` folder, the command says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]  # arena/ui/bench.py -> the repository
WIDTH = 100  # the table fits a 100-column terminal
MODES = {"quick": ["--quick"], "small": [], "full": ["--full"]}


def bench_dir(root: Path = REPO_ROOT) -> Path | None:
    """The repository's ``benchmarks/`` folder, or None when running from an installed wheel."""
    path = root / "benchmarks"
    return path if (path / "run.py").is_file() else None


def available(root: Path = REPO_ROOT) -> list[str]:
    """Benchmark names (``bench_physics.py`` -> ``physics``), sorted."""
    path = bench_dir(root)
    if path is None:
        return []
    return sorted(p.stem.removeprefix("bench_") for p in path.glob("bench_*.py"))


def configure_parser(p: argparse.ArgumentParser) -> None:
    size = p.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the real sizes (minutes, not seconds)")
    size.add_argument(
        "--quick", action="store_true", help="a smoke run: the smallest sizes (seconds each)"
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (repeatable), e.g. --only physics",
    )
    p.add_argument("--verbose", action="store_true", help="also show each benchmark's own table")


def _format(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
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


def run_one(name: str, mode: str, verbose: bool, root: Path = REPO_ROOT) -> dict[str, Any]:
    """Run ``benchmarks.bench_<name>`` in a subprocess from ``root``; its output is shown only
    when it fails (or with ``verbose``)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="packetflow-bench-") as tmp:
        figures_file = Path(tmp) / "figures.json"
        cmd = [sys.executable, "-m", "benchmarks.run", name, "--figures", str(figures_file)]
        proc = subprocess.run(
            [*cmd, *MODES[mode]],
            cwd=root,
            stdout=None if verbose else subprocess.PIPE,
            stderr=None if verbose else subprocess.STDOUT,
            text=True,
            check=False,
        )
        try:
            result: dict[str, Any] = json.loads(figures_file.read_text())
        except (OSError, ValueError):
            result = {
                "status": "failed",
                "error": f"the benchmark process exited {proc.returncode}",
            }
    result.setdefault("seconds", time.perf_counter() - start)
    if result["status"] == "failed" and not verbose:
        sys.stderr.write(proc.stdout or "")
    return {"name": name, **result}


def table_lines(results: list[dict[str, Any]], width: int = WIDTH) -> list[str]:
    """The table: per benchmark its time (or FAILED / skipped) and its figures, numbers
    right-aligned; a failure's message (or a skip's reason) wraps to fit ``width`` columns."""
    rows: list[tuple[str, str, str, str | None]] = []  # value None: a message follows
    messages: dict[int, str] = {}
    for r in results:
        if r["status"] == "ok":
            pairs = [(k, _format(v)) for k, v in r["figures"]] or [("", "")]
            for i, (key, value) in enumerate(pairs):
                first = i == 0
                rows.append(
                    (
                        r["name"] if first else "",
                        f"{r['seconds']:.1f} s" if first else "",
                        key,
                        value,
                    )
                )
        else:
            failed = r["status"] == "failed"
            messages[len(rows)] = r.get("error") or r.get("reason") or ""
            rows.append(
                (r["name"], "FAILED" if failed else "skipped", "error" if failed else "why", None)
            )
    header = ("benchmark", "time", "figure", "value")
    lefts = [(a, b, c) for a, b, c, _ in [header, *rows]]
    widths = [max(len(left[i]) for left in lefts) for i in range(3)]
    widths.append(max(len(v) for v in [header[3], *(row[3] for row in rows if row[3] is not None)]))
    indent = sum(widths[:3]) + 6
    lines = []
    dashes = ("-" * widths[0], "-" * widths[1], "-" * widths[2], "-" * widths[3])
    for i, row in enumerate([header, dashes, *rows]):
        left = "  ".join(c.ljust(w) for c, w in zip(row[:3], widths[:3], strict=True))
        cell = row[3]
        if cell is not None:
            lines.append(f"{left}  {cell.rjust(widths[3])}".rstrip())
            continue
        wrapped = textwrap.wrap(messages[i - 2], max(20, width - indent), max_lines=4) or [""]
        lines.append(f"{left}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    return lines


def print_table(results: list[dict[str, Any]], mode: str) -> None:
    sizes = {"quick": "--quick: a smoke run", "small": "small sizes", "full": "--full"}
    note = "" if mode == "full" else "; --full for the reported figures"
    print(f"\nBenchmarks ({sizes[mode]}{note})")
    print("\n".join(table_lines(results)))


def run(args: argparse.Namespace) -> int:
    root = REPO_ROOT
    if bench_dir(root) is None:
        print(
            f"packetflow-arena bench: no benchmarks/ folder at {root} (an installed wheel "
            "has none): run it from a source checkout (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    names = available(root)
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        print(
            f"packetflow-arena bench: no benchmark named {', '.join(unknown)}; "
            f"available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    mode = "full" if args.full else "quick" if args.quick else "small"
    chosen = [n for n in names if not args.only or n in args.only]
    results = []
    for name in chosen:
        print(f"running bench_{name} ...", file=sys.stderr, flush=True)
        results.append(run_one(name, mode, args.verbose, root))
    print_table(results, mode)
    return 0 if all(r["status"] != "failed" for r in results) else 1
