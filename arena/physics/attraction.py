"""Learned attraction: how strongly an intent is drawn to each capability, learned from examples.

Cosine similarity to a capability's description (and example centroid) is a good zero-shot
signal; when a scenario has labelled example requests (a *training* split), a softmax
regression head over the same embeddings separates neighbouring capabilities better (on
CLINC150 validation: 98.0% domain accuracy against 96.9% for nearest centroid). A zone's
attraction is then the probability of its most likely hosted capability — a number in [0, 1]
the physics uses exactly like a similarity.

Training is full-batch gradient descent with Nesterov momentum in NumPy (tens of seconds on two
cores, once), deterministic, and cached under the
embedding cache directory keyed by everything it depends on, so it is retrained only when the
capabilities, their examples or the settings change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class HeadSettings:
    epochs: int = 300
    learning_rate: float = 50.0
    l2: float = 0.0
    momentum: float = 0.9


class SoftmaxHead:
    """Multinomial logistic regression ``softmax(x @ W + b)`` over unit-norm embeddings."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, n_classes: int, settings: HeadSettings = HeadSettings()
    ) -> SoftmaxHead:
        x = np.ascontiguousarray(x, dtype=np.float32)
        w = np.zeros((x.shape[1], n_classes), dtype=np.float32)
        b = np.zeros(n_classes, dtype=np.float32)
        onehot = np.zeros((len(y), n_classes), dtype=np.float32)
        onehot[np.arange(len(y)), y] = 1.0
        lr = np.float32(settings.learning_rate)
        l2 = np.float32(settings.l2)
        mom = np.float32(settings.momentum)
        inv_n = np.float32(1.0 / len(y))
        vw = np.zeros_like(w)
        vb = np.zeros_like(b)
        for _ in range(settings.epochs):  # Nesterov momentum: converges ~3x faster than plain GD
            p = _softmax(x @ (w + mom * vw) + (b + mom * vb))
            p -= onehot
            p *= inv_n
            vw *= mom
            vw -= lr * (x.T @ p + l2 * w)
            vb *= mom
            vb -= lr * p.sum(axis=0)
            w += vw
            b += vb
        return cls(w, b)

    def proba(self, x: np.ndarray) -> np.ndarray:
        return _softmax(x @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, weights=self.weights, bias=self.bias)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SoftmaxHead:
        with np.load(path) as data:
            return cls(data["weights"], data["bias"])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def head_key(
    model_name: str,
    classes: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[int],
    settings: HeadSettings,
) -> str:
    """A digest of everything the trained head depends on."""
    h = hashlib.sha256()
    h.update(f"{model_name}|{settings}|".encode())
    h.update("\x1f".join(classes).encode())
    for t, lab in zip(texts, labels, strict=True):
        h.update(f"\x1e{lab}\x1f{t}".encode())
    return h.hexdigest()[:32]


def train_or_load(
    cache_dir: Path,
    model_name: str,
    classes: Sequence[str],
    texts: Sequence[str],
    labels: np.ndarray,
    encode: Callable[[Sequence[str]], np.ndarray],
    settings: HeadSettings = HeadSettings(),
) -> SoftmaxHead:
    """The head for these classes and examples: from the cache, or trained now and cached."""
    path = (
        cache_dir
        / "heads"
        / f"{head_key(model_name, classes, texts, labels.tolist(), settings)}.npz"
    )
    if path.exists():
        return SoftmaxHead.load(path)
    head = SoftmaxHead.fit(encode(list(texts)), labels, len(classes), settings)
    head.save(path)
    return head
