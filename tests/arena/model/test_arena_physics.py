"""The routing physics does what it promises (fake embedder: instant, deterministic meaning)."""

from __future__ import annotations

import numpy as np
import pytest
from arena_fixtures import base_data, scenario, topic_of
from fakes import BagOfWordsEmbedder

from arena.model import COMPLETED, IN_SERVICE, QUEUED, ArenaModel
from arena.physics import Physics, SwarmArrays, Workspace, step_swarm


def make(sc=None, **kw) -> ArenaModel:
    return ArenaModel(sc if sc is not None else scenario(), embedder=BagOfWordsEmbedder(), **kw)


def served_zone_by_text(model: ArenaModel) -> dict[str, set[str]]:
    L = model.ledger
    out: dict[str, set[str]] = {}
    for t, z, s in zip(L.text.tolist(), L.zone.tolist(), L.state.tolist(), strict=True):
        if s in (IN_SERVICE, COMPLETED):
            out.setdefault(model.source_texts[t], set()).add(model.zone_names[z])
    return out


def test_step_swarm_moves_an_intent_toward_its_most_similar_zone():
    zone_xy = np.array([[10.0, 50.0], [90.0, 50.0]], dtype=np.float32)
    x, y = np.array([50.0], np.float32), np.array([50.0], np.float32)
    vx, vy = np.zeros(1, np.float32), np.zeros(1, np.float32)
    cand = np.array([[1], [0]], dtype=np.int16)  # candidate-major: zone 1 first
    csim = np.array([[0.8], [0.3]], dtype=np.float32)
    czx, czy = zone_xy[cand, 0], zone_xy[cand, 1]
    fav, d2 = step_swarm(
        SwarmArrays(x, y, vx, vy, cand, csim, czx, czy),
        np.zeros(2, np.float32),
        Physics(),
        work=Workspace(),
    )
    assert fav[0] == 1
    assert x[0] > 50.0 and abs(y[0] - 50.0) < 1e-4
    assert d2[0] == pytest.approx((90.0 - x[0]) ** 2, rel=1e-5)


def test_load_repels_intents_toward_the_free_zone():
    zone_xy = np.array([[10.0, 50.0], [90.0, 50.0]], dtype=np.float32)
    cand = np.array([[0], [1]], dtype=np.int16)
    csim = np.array([[0.52], [0.5]], dtype=np.float32)
    czx, czy = zone_xy[cand, 0], zone_xy[cand, 1]
    physics = Physics(temperature=0.05, repulsion=3.0)
    free = step_swarm(
        SwarmArrays(
            np.array([50.0], np.float32),
            np.array([50.0], np.float32),
            np.zeros(1, np.float32),
            np.zeros(1, np.float32),
            cand,
            csim,
            czx,
            czy,
        ),
        np.array([0.0, 0.0], np.float32),
        physics,
    )[0]
    x = np.array([50.0], np.float32)
    loaded = step_swarm(
        SwarmArrays(
            x,
            np.array([50.0], np.float32),
            np.zeros(1, np.float32),
            np.zeros(1, np.float32),
            cand,
            csim,
            czx,
            czy,
        ),
        np.array([1.0, 0.0], np.float32),
        physics,
    )[0]
    assert free[0] == 0 and loaded[0] == 1
    assert x[0] > 50.0  # pushed toward the unloaded zone on the right


def test_intent_most_similar_to_a_zone_ends_in_that_zone():
    model = make()
    model.run()
    served = served_zone_by_text(model)
    assert served, "nothing was served"
    for text, zones in served.items():
        assert zones == {topic_of(text)}, text
    assert len(served) == 9  # every distinct request was served somewhere


