"""``packetflow-arena fit LATENCIES.csv --column latency_ms --unit ms --out fit_out``: fit the
candidate service-time distributions to a column of measured latencies, print the ranking and
the ``service_time`` YAML to paste, write ``fit.json`` and ``fit.png``. The work is
:mod:`arena.workload.fit`; this is the command line around it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis.output import check_out_dir, finite_json

if TYPE_CHECKING:  # annotations only
    import argparse

UNITS = ("us", "ms", "s", "m", "h")


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("latencies", help="CSV file with a header row and a column of latencies")
    p.add_argument("--column", required=True, help="the column holding the latencies")
    p.add_argument("--unit", choices=UNITS, default="s", help="what the column holds (default s)")
    p.add_argument("--out", default="fit_out", help="directory for fit.json and fit.png")


def run_cli(args: argparse.Namespace) -> int:
    # loaded on use: `packetflow-arena --help` and `mcp` start without scipy's fitting
    from ..workload import fit_latencies, plot_fit, read_latency_column

    out = check_out_dir(args.out)  # an unwritable --out fails before the fit
    samples = read_latency_column(args.latencies, args.column, args.unit)
    report = fit_latencies(samples, file=str(args.latencies), field=args.column)
    print(f"{report.n} latencies from {args.latencies} ({args.column}, {args.unit})")
    print(report.table())
    print()
    print(report.yaml())
    out.mkdir(parents=True, exist_ok=True)
    summary = {"file": str(args.latencies), "column": args.column, "unit": args.unit}
    summary |= report.to_dict()
    text = json.dumps(finite_json(summary), indent=2, allow_nan=False) + "\n"
    path = Path(out) / "fit.json"
    tmp = path.with_name(".fit.json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # never half a file
    png = plot_fit(report, samples, Path(out) / "fit.png")
    print(f"wrote {path}, {png}")
    return 0
