"""The LLM-fleet study of issue #22: routers on the same arrivals, paired by seed, with intervals.

Why paired: a trace replay's tail latency moves a lot from one draw of arrivals to the next (the
study thins the trace per seed), far more than it moves between two good routers on the same
arrivals. Every router therefore runs on the same seeds (same arrivals, same service draws), and
each comparison is a per-seed figure — the relative change of p99 TTFT, the difference of cache
hit rates and of drops — with a Student-t interval over the seeds
(:func:`arena.analysis.planning.interval`). Staleness is one more paired factor: the same seeds
with the load board refreshed every 50 ms and every 5 s.

:func:`run_study` runs the grid (one row per router, load-report period and seed);
:func:`compare_routers` and :func:`staleness_effect` turn its rows into the intervals the study reports.
``benchmarks/bench_llm_study.py`` and notebook 09 call them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .planning import interval

#: the study's routers: label -> (router, router_params for it; None keeps the scenario's)
STUDY_ROUTERS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "physics (tuned)": ("physics", None),
    "llm_d (3/2/2)": ("llm_d", {"prefix": 3, "queue": 2, "kv": 2}),
    "prefix_affinity": ("prefix_affinity", None),
    "JSQ(2)": ("power_of_d", {"d": 2}),
}

#: per-run figures of the study (TTFT and latency in ms)
STUDY_FIGURES = ("arrived", "dropped", "ttft_p50", "ttft_p99", "latency_p99", "cache_hit_rate")


def _seconds(text: str) -> float:
    from ..workload import parse_duration

    return float(parse_duration(text, file=None, field="arrivals.trace.window"))


def run_one(
    scenario: str | Path,
    router: str,
    params: Mapping[str, Any] | None,
    *,
    seed: int,
    period: str,
    window: Sequence[str] | None = None,
    embedder: Any = None,
) -> dict[str, Any]:
    """One run of ``scenario`` routed by ``router`` with load reports every ``period``, on the
    trace ``window`` (None: the scenario's): its :data:`STUDY_FIGURES` and its CPU seconds."""
    from ..model import ArenaModel
    from ..scenario import load_scenario

    overrides: dict[str, Any] = {"router": router, "load_info": {"mode": "board", "period": period}}
    if params is not None:
        overrides[f"router_params.{router}"] = dict(params)
    if window is not None:
        start, end = window
        overrides["arrivals.trace.window"] = [start, end]
        overrides["duration"] = f"{_seconds(end) - _seconds(start):g}s"
    sc = load_scenario(scenario, overrides=overrides)
    model = ArenaModel(sc, seed=seed, embedder=embedder)
    cpu = time.process_time()
    model.run()
    cpu = time.process_time() - cpu
    s = model.summary().to_dict()
    ttft = s.get("ttft_ms") or {}
    return {
        "arrived": s["arrived"],
        "dropped": s["dropped"],
        "ttft_p50": ttft.get("p50", np.nan),
        "ttft_p99": ttft.get("p99", np.nan),
        "latency_p99": s["latency_ms"]["p99"],
        "cache_hit_rate": s.get("cache_hit_rate", np.nan),
        "cpu_s": cpu,
    }


def run_study(
    scenario: str | Path,
    *,
    seeds: Sequence[int],
    periods: Sequence[str] = ("50ms", "5s"),
    routers: Mapping[str, tuple[str, Mapping[str, Any] | None]] = STUDY_ROUTERS,
    window: Sequence[str] | None = None,
    embedder: Any = None,
) -> pd.DataFrame:
    """Every router on every seed and load-report period: one row each (``router`` is the
    label, ``period`` the report period as given)."""
    rows = []
    for period in periods:
        for seed in seeds:
            for label, (router, params) in routers.items():
                fig = run_one(
                    scenario,
                    router,
                    params,
                    seed=seed,
                    period=period,
                    window=window,
                    embedder=embedder,
                )
                rows.append({"router": label, "period": period, "seed": seed, **fig})
    return pd.DataFrame(rows)


def _paired(rows: pd.DataFrame, a: str, b: str, period: str) -> pd.DataFrame:
    """Rows of routers ``a`` and ``b`` at ``period``, one line per seed both ran."""
    at = rows[rows["period"] == period]
    left = at[at["router"] == a].set_index("seed")
    right = at[at["router"] == b].set_index("seed")
    return left.merge(right, left_index=True, right_index=True, suffixes=("_a", "_b"))


def compare_routers(
    rows: pd.DataFrame, a: str, b: str, period: str, confidence: float = 0.95
) -> dict[str, Any]:
    """Router ``a`` against ``b`` at ``period``, per seed then over seeds (mean, low, high):
    ``ttft_p99_change`` (a / b - 1; -0.3 is 30% lower), ``hit_rate_diff`` (a - b) and
    ``drops_diff`` (a - b)."""
    p = _paired(rows, a, b, period)
    change = p["ttft_p99_a"] / p["ttft_p99_b"] - 1.0
    return {
        "a": a,
        "b": b,
        "period": period,
        "seeds": len(p),
        "ttft_p99_change": interval(change.to_numpy(), confidence).to_dict(),
        "hit_rate_diff": interval(
            (p["cache_hit_rate_a"] - p["cache_hit_rate_b"]).to_numpy(), confidence
        ).to_dict(),
        "drops_diff": interval((p["dropped_a"] - p["dropped_b"]).to_numpy(), confidence).to_dict(),
    }


def staleness_effect(
    rows: pd.DataFrame, fresh: str = "50ms", stale: str = "5s", confidence: float = 0.95
) -> dict[str, dict[str, Any]]:
    """Per router, how much its p99 TTFT grows when load reports are ``stale`` rather than
    ``fresh`` (stale / fresh - 1 per seed, with its interval) and how its hit rate moves."""
    out: dict[str, dict[str, Any]] = {}
    for router in rows["router"].unique():
        mine = rows[rows["router"] == router]
        f = mine[mine["period"] == fresh].set_index("seed")
        s = mine[mine["period"] == stale].set_index("seed")
        p = f.merge(s, left_index=True, right_index=True, suffixes=("_f", "_s"))
        if p.empty:
            continue
        out[str(router)] = {
            "seeds": len(p),
            "ttft_p99_change": interval(
                (p["ttft_p99_s"] / p["ttft_p99_f"] - 1.0).to_numpy(), confidence
            ).to_dict(),
            "hit_rate_diff": interval(
                (p["cache_hit_rate_s"] - p["cache_hit_rate_f"]).to_numpy(), confidence
            ).to_dict(),
        }
    return out


def summarise_routers(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean of each figure per router and period (seeds pooled), for tables and plots."""
    cols = [c for c in (*STUDY_FIGURES, "cpu_s") if c in rows]
    return rows.groupby(["period", "router"], sort=False)[cols].mean().reset_index()