def test_a_full_zone_overflows_to_its_parallel_zone():
    data = base_data()
    # a second bank zone with room, hosting an equally relevant capability
    data["capabilities"].append(
        {
            "name": "bank_desk_two",
            "intent": "money account balance transfer",
            "labels": ["bank_two"],
            "service_time": 2,
        }
    )
    data["zones"][0]["capacity"] = 1
    data["zones"][0]["queue_limit"] = 0
    data["zones"].append(
        {"name": "bank_annex", "capacity": 20, "radius": 6, "capabilities": ["bank_desk_two"]}
    )
    bank_texts = [t for t in data["arrivals"]["texts"] if topic_of(t) == "bank"]
    data["arrivals"] = {"rate": 6, "texts": bank_texts, "repeat": True, "process": "constant"}
    data["steps"] = 20
    model = make(scenario_from(data), physics=Physics(repulsion=0.0))
    model.run()
    s = model.summary().to_dict()
    assert s["overflowed"] > 0
    assert s["dropped"] == 0
    zones = {model.zone_names[z] for z in model.ledger.zone.tolist()}
    assert zones == {"bank", "bank_annex"}


def scenario_from(data):
    from arena.scenario import parse_scenario

    return parse_scenario(data, file="unit.yaml")


@pytest.mark.parametrize(
    "router", ["physics", "random", "round_robin", "least_loaded", "semantic_argmax"]
)
def test_zones_never_exceed_capacity_and_queues_respect_their_limit(router):
    data = base_data(steps=40)
    data["arrivals"]["rate"] = 9  # overload: 3 zones x 5 slots / 2 steps = 7.5 per step
    model = make(scenario_from(data), router=router)
    for _ in range(60):
        model.step()
        assert (model.occupancy <= model.zone_capacity).all()
        assert (model.queue_length <= model.zone_queue_limit).all()
        assert (model.occupancy >= 0).all() and (model.queue_length >= 0).all()
    s = model.summary().to_dict()
    assert s["dropped_by_reason"]["queue_full"] > 0, "the test must actually overload the zones"
    assert s["lost"] == 0


def test_queued_intents_are_served_first_in_first_out():
    data = base_data(steps=10)
    for z in data["zones"]:
        z["capacity"] = 1
        z["queue_limit"] = 50
    data["arrivals"]["rate"] = 6
    model = make(scenario_from(data), router="semantic_argmax")
    model.run()
    L = model.ledger
    for zi in range(len(model.zones)):
        rows = np.flatnonzero((L.zone == zi) & (L.start >= 0))
        starts = L.start[rows]
        # within a zone, intents start service in arrival (row) order
        assert (np.diff(starts) >= 0).all()
    assert (L.state == QUEUED).sum() == 0


def test_temperature_to_zero_reproduces_semantic_argmax():
    sc = scenario()
    cold = make(sc, physics=Physics(temperature=1e-4, repulsion=0.0, falloff=0.0))
    argmax = make(sc, router="semantic_argmax")
    cold.run()
    argmax.run()
    by_text_cold = served_zone_by_text(cold)
    by_text_argmax = served_zone_by_text(argmax)
    assert by_text_cold == by_text_argmax
    assert all(zones == {topic_of(t)} for t, zones in by_text_cold.items())


def test_out_of_scope_intents_are_dropped_without_a_fallback_zone():
    data = base_data()
    data["arrivals"]["texts"].append("zebra quantum violin")  # shares no word with any zone
    data["physics"] = {"out_of_scope_threshold": 0.2}
    model = make(scenario_from(data))
    model.run()
    s = model.summary().to_dict()
    assert s["dropped_by_reason"]["out_of_scope"] > 0
    L = model.ledger
    oos_rows = [
        i for i, t in enumerate(L.text.tolist()) if model.source_texts[t] == "zebra quantum violin"
    ]
    assert oos_rows and all(L.state[i] == 4 for i in oos_rows)


