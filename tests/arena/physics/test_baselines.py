"""The baselines among eligible zones and the load board, on plain arrays (no model)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.physics import (
    ArgmaxSpillRouter,
    JoinShortestQueueRouter,
    LoadBoard,
    LoadInfo,
    PowerOfDRouter,
    RouterView,
    eligible_zones,
    join_least_loaded,
)


def view(occ, queue, cap, seed=0, groups=None) -> RouterView:
    z = len(cap)
    return RouterView(
        rng=np.random.default_rng(seed),
        routable_zones=np.arange(z),
        zone_capacity=np.asarray(cap),
        occupancy=np.asarray(occ),
        queue_length=np.asarray(queue),
        zone_group=np.arange(z) if groups is None else np.asarray(groups),
        zone_xy=np.zeros((z, 2), dtype=np.float32),
        entry=np.zeros(2, dtype=np.float32),
        step=0,
    )


def assignments(test):
    """Property cases: m intents, z zones, k candidates each, a seed for the rest."""
    cases = given(
        m=st.integers(1, 60),
        z=st.integers(1, 8),
        k=st.integers(1, 4),
        seed=st.integers(0, 10_000),
    )
    return settings(max_examples=150, deadline=None)(cases(test))


def sequential_greedy(cand, ok, base, cap):
    """The reference: one intent at a time, to its least loaded eligible candidate."""
    load = base.astype(float).copy()
    out = []
    for row, okr in zip(cand, ok, strict=True):
        best = min((z for z, o in zip(row, okr, strict=True) if o), key=lambda z: load[z] / cap[z])
        ties = [
            z
            for z, o in zip(row, okr, strict=True)
            if o and load[z] / cap[z] == load[best] / cap[best]
        ]
        out.append(ties[0])
        load[ties[0]] += 1
    return np.array(out), load


@assignments
def test_join_least_loaded_is_the_sequential_greedy_for_replicas(m, z, k, seed):
    """Intents sharing one candidate set (the replicas of a service): exactly one-at-a-time."""
    rng = np.random.default_rng(seed)
    row = rng.permutation(z)[: min(k, z)]
    cand = np.tile(row, (m, 1))
    ok = np.ones(cand.shape, dtype=bool)
    base = rng.integers(0, 6, z).astype(float)
    cap = rng.integers(1, 4, z).astype(float)
    ref, _ = sequential_greedy(cand, ok, base, cap)
    np.testing.assert_array_equal(join_least_loaded(cand, ok, base, cap), ref)


@assignments
def test_join_least_loaded_is_a_greedy_assignment_for_mixed_candidates(m, z, k, seed):
    """Every intent lands on an eligible candidate, and every zone's last arrival was no worse
    off there than at any of its alternatives at the end (the greedy balance property)."""
    rng = np.random.default_rng(seed)
    cand = np.stack([rng.permutation(z)[: min(k, z)] for _ in range(m)])
    ok = rng.random(cand.shape) < 0.7
    ok[:, 0] = True
    base = rng.integers(0, 6, z).astype(float)
    cap = rng.integers(1, 4, z).astype(float)
    got = join_least_loaded(cand, ok, base, cap)
    assert all(g in row[o] for g, row, o in zip(got, cand, ok, strict=True))
    final = (base + np.bincount(got, minlength=z)) / cap
    for zone in set(got.tolist()):
        before = final[zone] - 1 / cap[zone]  # the load its last arrival saw
        assert any(
            all(before <= final[a] + 1e-9 for a in row[o] if a != zone)
            for g, row, o in zip(got, cand, ok, strict=True)
            if g == zone
        )


def test_jsq_fills_replicas_by_load_ratio_and_never_leaves_them():
    sims = np.array([[0.9, 0.9, 0.9, 0.1]] * 12)  # zones 0-2 are replicas; zone 3 is wrong
    board = view([0] * 4, [0] * 4, [2, 1, 3, 9], groups=[0, 0, 0, 1])
    got = JoinShortestQueueRouter().choose(board, sims)
    assert set(got) <= {0, 1, 2}
    assert np.bincount(got, minlength=4)[:3].tolist() == [4, 2, 6]  # 2 each per slot


def test_jsq_and_power_of_d_read_the_board_not_the_truth():
    sims = np.array([[0.9, 0.9]] * 4)
    board = view([5, 0], [3, 0], [5, 5], groups=[0, 0])  # the board says zone 1 is empty
    assert set(JoinShortestQueueRouter().choose(board, sims)) == {1}
    # with d = 2 of 2 eligible zones power of d is JSQ; with d = 1 it is random among them
    assert set(PowerOfDRouter(d=2).choose(board, sims)) == {1}
    picks = PowerOfDRouter(d=1).choose(
        view([5, 0], [3, 0], [5, 5], seed=3, groups=[0, 0]), np.array([[0.9, 0.9]] * 400)
    )
    assert 150 < (picks == 0).sum() < 250


def test_power_of_d_samples_only_eligible_zones_with_a_margin():
    rng = np.random.default_rng(1)
    sims = np.column_stack([np.full(300, 0.9), np.full(300, 0.89), rng.uniform(0, 0.5, (300, 3))])
    got = PowerOfDRouter(d=2, top_k=5, margin=0.02).choose(view([0] * 5, [0] * 5, [1] * 5), sims)
    assert set(got) <= {0, 1}


def test_argmax_spill_goes_down_the_similarity_order_while_the_board_shows_no_room():
    sims = np.array([[0.9, 0.8, 0.7]] * 5)
    spill = ArgmaxSpillRouter(margin=0.25)  # lower-quality hosts within 0.25 may take the spill
    got = spill.choose(view([2, 0, 0], [0, 0, 0], [3, 2, 10]), sims)
    # one free slot at zone 0, two at zone 1, the rest to zone 2 (arrival order kept)
    assert got.tolist() == [0, 1, 1, 2, 2]
    full = spill.choose(view([3, 2, 10], [0, 0, 0], [3, 2, 10]), sims)
    assert full.tolist() == [0] * 5  # no room anywhere: the most similar zone
    # by default only the most similar zone's group is eligible: no spill to other services
    alone = ArgmaxSpillRouter().choose(view([2, 0, 0], [0, 0, 0], [3, 2, 10]), sims)
    assert alone.tolist() == [0] * 5


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    gap=st.floats(0.001, 0.2),
    m=st.integers(1, 80),
    seed=st.integers(0, 10_000),
)
def test_baselines_by_default_route_only_to_the_best_zones_group(sizes, gap, m, seed):
    """Services with 1..4 replicas each (sims equal within a group, other services close
    behind): at their default settings every baseline routes each intent to its own service's
    zones, however loaded — the top 3 by similarity would include other services."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    right = rng.integers(0, len(sizes), m)
    base = rng.uniform(0.2, 0.6, (m, len(sizes)))
    base[np.arange(m), right] = base.max(axis=1) + gap
    sims = base[:, groups]
    z = len(groups)
    board = view(rng.integers(0, 5, z), rng.integers(0, 5, z), rng.integers(1, 4, z), seed, groups)
    for router in (PowerOfDRouter(), JoinShortestQueueRouter(), ArgmaxSpillRouter()):
        got = router.choose(board, sims)
        np.testing.assert_array_equal(groups[got], right, err_msg=router.name)


