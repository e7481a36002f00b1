"""Test doubles for unit tests that do not need real meaning (never used behind a public API).

:class:`BagOfWordsEmbedder` gives every word a fixed pseudo-random unit vector and embeds a text
as the normalised sum of its words' vectors, so texts sharing words are similar and unrelated
texts are nearly orthogonal — enough to test ranking logic deterministically and instantly.
:class:`CountingEmbedder` wraps any embedder and records every text sent to it, so tests can
prove a cache never encodes a text twice.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class BagOfWordsEmbedder:
    def __init__(self, dim: int = 256, name: str = "fake-bag-of-words"):
        self.name = name
        self.dim = dim

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dim)
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[i] += self._word(word)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


class CountingEmbedder:
    """Delegates to ``inner`` and counts how often each text was actually encoded."""

    def __init__(self, inner: object | None = None):
        self.inner = inner if inner is not None else BagOfWordsEmbedder()
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.calls = 0
        self.encoded: Counter[str] = Counter()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.encoded.update(texts)
        return self.inner.encode(texts)


# -- plain functions that scenario-style data can point at with a dotted path ("fakes:...") ------
def word_count(text: str, minimum_length: int = 1) -> dict:
    """Count the words in a text that are at least ``minimum_length`` long."""
    return {"words": sum(1 for w in text.split() if len(w) >= minimum_length)}


def untyped_join(parts, separator=" "):
    return separator.join(parts)


NOT_CALLABLE = 42
