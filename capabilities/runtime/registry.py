"""The registry: where capabilities are declared, looked up and found by meaning."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar, Unpack

import numpy as np

from capabilities.composition.auto import compose
from capabilities.core.model import Capability, CapabilityOptions
from capabilities.discovery.choice import default_embedder
from capabilities.discovery.embeddings import Embedder, normalise_rows
from capabilities.errors import CapabilityNotFound, RegistrationError
from capabilities.runtime.actors import ActorOptions, actor_capability
from capabilities.runtime.declare import capability_from_data

F = TypeVar("F", bound=Callable[..., Any])


class Match(NamedTuple):
    """A discovery hit: unpacks as ``(capability, score)``; score is cosine similarity."""

    capability: Capability
    score: float


class Registry:
    """Holds capabilities by name and finds them by meaning or by contract.

    ``embedder`` defaults to the process-wide all-MiniLM-L6-v2 with its persistent cache; it is
    only loaded the first time something is discovered.
    """

    def __init__(self, embedder: Embedder | None = None):
        self._capabilities: dict[str, Capability] = {}
        self._embedder = embedder
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._vector_names: tuple[str, ...] = ()

    # -- declaration ---------------------------------------------------------------------------
    def capability(self, fn: F | None = None, **options: Unpack[CapabilityOptions]) -> Any:
        """Decorator: declare the function as a capability (see ``Capability.from_function``;
        the keywords are :class:`~capabilities.core.model.CapabilityOptions`).

        Returns the function unchanged, so it stays callable and testable as plain Python.
        """

        def register(f: F) -> F:
            self.register(Capability.from_function(f, **options))
            return f

        return register(fn) if fn is not None else register

    def actor(self, fn: F | None = None, **options: Unpack[ActorOptions]) -> Any:
        """Decorator: declare ``on_message(message, state) -> (reply, new_state)`` as a durable
        actor capability (see :func:`capabilities.runtime.actors.actor_capability`)."""

        def register(f: F) -> F:
            self.register(actor_capability(f, **options))
            return f

        return register(fn) if fn is not None else register

    def register(self, cap: Capability, *, replace: bool = False) -> Capability:
        """Add a capability; a second one with the same name is an error unless ``replace``."""
        if not isinstance(cap, Capability):
            raise RegistrationError(f"can only register a Capability, got {type(cap).__name__}")
        with self._lock:
            if cap.name in self._capabilities and not replace:
                raise RegistrationError(
                    f"capability {cap.name!r} is already registered; pass replace=True to swap it"
                )
            self._capabilities[cap.name] = cap
            self._vectors = None
        return cap

    def register_data(self, data: Mapping[str, Any], *, where: str = "capability") -> Capability:
        """Declare a capability from plain data, policy included (see
        :func:`capabilities.runtime.declare.capability_from_data`)."""
        return self.register(capability_from_data(data, where=where))

    def unregister(self, name: str) -> None:
        with self._lock:
            if self._capabilities.pop(name, None) is None:
                raise CapabilityNotFound(name, self.names())
            self._vectors = None

    # -- lookup --------------------------------------------------------------------------------
    def lookup(self, name: str) -> Capability | None:
        """The capability registered as ``name``, or ``None`` (``get`` raises instead)."""
        return self._capabilities.get(name)

    def get(self, name: str) -> Capability:
        try:
            return self._capabilities[name]
        except KeyError:
            raise CapabilityNotFound(name, self.names()) from None

    def names(self) -> list[str]:
        return list(self._capabilities)

    def __contains__(self, name: object) -> bool:
        return name in self._capabilities

    def __iter__(self) -> Iterator[Capability]:
        return iter(list(self._capabilities.values()))

    def __len__(self) -> int:
        return len(self._capabilities)

    def catalogue(self) -> list[dict[str, Any]]:
        """Every capability described as JSON-ready data, in registration order."""
        return [c.describe() for c in self]

    def health(self) -> dict[str, dict[str, Any]]:
        """Per capability: its policy's breaker state, failure counts and last error.

        Capabilities without a policy read ``{"state": None}`` (nothing guards them). JSON-ready;
        see ``capabilities.resilience.policy.Policy.health``.
        """
        out: dict[str, dict[str, Any]] = {}
        for c in self:
            report = getattr(c.policy, "health", None)
            out[c.name] = report(c.name) if report is not None else {"state": None}
        return out

    # -- discovery by contract -----------------------------------------------------------------
    def find(
        self, *, can_run_with: Iterable[str] | None = None, provides: Iterable[str] | None = None
    ) -> list[Capability]:
        """Capabilities whose required inputs are all in ``can_run_with`` and/or that provide
        every name in ``provides``."""
        have = None if can_run_with is None else _names(can_run_with)
        want = None if provides is None else _names(provides)
        return [
            c
            for c in self
            if (have is None or c.required_inputs <= have)
            and (want is None or want <= c.output_names)
        ]

    def compose(self, *, have: Iterable[str], want: Iterable[str], **options: Any) -> Any:
        """The shortest validated ``Workflow`` producing ``want`` from ``have`` by chaining
        requires -> provides (see :func:`capabilities.composition.auto.compose` for ``options``)."""
        return compose(self, have, want, **options)

    # -- discovery by meaning ------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def capability_vectors(self) -> tuple[tuple[str, ...], np.ndarray]:
        """Names and one unit vector per capability (its name and intent, and its examples)."""
        with self._lock:
            if self._vectors is not None:
                return self._vector_names, self._vectors
            caps = list(self._capabilities.values())
        vectors = capability_vectors(self.embedder, caps)
        names = tuple(c.name for c in caps)
        with self._lock:  # keep them only if nothing was (un)registered while encoding
            current = list(self._capabilities.values())
            if len(current) == len(caps) and all(a is b for a, b in zip(current, caps)):
                self._vector_names, self._vectors = names, vectors
        return names, vectors

    def discover(
        self,
        text: str,
        k: int = 5,
        *,
        can_run_with: Iterable[str] | None = None,
        provides: Iterable[str] | None = None,
    ) -> list[Match]:
        """The ``k`` capabilities closest in meaning to ``text``, best first.

        ``can_run_with`` / ``provides`` first narrow the candidates by contract.
        """
        if not isinstance(text, str) or not text.strip():
            raise RegistrationError("discover needs a non-empty text to search for")
        _check_k(k)
        names, vectors = self.capability_vectors()
        if not names:
            return []
        scores = vectors @ self.embedder.encode([text])[0]
        allowed = None
        if can_run_with is not None or provides is not None:
            allowed = {c.name for c in self.find(can_run_with=can_run_with, provides=provides)}
        order = np.argsort(-scores, kind="stable")
        out: list[Match] = []
        for i in order:
            cap = self._capabilities.get(names[i])  # None if unregistered meanwhile
            if cap is not None and (allowed is None or names[i] in allowed):
                out.append(Match(cap, float(scores[i])))
                if len(out) == k:
                    break
        return out

    def discover_many(self, texts: Sequence[str], k: int = 5) -> tuple[list[list[str]], np.ndarray]:
        """Vectorised discovery for many texts: top-``k`` names per text and their scores."""
        _check_k(k)
        names, vectors = self.capability_vectors()
        if not names:
            return [[] for _ in texts], np.zeros((len(texts), 0), dtype=np.float32)
        scores = self.embedder.encode(list(texts)) @ vectors.T
        k = min(k, len(names))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return [[names[i] for i in row] for row in top], np.take_along_axis(top_scores, order, 1)


def _names(names: Iterable[str]) -> frozenset[str]:
    """One name or several: a bare string is one name, not a set of letters."""
    return frozenset((names,) if isinstance(names, str) else names)


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise RegistrationError(f"discover: k must be a positive whole number, got {k!r}")


def capability_vectors(embedder: Embedder, caps: Sequence[Capability]) -> np.ndarray:
    """One unit vector per capability: its description, averaged with its examples if any.

    Examples (sample requests) pull the vector toward how people actually phrase the need,
    which is what discovery and routing compare against.
    """
    if not caps:
        return np.zeros((0, embedder.dim or 0), dtype=np.float32)
    texts = [c.description_text for c in caps]
    base = embedder.encode(texts)
    if not any(c.examples for c in caps):
        return base
    flat = [e for c in caps for e in c.examples]
    ex = embedder.encode(flat)
    out = base.copy()
    start = 0
    for i, c in enumerate(caps):
        n = len(c.examples)
        if n:
            out[i] = base[i] + ex[start : start + n].mean(axis=0) * 2.0
            start += n
    return normalise_rows(out)
