"""``policy.timeout`` in the arena runs on simulated time: an attempt's sampled service time counts
toward it, so a capability slower than its timeout times out, and retries and fallbacks apply."""

from __future__ import annotations

import numpy as np
from arena_fixtures import base_data
from fakes import BagOfWordsEmbedder

from arena.model import ArenaModel
from arena.scenario import parse_scenario


def run(data):
    model = ArenaModel(parse_scenario(data, file="unit.yaml"), embedder=BagOfWordsEmbedder())
    model.run()
    return model, model.summary().to_dict()


def served_by_zone(model, zone):
    z = model.zone_names.index(zone)
    sel = (model.ledger.zone == z) & (model.ledger.outcome > 0)
    return sel, (model.ledger.end - model.ledger.start)[sel]


def test_a_service_slower_than_the_timeout_times_out_and_fails():
    data = base_data(steps=10)
    data["capabilities"][0]["service_time"] = 5
    data["capabilities"][0]["policy"] = {"timeout": 3}
    model, s = run(data)
    bank = s["resilience"]["bank"]
    sel, busy = served_by_zone(model, "bank")
    assert sel.sum() > 0 and bank["timeouts"] == sel.sum()
    assert (model.ledger.outcome[sel] == 3).all()  # failed, not "ok"
    assert np.allclose(busy, 3)  # the caller stopped waiting at the timeout
    assert s["resilience"]["travel"].get("timeouts", 0) == 0


def test_a_service_within_the_timeout_is_ok():
    data = base_data(steps=10)
    data["capabilities"][0]["service_time"] = 3
    data["capabilities"][0]["policy"] = {"timeout": 3}
    model, s = run(data)
    sel, busy = served_by_zone(model, "bank")
    assert s["resilience"]["bank"]["timeouts"] == 0
    assert (model.ledger.outcome[sel] == 1).all() and np.allclose(busy, 3)


def test_retries_and_the_fallback_apply_to_a_timeout_and_take_simulated_time():
    data = base_data(steps=10)
    data["capabilities"][0]["service_time"] = 5
    data["capabilities"][0]["policy"] = {
        "timeout": 3,
        "retry": {"attempts": 2, "backoff": 1, "jitter": 0},
        "fallback": "bank_quick",
    }
    data["capabilities"].append(
        {"name": "bank_quick", "intent": "zzz", "labels": ["bq"], "service_time": 1}
    )
    data["zones"][0]["capabilities"].append("bank_quick")
    model, s = run(data)
    bank = s["resilience"]["bank"]
    desk = model.capability_names.index("bank_desk")
    sel = (model.ledger.capability == desk) & (model.ledger.outcome > 0)
    n = int(sel.sum())
    assert n > 0
    assert bank["timeouts"] == 2 * n and bank["retries"] == n and bank["fallbacks"] == n
    assert (model.ledger.outcome[sel] == 2).all()  # degraded: the fallback answered
    busy = (model.ledger.end - model.ledger.start)[sel]
    assert np.allclose(busy, 3 + 1 + 3 + 1)  # attempt, backoff, attempt, the fallback's service


def test_timeouts_on_geometric_service_times_match_the_distribution():
    data = base_data(steps=60)
    data["arrivals"]["rate"] = 1
    data["zones"][0]["capacity"] = 50
    data["capabilities"][0]["service_time"] = {"distribution": "geometric", "mean": 4}
    data["capabilities"][0]["policy"] = {"timeout": 4}
    model, _ = run(data)
    sel, busy = served_by_zone(model, "bank")
    timed_out = model.ledger.outcome[sel] == 3
    # P(geometric(1/4) > 4) = (3/4)**4 ≈ 0.32
    assert 0.1 < timed_out.mean() < 0.6
    assert np.allclose(busy[timed_out], 4) and (busy[~timed_out] <= 4 + 1e-9).all()
