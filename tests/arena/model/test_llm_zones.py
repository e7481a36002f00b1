"""LLM zones inside the model: prefix hits booked per replica, service and TTFT from them, and
the summary's ttft_ms and cache_hit_rate."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from arena_fixtures import base_data, scenario
from fakes import BagOfWordsEmbedder

from arena.errors import ScenarioError
from arena.model import ArenaModel
from arena.model.ledger import Ledger
from arena.model.llm import LLMZones
from arena.physics import LoadInfo
from arena.scenario import parse_scenario
from arena.workload import LLMService

FAKE = BagOfWordsEmbedder()
LLM = {
    "prefill_per_token": "2ms",
    "decode_per_token": "5ms",
    "overhead": "10ms",
    "block_tokens": 16,
    "cache_blocks": 64,
}


def write_trace(tmp_path, n=200, sessions=8) -> None:
    """A Mooncake-format trace of ``sessions`` conversations whose requests share their
    session's leading blocks (16 tokens a block)."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        s, k = int(rng.integers(sessions)), int(rng.integers(2, 6))
        hashes = [s * 1000 + j for j in range(k)]
        row = {"timestamp": i * 100, "input_length": k * 16, "output_length": 4, "hash_ids": hashes}
        lines.append(json.dumps(row))
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")


TRACE_ARRIVALS = {
    "trace": {"file": "t.jsonl", "format": "mooncake"},
    "texts": ["send money to my account"],
    "repeat": True,
}


def llm_scenario(tmp_path, router="llm_d", **llm):
    """Four replicas of one LLM service, fed by :func:`write_trace`'s conversations."""
    write_trace(tmp_path)
    data = base_data()
    for c in data["capabilities"]:
        c["service_time"] = {"llm": {**LLM, **llm}}
    data["zones"] = [
        {"name": f"bank_{r}", "group": "bank", "capacity": 2, "queue_limit": 50, "radius": 6}
        | {"capabilities": ["bank_desk"]}
        for r in range(4)
    ] + data["zones"][1:]
    data["arrivals"] = TRACE_ARRIVALS
    data.pop("steps", None)
    data.update(duration="25s", router=router)
    return parse_scenario(data, file="unit.yaml", base_dir=tmp_path)


def run(sc) -> ArenaModel:
    model = ArenaModel(sc, embedder=FAKE)
    while model.running:
        model.step()
    return model


def test_service_and_ttft_follow_each_requests_prefix_hit(tmp_path):
    model = run(llm_scenario(tmp_path))
    L = model.ledger
    done = L.state == 3
    assert done.sum() == 200
    tin, tout = L.input_tokens[done].astype(float), L.output_tokens[done].astype(float)
    cached = L.cached_tokens[done].astype(float)
    assert (cached > 0).any() and (cached == 0).any() and (cached <= tin).all()
    start, first, end = L.start[done], L.first_token[done], L.end[done]
    np.testing.assert_allclose(first - start, 0.010 + 0.002 * (tin - cached), atol=1e-9)
    np.testing.assert_allclose(end - first, 0.005 * tout, atol=1e-9)
    # a session's first request finds nothing cached anywhere
    rows = np.flatnonzero(done)
    first_block = np.array([model.llm.blocks(np.array([r]))[0][0] for r in rows])
    _, firsts = np.unique(first_block, return_index=True)
    assert (cached[firsts] == 0).all()
    s = model.summary().to_dict()
    ttft = (first - L.arrival[done]) * 1000
    assert s["ttft_ms"]["p99"] == pytest.approx(np.percentile(ttft, 99), abs=1e-6)
    assert s["cache_hit_rate"] == pytest.approx(cached.sum() / tin.sum(), abs=1e-6)


def test_cache_aware_routers_hit_more_than_random(tmp_path):
    rate = {
        r: run(llm_scenario(tmp_path, r)).summary().cache_hit_rate
        for r in ("random", "prefix_affinity", "llm_d")
    }
    assert rate["prefix_affinity"] > rate["random"] + 0.1
    assert rate["llm_d"] > rate["random"] + 0.1


def test_a_tiny_cache_hits_less(tmp_path):
    big = run(llm_scenario(tmp_path, "prefix_affinity")).summary().cache_hit_rate
    tiny = run(llm_scenario(tmp_path, "prefix_affinity", cache_blocks=2)).summary().cache_hit_rate
    assert tiny < big


def test_a_run_without_llm_zones_keeps_its_summary_keys():
    model = ArenaModel(scenario(), embedder=FAKE)
    for _ in range(10):
        model.step()
    d = model.summary().to_dict()
    assert "ttft_ms" not in d and "cache_hit_rate" not in d


