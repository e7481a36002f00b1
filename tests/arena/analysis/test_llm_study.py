"""The LLM study's paired comparison: every router on the same seeds, per-seed figures, and
intervals that are the t intervals of those per-seed figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from fakes import BagOfWordsEmbedder
from scipy import stats

from arena.analysis import compare_routers, run_study, staleness_effect, summarise_routers

LLM = {
    "prefill_per_token": "2ms",
    "decode_per_token": "20ms",
    "overhead": "10ms",
    "block_tokens": 16,
    "cache_blocks": 32,
}


@pytest.fixture
def fleet(tmp_path):
    """Three replicas of one LLM service fed a small conversation trace, thinned per seed."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(240):
        s, k = int(rng.integers(12)), int(rng.integers(2, 8))
        row = {
            "timestamp": i * 50,
            "input_length": k * 16,
            "output_length": int(rng.integers(5, 40)),
            "hash_ids": [s * 1000 + j for j in range(k)],
        }
        lines.append(json.dumps(row))
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    data = {
        "name": "fleet",
        "seed": 1,
        "duration": "12s",
        "clock": {"tick": "10ms"},
        "space": {"width": 100, "height": 100},
        "layout": "circle",
        "capabilities": [{"name": "chat", "intent": "chat", "service_time": {"llm": LLM}}],
        "zones": [
            {"name": f"r{i}", "group": "chat", "capacity": 2, "queue_limit": 1000, "radius": 5}
            | {"capabilities": ["chat"]}
            for i in range(3)
        ],
        "arrivals": {
            "trace": {"file": "t.jsonl", "format": "mooncake", "scale": 0.8},
            "texts": ["chat"],
            "repeat": True,
        },
        "physics": {"candidates": 3, "attraction": 50.0, "max_speed": 60.0, "falloff": 0.3}
        | {"choice_noise": 1.0, "cache_affinity": 5.0},
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


ROUTERS = {"physics": ("physics", None), "jsq": ("power_of_d", {"d": 2}), "llm_d": ("llm_d", {})}


def test_the_study_pairs_routers_on_the_same_arrivals(fleet):
    rows = run_study(
        fleet,
        seeds=[1, 2, 3],
        periods=["50ms", "2s"],
        routers=ROUTERS,
        embedder=BagOfWordsEmbedder(),
    )
    assert len(rows) == 3 * 2 * 3
    # a seed's arrivals are the same for every router and period, and differ between seeds
    per_seed = rows.groupby("seed")["arrived"].agg(["min", "max"])
    assert (per_seed["min"] == per_seed["max"]).all()
    assert per_seed["min"].nunique() > 1
    c = compare_routers(rows, "physics", "jsq", "50ms")
    at = rows[rows["period"] == "50ms"].set_index(["router", "seed"])
    change = (at.loc["physics", "ttft_p99"] / at.loc["jsq", "ttft_p99"] - 1).to_numpy()
    assert c["seeds"] == 3
    assert c["ttft_p99_change"]["mean"] == pytest.approx(change.mean())
    low, high = stats.t.interval(0.95, 2, change.mean(), stats.sem(change))
    assert c["ttft_p99_change"]["low"] == pytest.approx(low)
    assert c["ttft_p99_change"]["high"] == pytest.approx(high)
    hit = (at.loc["physics", "cache_hit_rate"] - at.loc["jsq", "cache_hit_rate"]).to_numpy()
    assert c["hit_rate_diff"]["mean"] == pytest.approx(hit.mean())
    same = compare_routers(rows, "llm_d", "llm_d", "2s")
    assert same["ttft_p99_change"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
    stale = staleness_effect(rows, fresh="50ms", stale="2s")
    assert set(stale) == set(ROUTERS)
    mine = rows[rows["router"] == "llm_d"].set_index(["period", "seed"])["ttft_p99"]
    want = (mine.loc["2s"] / mine.loc["50ms"] - 1).mean()
    assert stale["llm_d"]["ttft_p99_change"]["mean"] == pytest.approx(want)
    means = summarise_routers(rows)
    assert len(means) == 6
    assert means.set_index(["period", "router"]).loc[("50ms", "jsq"), "ttft_p99"] == pytest.approx(
        at.loc["jsq", "ttft_p99"].mean()
    )


def test_a_comparison_without_common_seeds_has_no_interval():
    rows = pd.DataFrame(
        [
            {"router": "a", "period": "1s", "seed": 1, "ttft_p99": 1.0}
            | {"cache_hit_rate": 0.1, "dropped": 0},
            {"router": "b", "period": "1s", "seed": 2, "ttft_p99": 2.0}
            | {"cache_hit_rate": 0.2, "dropped": 0},
        ]
    )
    c = compare_routers(rows, "a", "b", "1s")
    assert c["seeds"] == 0 and np.isnan(c["ttft_p99_change"]["mean"])


def test_sweep_and_tune_rows_carry_ttft_and_the_hit_rate():
    from arena.analysis.sweep import flatten_summary
    from arena.analysis.tuning.objective import metric_names

    row = flatten_summary(
        {"ttft_ms": {"mean": 1.0, "p50": 2.0, "p95": 3.0, "p99": 4.0}, "cache_hit_rate": 0.5}
    )
    assert (row["ttft_p50"], row["ttft_p99"], row["cache_hit_rate"]) == (2.0, 4.0, 0.5)
    bare = flatten_summary({"latency_ms": {"p99": 1.0}})  # a run without LLM zones
    assert np.isnan(bare["ttft_p99"]) and np.isnan(bare["cache_hit_rate"])
    assert {"ttft_p99", "cache_hit_rate"} <= set(metric_names())
