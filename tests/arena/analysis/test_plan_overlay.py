"""A capacity plan's overlay round-trips for every scenario shape: explicit zones (by name),
generated zones (``zones_from``), replicas of either, and both at once — loaded exactly as
``packetflow-arena run SCENARIO --overlay overlay.yaml`` loads it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.analysis.planning import capacity_overlay, load_with_overlay
from arena.errors import ScenarioError
from arena.scenario import load_scenario


def scenario_data(explicit: list[int], generated: list[int], replicas: int) -> dict:
    """``explicit[i]`` replicas of hand-written zone ``i``; ``generated`` zones from ``zones_from``
    with ``replicas`` replicas each (0: no replicas list)."""
    data: dict = {"name": "shapes", "arrivals": {"rate": 1, "texts": ["x"]}, "router": "random"}
    if explicit:
        data["capabilities"] = [{"name": f"c{i}"} for i in range(len(explicit))]
        data["zones"] = [
            {
                "name": f"z{i}" if r == 0 else f"z{i}_r{r}",
                "capacity": 2,
                "capabilities": [f"c{i}"],
                **({"group": f"z{i}"} if r else {}),
            }
            for i, n in enumerate(explicit)
            for r in range(n)
        ]
    if generated:
        data["zones_from"] = {
            "groups": {f"g{i}": [f"label{i}"] for i in range(len(generated))},
            "capacity": 3,
        }
        if replicas:
            data["zones_from"]["replicas"] = [{"capacity": 4 + r} for r in range(replicas)]
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    explicit=st.lists(st.integers(1, 3), max_size=3),
    generated=st.lists(st.just(0), max_size=3),
    replicas=st.integers(0, 3),
    data=st.data(),
)
def test_a_plans_overlay_loads_through_run_overlay_and_reproduces_its_capacities(
    explicit, generated, replicas, data
):
    if not explicit and not generated:
        generated = [0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(yaml.safe_dump(scenario_data(explicit, generated, replicas)))
        sc = load_scenario(path)
        planned = data.draw(
            st.lists(st.integers(1, 500), min_size=len(sc.zones), max_size=len(sc.zones))
        )
        overlay = Path(tmp) / "overlay.yaml"
        overlay.write_text(yaml.safe_dump(capacity_overlay(sc, planned)))
        back = load_scenario(path, overlays=[overlay])  # what `run --overlay` does
        assert [z.name for z in back.zones] == [z.name for z in sc.zones]
        assert [z.capacity for z in back.zones] == planned
        assert load_with_overlay(path, overlay).zones == back.zones


def test_explicit_zones_are_addressed_by_name_and_a_wrong_name_is_named(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_data([1, 2], [], 0)))
    doc = capacity_overlay(load_scenario(path), [5, 6, 7])
    assert doc == {
        "zones": {"z0": {"capacity": 5}, "z1": {"capacity": 6}, "z1_r1": {"capacity": 7}}
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: {z2: {capacity: 3}}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, overlays=[bad])
    assert err.value.file == str(bad) and err.value.field == "zones.z2"
    assert "no item is called 'z2'" in err.value.problem


def test_a_generated_replica_is_sized_by_its_own_name(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_data([], [0], 3)))
    assert [z.capacity for z in load_scenario(path).zones] == [4, 5, 6]
    over = {"zones_from": {"capacity_overrides": {"g0": 9, "g0_3": 1}}}
    assert [z.capacity for z in load_with_overlay(path, over).zones] == [9, 5, 1]
