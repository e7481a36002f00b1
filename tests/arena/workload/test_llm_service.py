"""The LLM service-time model: the prefill a cached prefix saves, and its spec's errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.errors import ScenarioError
from arena.workload import LLMService, PrefixFleet, parse_service_model

SPEC = {
    "prefill_per_token": "0.1ms",
    "decode_per_token": "12ms",
    "overhead": "20ms",
    "block_tokens": 16,
    "cache_blocks": 64,
}


def llm(**change) -> LLMService:
    model = parse_service_model({"llm": {**SPEC, **change}}, file="s.yaml", field="service_time")
    assert isinstance(model, LLMService)
    return model


def test_a_cached_prefix_saves_exactly_its_prefill():
    model = llm()
    fleet = PrefixFleet(2, model.cache_blocks)
    prompt = np.arange(100, 106)  # 6 blocks of 16 tokens
    tin, tout = np.array([90]), np.array([7])  # the 6th block is partly filled
    fleet.insert(1, prompt[:4])  # replica 1 served a request sharing 4 leading blocks
    hits = fleet.matched(prompt, np.array([0, 6]))[0]
    assert hits.tolist() == [0, 4]
    cold, warm = (model.service(tin, tout, h)[0] for h in hits)
    assert cold - warm == pytest.approx(4 * 16 * model.prefill_per_token)
    assert cold == pytest.approx(0.020 + 90 * 1e-4 + 7 * 0.012)
    ttft_cold, ttft_warm = (model.ttft(tin, h)[0] for h in hits)
    assert ttft_cold - ttft_warm == pytest.approx(cold - warm)
    assert cold - ttft_cold == pytest.approx(7 * 0.012)  # decoding comes after the first token


def test_a_hit_never_saves_more_than_the_prompt():
    model = llm()
    full = model.ttft(np.array([40]), 10)[0]  # 10 blocks cover 160 tokens, the prompt is 40
    assert full == pytest.approx(model.overhead)
    assert model.blocks(np.array([0, 1, 16, 17])).tolist() == [0, 1, 1, 2]


def test_sample_and_mean_are_the_cold_cache_service():
    model = llm()
    tin, tout = np.array([10, 200]), np.array([3, 0])
    got = model.sample(np.random.default_rng(0), 2, input_tokens=tin, output_tokens=tout)
    np.testing.assert_allclose(got, model.service(tin, tout, 0))
    assert model.mean(input_tokens=tin, output_tokens=tout) == pytest.approx(got.mean())
    with pytest.raises(ScenarioError, match=r"service_time\.llm: needs the input and output"):
        model.sample(np.random.default_rng(0), 2)
    again = parse_service_model(model.describe(), file=None, field="f")
    assert isinstance(again, LLMService)
    for name in (
        "prefill_per_token",
        "decode_per_token",
        "overhead",
        "block_tokens",
        "cache_blocks",
    ):
        assert getattr(again, name) == pytest.approx(getattr(model, name))


def test_a_service_time_stays_above_zero():
    model = llm(prefill_per_token=0, overhead=0)
    assert model.service(np.array([5]), np.array([0]))[0] > 0


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"llm": {**SPEC, "block_tokens": 0}}, "service_time.llm.block_tokens"),
        ({"llm": {**SPEC, "block_tokens": 1.5}}, "service_time.llm.block_tokens"),
        ({"llm": {**SPEC, "cache_blocks": True}}, "service_time.llm.cache_blocks"),
        ({"llm": {**SPEC, "prefill_per_token": "-1ms"}}, "service_time.llm.prefill_per_token"),
        ({"llm": {**SPEC, "decode_per_token": "nan"}}, "service_time.llm.decode_per_token"),
        ({"llm": {**SPEC, "overhead": float("inf")}}, "service_time.llm.overhead"),
        ({"llm": {k: v for k, v in SPEC.items() if k != "overhead"}}, "service_time.llm.overhead"),
        ({"llm": {**SPEC, "prefil": "1ms"}}, "service_time.llm.prefil"),
        ({"llm": [1, 2]}, "service_time.llm"),
        ({"llm": SPEC, "distribution": "constant"}, "service_time"),
        (
            {"llm": {**SPEC, "prefill_per_token": 0, "decode_per_token": 0, "overhead": 0}},
            "service_time.llm",
        ),
    ],
)
def test_a_bad_llm_spec_is_one_line_naming_the_field(spec, field):
    with pytest.raises(ScenarioError) as err:
        parse_service_model(spec, file="s.yaml", field="service_time")
    assert err.value.field == field
    assert "\n" not in str(err.value) and str(err.value).startswith(f"s.yaml: {field}: ")


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1ms", "0", "-2ms", "nan", "1e400s", "12 ms"]),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(spec=st.dictionaries(st.sampled_from([*SPEC, "other"]), values, max_size=6))
def test_any_llm_spec_is_a_model_or_one_line_naming_a_field(spec):
    try:
        model = parse_service_model({"llm": spec}, file="s.yaml", field="service_time")
    except ScenarioError as err:
        assert "\n" not in str(err) and err.field.startswith("service_time.llm")
        return
    assert isinstance(model, LLMService)
    for name in ("prefill_per_token", "decode_per_token", "overhead"):
        value = getattr(model, name)
        assert np.isfinite(value) and value >= 0
    assert model.block_tokens >= 1 and model.cache_blocks >= 1
