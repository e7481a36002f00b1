"""Discovery on real data: the 150 CLINC150 intents as capabilities, the real MiniLM model."""

from __future__ import annotations

import random

from capabilities import Capability, Field, Registry


def names(matches) -> list[str]:
    return [m.capability.name for m in matches]


# -- real data: the 150 CLINC150 intents as capabilities ----------------------------------------
def clinc_registry(clinc150: dict) -> Registry:
    """One capability per intent: intent = its humanised name and domain; examples = the first
    10 TRAIN utterances of that intent (never validation data)."""
    domain_of = {i: d for d, intents in clinc150["domains"].items() for i in intents}
    examples: dict[str, list[str]] = {i: [] for i in domain_of}
    for text, intent in clinc150["train"]:
        if intent in examples and len(examples[intent]) < 10:
            examples[intent].append(text)
    registry = Registry()  # the real all-MiniLM-L6-v2 with its persistent cache
    for intent, domain in domain_of.items():
        registry.register(
            Capability(
                name=intent,
                intent=f"{intent.replace('_', ' ')} ({domain.replace('_', ' ')})",
                requires=(Field("utterance", str),),
                provides=(Field("answer", str),),
                execute=lambda utterance: utterance,
                examples=tuple(examples[intent]),
            )
        )
    return registry


def test_clinc150_validation_utterances_find_their_intent_in_the_top_5(clinc150):
    registry = clinc_registry(clinc150)
    assert len(registry) == 150
    sample = random.Random(1234).sample(clinc150["val"], 300)
    registry.embedder.encode([text for text, _ in sample])  # one batch instead of 300 calls
    hits1 = hits5 = 0
    for text, intent in sample:
        top = names(registry.discover(text, k=5))
        hits5 += intent in top
        hits1 += top[0] == intent
    top5, top1 = hits5 / len(sample), hits1 / len(sample)
    print(f"\nCLINC150 discovery on 300 validation utterances: top-5 {top5:.1%}, top-1 {top1:.1%}")
    assert top5 >= 0.90
    assert top1 >= 0.70  # well above chance (1/150), which a broken ranking would be near
