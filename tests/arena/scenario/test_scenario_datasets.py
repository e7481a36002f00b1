"""A new labelled dataset needs only a scenario file: CSV sources, inline groups, odd labels."""

from __future__ import annotations

import csv

import yaml
from fakes import BagOfWordsEmbedder

from arena.model import ArenaModel
from arena.scenario import load_scenario

ROWS = [
    ("what's my account balance", "balance?"),
    ("show the balance of my account", "balance?"),
    ("book me a flight to rome", "book-flight"),
    ("i need a flight to paris", "book-flight"),
    ("play some jazz music", "2 play music"),
    ("put on music please", "2 play music"),
]


def test_csv_dataset_with_inline_groups_and_unusual_labels(tmp_path):
    with open(tmp_path / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["utterance", "intent"])
        w.writerows(ROWS)
    scenario = {
        "name": "csv-intents",
        "steps": 10,
        "zones_from": {
            "groups": {"money": ["balance?"], "leisure": ["book-flight", "2 play music"]},
            "capacity": 4,
            "capability": {"intent": "{label} in {zone}", "service_time": 2},
        },
        "examples": {
            "source": {"file": "train.csv", "text_column": "utterance", "label_column": "intent"},
            "per_label": 5,
        },
        "arrivals": {
            "rate": 2,
            "repeat": True,
            "source": {"file": "train.csv", "text_column": "utterance", "label_column": "intent"},
        },
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    sc = load_scenario(path)
    assert {c.name for c in sc.capabilities} == {"balance", "book_flight", "label_2_play_music"}
    assert sc.label_to_capability()["2 play music"] == "label_2_play_music"
    model = ArenaModel(sc, embedder=BagOfWordsEmbedder())
    model.run()
    s = model.summary().to_dict()
    assert s["lost"] == 0 and s["scored_intents"] > 0
    assert s["routing_accuracy"] == 1.0


def test_zones_from_needs_exactly_one_source(tmp_path):
    import pytest

    from arena.errors import ScenarioError

    scenario = {
        "name": "x",
        "zones_from": {"groups": {"a": ["x"]}, "file": "g.json"},
        "arrivals": {"texts": ["hi"]},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "zones_from"
