"""Simulated zone outages (issue #21): the failure a live run injects with ``--kill ZONE@T``.
From T on routers no longer see the zone and nothing is admitted there; what it held at T is
dropped (``zone_down``); everything stays accounted for."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from arena_fixtures import base_data
from fakes import BagOfWordsEmbedder
from hypothesis import given, settings

from arena.errors import ScenarioError
from arena.model import DROP_REASONS, DROPPED, ArenaModel
from arena.scenario import parse_scenario

ZONE_DOWN = DROP_REASONS.index("zone_down")


def run(at: float, router: str = "jsq_top_k", steps: int = 40):
    data = base_data(steps=steps)
    data["arrivals"]["rate"] = 4
    for cap in data["capabilities"]:
        cap["service_time"] = {"distribution": "exponential", "mean": "3s"}
    data["outages"] = [{"zone": "bank", "at": at}]
    model = ArenaModel(
        parse_scenario(data, file="unit.yaml"), embedder=BagOfWordsEmbedder(), router=router
    )
    model.run()
    return model


@pytest.mark.parametrize("router", ["jsq_top_k", "physics", "semantic_argmax"])
def test_a_zone_that_goes_down_takes_nothing_after_and_drops_what_it_held(router):
    at = 12.5
    model = run(at, router)
    L = model.ledger
    bank = model.zone_names.index("bank")
    admitted_after = np.isfinite(L.start) & (L.zone == bank) & (L.reach > at)
    assert not admitted_after.any()
    assert not ((L.zone == bank) & (L.end > at)).any()  # nothing served there past the outage
    down = (L.state == DROPPED) & (L.reason == ZONE_DOWN)
    assert down.any() and (L.zone[down] == bank).all() and np.allclose(L.reach[down], at)
    served_before = np.isfinite(L.end) & (L.zone == bank)
    assert served_before.any() and (L.end[served_before] <= at).all()
    s = model.summary()
    assert s.lost == 0 and s.drained
    assert s.dropped_by_reason["zone_down"] == int(down.sum())
    assert s.arrived == s.completed + s.dropped
    assert model.down[bank] and bank not in model.routable_zones.tolist()


@settings(max_examples=15, deadline=None)
@given(at=st.floats(0.0, 30.0, allow_nan=False))
def test_an_outage_at_any_time_keeps_every_request_accounted_for(at):
    model = run(at, steps=30)  # conservation is checked every step by the model itself
    s = model.summary()
    assert s.lost == 0 and s.arrived == s.completed + s.dropped


@pytest.mark.parametrize(
    ("outages", "field"),
    [
        ([{"zone": "nowhere", "at": 3}], "outages[0].zone"),
        ([{"zone": "bank"}], "outages[0].at"),
        ([{"zone": "bank", "at": "soon"}], "outages[0].at"),
        ([{"zone": "bank", "at": float("nan")}], "outages[0].at"),
        ([{"zone": "bank", "at": 1}, {"zone": "bank", "at": 2}], "outages[1].zone"),
        ({"zone": "bank"}, "outages"),
        ([{"zone": "bank", "at": 1, "why": "x"}], "outages[0]"),
    ],
)
def test_a_bad_outage_is_one_line_naming_its_field(outages, field):
    data = base_data()
    data["outages"] = outages
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, file="unit.yaml")
    assert field in str(err.value) and "\n" not in str(err.value)
