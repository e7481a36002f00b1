"""Zone groups (replicas), per-zone capability quality, load_info and router_params in a scenario."""

from __future__ import annotations

import math

import pytest
from arena_fixtures import base_data
from hypothesis import given
from hypothesis import strategies as st

from arena.errors import ScenarioError
from arena.physics import LoadInfo
from arena.scenario import load_scenario, parse_scenario

ROOT_SCENARIOS = __import__("pathlib").Path(__file__).resolve().parents[3] / "scenarios"


def zones_from(**replicas_and_more) -> dict:
    data = base_data()
    del data["zones"]
    data["capabilities"] = []
    data["zones_from"] = {
        "groups": {"bank": ["balance", "transfer"], "travel": ["book_flight"]},
        "capacity": 4,
        **replicas_and_more,
    }
    return data


def test_replicas_expand_each_group_into_named_zones_of_one_group():
    sc = parse_scenario(
        zones_from(replicas=[{"capacity": 8, "ring": 0.45}, {"capacity": 2, "ring": 0.2}])
    )
    names = [z.name for z in sc.zones]
    assert names == ["bank", "bank_2", "travel", "travel_2"]
    assert [z.group_name for z in sc.zones] == ["bank", "bank", "travel", "travel"]
    assert [z.capacity for z in sc.zones] == [8, 2, 8, 2]
    assert sc.zones[0].capabilities == sc.zones[1].capabilities == ("balance", "transfer")
    assert [z.ring for z in sc.zones] == [0.45, 0.2, 0.45, 0.2]


@pytest.mark.parametrize(
    ("replicas", "field", "problem"),
    [
        ([], "zones_from.replicas", "non-empty list"),
        ([{"capacity": 0}], "zones_from.replicas[0].capacity", "must be >= 1"),
        ([{"ring": 0.9}], "zones_from.replicas[0].ring", "must be <= 0.5"),
        ([{"ring": float("nan")}], "zones_from.replicas[0].ring", ""),
        ([{"speed": 3}], "zones_from.replicas[0].speed", "unknown key"),
    ],
)
def test_bad_replicas_name_the_field(replicas, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(zones_from(replicas=replicas))
    assert info.value.field == field and problem in info.value.problem


def general_intake(**quality) -> dict:
    data = base_data()
    data["zones"][0]["capabilities"] = ["bank_desk", "travel_desk"]
    data["zones"][0]["quality"] = quality
    return data


def test_a_zone_may_host_anothers_capability_at_lower_quality():
    sc = parse_scenario(general_intake(travel_desk=0.6))
    assert sc.zones[0].quality_of("travel_desk") == 0.6
    assert sc.zones[0].quality_of("bank_desk") == 1.0


@pytest.mark.parametrize(
    ("quality", "field", "problem"),
    [
        ({}, "zones[1].capabilities[0]", "already hosted at full quality by group 'bank'"),
        ({"travel_desk": 0}, "zones[0].quality.travel_desk", "must be > 0"),
        ({"travel_desk": 1.5}, "zones[0].quality.travel_desk", "must be <= 1"),
        ({"travel_desk": "good"}, "zones[0].quality.travel_desk", "expected a number"),
        ({"kitchen_desk": 0.5}, "zones[0].quality.kitchen_desk", "does not host"),
    ],
)
def test_bad_quality_names_the_field(quality, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(general_intake(**quality), file="s.yaml")
    assert info.value.field == field and problem in info.value.problem
    assert str(info.value).startswith("s.yaml: ") and "\n" not in str(info.value)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5) | st.none())
def test_quality_accepts_only_numbers_in_the_unit_interval(value):
    """In (0, 1]; and 1 is refused here too, since the travel zone already hosts it at 1."""
    data = general_intake(travel_desk=value)
    ok = isinstance(value, float) and math.isfinite(value) and 0 < value < 1
    if ok:
        assert parse_scenario(data).zones[0].quality_of("travel_desk") == value
    else:
        with pytest.raises(ScenarioError):
            parse_scenario(data)


def test_load_info_is_read_and_checked():
    assert parse_scenario(base_data()).load_info == LoadInfo()
    sc = parse_scenario(base_data(load_info={"mode": "board", "period": 5}))
    assert sc.load_info == LoadInfo("board", period=5)
    sc = parse_scenario(base_data(load_info={"mode": "delayed", "delay": "250ms"}))
    assert sc.load_info == LoadInfo("delayed", delay=0.25)
    for bad, field in (
        ({"mode": "psychic"}, "load_info.mode"),
        ({"mode": "board", "period": 0}, "load_info.period"),
        ({"mode": "delayed", "delay": "-1.5s"}, "load_info.delay"),
        ({"mode": "delayed", "delay": "soon"}, "load_info.delay"),
        ({"lag": 2}, "load_info.lag"),
    ):
        with pytest.raises(ScenarioError) as info:
            parse_scenario(base_data(load_info=bad))
        assert info.value.field == field


def test_router_params_must_be_mappings():
    with pytest.raises(ScenarioError) as info:
        parse_scenario(base_data(router_params=[1]))
    assert info.value.field == "router_params"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(base_data(router_params={"power_of_d": 2}))
    assert info.value.field == "router_params.power_of_d"


@pytest.mark.parametrize("name", ["clinc150_replicated.yaml", "customer_support_general.yaml"])
def test_the_shipped_load_scenarios_load(name):
    sc = load_scenario(ROOT_SCENARIOS / name)
    assert sc.load_info.mode == "board" and sc.load_info.period == 5
    if name.startswith("clinc150"):
        groups = {z.group_name for z in sc.zones}
        assert len(groups) == 10 and len(sc.zones) == 30
        assert len({z.capacity for z in sc.zones}) == 3  # unequal replicas
    else:
        intake = sc.zones[0]
        assert len(intake.capabilities) == 3 and intake.quality_of("fix_technical_problem") < 1


@pytest.mark.parametrize(("mode", "key"), [("board", "period"), ("delayed", "delay")])
def test_a_stale_load_info_mode_needs_its_staleness_stated(mode, key):
    """`{mode: board}` alone used to be `instant` in disguise (period 1): now it is refused."""
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base_data(load_info={"mode": mode}))
    assert err.value.field == f"load_info.{key}" and "would be mode 'instant'" in err.value.problem
