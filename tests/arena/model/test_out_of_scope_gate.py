"""The out-of-scope gate's setting and the summary's embedder name, on the unit scenario."""

from __future__ import annotations

import numpy as np
import pytest
from arena_fixtures import base_data, scenario
from fakes import BagOfWordsEmbedder

from arena.errors import ScenarioError
from arena.model import ArenaModel, format_summary
from arena.scenario import parse_scenario


def fallback_zone_data(**attraction):
    data = base_data()
    data["capabilities"].append({"name": "decline", "intent": "weather sports music"})
    data["zones"].append(
        {"name": "elsewhere", "fallback": True, "capacity": 5, "capabilities": ["decline"]}
    )
    data["attraction"] = attraction
    return data


def test_a_bad_score_name_is_one_line_naming_the_field():
    with pytest.raises(ScenarioError) as info:
        parse_scenario(fallback_zone_data(out_of_scope_score="energy"), file="s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: attraction.out_of_scope_score: expected one of")
    assert "'fallback_class'" in message and "\n" not in message


def test_the_learned_class_score_needs_a_learned_head():
    sc = parse_scenario(fallback_zone_data(out_of_scope_score="fallback_class"), file="s.yaml")
    with pytest.raises(
        ScenarioError, match=r"attraction\.out_of_scope_score: 'fallback_class' needs"
    ):
        ArenaModel(sc, embedder=BagOfWordsEmbedder())


def test_the_energy_mahalanobis_score_needs_a_learned_head():
    sc = parse_scenario(fallback_zone_data(out_of_scope_score="energy_mahalanobis"), file="s.yaml")
    with pytest.raises(
        ScenarioError, match=r"attraction\.out_of_scope_score: 'energy_mahalanobis' needs"
    ):
        ArenaModel(sc, embedder=BagOfWordsEmbedder())


def test_best_zone_gate_sends_what_no_routable_zone_attracts_to_the_fallback():
    sc = parse_scenario(fallback_zone_data(), file="s.yaml")
    sc = sc.replace(physics=sc.physics.replace(out_of_scope_threshold=0.35))
    model = ArenaModel(sc, embedder=BagOfWordsEmbedder())
    routable = model.text_zone_sim[:, model.routable_zones]
    np.testing.assert_allclose(model.text_in_scope, routable.max(axis=1))
    model.run(40)
    L = model.ledger
    arrived = L.fallback[: model.arrived]
    expect = model.text_in_scope[L.text[: model.arrived]] < 0.35
    assert expect.any() and not expect.all()  # the threshold splits this stream
    np.testing.assert_array_equal(arrived, expect)


def test_the_summary_says_which_embedder_ran():
    emb = BagOfWordsEmbedder(name="bag-of-words-for-this-test")
    model = ArenaModel(scenario(), embedder=emb)
    model.run(5)
    s = model.summary()
    assert s.embedder == "bag-of-words-for-this-test"
    assert s.to_dict()["embedder"] == "bag-of-words-for-this-test"
    assert "embedder bag-of-words-for-this-test" in format_summary(s).splitlines()[0]
