"""Broken scenario files are refused before anything runs, naming the file and the field."""

from __future__ import annotations

import copy

import pytest
import yaml
from arena_fixtures import base_data

from arena.errors import ScenarioError
from arena.scenario import load_scenario


def _set(data, path, value):
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


DELETE = object()

# (mutation path, value, field the error must name, words the message must contain)
BROKEN = [
    ("zones.2.capacity", -3, "zones[2].capacity", ">= 1"),
    ("zones.0.capacity", "lots", "zones[0].capacity", "expected an integer"),
    ("zones.1.queue_limit", 2.5, "zones[1].queue_limit", "expected an integer"),
    ("zones.0.radius", 0, "zones[0].radius", "> 0"),
    ("zones.1.capabilities", ["bank_dsk"], "zones[1].capabilities[0]", "did you mean 'bank_desk'"),
    ("zones.0.colour", "red", "zones[0].colour", "unknown key"),
    ("zones.0.position", [50, 500], "zones[0].position[1]", "<= 100"),
    ("zones.0.name", DELETE, "zones[0].name", "required field is missing"),
    ("capabilities.0.service_time", 0, "capabilities[0].service_time", "above 0s"),
    (
        "capabilities.0.service_time",
        {"distribution": "gaussian", "mean": 2},
        "capabilities[0].service_time.distribution",
        "expected one of",
    ),
    ("capabilities.1.faults", {"failure_rate": 1.5}, "capabilities[1].faults.failure_rate", "<= 1"),
    ("capabilities.0.name", "bank desk", "capabilities[0].name", "identifier"),
    ("arrivals.rate", -1, "arrivals.rate", "at least 0/s"),
    ("arrivals.rate", "12 per second", "arrivals.rate", 'a rate like "12/s"'),
    ("arrivals.process", "bursty", "arrivals.process", "poisson, constant, mmpp, diurnal"),
    ("arrivals.schedule", [[0, 5], [10]], "arrivals.schedule[1]", "[time, rate]"),
    (
        "arrivals.source",
        {"file": "missing.json", "split": ["val"]},
        "arrivals.source.file",
        "file not found",
    ),
    ("physics.temperature", 0, "physics.temperature", ">= 0.0001"),
    ("physics.candidates", 2.5, "physics.candidates", "expected an integer"),
    ("physics.gravity", 1.0, "physics.gravity", "unknown key"),
    ("router", "telepathy", "router", "unknown router"),
    ("steps", 0, "steps", ">= 1"),
    ("space.width", -5, "space.width", "> 0"),
    ("attraction.kind", "learned", "attraction.kind", "needs an 'examples' source"),
    ("mystery", 1, "mystery", "unknown key"),
]


def write(tmp_path, data, name="broken.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("path", "value", "field", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_scenario_names_the_file_and_the_field(tmp_path, path, value, field, words):
    data = base_data()
    data.setdefault("physics", {})
    data.setdefault("attraction", {})
    _set(data, path, value if value is DELETE else copy.deepcopy(value))
    file = write(tmp_path, data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert err.file == str(file)
    assert err.field == field, str(err)
    assert words in str(err)
    assert str(err).startswith(f"{file}: {field}: ")


def test_the_valid_base_scenario_loads(tmp_path):
    sc = load_scenario(write(tmp_path, base_data()))
    assert [z.name for z in sc.zones] == ["bank", "travel", "kitchen"]


def test_missing_file_and_bad_yaml_are_scenario_errors(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


def test_a_capability_hosted_twice_or_by_no_zone_is_refused(tmp_path):
    data = base_data()
    data["zones"][1]["capabilities"] = ["bank_desk"]
    with pytest.raises(
        ScenarioError, match="already hosted at full quality by group 'bank'"
    ) as info:
        load_scenario(write(tmp_path, data))
    assert info.value.field == "zones[1].capabilities[0]"


def test_only_labels_defaults_to_the_labels_the_capabilities_list(tmp_path):
    """A source of many labels feeds a scenario serving some of them without repeating them in
    only_labels; a label listed there that maps to nothing is still refused, not dropped."""
    import json

    rows = {"val": [["send money", "bank"], ["sing me a song", "music"], ["pay rent", "bank"]]}
    (tmp_path / "data.json").write_text(json.dumps(rows))
    data = base_data()
    data["arrivals"] = {"rate": 1, "source": {"file": "data.json", "split": ["val"]}}
    got = load_scenario(write(tmp_path, data)).load_source()
    assert got.labels == ("bank", "bank") and got.texts == ("send money", "pay rent")
    data["arrivals"]["out_of_scope_labels"] = ["music"]  # now it arrives, as out-of-scope
    assert load_scenario(write(tmp_path, data)).load_source().labels == ("bank", "music", "bank")
    data["arrivals"] = {**data["arrivals"], "out_of_scope_labels": [], "only_labels": ["music"]}
    sc = load_scenario(write(tmp_path, data))
    with pytest.raises(ScenarioError, match=r"labels \['music'\] map to no capability") as info:
        sc.load_source()
    assert info.value.field == "arrivals.source"
    rows["val"] = [["sing me a song", "music"]]
    (tmp_path / "data.json").write_text(json.dumps(rows))
    del data["arrivals"]["only_labels"]
    with pytest.raises(ScenarioError, match="no row of the source has a label the capabilities"):
        load_scenario(write(tmp_path, data)).load_source()


def test_a_csv_source_with_a_missing_column_names_it(tmp_path):
    (tmp_path / "data.csv").write_text("utterance,intent\nsend money,bank\n")
    data = base_data()
    data["arrivals"] = {"rate": 1, "source": {"file": "data.csv", "text_column": "text"}}
    sc = load_scenario(write(tmp_path, data))
    with pytest.raises(ScenarioError, match="has no column 'text'") as info:
        sc.load_source()
    assert info.value.field == "arrivals.source.text_column"


def test_overrides_are_validated_like_the_file(tmp_path):
    file = write(tmp_path, base_data())
    sc = load_scenario(file, overrides=["physics.temperature=0.2", "zones.0.capacity=9"])
    assert sc.physics.temperature == 0.2 and sc.zones[0].capacity == 9
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, overrides=["physics.temperature=-1"])
    assert info.value.field == "physics.temperature"
    with pytest.raises(ScenarioError, match="must look like"):
        load_scenario(file, overrides=["physics.temperature"])
