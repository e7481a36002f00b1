"""How far the simulation is from a live deployment: metric by metric, zone by zone, with CIs.

Why request tables and not summaries: both sides write one row per request in the same
columns (:func:`~arena.model.requests_frame`, the live rig's ``requests.csv``), so every metric
is computed by the same code on both, and a confidence interval can resample the requests
themselves. Each row of the comparison is ``{zone, metric, sim, live, rel_error, abs_error,
ci, goal, met}``: ``zone`` is a zone's name or ``all``; metrics are named like the summary's
(``latency_ms.p95``, ``wait_ms.p50``, ``utilisation``, ``drop_rate``, ``share``);
``rel_error = (sim - live) / live``; ``ci`` is a 95% bootstrap interval of that relative error
(``scipy.stats.bootstrap``, the two runs resampled independently), ``None`` where a side has
fewer than :data:`MIN_SAMPLES` values or the live figure is 0. The issue's goals (#21): latency
p50 and p95 within 5%, p99 within 10%, drop rate within 0.5 points.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

#: fewer values than this on a side: the figure is reported, its interval is not
MIN_SAMPLES = 20
#: metric -> (how far sim may be from live, "rel" or "abs" (points for a rate))
GOALS: dict[str, tuple[float, str]] = {
    "latency_ms.p50": (0.05, "rel"),
    "latency_ms.p95": (0.05, "rel"),
    "latency_ms.p99": (0.10, "rel"),
    "drop_rate": (0.005, "abs"),
}
PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}
TIMES = {  # metric family -> (later column, earlier column): milliseconds between them
    "latency_ms": ("finished_s", "sent_s"),
    "wait_ms": ("started_s", "queued_s"),
    "service_ms": ("finished_s", "started_s"),
    "network_ms": ("queued_s", "sent_s"),
}
SERVED = ("completed", "failed")


@dataclass
class Validation:
    """The comparison of one simulated and one live run of a scenario."""

    rows: list[dict[str, Any]]
    routing_agreement: float | None  # share of requests both runs sent to the same zone
    meta: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "routing_agreement": self.routing_agreement, **self.meta}

    def misses(self) -> list[dict[str, Any]]:
        """The rows with a goal that the simulation misses."""
        return [r for r in self.rows if r["met"] is False]


def compare_requests(
    sim: pd.DataFrame,
    live: pd.DataFrame,
    *,
    capacity: Mapping[str, int],
    duration_s: float,
    n_resamples: int = 999,
    seed: int = 0,
) -> Validation:
    """Compare two request tables of the same arrivals (see the module's note). When both hold
    the same request ids (a validation: the same arrivals, simulated and live), the interval
    resamples *requests*, each with its simulated and its live figures (a paired bootstrap):
    what varies is which requests were sent, not two independent samples."""
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(
            f"compare_requests: duration_s must be a positive number, got {duration_s}"
        )
    paired = (
        len(sim) == len(live)
        and sim["id"].is_unique
        and live["id"].is_unique
        and set(sim["id"]) == set(live["id"])
    )
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for zone in ["all", *capacity]:
        s = sim if zone == "all" else sim[sim["zone"] == zone]
        lv = live if zone == "all" else live[live["zone"] == zone]
        for metric, (values, statistic) in _metrics(zone, capacity, duration_s).items():
            a, b = values(s, sim), values(lv, live)
            if paired:
                ids = a.index.union(b.index)
                a, b = a.reindex(ids), b.reindex(ids)
            rows.append(
                _row(
                    zone,
                    metric,
                    a.to_numpy(float),
                    b.to_numpy(float),
                    statistic,
                    paired,
                    n_resamples,
                    rng,
                )
            )
    return Validation(rows=rows, routing_agreement=_agreement(sim, live), meta={"paired": paired})


Values = Callable[[pd.DataFrame, pd.DataFrame], pd.Series]
Statistic = Callable[..., Any]


def _metrics(
    zone: str, capacity: Mapping[str, int], duration_s: float
) -> dict[str, tuple[Values, Statistic]]:
    """metric -> (its values per request id from (rows of the zone, all rows), the statistic
    of them, blind to NaN: a request without a value (not served) is left out)."""
    out: dict[str, tuple[Values, Statistic]] = {}
    for family, (later, earlier) in TIMES.items():
        values = _gaps(later, earlier)
        for name, q in PERCENTILES.items():
            out[f"{family}.{name}"] = (values, _percentile(q))
        out[f"{family}.mean"] = (values, np.nanmean)
    out["drop_rate"] = (_dropped, np.nanmean)
    cap = sum(capacity.values()) if zone == "all" else capacity[zone]
    out["utilisation"] = (
        _busy(duration_s),
        lambda x, axis=-1: np.nansum(x, axis) / (cap * duration_s),
    )
    if zone != "all":
        out["share"] = (lambda rows, every: _by_id(every, every["zone"] == zone), np.nanmean)
    return out


def _by_id(rows: pd.DataFrame, values: Any) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=rows["id"].to_numpy())


def _gaps(later: str, earlier: str) -> Values:
    def values(rows: pd.DataFrame, every: pd.DataFrame) -> pd.Series:
        served = rows[rows["outcome"].isin(SERVED)]
        gap = _by_id(served, (served[later] - served[earlier]).to_numpy(float) * 1000.0)
        return gap[np.isfinite(gap)]

    return values


def _dropped(rows: pd.DataFrame, every: pd.DataFrame) -> pd.Series:
    """Per request, 1 if dropped: over all requests, or over those routed to the zone."""
    return _by_id(rows, rows["outcome"] == "dropped")


def _busy(duration_s: float) -> Values:
    """Per served request, the seconds of its service inside ``[0, duration_s]``."""

    def values(rows: pd.DataFrame, every: pd.DataFrame) -> pd.Series:
        start = rows["started_s"].to_numpy(float)
        end = rows["finished_s"].to_numpy(float)
        ok = np.isfinite(start) & np.isfinite(end)
        busy = np.clip(np.minimum(end[ok], duration_s) - np.maximum(start[ok], 0.0), 0.0, None)
        return _by_id(rows[ok], busy)

    return values


def _percentile(q: float) -> Statistic:
    def statistic(x: np.ndarray, axis: int = -1) -> Any:
        return np.nanpercentile(x, q, axis=axis)

    return statistic


def _row(
    zone: str,
    metric: str,
    sim_values: np.ndarray,
    live_values: np.ndarray,
    statistic: Statistic,
    paired: bool,
    n_resamples: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    n_sim = int(np.isfinite(sim_values).sum())
    n_live = int(np.isfinite(live_values).sum())
    with np.errstate(all="ignore"):
        sim = float(statistic(sim_values)) if n_sim else None
        live = float(statistic(live_values)) if n_live else None
    rel = abs_error = None
    if sim is not None and live is not None:
        abs_error = sim - live
        rel = abs_error / live if live != 0 else None
    ci = None
    if rel is not None and min(n_sim, n_live) >= MIN_SAMPLES:
        ci = _bootstrap_ci(sim_values, live_values, statistic, paired, n_resamples, rng)
    goal = GOALS.get(metric) if zone == "all" or metric in GOALS else None
    met = None
    if goal is not None:
        err = rel if goal[1] == "rel" else abs_error
        met = None if err is None else bool(abs(err) <= goal[0])
    return {
        "zone": zone,
        "metric": metric,
        "sim": sim,
        "live": live,
        "rel_error": rel,
        "abs_error": abs_error,
        "ci": ci,
        "goal": None if goal is None else {"within": goal[0], "as": goal[1]},
        "met": met,
    }


def _bootstrap_ci(
    sim: np.ndarray,
    live: np.ndarray,
    statistic: Statistic,
    paired: bool,
    n: int,
    rng: np.random.Generator,
) -> list[float] | None:
    def rel_error(a: np.ndarray, b: np.ndarray, axis: int = -1) -> Any:
        base = statistic(b, axis=axis)
        return (statistic(a, axis=axis) - base) / base

    if not paired:  # two samples: each resampled from its own values
        sim, live = sim[np.isfinite(sim)], live[np.isfinite(live)]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN resample: a NaN statistic
        res = stats.bootstrap(
            (sim, live),
            rel_error,
            n_resamples=n,
            paired=paired,
            vectorized=True,
            method="percentile",
            random_state=rng,
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return [lo, hi] if np.isfinite(lo) and np.isfinite(hi) else None


def _agreement(sim: pd.DataFrame, live: pd.DataFrame) -> float | None:
    """Share of the requests present in both tables (by id) that went to the same zone."""
    both = sim[["id", "zone"]].merge(live[["id", "zone"]], on="id", suffixes=("_sim", "_live"))
    both = both[(both["zone_sim"] != "") & (both["zone_live"] != "")]
    if both.empty:
        return None
    return float((both["zone_sim"] == both["zone_live"]).mean())


def busy_share(rows: pd.DataFrame, capacity: int, duration_s: float) -> float:
    """Server-seconds of service inside ``[0, duration_s]`` over ``capacity * duration_s``: the
    fleet's utilisation, from a request table."""
    return float(_busy(duration_s)(rows, rows).sum() / (capacity * duration_s))


def rate_scale_for_load(
    run: Callable[[float], tuple[pd.DataFrame, float]],
    capacity: int,
    load: float,
    *,
    rounds: int = 3,
) -> float:
    """The ``rate_scale`` at which the fleet's utilisation is ``load`` (0.8 = 80% of its servers
    busy over the run). ``run(scale)`` simulates at a scale and returns its request table and
    duration. Utilisation grows linearly with the rate until queues drop requests, so each
    round rescales by ``load / measured`` (three rounds land within a percent or two)."""
    if not (np.isfinite(load) and 0 < load < 1.5):
        raise ValueError(f"load must be a share of capacity in (0, 1.5), got {load}")
    scale = 1.0
    for _ in range(rounds):
        rows, duration_s = run(scale)
        measured = busy_share(rows, capacity, duration_s)
        if measured <= 0:
            raise ValueError("rate_scale_for_load: the scenario keeps no server busy")
        scale *= load / measured
    return scale
