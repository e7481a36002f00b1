"""Conversation memory: bounded, extractive, immutable updates."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capabilities import PacketFlowError
from capabilities.runtime.memory import ConversationMemory, key_terms, sentences

words = st.sampled_from(
    ["invoice", "refund", "account", "balance", "router", "outage", "the", "is", "my", "late"]
)
turn_text = st.lists(st.lists(words, min_size=1, max_size=6), min_size=1, max_size=3).map(
    lambda ss: ". ".join(" ".join(s) for s in ss) + "."
)


@settings(max_examples=80, deadline=None)
@given(
    texts=st.lists(turn_text, max_size=40),
    max_turns=st.integers(1, 8),
    summary_sentences=st.integers(0, 4),
)
def test_memory_is_bounded_recent_turns_are_verbatim_and_summary_is_extractive(
    texts, max_turns, summary_sentences
):
    policy = ConversationMemory(max_turns=max_turns, summary_sentences=summary_sentences)
    memory = ConversationMemory.empty()
    said: set[str] = set()
    for i, text in enumerate(texts):
        before = copy.deepcopy(memory)
        new = policy.add(memory, "user" if i % 2 == 0 else "assistant", text)
        assert memory == before, "add must not modify the memory it was given"
        memory = new
        said.update(sentences(text))
        assert len(memory["turns"]) <= max_turns
        assert len(memory["summary"]) <= summary_sentences
        assert set(memory["summary"]) <= said
        assert len(set(memory["summary"])) == len(memory["summary"])
    assert memory["total_turns"] == len(texts)
    assert [t["text"] for t in memory["turns"]] == texts[-max_turns:]
    json.dumps(memory)  # stays JSON-ready: it lives in actor state


def test_summary_keeps_the_sentences_about_the_conversations_main_topic():
    policy = ConversationMemory(max_turns=2, summary_sentences=1)
    memory = None
    for text in [
        "My router keeps dropping the connection.",
        "Nice weather today.",
        "The router outage started on Monday.",
        "Is the router covered by warranty?",
    ]:
        memory = policy.add(memory, "user", text)
    assert memory["summary"] == ["My router keeps dropping the connection."]
    assert policy.render(memory).startswith("Earlier: My router keeps dropping")
    assert policy.recent(memory, 1) == [
        {"role": "user", "text": "Is the router covered by warranty?"}
    ]


def test_key_terms_drop_stopwords_and_rank_by_frequency():
    assert key_terms("The refund for my refund request is late") == ["refund", "request", "late"]
    assert key_terms("Refund refund", limit=1) == ["refund"]


def test_bad_memory_and_settings_are_explained():
    with pytest.raises(PacketFlowError, match="max_turns"):
        ConversationMemory(max_turns=0)
    with pytest.raises(PacketFlowError, match=r"ConversationMemory\.empty"):
        ConversationMemory().add({"turns": []}, "user", "hi")
    with pytest.raises(PacketFlowError, match="must be a string"):
        ConversationMemory().add(None, "user", 3)
