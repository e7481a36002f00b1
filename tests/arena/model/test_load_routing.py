"""Parallel zones, stale load information and plug-in routers inside the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from arena_fixtures import TOPICS, base_data, scenario
from fakes import BagOfWordsEmbedder

from arena.errors import RouterError, ScenarioError
from arena.model import ArenaModel
from arena.physics import plugins
from arena.scenario import Scenario, parse_scenario
from benchmarks.bench_load import homogeneous as homogeneous_run

FAKE = BagOfWordsEmbedder()


def make(sc, **kw) -> ArenaModel:
    return ArenaModel(sc, embedder=FAKE, **kw)


def homogeneous(period: int, router: str, seed: int) -> float:
    """Mean wait on 8 identical single-slot zones at 0.9 load, board refreshed every ``period``."""
    return homogeneous_run(period, router, seed, FAKE, zones=8, service=5, steps=1200)["mean"]


@pytest.mark.slow
def test_a_stale_board_makes_least_loaded_herd_while_power_of_two_holds():
    """Mitzenmacher's shape: fresh, least loaded is best; stale, it is worst — worse than
    power of two and than random — while power of two barely moves."""
    seeds = (1, 2)
    wait = {
        (r, t): np.mean([homogeneous(t, r, s) for s in seeds])
        for r in ("least_loaded", "power_of_d", "random")
        for t in (1, 25)
    }
    assert wait["least_loaded", 1] < wait["power_of_d", 1] < wait["random", 1]
    assert wait["least_loaded", 25] > 3 * wait["least_loaded", 1]  # herding
    assert wait["least_loaded", 25] > wait["random", 25]  # worse than no information at all
    assert wait["power_of_d", 25] < wait["least_loaded", 25] / 2  # two choices stay robust
    assert wait["power_of_d", 25] < wait["random", 25]


def labelled(tmp_path, data: dict, rate: float = 2) -> Scenario:
    """``data`` with its arrivals drawn from a labelled file of the topic samples."""
    rows = [[text, topic] for topic, (_, samples) in TOPICS.items() for text in samples]
    (tmp_path / "data.json").write_text(json.dumps({"val": rows * 10}))
    data = {**data, "arrivals": {"rate": rate, "source": {"file": "data.json", "split": ["val"]}}}
    return parse_scenario(data, file="unit.yaml", base_dir=tmp_path)


def replicated(**changes) -> dict:
    """The bank topic served by two replicas (group 'bank'), the others by one zone each."""
    data = base_data(**changes)
    data["zones"][0]["group"] = "bank"
    data["zones"].append(
        {
            "name": "bank_2",
            "group": "bank",
            "capacity": 5,
            "queue_limit": 5,
            "radius": 6,
            "capabilities": ["bank_desk"],
        }
    )
    return data


def test_replicas_count_as_the_right_zone_and_share_the_work(tmp_path):
    data = replicated(router="jsq_top_k", router_params={"jsq_top_k": {"top_k": 2, "margin": 0}})
    model = make(labelled(tmp_path, data, rate=6))
    model.run()
    s = model.summary()
    assert s.routing_accuracy == 1.0  # either replica is the bank's zone
    served = model.ledger.zone[model.ledger.state > 0]
    assert (served == 0).any() and (served == 3).any()  # both replicas served bank requests


@pytest.mark.parametrize("router", ["power_of_d", "jsq_top_k", "argmax_spill"])
def test_baselines_at_their_defaults_route_to_the_right_group_with_replicas(tmp_path, router):
    """No router_params: eligibility is the best zone's group, so a baseline routes as well as
    the most similar zone does and still uses both of the bank's replicas."""
    model = make(labelled(tmp_path, replicated(router=router), rate=6))
    model.run()
    argmax = make(labelled(tmp_path, replicated(router="semantic_argmax"), rate=6))
    argmax.run()
    assert model.summary().routing_accuracy == argmax.summary().routing_accuracy == 1.0
    if router != "argmax_spill":  # the spill fills the first replica before the second
        served = model.ledger.zone[model.ledger.state > 0]
        assert (served == 0).any() and (served == 3).any()


