"""Hostile scenario and data files (issue #14): each case is refused with one ScenarioError line
naming the file and the field — never a traceback, a hang, memory exhaustion or a silent run."""

from __future__ import annotations

import json
import os
import threading

import pytest
import yaml
from arena_fixtures import base_data

from arena.errors import PhysicsError, ScenarioError
from arena.physics import Physics
from arena.scenario import MAX_DEPTH, load_scenario, parse_scenario


def _set(data, path, value):
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def refused(path, field=None, words=""):
    with pytest.raises(ScenarioError) as info:
        sc = load_scenario(path)
        sc.load_source()
    err = info.value
    assert err.file == str(path)
    if field is not None:
        assert err.field == field, str(err)
    assert words in str(err), str(err)
    assert "\n" not in str(err)
    return err


# (path, value, field, words): NaN, inf, huge and bool values in every section
NUMBERS = [
    ("arrivals.rate", float("nan"), "arrivals.rate", "finite"),
    ("arrivals.rate", float("inf"), "arrivals.rate", "finite"),
    ("arrivals.rate", 1e9, "arrivals.rate", "at most 1e+06/s"),
    ("arrivals.schedule", [[0, float("nan")]], "arrivals.schedule[0][1]", "finite"),
    ("arrivals.schedule", [[10**12, 1]], "arrivals.schedule[0][0]", "at most 30d"),
    ("arrivals.schedule", [["1e400s", 1]], "arrivals.schedule[0][0]", "finite"),
    ("arrivals.schedule", [["-5ms", 1]], "arrivals.schedule[0][0]", "at least 0"),
    ("zones.0.capacity", 10**30, "zones[0].capacity", "<= 1e+06"),
    ("zones.0.capacity", True, "zones[0].capacity", "expected an integer"),
    ("zones.0.queue_limit", 10**7, "zones[0].queue_limit", "<= 1e+06"),
    ("zones.0.radius", 1e30, "zones[0].radius", "<= 1e+06"),
    ("zones.0.radius", float("nan"), "zones[0].radius", "finite"),
    ("zones.0.position", [float("nan"), 5], "zones[0].position[0]", "finite"),
    ("capabilities.0.faults", {"failure_rate": float("nan")}, None, "finite"),
    ("capabilities.0.faults", {"extra_steps": 10**12}, None, "at most 30d"),
    ("capabilities.0.faults", {"extra": "nan s"}, None, "duration"),
    ("capabilities.0.service_time", float("inf"), "capabilities[0].service_time", "finite"),
    ("capabilities.0.service_time", {"distribution": "exponential", "mean": 1e12}, None, "at most"),
    ("capabilities.0.service_time", "-3ms", "capabilities[0].service_time", "at least 0s"),
    ("capabilities.0.policy", {"timeout": float("nan")}, None, "finite"),
    ("capabilities.0.policy", {"retry": 10**9}, "capabilities[0].policy.retry", "<= 100"),
    ("capabilities.0.policy", {"retry": {"backoff": float("inf")}}, None, "finite"),
    ("capabilities.0.policy", {"breaker": {"reset_timeout": 1e300}}, None, "<= 1e+07"),
    ("physics.temperature", float("nan"), "physics.temperature", "finite"),
    ("physics.damping", float("-inf"), "physics.damping", "finite"),
    ("physics.max_flight_steps", 10**40, "physics.max_flight_steps", "<= 100000"),
    ("attraction.epochs", 10**9, "attraction.epochs", "<= 10000"),
    ("attraction.learning_rate", float("nan"), "attraction.learning_rate", "finite"),
    ("attraction.momentum", float("nan"), "attraction.momentum", "finite"),
    ("steps", 10**12, "steps", "<= 1e+07"),
    ("seed", 10**30, "seed", "<= 9.22337e+18"),
    ("space.width", float("inf"), "space.width", "finite"),
    ("space.height", 1e30, "space.height", "<= 1e+06"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), NUMBERS, ids=[n[0] for n in NUMBERS])
def test_non_finite_huge_and_bool_numbers_are_refused_with_their_bound(
    tmp_path, path, value, field, words
):
    data = base_data()
    _set(data, path, value)
    err = refused(write(tmp_path, data), field, words)
    assert err.field.startswith(path.split(".")[0])


def test_physics_itself_refuses_nan_with_a_packetflow_error():
    with pytest.raises(PhysicsError, match=r"physics\.temperature"):
        Physics(temperature=float("nan"))
    with pytest.raises(ValueError):  # still a ValueError for callers that catch that
        Physics(noise=float("inf"))


def test_a_5000_digit_integer_is_refused_while_parsing(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_data()).replace("seed: 3", "seed: " + "9" * 5000))
    err = refused(path, "seed", "must be <= 9.22337e+18, got an integer of 5000 digits")
    assert len(str(err)) < 400


def test_1e300_in_a_file_is_a_number_refused_by_its_bound(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_data()).replace("rate: 2", "rate: 1e300"))
    refused(path, "arrivals.rate", "must be at most 1e+06/s, got 1e+300/s")


def test_duplicate_yaml_keys_are_refused_not_last_wins(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_data()) + "steps: 40\n")
    refused(path, None, "duplicate key 'steps'")


