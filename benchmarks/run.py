"""Run one benchmark in this process and write its headline figures as JSON.

``packetflow-arena bench`` starts ``python -m benchmarks.run NAME --figures FILE [ARGS...]`` once
per benchmark, from the repository root, as a subprocess. Why a subprocess: ``benchmarks`` is
not part of the installed package, and importing it from ``arena`` would need the repository
root on ``sys.path`` (an import the layer contracts cannot see, broken once installed as a
wheel); and each benchmark starts in a fresh interpreter, so one benchmark's threads, caches
or Dask cluster cannot slow the next one down or crash the command.

``FILE`` gets ``{"status": "ok" | "skipped" | "failed", "seconds", "figures" | "reason" |
"error"}``, written atomically. A benchmark whose optional baseline is not installed (a package
of the ``bench`` extra in ``pyproject.toml``, e.g. LangGraph) is *skipped*, not failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import sys
import time
import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_FIGURES = 8


def optional_baselines(root: Path = ROOT) -> set[str]:
    """Import names of the ``bench`` extra's packages (``langgraph>=0.2`` -> ``langgraph``)."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return set()
    extra = project.get("optional-dependencies", {}).get("bench", [])
    names = (re.match(r"[A-Za-z0-9_.-]+", req) for req in extra)
    return {m.group(0).lower().replace("-", "_") for m in names if m}


def headline(module: Any, figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """The figures to show: the module's ``HEADLINE`` keys it has, else its numeric scalars;
    values a table can show (numbers and booleans; anything else, NaN and inf as text)."""
    keys = [k for k in getattr(module, "HEADLINE", ()) if k in figures] or [
        k for k, v in figures.items() if isinstance(v, int | float) and not isinstance(v, bool)
    ]  # a quick run may not have the sizes its HEADLINE names
    shown: list[tuple[str, Any]] = []
    for key in keys:
        value = figures[key]
        finite = isinstance(value, int | float) and (isinstance(value, int) or math.isfinite(value))
        shown.append((key, value if finite else str(value)))
    return shown[:MAX_FIGURES]


def run(name: str, argv: Sequence[str]) -> dict[str, Any]:
    """Import and run ``benchmarks.bench_<name>.main(argv)``; never raises."""
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        figures = module.main(list(argv))
        if not isinstance(figures, dict):
            raise TypeError(f"main() returned {type(figures).__name__}, not a dict of figures")
        return {
            "status": "ok",
            "seconds": time.perf_counter() - start,
            "figures": headline(module, figures),
        }
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in optional_baselines():
            return {
                "status": "skipped",
                "seconds": time.perf_counter() - start,
                "reason": f"install the bench extra ({missing} is not installed)",
            }
        return failed(exc, start)
    except (Exception, SystemExit) as exc:  # report it, whatever it is
        return failed(exc, start)


def failed(exc: BaseException, start: float) -> dict[str, Any]:
    traceback.print_exc(file=sys.stderr)
    return {
        "status": "failed",
        "seconds": time.perf_counter() - start,
        "error": f"{type(exc).__name__}: {exc}",
    }


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("name", help="the benchmark: bench_NAME.py")
    parser.add_argument("--figures", type=Path, required=True, help="where to write the JSON")
    args, rest = parser.parse_known_args(argv)
    result = run(args.name, rest)
    sys.stdout.flush()
    write_atomically(args.figures, json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