def test_the_physics_repulsion_reads_the_same_stale_board():
    """The load the physics step pushes against is the board's (posted every 10 steps), not the
    live load: the kernel is wrapped to record what it is given."""
    data = replicated(
        load_info={"mode": "board", "period": 10},
        physics={"repulsion": 5.0},
        arrivals={"rate": 6, "texts": ["send money to my account"], "repeat": True},
    )
    model = make(parse_scenario(data))
    seen: list[tuple[int, np.ndarray, np.ndarray]] = []
    kernel = model._step_kernel

    def recording(arrays, load, *args):
        seen.append((model.now, load.copy(), model.view.zone_load()))
        return kernel(arrays, load, *args)

    model._step_kernel = recording
    model.run(25)
    stale = [(t, load, live) for t, load, live in seen if not np.allclose(load, live)]
    assert stale, "the live load never differed from the board's"
    for t, load, _ in seen:  # within a period the physics sees one posting
        posted = [p for s, p, _ in seen if int(s // 10) == int(t // 10)]
        np.testing.assert_array_equal(load, posted[0])


def test_a_plugin_router_runs_beside_the_builtins_in_one_sweep(tmp_path):
    from arena.analysis.sweep import sweep

    sc = labelled(
        tmp_path,
        replicated(router_params={"plugin_routers:CapacityWeightedRandom": {"margin": 0.01}}),
    )
    routers = ["physics", "semantic_argmax", "power_of_d", "plugin_routers:CapacityWeightedRandom"]
    rows = sweep(
        sc, {"router": routers}, [1, 2], embedder="fakes:BagOfWordsEmbedder", progress=False
    )
    assert len(rows) == 8 and (rows["lost"] == 0).all()
    assert set(rows["router"]) == set(routers)  # a swept parameter keeps the value it was given
    plug = rows[rows["router"] == routers[-1]]
    assert (plug["routing_accuracy"] == 1.0).all()  # margin 0.01: only a topic's own replicas


def test_plugin_parameters_come_from_the_scenario_and_bad_ones_name_the_field():
    name = "plugin_routers:CapacityWeightedRandom"
    sc = scenario(router=name, router_params={name: {"margin": 0.5}})
    assert make(sc).router.margin == 0.5
    with pytest.raises(ScenarioError) as info:
        scenario(router=name, router_params={name: {"margin": -1}})
    assert info.value.field == f"router_params.{name}"
    assert "margin must be a number >= 0" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ScenarioError) as info:
        scenario(router="power_of_d", router_params={"power_of_d": {"dd": 2}})
    assert info.value.field == "router_params.power_of_d" and "dd" in str(info.value)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("no_such_module_xyz:Router", "cannot import module 'no_such_module_xyz'"),
        ("plugin_routers:Missing", "has no 'Missing'"),
        ("plugin_routers:NotARouter", "has no choose(view, sims) method"),
        ("plugin_routers:not_a_class", "is not a class"),
        ("warp_drive", "unknown router 'warp_drive'"),
    ],
)
def test_bad_router_paths_and_classes_are_one_line_errors_naming_the_field(name, problem):
    with pytest.raises(ScenarioError) as info:
        scenario(router=name)
    assert info.value.field == "router"
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_a_router_from_an_entry_point(monkeypatch):
    from importlib.metadata import EntryPoint

    ep = EntryPoint("weighted", "plugin_routers:CapacityWeightedRandom", plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [ep] if group == plugins.ENTRY_POINT_GROUP else []
    )
    model = make(scenario(router="weighted"))
    model.run()
    assert model.router.name == "capacity_weighted_random" and model.lost() == 0


def test_a_router_returning_nonsense_is_stopped_with_a_named_error():
    model = make(scenario(router="plugin_routers:ReturnsNonsense"))
    with pytest.raises(RouterError, match=r"router 'nonsense': choose\(\) must return"):
        model.run(5)


def test_served_well_counts_a_lower_quality_host_against(tmp_path):
    data = base_data(
        router="least_loaded",
        zones=[
            {
                "name": "general",
                "capacity": 50,
                "queue_limit": 5,
                "radius": 6,
                "capabilities": ["bank_desk", "travel_desk", "kitchen_desk"],
                "quality": {"travel_desk": 0.5, "kitchen_desk": 0.5},
            },
            {
                "name": "travel",
                "capacity": 1,
                "queue_limit": 0,
                "radius": 6,
                "capabilities": ["travel_desk"],
            },
            {
                "name": "kitchen",
                "capacity": 1,
                "queue_limit": 0,
                "radius": 6,
                "capabilities": ["kitchen_desk"],
            },
        ],
    )
    model = make(labelled(tmp_path, data, rate=3))
    model.run()
    s = model.summary()
    L = model.ledger
    served = L.state > 0  # in service or completed
    general = served & (L.zone == 0)
    # bank requests at the general zone are served at full quality; the others are not
    bank = model.label_names.index("bank")
    right_cap = L.capability == model.label_capability[L.label]
    well = served & right_cap & (~general | (L.label == bank))
    assert (general & (L.label != bank)).any()
    assert s.served_well == pytest.approx(well.sum() / len(L), abs=1e-6)
    assert s.served_well < s.capability_accuracy
    # semantic argmax sends travel and kitchen requests to their specialists (quality 1 > 0.5)
    argmax = make(labelled(tmp_path, {**data, "router": "semantic_argmax"}, rate=3))
    argmax.run()
    assert argmax.summary().served_well > s.served_well
