"""Small arena scenarios for unit tests (plain data; a fake embedder gives instant meaning)."""

from __future__ import annotations

import copy
from typing import Any

from arena.scenario import Scenario, parse_scenario

# three clearly separated topics; the fake bag-of-words embedder makes texts that share words
# similar, so "money" requests are closest to the bank zone, and so on
TOPICS = {
    "bank": (
        "money account balance transfer",
        [
            "send money to my account",
            "what is my account balance",
            "transfer money from savings account",
        ],
    ),
    "travel": (
        "flight hotel trip booking",
        ["book a flight for my trip", "find a hotel for the trip", "cancel my flight booking"],
    ),
    "kitchen": (
        "recipe cooking food dinner",
        [
            "a recipe for dinner tonight",
            "how long to cook this food",
            "cooking recipe with chicken food",
        ],
    ),
}


def base_data(**changes: Any) -> dict[str, Any]:
    caps = [
        {"name": f"{t}_desk", "intent": words, "labels": [t], "service_time": 2}
        for t, (words, _) in TOPICS.items()
    ]
    zones = [
        {"name": t, "capacity": 5, "queue_limit": 5, "radius": 6, "capabilities": [f"{t}_desk"]}
        for t in TOPICS
    ]
    texts = [s for _, (_, samples) in TOPICS.items() for s in samples]
    data: dict[str, Any] = {
        "name": "unit",
        "seed": 3,
        "steps": 30,
        "space": {"width": 100, "height": 100},
        "capabilities": caps,
        "zones": zones,
        "arrivals": {"rate": 2, "texts": texts, "repeat": True},
    }
    for key, value in changes.items():
        data[key] = value
    return copy.deepcopy(data)


def scenario(**changes: Any) -> Scenario:
    return parse_scenario(base_data(**changes), file="unit.yaml")


def topic_of(text: str) -> str:
    return next(t for t, (_, samples) in TOPICS.items() if text in samples)
