"""Mixed LLM fleets: the front of quality, latency and cost, and the dominance it rests on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from arena_fixtures import TOPICS
from fakes import BagOfWordsEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from arena.analysis import mixed_fleet_front, non_dominated


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.just(3)), elements=st.floats(0, 5)))
def test_the_front_is_exactly_the_rows_nobody_beats(x):
    df = pd.DataFrame(x, columns=["q", "lat", "cost"])
    front = non_dominated(df, maximise=["q"], minimise=["lat", "cost"])
    assert front.any()  # a finite, non-empty set always has an undominated row

    def beats(j, i):
        a, b = (-x[j, 0], x[j, 1], x[j, 2]), (-x[i, 0], x[i, 1], x[i, 2])
        return all(u <= v for u, v in zip(a, b, strict=True)) and a != b

    for i in range(len(x)):
        assert front[i] == (not any(beats(j, i) for j in range(len(x))))


def test_a_row_with_nan_is_never_on_the_front_and_a_column_is_needed():
    df = pd.DataFrame({"q": [1.0, np.nan], "lat": [5.0, 0.0]})
    assert non_dominated(df, maximise=["q"], minimise=["lat"]).tolist() == [True, False]
    with pytest.raises(ValueError, match="at least one column"):
        non_dominated(df)


@pytest.fixture
def mixed(tmp_path):
    """A small fast pool for bank requests and a large slow one for travel requests."""
    rng = np.random.default_rng(1)
    lines = [
        json.dumps(
            {"timestamp": i * 40, "input_length": 64, "output_length": int(rng.integers(5, 30))}
            | {"hash_ids": [i % 9 * 100 + j for j in range(4)]}
        )
        for i in range(300)
    ]
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    llm = {"overhead": "10ms", "block_tokens": 16, "cache_blocks": 64}
    caps = [
        {"name": "small", "intent": TOPICS["bank"][0], "labels": ["bank"]}
        | {"service_time": {"llm": llm | {"prefill_per_token": "1ms", "decode_per_token": "5ms"}}},
        {"name": "large", "intent": TOPICS["travel"][0], "labels": ["travel"]}
        | {"service_time": {"llm": llm | {"prefill_per_token": "4ms", "decode_per_token": "30ms"}}},
    ]
    zones = [
        {"name": f"{k}{i}", "group": k, "capacity": 2, "queue_limit": 1000, "radius": 5}
        | {"capabilities": [k]}
        for k in ("small", "large")
        for i in range(2)
    ]
    texts = TOPICS["bank"][1] + TOPICS["travel"][1]
    (tmp_path / "texts.json").write_text(
        json.dumps({"val": [[t, "bank" if t in TOPICS["bank"][1] else "travel"] for t in texts]})
    )
    data = {
        "name": "mixed",
        "seed": 1,
        "duration": "12s",
        "clock": {"tick": "10ms"},
        "space": {"width": 100, "height": 100},
        "layout": "circle",
        "capabilities": caps,
        "zones": zones,
        "arrivals": {
            "trace": {"file": "t.jsonl", "format": "mooncake"},
            "source": {"file": "texts.json", "split": ["val"]},
            "repeat": True,
        },
        "physics": {"candidates": 4, "attraction": 50.0, "max_speed": 60.0, "falloff": 0.3}
        | {"choice_noise": 1.0},
    }
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_category_routing_is_right_and_a_load_driven_physics_trades_quality_away(mixed):
    front = mixed_fleet_front(
        mixed,
        {
            "category": {"router": "category"},
            "physics hot": {"router": "physics", "physics.temperature": 5.0},
        },
        seeds=[1, 2],
        cost_per_second={"small": 1.0, "large": 4.0},
        embedder=BagOfWordsEmbedder(),
    ).set_index("setting")
    assert front.loc["category", "routing_accuracy"] > 0.95
    # a temperature this high ignores meaning: travel requests land on the cheap small pool
    assert front.loc["physics hot", "routing_accuracy"] < 0.8
    assert front.loc["physics hot", "cost_per_request"] < front.loc["category", "cost_per_request"]
    assert front["on_front"].any()
    with pytest.raises(ValueError, match="no cost for zone groups"):
        mixed_fleet_front(
            mixed, {"c": {"router": "category"}}, seeds=[1], cost_per_second={"small": 1.0}
        )
