"""Automatic composition: shortest valid chains, parallel layers, clear errors, determinism."""

from __future__ import annotations

import itertools
import random

import pytest
from fakes import BagOfWordsEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capabilities import Capability, CompositionError, Engine, Field, Registry
from capabilities.composition.auto import compose, compose_layers


def make_cap(name: str, requires: list[str], provides: list[str], optional=()) -> Capability:
    def execute(**kwargs):
        return {p: f"{name}({','.join(sorted(kwargs))})" for p in provides}

    return Capability(
        name=name,
        intent=f"{name} makes {' '.join(provides)}",
        requires=tuple(Field(r) for r in requires)
        + tuple(Field(o, required=False, default=None) for o in optional),
        provides=tuple(Field(p) for p in provides),
        execute=execute,
    )


def registry_of(*caps: Capability) -> Registry:
    r = Registry(embedder=BagOfWordsEmbedder())
    for c in caps:
        r.register(c)
    return r


@pytest.fixture
def documents() -> Registry:
    return registry_of(
        make_cap("fetch_document", ["url"], ["pdf"]),
        make_cap("extract_text", ["pdf"], ["text"]),
        make_cap("ocr_scan", ["image"], ["text"]),
        make_cap("detect_language", ["text"], ["language"]),
        make_cap("summarise", ["text"], ["summary"]),
        make_cap("translate", ["summary", "language"], ["translated_summary"]),
        make_cap("word_stats", ["text"], ["stats"], optional=["language"]),
        make_cap("expensive_pipeline", ["url", "api_key"], ["translated_summary"]),
    )


def test_shortest_chain_with_parallel_layer(documents):
    wf = documents.compose(have=["url"], want=["translated_summary"])
    assert wf.outline() == [
        "fetch_document",
        "extract_text",
        {"parallel": ["detect_language", "summarise"]},
        "translate",
    ]
    cap = wf.build(documents)
    assert [f.name for f in cap.requires] == ["url"]
    assert [f.name for f in cap.provides] == ["translated_summary"]
    documents.register(cap)
    out = Engine(documents).run(cap.name, {"url": "http://x"}).outputs
    assert out == {"translated_summary": "translate(language,summary)"}


def test_fewer_steps_win_when_more_is_given(documents):
    # with an api key, one capability does it all
    wf = compose(documents, have=["url", "api_key"], want=["translated_summary"])
    assert wf.outline() == ["expensive_pipeline"]
    # starting from text skips fetching and extraction
    wf = compose(documents, have=["text"], want=["summary", "language"])
    assert wf.outline() == [{"parallel": ["detect_language", "summarise"]}]


def test_optional_inputs_are_passed_when_available_but_never_chained_for(documents):
    wf = compose(documents, have=["text", "language"], want=["stats"])
    assert wf.outline() == ["word_stats"]
    cap = wf.build(documents)
    assert {f.name for f in cap.requires} == {"text", "language"}
    assert compose(documents, have=["text"], want=["stats"]).outline() == ["word_stats"]


def test_unreachable_outputs_say_what_is_missing(documents):
    with pytest.raises(CompositionError) as err:
        compose(documents, have=["api_key"], want=["summary", "invoice"])
    e = err.value
    assert set(e.unreachable) == {"summary", "invoice"}
    assert set(e.unreachable["summary"]) == {"url", "image"}
    assert e.unreachable["invoice"] == ("invoice",)
    text = str(e)
    assert "'invoice': no capability provides it" in text
    assert "summarise needs ['text']" in text


def test_ties_are_broken_by_preference_then_name():
    r = registry_of(
        make_cap("b_route", ["x"], ["y"]),
        make_cap("a_route", ["x"], ["y"]),
    )
    assert compose_layers(r, ["x"], ["y"]) == [["a_route"]]
    assert compose_layers(r, ["x"], ["y"], prefer={"b_route": 0.9}) == [["b_route"]]


def test_circular_dependencies_are_broken_by_an_outside_producer():
    r = registry_of(
        make_cap("a", ["q"], ["p"]),
        make_cap("b", ["p"], ["q"]),
        make_cap("seed_q", ["start"], ["q"]),
    )
    assert compose_layers(r, ["start"], ["p"]) == [["seed_q"], ["a"]]
    with pytest.raises(CompositionError):
        compose_layers(
            registry_of(make_cap("a", ["q"], ["p"]), make_cap("b", ["p"], ["q"])), [], ["p"]
        )


def test_included_capability_must_be_in_the_plan(documents):
    layers = compose_layers(documents, ["url"], [], include=["word_stats"])
    assert layers == [["fetch_document"], ["extract_text"], ["word_stats"]]
    with pytest.raises(CompositionError, match="'translate' cannot run") as err:
        compose_layers(documents, ["api_key"], [], include=["translate"])
    assert set(err.value.unreachable["translate"]) == {"url", "image"}
    # from a scanned image, OCR replaces fetching and extraction
    assert compose_layers(documents, ["image"], [], include=["translate"]) == [
        ["ocr_scan"],
        ["detect_language", "summarise"],
        ["translate"],
    ]


# -- properties: minimal, valid and deterministic against brute force -------------------------------

FIELDS = [f"f{i}" for i in range(6)]


@st.composite
def random_registries(draw):
    n = draw(st.integers(1, 7))
    caps = []
    for i in range(n):
        requires = draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True))
        provides = draw(
            st.lists(
                st.sampled_from([f for f in FIELDS if f not in requires]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        caps.append(make_cap(f"c{i}", requires, provides))
    have = draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True))
    want = draw(
        st.lists(st.sampled_from([f for f in FIELDS if f not in have]), min_size=1, max_size=2)
    )
    return caps, have, sorted(set(want))


def brute_force_minimum(caps, have, want) -> int | None:
    for size in range(1, len(caps) + 1):
        for subset in itertools.combinations(caps, size):
            avail, pending = set(have), list(subset)
            progress = True
            while pending and progress:
                ready = [c for c in pending if c.required_inputs <= avail]
                progress = bool(ready)
                for c in ready:
                    avail |= c.output_names
                    pending.remove(c)
            if not pending and set(want) <= avail:
                return size
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_registries(), st.randoms(use_true_random=False))
def test_compose_is_minimal_valid_and_deterministic(case, rnd: random.Random):
    caps, have, want = case
    best = brute_force_minimum(caps, have, want)
    registry = registry_of(*caps)
    if best is None:
        with pytest.raises(CompositionError):
            compose(registry, have, want)
        return
    wf = compose(registry, have, want)
    assert len(wf.step_names()) == best
    # it runs and produces every wanted field
    cap = wf.build(registry)
    registry.register(cap)
    out = Engine(registry).run(cap.name, {h: "given" for h in cap.input_names}).unwrap()
    assert set(out) == set(want)
    # the same capabilities registered in another order give the same plan
    shuffled = caps[:]
    rnd.shuffle(shuffled)
    assert compose(registry_of(*shuffled), have, want).outline() == wf.outline()
