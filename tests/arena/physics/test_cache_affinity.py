"""The physics' cache-affinity force: a logit bonus of ``cache_affinity`` x the share of a
request's prompt blocks a zone holds, traded against repulsion by load, off at 0."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.errors import PhysicsError
from arena.physics import Physics, PrefixView, SwarmArrays, choice_bias, select_kernel


def two_replicas(cached_share: float, loads: tuple[float, float], physics: Physics, kernel):
    """One intent midway between two equally similar replicas; replica 0 holds
    ``cached_share`` of its prompt. Returns the favourite zone after one step."""
    cand = np.array([[0], [1]], dtype=np.int16)  # (k, m)
    share = np.array([[cached_share, 0.0]])  # (m, Z)
    bias = choice_bias(physics, np.random.default_rng(0), cand, np.ones(2), share)
    swarm = SwarmArrays(
        x=np.zeros(1, np.float32),
        y=np.zeros(1, np.float32),
        vx=np.zeros(1, np.float32),
        vy=np.zeros(1, np.float32),
        cand=cand,
        csim=np.full((2, 1), 0.8, np.float32),
        czx=np.array([[-10.0], [10.0]], np.float32),
        czy=np.zeros((2, 1), np.float32),
        cbias=bias,
    )
    fav, _ = select_kernel(kernel)(swarm, np.asarray(loads, np.float32), physics)
    return int(fav[0])


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_the_cached_replica_wins_an_even_contest(kernel):
    on = Physics(cache_affinity=2.0, repulsion=1.0, falloff=0.0)
    assert two_replicas(1.0, (0.6, 0.5), on, kernel) == 0  # 2 x 1.0 beats 1 x 0.1 of load
    off = on.replace(cache_affinity=0.0)
    assert two_replicas(1.0, (0.6, 0.5), off, kernel) == 1  # off: load alone decides


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
@pytest.mark.parametrize("share", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("repulsion", [0.5, 2.0])
def test_cache_pull_trades_against_repulsion_as_the_formula_says(kernel, share, repulsion):
    """Replica 0 holds ``share`` of the prompt and carries ``gap`` more load: it wins iff
    cache_affinity * share > repulsion * gap."""
    affinity = 4.0
    threshold = affinity * share / repulsion  # the load gap at which the two logits tie
    physics = Physics(cache_affinity=affinity, repulsion=repulsion, falloff=0.0)
    for gap in (0.8 * threshold, 1.2 * threshold):
        want = 0 if affinity * share > repulsion * gap else 1
        assert two_replicas(share, (0.1 + gap, 0.1), physics, kernel) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    noise=st.sampled_from([0.0, 1.0]),
    capacity_bias=st.sampled_from([0.0, 0.5]),
)
def test_zero_affinity_leaves_the_bias_and_the_rng_untouched(m, k, seed, noise, capacity_bias):
    """Off (the default), the force changes nothing: same bias, same random draws, whatever
    the caches hold, so every result without it is unchanged."""
    physics = Physics(choice_noise=noise, capacity_bias=capacity_bias)
    rng = np.random.default_rng(seed)
    cand = rng.integers(0, 6, size=(k, m))
    share = rng.random((m, 6))
    capacity = rng.uniform(0.1, 1.0, 6)
    a_rng, b_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    a = choice_bias(physics, a_rng, cand, capacity, share)
    b = choice_bias(physics, b_rng, cand, capacity)
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_array_equal(a, b)
    assert a_rng.random() == b_rng.random()


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 20), k=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_the_bonus_is_affinity_times_the_share_each_candidate_holds(m, k, seed):
    rng = np.random.default_rng(seed)
    cand = rng.integers(0, 5, size=(k, m))
    share = rng.random((m, 5))
    bias = choice_bias(Physics(cache_affinity=3.0), rng, cand, np.ones(5), share)
    want = 3.0 * share[np.arange(m)[None, :], cand]
    np.testing.assert_allclose(bias, want, rtol=1e-6)


def test_the_share_is_leading_cached_blocks_over_prompt_blocks():
    view = PrefixView(
        matched=np.array([[2, 0, 4], [0, 0, 0]]),
        blocks=np.array([4, 0]),
        head=np.full((2, 4), -1),
        kv_utilisation=np.zeros(3),
    )
    np.testing.assert_array_equal(view.share(), [[0.5, 0.0, 1.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("bad", [-0.1, 51.0, float("nan"), float("inf")])
def test_an_affinity_outside_its_range_is_refused(bad):
    with pytest.raises(PhysicsError, match=r"physics\.cache_affinity"):
        Physics(cache_affinity=bad)