@pytest.mark.parametrize("bad", [{"d": 0}, {"d": 1.5}, {"top_k": -1}, {"margin": float("nan")}])
def test_bad_baseline_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        PowerOfDRouter(**bad)


def test_a_board_shows_the_load_posted_every_period_and_a_delay_lags():
    occ, queue = np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    board = LoadBoard(LoadInfo("board", period=3), occ, queue)
    delayed = LoadBoard(LoadInfo("delayed", delay=2), occ, queue)
    seen_board, seen_delayed = [], []
    for t in range(7):
        occ[0] = t  # the live load grows by one a step
        board.post(t)
        delayed.post(t)
        seen_board.append(int(board.occupancy[0]))
        seen_delayed.append(int(delayed.occupancy[0]))
    assert seen_board == [0, 0, 0, 3, 3, 3, 6]
    assert seen_delayed == [0, 0, 0, 1, 2, 3, 4]
    instant = LoadBoard(LoadInfo(), occ, queue)
    assert instant.occupancy is occ  # fresh information is the live array itself


def test_a_board_posts_at_multiples_of_its_period_in_seconds_whatever_the_tick():
    occ, queue = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    board = LoadBoard(LoadInfo("board", period=0.5), occ, queue)
    seen = []
    for t in (0.0, 0.2, 0.4, 0.5, 0.9, 1.3, 1.6):  # irregular ticks (quiet ones skipped)
        occ[0] = round(10 * t)
        board.post(t)
        seen.append((int(board.occupancy[0]), board.posted_at))
    assert seen == [(0, 0.0), (0, 0.0), (0, 0.0), (5, 0.5), (5, 0.5), (13, 1.0), (16, 1.5)]
    assert board.next_post(1.6) == 2.0


@pytest.mark.parametrize(
    "kw", [{"mode": "sometimes"}, {"mode": "board", "period": 0}, {"mode": "delayed", "delay": -1}]
)
def test_bad_load_info_is_refused(kw):
    with pytest.raises(ValueError, match="load_info"):
        LoadInfo(**kw)


def test_a_lower_quality_host_of_the_capability_is_eligible_a_wrong_specialist_is_not():
    """#26: a general intake hosting the request's capability at lower quality is a place a
    baseline may send it (the view's ``hosts``), however much less similar it looks; another
    specialist is not, without a margin."""
    sims = np.array([[0.9, 0.2, 0.5]])  # specialist, general intake (lower quality), other
    group = np.array([0, 1, 2])
    cand, ok = eligible_zones(sims, group)
    assert cand[ok].tolist() == [0]
    hosts = np.array([[True, True, False]])
    cand, ok = eligible_zones(sims, group, hosts=hosts)
    assert sorted(cand[ok].tolist()) == [0, 1]


def test_the_model_tells_baselines_which_zones_host_each_requests_capability():
    from arena_fixtures import base_data
    from fakes import BagOfWordsEmbedder

    from arena.model import ArenaModel
    from arena.scenario import parse_scenario

    data = base_data(steps=5)
    first, second = data["zones"][0], data["zones"][1]
    # the second zone also hosts the first zone's capability, at quality 0.5 (an intake)
    second["capabilities"] = [*second["capabilities"], *first["capabilities"]]
    second["quality"] = {c: 0.5 for c in first["capabilities"]}
    model = ArenaModel(parse_scenario(data), embedder=BagOfWordsEmbedder())
    model.run()
    served = np.flatnonzero(model.ledger.zone == 0)
    assert len(served)
    hosts = model.hosts_of(served)
    assert hosts[:, 0].all() and hosts[:, 1].all()  # the specialist and the intake
    assert not hosts[:, 2:].any()  # no other zone hosts the first zone's capability
