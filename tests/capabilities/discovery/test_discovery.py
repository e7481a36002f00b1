"""Finding capabilities: by meaning (embedding similarity) and by contract (inputs / outputs)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import BagOfWordsEmbedder, CountingEmbedder

from capabilities import Capability, Field, Match, RegistrationError, Registry


def build(embedder=None) -> Registry:
    registry = Registry(embedder or BagOfWordsEmbedder())

    @registry.capability(provides=["balance"])
    def account_balance(account_id: str) -> float:
        """Look up the balance of a bank account."""
        return 0.0

    @registry.capability(provides=["ticket_id", "priority"])
    def open_ticket(customer_id: str, problem: str, urgent: bool = False) -> dict:
        """Open a support ticket for a broken internet connection."""
        return {}

    @registry.capability(provides=["weather"])
    def forecast(city: str, days: int = 1) -> str:
        """Tell the weather forecast for a city."""
        return ""

    @registry.capability(provides=["balance", "currency"])
    def card_balance(card_id: str, account_id: str) -> dict:
        """Show what is owed on a credit card."""
        return {}

    return registry


def names(matches: list[Match]) -> list[str]:
    return [m.capability.name for m in matches]


def test_discover_ranks_by_meaning_best_first():
    registry = build()
    matches = registry.discover("what is the weather forecast in Paris", k=2)
    assert names(matches)[0] == "forecast"
    assert len(matches) == 2
    assert matches[0].score >= matches[1].score
    cap, score = matches[0]  # a Match unpacks as (capability, score)
    assert cap is registry.get("forecast") and -1.0 <= score <= 1.0 + 1e-6


def test_discover_scores_are_the_cosine_of_request_and_description():
    emb = BagOfWordsEmbedder()
    registry = build(emb)
    matches = registry.discover("internet connection is broken", k=4)
    for m in matches:
        want = float(
            emb.encode([m.capability.description_text])[0]
            @ emb.encode(["internet connection is broken"])[0]
        )
        assert m.score == pytest.approx(want, abs=1e-5)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_discover_returns_at_most_k_and_all_when_k_is_large():
    registry = build()
    assert len(registry.discover("balance", k=1)) == 1
    assert sorted(names(registry.discover("balance", k=50))) == sorted(registry.names())


def test_discover_filters_by_contract_before_ranking():
    registry = build()
    got = names(registry.discover("weather forecast", k=5, provides=["balance"]))
    assert sorted(got) == ["account_balance", "card_balance"]
    got = names(registry.discover("credit card", k=5, can_run_with=["account_id"]))
    assert got == ["account_balance"]


def test_new_registrations_are_discoverable_at_once():
    registry = build()
    registry.discover("anything at all", k=1)  # computes and caches the vectors

    @registry.capability(provides=["song"])
    def play_music(genre: str) -> str:
        """Play music of a genre."""
        return ""

    assert names(registry.discover("play some jazz music", k=1)) == ["play_music"]
    registry.unregister("play_music")
    assert "play_music" not in names(registry.discover("play some jazz music", k=5))


def test_capability_texts_are_embedded_once_across_discoveries(tmp_path):
    from capabilities import CachedEmbedder, EmbeddingCache

    counting = CountingEmbedder()
    registry = build(CachedEmbedder(counting, EmbeddingCache(tmp_path)))
    for _ in range(3):
        registry.discover("balance of my account", k=1)
    assert max(counting.encoded.values()) == 1


def test_examples_pull_a_capability_toward_how_people_ask():
    registry = Registry(BagOfWordsEmbedder())
    for name, examples in (("alpha", ()), ("beta", ("my screen stays black after boot",))):
        registry.register(
            Capability(
                name,
                "Handle a device problem",
                (Field("text", str),),
                (Field("out"),),
                execute=lambda text: text,
                examples=examples,
            )
        )
    assert names(registry.discover("screen black after boot", k=1)) == ["beta"]


def test_discover_many_agrees_with_discover():
    registry = build()
    texts = ["weather in Rome", "my internet is broken", "bank account balance"]
    top, scores = registry.discover_many(texts, k=2)
    assert scores.shape == (3, 2)
    for text, row, row_scores in zip(texts, top, scores):
        single = registry.discover(text, k=2)
        assert row == names(single)
        assert np.allclose(row_scores, [m.score for m in single], atol=1e-6)


def test_empty_registry_discovers_nothing():
    registry = Registry(BagOfWordsEmbedder())
    assert registry.discover("hello", k=3) == []
    top, scores = registry.discover_many(["hello", "bye"], k=3)
    assert top == [[], []] and scores.shape == (2, 0)


@pytest.mark.parametrize("text", ["", "   ", None, 3])
def test_discover_needs_a_text(text):
    with pytest.raises(RegistrationError, match="non-empty text"):
        build().discover(text, k=1)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_discover_needs_a_positive_k(k):
    with pytest.raises(RegistrationError, match="k must be a positive whole number"):
        build().discover("weather", k=k)
    with pytest.raises(RegistrationError, match="k must be a positive whole number"):
        build().discover_many(["weather"], k=k)


# -- by contract ------------------------------------------------------------------------------
def test_find_can_run_with_needs_every_required_input_only():
    registry = build()
    found = {c.name for c in registry.find(can_run_with=["account_id", "card_id", "extra"])}
    assert found == {"account_balance", "card_balance"}
    # an optional input (urgent, days) is never needed
    assert {c.name for c in registry.find(can_run_with=["city"])} == {"forecast"}
    assert registry.find(can_run_with=[]) == []


def test_find_provides_needs_every_named_output():
    registry = build()
    assert {c.name for c in registry.find(provides=["balance"])} == {
        "account_balance",
        "card_balance",
    }
    assert [c.name for c in registry.find(provides=["balance", "currency"])] == ["card_balance"]
    assert registry.find(provides=["nothing_provides_this"]) == []


def test_find_combines_both_and_accepts_a_single_name():
    registry = build()
    assert [c.name for c in registry.find(can_run_with="account_id", provides="balance")] == [
        "account_balance"
    ]
    assert len(registry.find()) == len(registry)


def test_a_registration_during_vector_computation_is_not_lost():
    class RegistersWhileEncoding(BagOfWordsEmbedder):
        """Simulates another thread registering a capability while vectors are computed."""

        registry: Registry | None = None

        def encode(self, texts):
            if self.registry is not None and "late_arrival" not in self.registry:
                self.registry.register(
                    Capability(
                        "late_arrival",
                        "Track a late parcel delivery",
                        (Field("parcel", str),),
                        (Field("status"),),
                        execute=lambda parcel: "",
                    )
                )
            return super().encode(texts)

    embedder = RegistersWhileEncoding()
    registry = build(embedder)
    embedder.registry = registry
    first = names(registry.discover("track my late parcel delivery", k=5))
    assert "late_arrival" not in first  # it arrived after the snapshot was taken
    assert names(registry.discover("track my late parcel delivery", k=1)) == ["late_arrival"]
