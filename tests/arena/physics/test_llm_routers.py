"""The practitioners' LLM routers on plain arrays: llm_d's weighted score by hand, bounded-load
consistent hashing keeping a session, category pools and their fallback."""

from __future__ import annotations

import numpy as np
import pytest

from arena.errors import RouterError, ScenarioError
from arena.physics import HEAD_BLOCKS, PrefixView, RouterView, affinity_keys, make_router


def view(queue, *, occ=None, cap=None, groups=None, prefix=None, seed=0) -> RouterView:
    z = len(queue)
    return RouterView(
        rng=np.random.default_rng(seed),
        routable_zones=np.arange(z),
        zone_capacity=np.ones(z, dtype=np.int64) if cap is None else np.asarray(cap),
        occupancy=np.zeros(z, dtype=np.int64) if occ is None else np.asarray(occ),
        queue_length=np.asarray(queue),
        zone_group=np.zeros(z, dtype=np.intp) if groups is None else np.asarray(groups),
        zone_xy=np.zeros((z, 2), dtype=np.float32),
        entry=np.zeros(2, dtype=np.float32),
        step=0,
        prefix=prefix,
    )


def prefix(matched, blocks, kv, key=None) -> PrefixView:
    """A prefix view whose requests open with block ``key`` (0, 1, 2... by default)."""
    matched = np.asarray(matched)
    m = matched.shape[0]
    head = np.full((m, HEAD_BLOCKS), -1, dtype=np.int64)
    head[:, 0] = np.arange(m) if key is None else np.asarray(key)
    return PrefixView(
        matched=matched,
        blocks=np.asarray(blocks),
        head=head,
        kv_utilisation=np.asarray(kv, dtype=float),
    )


def hand_llm_d(queue, matched, blocks, kv, w=(3.0, 2.0, 2.0)) -> np.ndarray:
    """llm-d's score written out one replica at a time, for one request."""
    lo, hi = min(queue), max(queue)
    out = []
    for z in range(len(queue)):
        q = 1.0 if hi == lo else (hi - queue[z]) / (hi - lo)
        p = matched[z] / blocks if blocks else 0.0
        out.append(w[0] * p + w[1] * q + w[2] * (1.0 - kv[z]))
    return np.array(out)


CASES = [
    # queue, matched (one request), blocks, kv utilisation
    ([0, 3, 1, 2], [0, 4, 1, 0], 4, [0.1, 0.2, 0.3, 0.9]),  # the cached replica, queue or not
    ([0, 3, 1, 2], [0, 1, 1, 0], 4, [0.1, 0.2, 0.3, 0.9]),  # a weak hit loses to the short queue
    ([5, 5, 5], [2, 0, 1], 2, [0.5, 0.0, 0.7]),  # equal queues: neutral, prefix vs kv
    ([1, 0, 4], [0, 0, 0], 0, [0.0, 0.6, 0.2]),  # no blocks: queue and kv decide
]


@pytest.mark.parametrize(("queue", "matched", "blocks", "kv"), CASES)
def test_llm_d_picks_the_hand_computed_best_score(queue, matched, blocks, kv):
    expect = hand_llm_d(queue, matched, blocks, kv)
    assert np.sum(expect == expect.max()) == 1  # the cases have one winner
    got = make_router("llm_d").choose(
        view(queue, prefix=prefix([matched], [blocks], kv)), np.zeros((1, len(queue)))
    )
    assert got.tolist() == [int(expect.argmax())]


def test_llm_d_user_weights_change_the_choice():
    queue, matched, kv = [0, 3], [0, 4], [0.0, 0.0]
    pv = prefix([matched], [4], kv)
    sims = np.zeros((1, 2))
    assert make_router("llm_d").choose(view(queue, prefix=pv), sims).tolist() == [1]
    only_queue = make_router("llm_d", {"prefix": 0, "kv": 0})
    assert only_queue.choose(view(queue, prefix=pv), sims).tolist() == [0]
    w = (1.0, 2.0, 0.0)
    assert hand_llm_d(queue, matched, 4, kv, w).argmax() == 0
    router = make_router("llm_d", {"prefix": 1, "queue": 2, "kv": 0})
    assert router.choose(view(queue, prefix=pv), sims).tolist() == [0]