def test_deep_nesting_is_refused_before_pyyaml_recurses(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("description: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(path, None, f"nested deeper than {MAX_DEPTH} levels")
    path.write_text("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000)))
    refused(path, None, "nested deeper")


def test_a_non_utf8_scenario_names_the_file_and_the_byte(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(yaml.safe_dump(base_data()).encode() + b"# caf\xe9\n")
    refused(path, None, "not UTF-8 text (byte 0xe9")


def test_an_oversized_scenario_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "s.yaml"
    with open(path, "w") as fh:
        fh.write("description: '")
        fh.write("x" * (11 * 1024 * 1024))
        fh.write("'\n")
    refused(path, None, "larger than the 10 MB limit")


def test_directories_devices_and_fifos_are_refused_at_once(tmp_path):
    refused_dir = tmp_path / "d.yaml"
    refused_dir.mkdir()
    refused(refused_dir, None, "is a directory")
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario("/dev/zero")
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    result: list = []
    t = threading.Thread(target=lambda: result.append(_catch(fifo)), daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "reading a FIFO hung"
    assert "not a regular file" in result[0]


def _catch(path):
    try:
        load_scenario(path)
    except ScenarioError as exc:
        return str(exc)
    return "accepted"


def test_intent_templates_with_format_errors_are_refused(tmp_path):
    for bad in ("{label", "{nope}", "{label!r}", "{label:>999999999}", "{label.upper}", "{}"):
        data = base_data()
        data["zones_from"] = {"groups": {"g": ["a_b"]}, "capability": {"intent": bad}}
        refused(write(tmp_path, data), "zones_from.capability.intent")
    data["zones_from"]["capability"]["intent"] = "{{literal}} {label} in {zone}"
    sc = load_scenario(write(tmp_path, data))
    assert "{literal} a b in g" in [c.intent for c in sc.capabilities]


def test_a_fallback_naming_an_unknown_capability_is_refused_at_load(tmp_path):
    data = base_data()
    data["capabilities"][0]["policy"] = {"fallback": "bank_dask"}
    err = refused(write(tmp_path, data), "capabilities[0].policy.fallback")
    assert "did you mean 'bank_desk'" in str(err)


def _source(tmp_path, content, name="data.json", **extra):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    data = base_data()
    data["arrivals"] = {"rate": 1, "source": {"file": name, **extra}}
    return write(tmp_path, data)


def test_out_of_scope_and_only_labels_absent_from_the_data_are_refused(tmp_path):
    rows = {"val": [["send money", "bank"]]}
    path = _source(tmp_path, rows, split=["val"])
    raw = yaml.safe_load(path.read_text())
    raw["arrivals"]["out_of_scope_labels"] = ["oos"]
    path.write_text(yaml.safe_dump(raw))
    refused(path, "arrivals.out_of_scope_labels", "'oos' is in no row")
    raw["arrivals"]["out_of_scope_labels"] = []
    raw["arrivals"]["only_labels"] = ["bank", "bnak"]
    path.write_text(yaml.safe_dump(raw))
    refused(path, "arrivals.only_labels", "'bnak'")


@pytest.mark.parametrize(
    ("content", "extra", "field", "words"),
    [
        ({"val": {"a": 1}}, {"split": ["val"]}, "arrivals.source.split", "must be a list"),
        ({"val": "text"}, {"split": ["val"]}, "arrivals.source.split", "must be a list"),
        ({"val": [["a", "b", "c"]]}, {"split": ["val"]}, "arrivals.source.file", "row val[0]"),
        ({"val": [["a", {"x": 1}]]}, {"split": ["val"]}, "arrivals.source.file", "row val[0]"),
        (b'{"val": [["caf\xe9", "bank"]]}', {"split": ["val"]}, "arrivals.source.file", "UTF-8"),
        ("[" * 100000 + "]" * 100000, {}, "arrivals.source.file", "nested too deeply"),
    ],
    ids=["split-dict", "split-str", "row-3", "row-label-dict", "latin1", "deep"],
)
def test_json_datasets_of_the_wrong_shape_are_refused(tmp_path, content, extra, field, words):
    refused(_source(tmp_path, content, **extra), field, words)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('text,label\n"send money,bank\nbook a flight,travel\n', "not valid CSV"),
        ("text,label\nsend money,bank,extra\n", "line 2"),
        ("text,label\nsend money\n", "line 2"),
        ("text,label\n" + "x" * 200000 + ",bank\n", "not valid CSV"),
    ],
    ids=["unterminated-quote", "extra-field", "missing-field", "huge-field"],
)
def test_broken_csv_is_refused_not_swallowed(tmp_path, content, words):
    refused(_source(tmp_path, content, name="data.csv"), "arrivals.source.file", words)


def test_a_zones_from_file_that_is_not_utf8_or_a_directory_is_refused(tmp_path):
    (tmp_path / "zones.json").write_bytes(b'{"g\xff": ["a"]}')
    data = base_data()
    data["zones_from"] = {"file": "zones.json"}
    refused(write(tmp_path, data), "zones_from.file", "UTF-8")
    (tmp_path / "zdir").mkdir()
    data["zones_from"] = {"file": "zdir"}
    refused(write(tmp_path, data), "zones_from.file", "is a directory")


def test_a_rate_and_duration_asking_for_billions_of_arrivals_is_refused_before_drawing():
    from fakes import BagOfWordsEmbedder

    from arena.model import ArenaModel

    data = base_data()
    data.pop("steps", None)
    data["duration"] = "30d"
    data["arrivals"]["rate"] = "100000/s"
    with pytest.raises(ScenarioError, match=r"arrivals.rate: ~2.59e\+11 arrivals.*at most 1e\+08"):
        ArenaModel(parse_scenario(data, file="s.yaml"), embedder=BagOfWordsEmbedder())
