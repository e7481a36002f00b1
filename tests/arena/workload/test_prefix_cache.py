"""Prefix caches: LRU order, leading-run hits, the fleet index against per-replica lookups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.workload import PrefixCache, PrefixFleet


def test_a_hit_counts_only_the_leading_run_of_blocks():
    cache = PrefixCache(16)
    cache.insert([1, 2, 3, 4])
    assert cache.lookup([1, 2, 3, 4]) == 4
    assert cache.lookup([1, 2, 9, 4]) == 2  # block 4 is cached but follows a miss
    assert cache.lookup([9, 2, 3]) == 0
    assert cache.lookup([1, 2, 3, 4, 5]) == 4
    assert cache.lookup([]) == 0


def test_lru_evicts_the_least_recently_used_blocks_tails_first():
    cache = PrefixCache(4)
    cache.insert([1, 2])  # touched 2 then 1: 1 is the more recent
    cache.insert([3, 4])
    assert cache.blocks() == [2, 1, 4, 3]
    cache.lookup([2, 1])  # a lookup does not refresh
    assert cache.insert([5]) == [2]
    assert cache.insert([1, 6]) == [4]  # 1 refreshed, so 4 is now the oldest
    assert cache.blocks() == [3, 5, 6, 1]
    assert cache.lookup([1, 6]) == 2 and cache.lookup([3]) == 1


def test_a_request_longer_than_the_cache_keeps_its_leading_blocks():
    cache = PrefixCache(3)
    evicted = cache.insert([10, 11, 12, 13, 14])
    assert evicted == [14, 13]
    assert cache.lookup([10, 11, 12, 13, 14]) == 3


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_a_cache_refuses_a_size_that_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="capacity"):
        PrefixCache(bad)


def test_a_fleet_refuses_more_replicas_than_its_bit_masks_hold():
    with pytest.raises(ValueError, match="1 to 64 replicas"):
        PrefixFleet(65, 8)


blocks = st.lists(st.integers(0, 12), max_size=8)


@settings(max_examples=120, deadline=None)
@given(
    capacity=st.integers(1, 10),
    served=st.lists(st.tuples(st.integers(0, 2), blocks), max_size=25),
    queries=st.lists(blocks, min_size=1, max_size=6),
)
def test_size_never_exceeds_capacity_and_the_fleet_agrees_with_each_cache(
    capacity, served, queries
):
    fleet = PrefixFleet(3, capacity)
    for replica, hashes in served:
        before = fleet.caches[replica].lookup(hashes)
        assert fleet.insert(replica, hashes) == before
        assert all(len(c) <= capacity for c in fleet.caches)
    flat = np.array([h for q in queries for h in q], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum([len(q) for q in queries]))).astype(np.int64)
    matched = fleet.matched(flat, offsets)
    expect = np.array([[c.lookup(q) for c in fleet.caches] for q in queries])
    np.testing.assert_array_equal(matched, expect)
    lengths = np.array([len(q) for q in queries])
    assert (matched <= lengths[:, None]).all() and (matched >= 0).all()
    np.testing.assert_allclose(fleet.utilisation(), [len(c) / capacity for c in fleet.caches])
