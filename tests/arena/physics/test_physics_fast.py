"""The fused numba physics step equals the NumPy reference (``arena.physics.step_swarm``).

Logits, hence the favourite zone, are computed with the same float32 operations in the same
order, so ``fav`` must match exactly; positions, velocities and the squared capture distance
agree to float32 rounding (the fast path's ``exp`` and softmax sums round differently).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.physics import Physics, Swarm, SwarmArrays, Workspace, step_swarm
from arena.physics.fast import c_rows, select_kernel, step_swarm_numba

pytest.importorskip("numba")

WIDTH = 500.0


def make_swarm(n: int, k: int, zones: int, seed: int, *, spread_v: float = 3.0) -> dict:
    """Random intents with distinct candidate zones, as the model builds them (candidate-major)."""
    rng = np.random.default_rng(seed)
    zone_xy = rng.uniform(0, WIDTH, (zones, 2)).astype(np.float32)
    cand = np.argsort(rng.random((n, zones)), axis=1)[:, :k].T.astype(np.int16)
    return {
        "x": rng.uniform(0, WIDTH, n).astype(np.float32),
        "y": rng.uniform(0, WIDTH, n).astype(np.float32),
        "vx": rng.normal(0, spread_v, n).astype(np.float32),
        "vy": rng.normal(0, spread_v, n).astype(np.float32),
        "cand": np.ascontiguousarray(cand),
        "csim": rng.uniform(-0.3, 1.0, (k, n)).astype(np.float32),
        "czx": np.ascontiguousarray(zone_xy[cand, 0]),
        "czy": np.ascontiguousarray(zone_xy[cand, 1]),
        "zone_load": rng.uniform(0, 2, zones).astype(np.float32),
    }


def step_args(state: dict) -> tuple[SwarmArrays, np.ndarray]:
    """A swarm dict as the step's arguments: its arrays, and the zone load."""
    arrays = {name: a for name, a in state.items() if name != "zone_load"}
    return SwarmArrays(**arrays), state["zone_load"]


def run_both(state: dict, physics: Physics, seed: int | None = None):
    ref = {name: np.array(a, copy=True) for name, a in state.items()}
    fast = {name: np.array(a, copy=True) for name, a in state.items()}
    rng_ref = np.random.default_rng(seed) if seed is not None else None
    rng_fast = np.random.default_rng(seed) if seed is not None else None
    fav_r, d2_r = step_swarm(*step_args(ref), physics=physics, rng=rng_ref, work=Workspace())
    fav_f, d2_f = step_swarm_numba(
        *step_args(fast), physics=physics, rng=rng_fast, work=Workspace()
    )
    return ref, fav_r.copy(), d2_r.copy(), fast, fav_f, d2_f, rng_ref, rng_fast


def assert_same(ref, fav_r, d2_r, fast, fav_f, d2_f):
    np.testing.assert_array_equal(fav_f, fav_r)
    assert fav_f.dtype == np.intp
    for name in ("vx", "vy"):
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-4, atol=1e-4, err_msg=name)
    for name in ("x", "y"):
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-5, atol=1e-3, err_msg=name)
    # d2 is a squared distance of positions up to ~WIDTH: compare on the distance scale
    np.testing.assert_allclose(np.sqrt(d2_f), np.sqrt(d2_r), rtol=1e-4, atol=2e-3)


physics_params = st.builds(
    Physics,
    temperature=st.sampled_from([1e-3, 0.05, 0.5, 5.0]),
    attraction=st.floats(0.0, 50.0),
    repulsion=st.sampled_from([0.0, 3.0, 20.0]),
    falloff=st.sampled_from([0.0, 0.02, 1.0]),
    damping=st.floats(0.0, 0.99),
    max_speed=st.sampled_from([0.1, 1.0, 12.0, 100.0]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 300),
    k=st.integers(1, 4),
    zones=st.integers(4, 12),
    seed=st.integers(0, 2**16),
    physics=physics_params,
)
def test_fast_step_equals_the_reference(n, k, zones, seed, physics):
    state = make_swarm(n, k, zones, seed)
    ref, fav_r, d2_r, fast, fav_f, d2_f, *_ = run_both(state, physics)
    assert len(fav_f) == len(d2_f) == n
    assert_same(ref, fav_r, d2_r, fast, fav_f, d2_f)


def test_single_intent_and_single_candidate():
    state = make_swarm(1, 1, 3, seed=7)
    out = run_both(state, Physics())
    assert_same(*out[:6])
    assert out[4][0] == state["cand"][0, 0]  # k = 1: the only candidate is the favourite


def test_max_speed_clips_velocity_on_the_fast_path():
    state = make_swarm(500, 3, 10, seed=3, spread_v=50.0)
    physics = Physics(max_speed=1.0, attraction=50.0)
    ref, fav_r, d2_r, fast, fav_f, d2_f, *_ = run_both(state, physics)
    speed = np.hypot(fast["vx"], fast["vy"])
    assert speed.max() <= 1.0 + 1e-5
    assert (speed > 0.999).mean() > 0.9  # the limit bound almost every intent
    assert_same(ref, fav_r, d2_r, fast, fav_f, d2_f)


