"""Scenario overlays: a partial scenario document deep-merged over a file before validation."""

from __future__ import annotations

import pytest
import yaml
from arena_fixtures import base_data
from hypothesis import given
from hypothesis import strategies as st

from arena.errors import ScenarioError
from arena.scenario import load_scenario, merge_overlay, read_overlay, write_overlay


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "unit.yaml"
    path.write_text(yaml.safe_dump(base_data(physics={"temperature": 0.2, "repulsion": 2.0})))
    return path


def overlay(tmp_path, data, name="best.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_mappings_merge_key_by_key_and_lists_are_replaced():
    base = {"physics": {"temperature": 0.2, "repulsion": 2.0}, "zones": [1, 2, 3], "seed": 1}
    over = {"physics": {"temperature": 0.05}, "zones": [9]}
    merged = merge_overlay(base, over)
    assert merged == {"physics": {"temperature": 0.05, "repulsion": 2.0}, "zones": [9], "seed": 1}
    assert base["physics"]["temperature"] == 0.2  # inputs untouched
    assert merge_overlay({"a": 1}, {"a": {"b": 2}}) == {
        "a": {"b": 2}
    }  # a mapping replaces a scalar


plain = st.recursive(
    st.one_of(st.integers(), st.text(max_size=4), st.booleans()),
    lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.text(max_size=3), c, max_size=3)
    ),
    max_leaves=10,
)
docs = st.dictionaries(st.text(max_size=3), plain, max_size=4)


@given(docs, docs)
def test_merge_properties(base, over):
    merged = merge_overlay(base, over)
    assert set(merged) == set(base) | set(over)
    for k, v in over.items():  # every overlay leaf wins
        if not (isinstance(v, dict) and isinstance(base.get(k), dict)):
            assert merged[k] == v
    for k in set(base) - set(over):  # what the overlay does not mention is kept
        assert merged[k] == base[k]
    assert merge_overlay(merged, over) == merged  # applying it twice changes nothing more
    assert merge_overlay(base, {}) == base


def test_load_scenario_applies_overlays_in_order_then_overrides(tmp_path, scenario_file):
    a = overlay(tmp_path, {"physics": {"temperature": 0.05, "candidates": 2}}, "a.yaml")
    b = overlay(tmp_path, {"physics": {"temperature": 0.07}, "steps": 12}, "b.yaml")
    sc = load_scenario(scenario_file, overlays=[a, b])
    assert (sc.physics.temperature, sc.physics.candidates, sc.physics.repulsion) == (0.07, 2, 2.0)
    assert sc.duration == 12  # the old steps: N is N seconds
    sc = load_scenario(scenario_file, overlays=[a, b], overrides=["physics.temperature=0.3"])
    assert sc.physics.temperature == 0.3
    assert load_scenario(scenario_file).physics.temperature == 0.2  # the file is unchanged


def test_a_mistake_in_an_overlay_is_reported_against_the_overlay(tmp_path, scenario_file):
    bad = overlay(tmp_path, {"physics": {"temperature": -1.0}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file, overlays=[bad])
    assert str(info.value).startswith(f"{bad}: physics.temperature: ")
    typo = overlay(tmp_path, {"physics": {"temprature": 0.1}}, "typo.yaml")
    with pytest.raises(ScenarioError, match=r"typo\.yaml: physics\.temprature: unknown key"):
        load_scenario(scenario_file, overlays=[typo])
    zones = overlay(tmp_path, {"zones": [{"name": "x", "capacity": -3}]}, "zones.yaml")
    with pytest.raises(ScenarioError, match=r"zones\.yaml: zones\[0\]"):
        load_scenario(scenario_file, overlays=[zones])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("physics: [1, 2", "not valid YAML"),
        ("", "the file is empty"),
        ("{}", "non-empty mapping"),
        ("- physics", "non-empty mapping"),
        ("0.05", "non-empty mapping"),
    ],
)
def test_unreadable_overlays_get_one_line_errors(tmp_path, scenario_file, content, problem):
    path = overlay(tmp_path, content, "o.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file, overlays=[path])
    assert info.value.file == str(path) and problem in info.value.problem
    assert "\n" not in str(info.value)
    with pytest.raises(ScenarioError, match="overlay file not found"):
        read_overlay(tmp_path / "missing.yaml")


def test_written_overlays_read_back_exactly(tmp_path, scenario_file):
    import numpy as np

    values = {"temperature": 0.1036779294, "candidates": np.int64(2), "falloff": np.float64(1 / 3)}
    path = write_overlay(tmp_path / "out" / "best.yaml", {"physics": values}, "tuned\non val")
    text = path.read_text()
    assert text.startswith("# tuned\n# on val\n")
    assert read_overlay(path) == {
        "physics": {k: v.item() if hasattr(v, "item") else v for k, v in values.items()}
    }
    assert not list((tmp_path / "out").glob("*.tmp"))
    sc = load_scenario(scenario_file, overlays=[path])
    assert sc.physics.falloff == 1 / 3 and sc.physics.candidates == 2


def test_sweep_takes_overlays_like_its_own_overrides(tmp_path, scenario_file):
    from arena.analysis.sweep import sweep

    fake = "fakes:BagOfWordsEmbedder"
    faster = overlay(tmp_path, {"arrivals": {"rate": 6}})
    kw = {"embedder": fake, "progress": False}
    with_overlay = sweep(scenario_file, {"router": ["physics"]}, [1], overlays=[faster], **kw)
    overridden = sweep(scenario_file, {"arrivals.rate": [6]}, [1], **kw)
    plain = sweep(scenario_file, {"router": ["physics"]}, [1], **kw)
    assert with_overlay["arrived"].tolist() == overridden["arrived"].tolist()
    assert with_overlay["arrived"][0] > 2 * plain["arrived"][0]


def test_run_scenario_refuses_overlays_for_an_in_memory_scenario(scenario_file):
    from arena.analysis.runner import run_scenario

    with pytest.raises(ScenarioError, match="overlays apply to a scenario file"):
        run_scenario(load_scenario(scenario_file), overlays=["best.yaml"])