def test_out_of_scope_intents_go_to_the_fallback_zone_when_there_is_one():
    data = base_data()
    data["arrivals"]["texts"].append("zebra quantum violin")
    data["capabilities"].append(
        {"name": "decline", "intent": "sorry we cannot help", "labels": ["oos"]}
    )
    data["zones"].append(
        {
            "name": "fallback",
            "capacity": 5,
            "radius": 6,
            "fallback": True,
            "capabilities": ["decline"],
        }
    )
    data["physics"] = {"out_of_scope_threshold": 0.2}
    for router in ("physics", "least_loaded"):
        model = make(scenario_from(data), router=router)
        model.run()
        served = served_zone_by_text(model)
        assert served["zebra quantum violin"] == {"fallback"}
        assert all("fallback" not in z for t, z in served.items() if t != "zebra quantum violin")


def test_in_flight_intents_that_never_arrive_expire_with_a_reason():
    model = make(physics=Physics(attraction=0.0, max_flight_steps=5))
    model.run(duration=12)
    s = model.summary().to_dict()
    assert s["completed"] == 0
    assert s["dropped_by_reason"]["expired"] > 0
    assert s["lost"] == 0


def test_a_failing_capability_is_a_failed_outcome_not_a_crash():
    data = base_data()
    data["capabilities"][0]["faults"] = {"failure_rate": 1.0}
    model = make(scenario_from(data))
    model.run()
    s = model.summary().to_dict()
    assert s["outcomes"]["failed"] > 0
    assert s["outcomes"]["failed"] == (model.ledger.capability == 0).sum()
    assert s["lost"] == 0


def test_spill_places_intents_anywhere_with_room_before_dropping():
    data = base_data(steps=20)
    data["zones"][0]["capacity"] = 1
    data["zones"][0]["queue_limit"] = 0
    bank = [t for t in data["arrivals"]["texts"] if topic_of(t) == "bank"]
    data["arrivals"] = {"rate": 4, "texts": bank, "repeat": True, "process": "constant"}
    strict = make(scenario_from(data))
    spilling = make(scenario_from(data), physics=Physics(spill_margin=2.0))
    strict.run()
    spilling.run()
    assert strict.summary().dropped_by_reason["queue_full"] > 0
    s = spilling.summary().to_dict()
    assert s["dropped"] == 0
    assert {spilling.zone_names[z] for z in spilling.ledger.zone.tolist()} > {"bank"}


def test_injected_faults_with_a_retry_policy_are_counted_per_zone():
    data = base_data(steps=15)
    data["capabilities"][0]["faults"] = {"failure_rate": 0.5}
    data["capabilities"][0]["policy"] = {"retry": {"attempts": 3, "backoff": 0.1}}
    data["capabilities"][1]["faults"] = {"failure_rate": 1.0}
    data["capabilities"].append({"name": "travel_backup", "intent": "backup desk", "labels": ["x"]})
    data["zones"][1]["capabilities"].append("travel_backup")
    data["capabilities"][1]["policy"] = {
        "fallback": "travel_backup",
        "breaker": {"failure_threshold": 2, "reset_timeout": 5},
    }
    model = make(scenario_from(data))
    model.run()
    s = model.summary().to_dict()
    res = s["resilience"]
    assert res["bank"]["retries"] > 0
    assert res["travel"]["fallbacks"] > 0 and res["travel"]["breaker_trips"] >= 1
    assert res["kitchen"].get("retries", 0) == 0
    # the travel desk always fails, but its fallback answers: degraded, never silently "ok"
    travel = model.zone_names.index("travel")
    served = (model.ledger.zone == travel) & (model.ledger.outcome > 0)
    assert served.any() and (model.ledger.outcome[served] == 2).all()
    assert s["outcomes"]["degraded"] == int(served.sum())


def test_the_numba_and_numpy_kernels_route_the_same_way():
    fast = make(kernel="numba")
    reference = make(kernel="numpy")
    fast.run()
    reference.run()
    assert served_zone_by_text(fast) == served_zone_by_text(reference)
    assert fast.summary().completed == reference.summary().completed