def test_zero_repulsion_and_falloff_leave_pure_similarity():
    state = make_swarm(400, 3, 8, seed=11)
    state["zone_load"][:] = 1e6  # ignored when repulsion is 0
    physics = Physics(repulsion=0.0, falloff=0.0)
    ref, fav_r, d2_r, fast, fav_f, d2_f, *_ = run_both(state, physics)
    most_similar = state["cand"][state["csim"].argmax(axis=0), np.arange(400)]
    np.testing.assert_array_equal(fav_f, most_similar)
    assert_same(ref, fav_r, d2_r, fast, fav_f, d2_f)


def test_noise_is_drawn_from_the_callers_rng_like_the_reference():
    state = make_swarm(300, 3, 10, seed=5)
    physics = Physics(noise=2.0)
    ref, fav_r, d2_r, fast, fav_f, d2_f, rng_r, rng_f = run_both(state, physics, seed=42)
    assert_same(ref, fav_r, d2_r, fast, fav_f, d2_f)
    assert rng_r.random() == rng_f.random()  # both consumed the generator identically
    quiet = run_both(state, physics.replace(noise=0.0))
    assert not np.allclose(quiet[3]["vx"], fast["vx"])  # the noise really moved them


def test_swarm_views_with_spare_capacity_are_used_without_copy_and_match():
    """The model passes (k, capacity)[:, :n] views of its Swarm: not C-contiguous."""
    k, n, zones = 3, 700, 10
    src = make_swarm(n, k, zones, seed=9)
    zone_xy = np.random.default_rng(1).uniform(0, WIDTH, (zones, 2)).astype(np.float32)
    swarms = []
    for _ in range(2):
        sw = Swarm(k, capacity=2048)
        sw.add(src["x"], src["y"], src["cand"], src["csim"], zone_xy, np.arange(n), born=0)
        swarms.append(sw)
    assert not swarms[0].czx.flags.c_contiguous
    rows = c_rows(swarms[0].czx, np.float32)  # what the kernel gets: a view, not a copy
    assert rows.flags.c_contiguous and np.shares_memory(rows, swarms[0]._czx)
    np.testing.assert_array_equal(rows[:, :n], swarms[0].czx)
    load = src["zone_load"]
    outs = []
    for sw, kern in zip(swarms, (step_swarm, step_swarm_numba)):
        fav, d2 = kern(sw.arrays(), load, Physics())
        outs.append((fav.copy(), d2.copy(), sw.x.copy(), sw.vy.copy()))
    np.testing.assert_array_equal(outs[1][0], outs[0][0])
    np.testing.assert_allclose(outs[1][2], outs[0][2], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(outs[1][3], outs[0][3], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.sqrt(outs[1][1]), np.sqrt(outs[0][1]), rtol=1e-4, atol=2e-3)
    assert np.all(swarms[1]._x[n:] == 0)  # rows past n untouched


def test_repeated_steps_stay_together():
    """Ten steps on each path from the same start: rounding differences do not grow."""
    state = make_swarm(2000, 3, 10, seed=21)
    physics = Physics()
    ref = {name: a.copy() for name, a in state.items()}
    fast = {name: a.copy() for name, a in state.items()}
    for _ in range(10):
        fr, _ = step_swarm(*step_args(ref), physics=physics)
        ff, _ = step_swarm_numba(*step_args(fast), physics=physics)
    assert (fr == ff).mean() > 0.999
    np.testing.assert_allclose(fast["x"], ref["x"], rtol=1e-4, atol=1e-2)


def test_bad_input_is_named():
    state = make_swarm(10, 2, 4, seed=0)
    state["x"] = state["x"].astype(np.float64)
    with pytest.raises(ValueError, match="x must be contiguous float32"):
        step_swarm_numba(*step_args(state), physics=Physics())


def test_select_kernel():
    assert select_kernel("numpy") is step_swarm
    assert select_kernel("numba") is step_swarm_numba
    assert select_kernel("auto") is step_swarm_numba
    with pytest.raises(ValueError, match="'numpy', 'numba' or 'auto'"):
        select_kernel("cuda")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 300),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.1, 1.0, 5.0]),
    physics=physics_params,
)
def test_a_choice_bias_moves_both_kernels_alike(n, k, seed, scale, physics):
    """The per-candidate bias (Gumbel choice noise, capacity bias) enters the logit the same way
    on both paths, and it changes favourites: with a large bias the favourite follows it."""
    state = make_swarm(n, k, max(k, 6), seed)
    state["cbias"] = (scale * np.random.default_rng(seed).gumbel(size=(k, n))).astype(np.float32)
    assert_same(*run_both(state, physics)[:6])


def test_a_large_bias_decides_the_favourite():
    state = make_swarm(200, 3, 6, 5)
    bias = np.full((3, 200), -1e4, dtype=np.float32)
    bias[2] = 0.0  # every intent's third candidate wins, whatever its similarity or load
    state["cbias"] = bias
    _, fav_r, *_, fav_f, _ = run_both(state, Physics(temperature=0.05))[:6]
    np.testing.assert_array_equal(fav_r, state["cand"][2])
    np.testing.assert_array_equal(fav_f, state["cand"][2])
