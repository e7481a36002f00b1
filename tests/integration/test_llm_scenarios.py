"""The shipped LLM-fleet scenarios load, report on the held-out half, and carry what they say."""

from __future__ import annotations

import pytest
from paths import REPO_ROOT, SCENARIOS_DIR

from arena.scenario import load_scenario
from arena.workload import LLMService

MOONCAKE = REPO_ROOT.parent / "shared" / "data" / "mooncake" / "conversation_trace.jsonl"
pytestmark = pytest.mark.skipif(not MOONCAKE.is_file(), reason="Mooncake trace not found")


def test_the_study_scenario_runs_the_held_out_half_with_the_cache_force():
    sc = load_scenario(SCENARIOS_DIR / "llm_fleet_mooncake.yaml")
    assert sc.arrivals.trace is not None
    assert sc.arrivals.trace.window == (1800.0, 3600.0)  # tuned on [0, 30m]: never report it
    assert sc.router == "physics" and sc.physics.cache_affinity > 0
    assert sc.physics.candidates >= len(sc.zones) == 8
    assert all(isinstance(c.service_time, LLMService) for c in sc.capabilities)
    assert sc.router_params["llm_d"] == {"prefix": 3, "queue": 2, "kv": 2}


def test_the_mixed_fleet_has_a_small_fast_pool_and_a_large_slow_one():
    sc = load_scenario(SCENARIOS_DIR / "llm_fleet_mixed.yaml")
    models = {c.name: c.service_time for c in sc.capabilities}
    small, large = models["small_model"], models["large_model"]
    assert small.decode_per_token < large.decode_per_token
    assert small.prefill_per_token < large.prefill_per_token
    assert {z.group for z in sc.zones} == {"small", "large"}
