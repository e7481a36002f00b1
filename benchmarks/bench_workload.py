"""Workload benchmark (issue #20): reading traces, drawing service times and arrivals, fitting.

Every figure is next to a baseline measured in the same run:

* ``azure_read``: :func:`arena.workload.read_trace` on the whole Azure conversation hour
  (19,366 requests: timestamps parsed, every row checked) against a bare
  ``pandas.read_csv`` of the same file (no parsing of times, no checks);
* ``mooncake_read``: the Mooncake hour (12,031 requests, ragged hash ids) against a bare
  ``json.loads`` of its lines;
* ``lognormal_sample``: a :class:`~arena.workload.LogNormal` model's ``sample`` (scipy.stats
  with the generator, clipped) against numpy's ``rng.lognormal`` for the same count;
* ``mmpp``: :func:`~arena.workload.mmpp_times` against :func:`~arena.workload.poisson_times`
  for about the same number of arrivals, and against a Python loop of exponential gaps (the
  per-arrival way, on 1/20 of the count);
* ``fit``: :func:`~arena.workload.fit_latencies` on n = 5,000 lognormal samples (five
  candidates), against one ``scipy.stats.lognorm.fit`` alone.

Run: ``python -m benchmarks.bench_workload`` (seconds) or ``--full`` (10x the draws).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from arena.workload import (
    LogNormal,
    fit_latencies,
    mmpp_times,
    poisson_times,
    read_trace,
)
from benchmarks.timing import add_size_options, by_size

from .timing import best_per_call

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = [
    "azure_read_ms",
    "azure_read_vs_bare_csv",
    "mooncake_read_ms",
    "lognormal_sample_vs_numpy",
    "mmpp_arrivals_per_s",
    "mmpp_vs_python_loop",
    "fit_ms",
]


def _data_dir() -> Path:
    for root in (ROOT.parent, ROOT.parent.parent):  # beside main, or above a worktree
        if (root / "shared" / "data").is_dir():
            return root / "shared" / "data"
    raise FileNotFoundError("shared/data (the Azure and Mooncake traces) not found")


def _time(fn, repeats: int) -> float:
    return best_per_call(lambda calls: [fn() for _ in range(calls)], 1, repeats)


def bench_reads(repeats: int) -> dict[str, float]:
    data = _data_dir()
    azure = data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    mooncake = data / "mooncake" / "conversation_trace.jsonl"
    where = {"file": None, "field": "bench"}
    ours = _time(lambda: read_trace(azure, "azure_llm", **where), repeats)
    bare = _time(lambda: pd.read_csv(azure), repeats)
    m_ours = _time(lambda: read_trace(mooncake, "mooncake", **where), repeats)
    m_bare = _time(
        lambda: [json.loads(line) for line in mooncake.read_text().splitlines() if line],
        repeats,
    )
    return {
        "azure_read_ms": ours * 1e3,
        "azure_bare_csv_ms": bare * 1e3,
        "azure_read_vs_bare_csv": ours / bare,
        "mooncake_read_ms": m_ours * 1e3,
        "mooncake_bare_json_ms": m_bare * 1e3,
        "mooncake_read_vs_bare_json": m_ours / m_bare,
    }


def bench_sampling(n: int, repeats: int) -> dict[str, float]:
    model = LogNormal.from_median_p99(0.12, 2.0)
    rng = np.random.default_rng(0)
    ours = _time(lambda: model.sample(rng, n), repeats)
    bare = _time(lambda: rng.lognormal(model.mu, model.sigma, n), repeats)
    return {
        "lognormal_sample_per_s": n / ours,
        "numpy_lognormal_per_s": n / bare,
        "lognormal_sample_vs_numpy": ours / bare,
    }


def _python_poisson(rate: float, end: float, rng: np.random.Generator) -> list[float]:
    times, t = [], rng.exponential(1 / rate)
    while t < end:
        times.append(t)
        t += rng.exponential(1 / rate)
    return times


def bench_arrivals(n: int, repeats: int) -> dict[str, float]:
    rates, sojourn = [5.0, 40.0], [60.0, 10.0]
    end = n / 10.0  # the MMPP's long-run rate is 10/s
    rng = np.random.default_rng(1)
    mmpp = _time(lambda: mmpp_times(rates, sojourn, 0.0, end, rng), repeats)
    poisson = _time(lambda: poisson_times(10.0, 0.0, end, rng), repeats)
    loop = _time(lambda: _python_poisson(10.0, end / 20, rng), repeats) * 20
    return {
        "mmpp_arrivals_per_s": n / mmpp,
        "poisson_arrivals_per_s": n / poisson,
        "mmpp_vs_poisson_time": mmpp / poisson,
        "mmpp_vs_python_loop": loop / mmpp,
    }


def bench_fit(repeats: int) -> dict[str, float]:
    x = stats.lognorm(s=0.8, scale=0.12).rvs(size=5000, random_state=np.random.default_rng(2))
    ours = _time(lambda: fit_latencies(x), repeats)
    one = _time(lambda: stats.lognorm.fit(x, floc=0), repeats)
    return {"fit_ms": ours * 1e3, "one_lognorm_fit_ms": one * 1e3, "fit_vs_one_fit": ours / one}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "10x the draws, more repeats")
    args = parser.parse_args(argv)
    n, repeats = by_size(args, (100_000, 1), (1_000_000, 3), (10_000_000, 5))
    figures = bench_reads(repeats) | bench_sampling(n, repeats)
    figures |= bench_arrivals(n, repeats) | bench_fit(repeats)
    print(f"workload benchmark ({n:,} draws, best of {repeats}):")
    for key, value in figures.items():
        print(f"  {key:<30} {value:>14,.3f}")
    return figures


if __name__ == "__main__":
    main()