def test_llm_needs_tokens_and_one_cache_per_zone(tmp_path):
    data = base_data()
    data["capabilities"][0]["service_time"] = {"llm": LLM}
    with pytest.raises(ScenarioError, match=r"capabilities\[0\]\.service_time: .*llm need"):
        ArenaModel(parse_scenario(data, file="unit.yaml"), embedder=FAKE)
    write_trace(tmp_path)
    data = base_data(arrivals=TRACE_ARRIVALS)
    data["capabilities"][0]["service_time"] = {"llm": LLM}
    data["capabilities"][1]["service_time"] = {"llm": {**LLM, "cache_blocks": 8}}
    data["zones"][0]["capabilities"] = ["bank_desk", "travel_desk"]
    data["zones"][0]["quality"] = {"travel_desk": 0.5}
    with pytest.raises(ScenarioError, match=r"zones\[0\]\.capabilities: .*one prefix cache"):
        ArenaModel(parse_scenario(data, file="unit.yaml", base_dir=tmp_path), embedder=FAKE)


def test_kv_use_is_posted_on_a_board_as_stale_as_load_info():
    model = LLMService(0.001, 0.01, 0.0, block_tokens=16, cache_blocks=10)
    zones = LLMZones([model, None, model], None, None, LoadInfo(mode="board", period=1.0))
    L = Ledger(8)
    rows = L.append(np.zeros(2, np.int32), np.zeros(2, np.int32), np.zeros(2))
    L.set(rows, zone=np.array([0, 2]), start=np.array([0.0, 0.5]), end=np.array([5.0, 5.0]))
    L.set(rows, input_tokens=np.array([30, 40]), output_tokens=np.array([2, 8]))
    zones.post(0.0, L, rows)
    np.testing.assert_allclose(zones.view(rows).kv_utilisation, [0.2, 0.0, 0.0])  # 2 of 10
    zones.post(0.6, L, rows)  # the second request started at 0.5; the board posts each second
    np.testing.assert_allclose(zones.view(rows).kv_utilisation, [0.2, 0.0, 0.0])
    zones.post(1.0, L, rows)
    np.testing.assert_allclose(zones.view(rows).kv_utilisation, [0.2, 0.0, 0.3])  # 48 tokens


def test_the_physics_cache_force_raises_the_hit_rate_and_is_off_at_zero(tmp_path):
    """On a fleet of equally similar replicas, the cache-affinity force sends conversations
    back to the replica that holds them; at 0 the run is the plain physics run, draw for draw."""

    def physics_run(**physics):
        sc = llm_scenario(tmp_path, "physics")
        # reach a replica within a step; a Gumbel draw breaks the tie of equal replicas
        fast = {"candidates": 4, "attraction": 50.0, "max_speed": 60.0, "choice_noise": 1.0}
        sc = sc.replace(physics=sc.physics.replace(**fast, **physics))
        return run(sc)

    plain = physics_run()
    zero = physics_run(cache_affinity=0.0)
    pulled = physics_run(cache_affinity=20.0)
    np.testing.assert_array_equal(plain.ledger.zone, zero.ledger.zone)
    hit = {n: m.summary().cache_hit_rate for n, m in (("plain", plain), ("pulled", pulled))}
    assert hit["pulled"] > hit["plain"] + 0.1


def test_with_a_cache_pull_the_overflow_margin_prices_a_lost_hit_against_a_wait(tmp_path):
    """A full replica holding the prompt hands it to an idle one only within overflow_margin
    of its similarity plus the cache pull: a narrow margin keeps conversations where their
    context is (fewer overflows, more hits, longer waits), a wide one moves them."""

    def busy_run(margin):
        sc = llm_scenario(tmp_path, "physics", decode_per_token="40ms")
        sc = sc.replace(zones=tuple(dataclasses.replace(z, capacity=1) for z in sc.zones))
        fast = {"candidates": 4, "attraction": 50.0, "max_speed": 60.0, "choice_noise": 1.0}
        return run(
            sc.replace(
                physics=sc.physics.replace(**fast, cache_affinity=20.0, overflow_margin=margin)
            )
        ).summary()

    narrow, wide = busy_run(0.0), busy_run(2.0)
    assert narrow.overflowed < wide.overflowed / 4
    assert narrow.cache_hit_rate > wide.cache_hit_rate + 0.03
    assert narrow.wait_ms.p99 > wide.wait_ms.p99
