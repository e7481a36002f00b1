"""Prefix caches of LLM replicas: which prompt blocks each replica's KV cache still holds.

A prompt is a run of blocks (``block_tokens`` tokens each), named by hash ids that chain the
block's tokens with everything before it (the Mooncake trace's ``hash_ids``; vLLM's block
hashes). A replica can skip prefill for the *leading* run of a request's blocks it holds: a
block whose predecessor is missing is of no use, since its KV entries depend on all tokens
before it. So :meth:`PrefixCache.lookup` counts only that leading run.

Why here, in ``arena.workload``: the cache is a property of the work (blocks of requests), with
no tie to the Mesa model; the layer contracts in ``pyproject.toml`` let the model (which books
the blocks when a replica serves a request) build on it, and the LLM service model
(:class:`~arena.workload.service.LLMService`) sits beside it. Routers (``arena.physics``, a
sibling layer) never import it: they read the matched lengths the model hands them through
:class:`~arena.physics.routers.PrefixView`.

Eviction is LRU by block. A request's blocks are touched last to first, so its leading block is
the most recently used and a full cache gives up tails before heads (what vLLM's free-block
queue does: freed blocks are queued tail first), which keeps the cached runs prefixes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

#: replicas a :class:`PrefixFleet` indexes with one uint64 bit mask per block
MAX_FLEET_REPLICAS = 64


def _hashes(hash_ids: Iterable[int] | np.ndarray) -> list[int]:
    return np.asarray(hash_ids, dtype=np.int64).reshape(-1).tolist()


class PrefixCache:
    """An LRU cache of at most ``capacity`` blocks (one replica's KV cache)."""

    def __init__(self, capacity: int):
        if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer):
            raise ValueError(f"capacity must be an integer number of blocks, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 block, got {capacity}")
        self.capacity = int(capacity)
        self._lru: OrderedDict[int, None] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._lru)

    def __contains__(self, block: int) -> bool:
        return int(block) in self._lru

    @property
    def utilisation(self) -> float:
        """Fraction of the ``capacity`` blocks in use."""
        return len(self._lru) / self.capacity

    def blocks(self) -> list[int]:
        """The cached block hashes, least recently used first."""
        return list(self._lru)

    def lookup(self, hash_ids: Iterable[int] | np.ndarray) -> int:
        """How many leading blocks of ``hash_ids`` are cached (recency unchanged: a router
        may ask without serving)."""
        lru = self._lru
        n = 0
        for h in _hashes(hash_ids):
            if h not in lru:
                break
            n += 1
        return n

    def insert(self, hash_ids: Iterable[int] | np.ndarray) -> list[int]:
        """Serve a request of blocks ``hash_ids``: every block becomes cached and recent (its
        first block the most recent), least recently used blocks go when over ``capacity``.
        Returns the evicted hashes, oldest first."""
        lru = self._lru
        for h in reversed(_hashes(hash_ids)):
            if h in lru:
                lru.move_to_end(h)
            else:
                lru[h] = None
        evicted: list[int] = []
        while len(lru) > self.capacity:
            evicted.append(lru.popitem(last=False)[0])
        return evicted


class PrefixFleet:
    """The prefix caches of ``n_replicas`` replicas (``capacity`` blocks each, or one size per
    replica) and an index
    block -> bit mask of the replicas holding it, so that the matched prefix of many requests
    on every replica comes out of one pass over their blocks (:meth:`matched`)."""

    def __init__(self, n_replicas: int, capacity: int | Sequence[int]):
        if not 1 <= int(n_replicas) <= MAX_FLEET_REPLICAS:
            raise ValueError(
                f"a prefix fleet holds 1 to {MAX_FLEET_REPLICAS} replicas, got {n_replicas}"
            )
        sizes = [capacity] * int(n_replicas) if not isinstance(capacity, Sequence) else capacity
        if len(sizes) != int(n_replicas):
            raise ValueError(
                f"{n_replicas} replicas need {n_replicas} capacities, got {len(sizes)}"
            )
        self.caches = [PrefixCache(c) for c in sizes]
        self._holders: dict[int, int] = {}  # block -> bit mask of replicas

    def __len__(self) -> int:
        return len(self.caches)

    def utilisation(self) -> np.ndarray:
        """(Z,) fraction of each replica's cache in use."""
        return np.array([c.utilisation for c in self.caches], dtype=np.float64)

    def insert(self, replica: int, hash_ids: Iterable[int] | np.ndarray) -> int:
        """Replica ``replica`` serves a request of blocks ``hash_ids``; returns how many
        leading blocks it already held (the prefix hit), then caches them all."""
        cache = self.caches[replica]
        hashes = _hashes(hash_ids)
        hit = cache.lookup(hashes)
        bit = 1 << int(replica)
        holders = self._holders
        for h in hashes:
            holders[h] = holders.get(h, 0) | bit
        for h in cache.insert(hashes):
            mask = holders[h] & ~bit
            if mask:
                holders[h] = mask
            else:
                del holders[h]
        return hit

    def matched(self, hash_ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """``(m, Z)`` leading blocks of each request cached on each replica; request ``i`` has
        blocks ``hash_ids[offsets[i]:offsets[i+1]]`` (the ragged layout of a trace).

        One dictionary read per block, then numpy: a block counts on replica z while every
        block before it in its request is on z too (the first miss per request and replica,
        found with one ``minimum.reduceat``)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        m, Z = len(offsets) - 1, len(self.caches)
        out = np.zeros((max(m, 0), Z), dtype=np.int64)
        n = int(offsets[-1]) if m > 0 else 0
        if n == 0:
            return out
        get = self._holders.get
        masks = np.fromiter((get(h, 0) for h in _hashes(hash_ids[:n])), np.uint64, count=n)
        present = (masks[:, None] >> np.arange(Z, dtype=np.uint64)[None, :]) & np.uint64(1)
        lengths = np.diff(offsets)
        pos = np.arange(n, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        # a miss at block position p caps the run at p; a request without a miss matches whole
        first_miss = np.where(
            present.astype(bool), np.repeat(lengths, lengths)[:, None], pos[:, None]
        )
        full = lengths > 0
        out[full] = np.minimum.reduceat(first_miss, offsets[:-1][full], axis=0)
        return out