def test_llm_d_stays_within_the_intents_service_and_breaks_ties_at_random():
    groups = [0, 0, 1, 1]
    sims = np.array([[0.9, 0.8, 0.1, 0.1]] * 200)
    pv = prefix(np.zeros((200, 4), dtype=int), np.zeros(200, dtype=int), [0, 0, 0, 0])
    got = make_router("llm_d").choose(view([0, 0, 0, 0], groups=groups, prefix=pv), sims)
    assert set(got.tolist()) == {0, 1}  # both tied replicas of the service get some
    assert 50 < np.sum(got == 0) < 150


@pytest.mark.parametrize(
    "params", [{"prefix": -1}, {"queue": float("nan")}, {"prefix": 0, "queue": 0, "kv": 0}]
)
def test_llm_d_refuses_bad_weights_naming_its_params(params):
    with pytest.raises(ScenarioError, match=r"router_params\.llm_d"):
        make_router("llm_d", params)


def test_prefix_affinity_keeps_a_session_on_one_replica_until_its_bound():
    router = make_router("prefix_affinity", {"eps": 0.5})
    z, key = 4, 12345
    sims = np.zeros((1, z))
    occ = np.full(z, 4, dtype=np.int64)  # a busy fleet: the bound leaves the session room
    first = None
    homes = []
    for _ in range(12):  # one request of the session per step; its replica keeps it
        pv = prefix([[0] * z], [1], [0] * z, key=[key])
        choice = int(
            router.choose(view(np.zeros(z, dtype=np.int64), occ=occ.copy(), prefix=pv), sims)[0]
        )
        first = choice if first is None else first
        bound = np.ceil(1.5 * (occ.sum() + 1) / z - 1e-9)
        # the session's replica while its load is under the bound, another one after
        assert (choice == first) == (occ[first] < bound)
        homes.append(choice)
        occ[choice] += 1
    # with (1 + eps) = 1.5 the session's replica takes 4 more (8 >= ceil(1.5 * 21 / 4)), then not
    assert homes[:4] == [first] * 4 and homes[4] != first


def test_prefix_affinity_spreads_keys_and_is_stable_for_a_key():
    router = make_router("prefix_affinity")
    z, m = 8, 4000
    keys = np.random.default_rng(1).integers(0, 2**40, size=m)
    pv = prefix(np.zeros((m, z), dtype=int), np.ones(m, dtype=int), [0] * z, key=keys)
    got = router.choose(view(np.zeros(z, dtype=np.int64), prefix=pv), np.zeros((m, z)))
    counts = np.bincount(got, minlength=z)
    assert counts.max() <= np.ceil(1.25 * m / z)  # the bound holds
    again = router.choose(view(np.zeros(z, dtype=np.int64), prefix=pv), np.zeros((m, z)))
    np.testing.assert_array_equal(got, again)


def test_prefix_affinity_without_prefixes_says_what_it_needs():
    with pytest.raises(RouterError, match="prefix_affinity needs"):
        make_router("prefix_affinity").choose(view([0, 0]), np.zeros((1, 2)))


def test_category_picks_the_class_pool_then_its_least_loaded_replica():
    groups = [0, 0, 1, 1, 1]
    queue = [0, 0, 5, 1, 3]
    sims = np.array([[0.1, 0.2, 0.9, 0.3, 0.3], [0.8, 0.7, 0.1, 0.1, 0.1]])
    got = make_router("category").choose(view(queue, groups=groups), sims)
    assert got.tolist() == [3, 0]  # class 1 -> its least loaded (3); class 0 -> tie, most similar


def test_category_sends_an_unclaimed_request_to_the_fallback_pool():
    groups = [0, 0, 1]
    queue = [4, 4, 0]
    sims = np.array([[0.30, 0.2, 0.1], [0.9, 0.2, 0.1]])
    got = make_router("category", {"min_similarity": 0.5}).choose(view(queue, groups=groups), sims)
    assert got.tolist() == [2, 0]  # the first is under 0.5: every zone; the second keeps its class


def test_affinity_keys_chain_the_leading_blocks():
    head = np.array([[0, 7, -1, -1], [0, 8, 9, -1], [0, -1, -1, -1], [-1, -1, -1, -1]])
    one, two = affinity_keys(head, 1), affinity_keys(head, 2)
    assert one[0] == one[1] == one[2] >= 0 and one[3] == -1  # a shared system prompt: one key
    assert len({two[0], two[1], two[2]}) == 3 and two[3] == -1  # the conversation tells apart
    assert two[2] == one[2]  # a one-block request keys by its one block
    with pytest.raises(ScenarioError, match="key_blocks"):
        make_router("prefix_affinity", {"key_blocks": HEAD_BLOCKS + 1})
