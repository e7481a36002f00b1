"""Mixed LLM fleets: a small fast pool and a large slow one, and what a router trades between them.

Three figures per run, and the runs no other beats on all three (one Pareto front):

- **quality**: the share of served requests answered by the pool of their category (the
  summary's ``routing_accuracy``; the scenario says which model is right for which request);
- **latency**: p99 end-to-end latency (ms; TTFT is reported beside it);
- **cost**: busy slot-seconds per completed request, each pool's weighted by what a second of
  its model costs (``cost_per_second``, by zone group: a large model's GPU second is dearer).

``category`` routing (vLLM Semantic Router's shape) sits at one point — the right pool
whatever the load; the physics, swept over its temperature and repulsion, trades meaning for
load and lays out a curve. ``scenarios/llm_fleet_mixed.yaml`` is the fleet; notebook 09 draws
the front with :func:`arena.analysis.plots.pareto`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MIXED_FIGURES = ("routing_accuracy", "latency_p99", "ttft_p99", "cost_per_request", "dropped")


def non_dominated(
    df: pd.DataFrame, maximise: Sequence[str] = (), minimise: Sequence[str] = ()
) -> np.ndarray:
    """Boolean mask of the rows no other row beats: at least as good on every named column and
    strictly better on one. Rows with a NaN in a named column are never on the front."""
    cols = [*maximise, *minimise]
    if not cols:
        raise ValueError("non_dominated: name at least one column to maximise or minimise")
    sign = np.array([-1.0] * len(maximise) + [1.0] * len(minimise))
    x = df[cols].to_numpy(dtype=float) * sign  # every column now "lower is better"
    ok = np.isfinite(x).all(axis=1)
    a, b = x[:, None, :], x[None, :, :]  # (i, j, c): does row j dominate row i?
    dominates = (b <= a).all(axis=2) & (b < a).any(axis=2) & ok[None, :]
    return ok & ~dominates.any(axis=1)


def run_mixed(
    scenario: str | Path,
    overrides: Mapping[str, Any],
    *,
    seed: int,
    cost_per_second: Mapping[str, float],
    embedder: Any = None,
) -> dict[str, Any]:
    """One run of the mixed fleet with ``overrides`` (router, physics, window...): its
    :data:`MIXED_FIGURES`."""
    from ..model import COMPLETED, ArenaModel
    from ..scenario import load_scenario

    sc = load_scenario(scenario, overrides=dict(overrides))
    unknown = sorted({z.group_name for z in sc.zones if not z.fallback} - set(cost_per_second))
    if unknown:
        raise ValueError(f"cost_per_second: no cost for zone groups {unknown}")
    model = ArenaModel(sc, seed=seed, embedder=embedder)
    model.run()
    s = model.summary().to_dict()
    L = model.ledger
    done = L.state == COMPLETED
    weight = np.array([cost_per_second.get(z.group_name, 0.0) for z in sc.zones])
    busy = (L.end[done] - L.start[done]) * weight[L.zone[done].astype(np.intp)]
    return {
        "routing_accuracy": s.get("routing_accuracy", np.nan),
        "latency_p99": s["latency_ms"]["p99"],
        "ttft_p99": (s.get("ttft_ms") or {}).get("p99", np.nan),
        "cost_per_request": float(busy.sum() / max(int(done.sum()), 1)),
        "dropped": s["dropped"],
    }


def mixed_fleet_front(
    scenario: str | Path,
    settings: Mapping[str, Mapping[str, Any]],
    *,
    seeds: Sequence[int],
    cost_per_second: Mapping[str, float],
    embedder: Any = None,
) -> pd.DataFrame:
    """Each setting (label -> scenario overrides, e.g. ``{"router": "category"}``) on every
    seed, averaged over the seeds: one row per setting with :data:`MIXED_FIGURES` and
    ``on_front`` (not beaten on quality, p99 latency and cost together, among the settings that
    dropped nothing)."""
    rows = []
    for label, overrides in settings.items():
        for seed in seeds:
            fig = run_mixed(
                scenario, overrides, seed=seed, cost_per_second=cost_per_second, embedder=embedder
            )
            rows.append({"setting": label, "router": overrides.get("router", ""), **fig})
    runs = pd.DataFrame(rows)
    out = runs.groupby(["setting", "router"], sort=False)[list(MIXED_FIGURES)].mean()
    out = out.reset_index()
    clean = out["dropped"] == 0
    front = np.zeros(len(out), dtype=bool)
    front[clean.to_numpy()] = non_dominated(
        out[clean], maximise=["routing_accuracy"], minimise=["latency_p99", "cost_per_request"]
    )
    out["on_front"] = front
    return out
