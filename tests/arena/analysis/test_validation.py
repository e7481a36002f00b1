"""Sim against live, metric by metric (issue #21): the comparison finds what differs, by how
much, with an interval that covers the difference it was given, and judges the goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arena.analysis.validation import compare_requests
from arena.model import REQUEST_COLUMNS


def table(n: int, seed: int, *, slow: float = 1.0, drop_every: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sent = np.sort(rng.uniform(0, 100, n))
    wait = rng.exponential(0.2, n)
    service = rng.lognormal(-1.5, 0.6, n) * slow
    zone = np.where(np.arange(n) % 3 == 0, "a", "b")
    outcome = np.full(n, "completed", dtype=object)
    if drop_every:
        outcome[::drop_every] = "dropped"
    rows = pd.DataFrame(
        {
            "id": np.arange(n),
            "zone": zone,
            "outcome": outcome,
            "reason": np.where(outcome == "dropped", "queue_full", ""),
            "sent_s": sent,
            "routed_s": sent,
            "queued_s": sent,
            "started_s": sent + wait,
            "finished_s": sent + wait + service,
        }
    )
    dropped = rows["outcome"] == "dropped"
    rows.loc[dropped, ["started_s", "finished_s"]] = np.nan
    for col in REQUEST_COLUMNS:
        if col not in rows:
            rows[col] = np.nan
    return rows[list(REQUEST_COLUMNS)]


CAPACITY = {"a": 2, "b": 4}


def row(v, zone, metric):
    (r,) = [r for r in v.rows if r["zone"] == zone and r["metric"] == metric]
    return r


def test_a_run_against_itself_has_no_error_and_meets_every_goal():
    t = table(3000, 1, drop_every=50)
    v = compare_requests(t, t.copy(), capacity=CAPACITY, duration_s=100.0)
    assert v.routing_agreement == 1.0
    assert {r["zone"] for r in v.rows} == {"all", "a", "b"}
    for r in v.rows:
        if r["rel_error"] is not None:
            assert r["rel_error"] == 0.0
    assert all(r["met"] for r in v.rows if r["met"] is not None) and not v.misses()
    assert row(v, "all", "drop_rate")["sim"] == pytest.approx(1 / 50, abs=1e-3)


def test_a_slower_live_service_is_found_with_an_interval_around_it():
    sim, live = table(4000, 1), table(4000, 2, slow=1.25)
    v = compare_requests(sim, live, capacity=CAPACITY, duration_s=100.0, n_resamples=499)
    r = row(v, "all", "service_ms.p50")
    assert r["rel_error"] == pytest.approx(1 / 1.25 - 1, abs=0.04)
    lo, hi = r["ci"]
    assert lo < r["rel_error"] < hi and hi < 0  # the interval excludes "no difference"
    util = row(v, "a", "utilisation")
    assert util["live"] > util["sim"] > 0
    assert row(v, "all", "latency_ms.p95")["met"] is False
    assert any(m["metric"] == "latency_ms.p95" for m in v.misses())


def test_drop_rate_is_judged_in_points_and_shares_sum_to_one():
    sim, live = table(2000, 3), table(2000, 3, drop_every=10)
    v = compare_requests(sim, live, capacity=CAPACITY, duration_s=100.0, n_resamples=199)
    drops = row(v, "all", "drop_rate")
    assert drops["abs_error"] == pytest.approx(-0.1, abs=1e-9) and drops["met"] is False
    assert drops["rel_error"] == pytest.approx(-1.0)
    assert sum(row(v, z, "share")["live"] for z in CAPACITY) == pytest.approx(1.0)


def test_a_few_values_get_a_figure_but_no_interval_and_bad_duration_is_refused():
    small = table(10, 4)
    v = compare_requests(small, small, capacity=CAPACITY, duration_s=10.0)
    assert all(r["ci"] is None for r in v.rows)
    with pytest.raises(ValueError, match="duration_s"):
        compare_requests(small, small, capacity=CAPACITY, duration_s=float("nan"))


def test_the_rate_scale_for_a_load_brings_the_simulated_fleet_to_that_utilisation():
    from arena_fixtures import base_data
    from fakes import BagOfWordsEmbedder

    from arena.analysis.validation import busy_share, rate_scale_for_load
    from arena.model import ArenaModel, ArenaView, requests_frame
    from arena.scenario import parse_scenario

    data = base_data(steps=400)
    for cap in data["capabilities"]:
        cap["service_time"] = {"distribution": "exponential", "mean": "2s"}
    for zone in data["zones"]:
        zone["queue_limit"] = 50
    scenario = parse_scenario(data, file="unit.yaml")
    capacity = sum(z.capacity for z in scenario.zones)

    def run(scale):
        model = ArenaModel(scenario, embedder=BagOfWordsEmbedder(), rate_scale=scale)
        model.run(scenario.duration)
        return requests_frame(ArenaView(model)), scenario.duration

    scale = rate_scale_for_load(run, capacity, 0.5)
    rows, duration = run(scale)
    assert busy_share(rows, capacity, duration) == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="load"):
        rate_scale_for_load(run, capacity, float("inf"))


def test_the_same_requests_are_compared_pairwise_so_a_small_shift_is_resolved():
    """Simulated and live runs of the same arrivals: resampling requests (with both their
    figures) resolves a 2% slowdown that two independent samples of 3,000 could not."""
    sim = table(3000, 5)
    live = sim.copy()
    live["finished_s"] = live["started_s"] + (live["finished_s"] - live["started_s"]) * 1.02
    v = compare_requests(sim, live, capacity=CAPACITY, duration_s=100.0, n_resamples=299)
    assert v.meta["paired"]
    lo, hi = row(v, "all", "service_ms.p50")["ci"]
    assert lo <= 1 / 1.02 - 1 <= hi and hi < 0  # the shift, and "no shift" excluded
    unpaired = compare_requests(
        sim, live.iloc[1:], capacity=CAPACITY, duration_s=100.0, n_resamples=299
    )
    assert not unpaired.meta["paired"]
    lo2, hi2 = row(unpaired, "all", "service_ms.p50")["ci"]
    assert lo2 < 0 < hi2 and hi2 - lo2 > 5 * (hi - lo)
