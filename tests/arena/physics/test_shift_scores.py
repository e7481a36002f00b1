"""Scores for new kinds of request (energy, distances, margin, the mix) on hand-made cases, and
the accuracy-only threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.physics import (
    EnergyMahalanobis,
    GaussianReference,
    SoftmaxHead,
    accuracy_threshold,
    energy,
    gate_figures,
    in_scope_score,
    knn_similarity,
    mix_or_fit,
    zone_margin,
)


def test_energy_is_logsumexp_of_the_chosen_columns_only():
    logits = np.array([[0.0, math.log(3.0), 50.0], [1.0, 1.0, -5.0]], dtype=np.float32)
    np.testing.assert_allclose(energy(logits, np.array([0, 1])), [math.log(4.0), 1 + math.log(2)])
    # a huge logit in a column left out (the out-of-scope class) changes nothing
    assert energy(logits, np.array([0, 1]))[0] < energy(logits, np.array([0, 1, 2]))[0]


def test_margin_is_best_minus_second_best():
    zones = np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.5, 0.1, 0.5]])
    np.testing.assert_allclose(zone_margin(zones), [0.5, 0.1, 0.0])
    np.testing.assert_array_equal(zone_margin(np.ones((2, 1))), [0.0, 0.0])


def test_knn_similarity_reads_the_kth_nearest():
    ref = np.eye(3)
    q = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]])
    np.testing.assert_allclose(knn_similarity(q, ref, 1), [1.0, 0.8])
    np.testing.assert_allclose(knn_similarity(q, ref, 2), [0.0, 0.6])
    np.testing.assert_allclose(knn_similarity(q, ref, 1, chunk=1), [1.0, 0.8])
    with pytest.raises(ValueError, match=r"k must be in \[1, 3\]"):
        knn_similarity(q, ref, 4)


def _clusters(rng, n_classes=3, per=40, dim=6, spread=0.05):
    centres = np.eye(dim)[:n_classes] * 2.0
    y = np.repeat(np.arange(n_classes), per)
    return centres[y] + spread * rng.standard_normal((len(y), dim)), y, centres


def test_mahalanobis_is_small_at_a_class_mean_and_large_far_away():
    x, y, centres = _clusters(np.random.default_rng(0))
    ref = GaussianReference.fit(x, y)
    near = ref.mahalanobis(centres)
    far = ref.mahalanobis(np.full((1, x.shape[1]), -3.0))
    assert near.max() < 1.0 < 100 * near.max() < far[0]
    # relative: near a class mean it is below the background's distance, far away it is not
    assert (ref.relative_mahalanobis(centres) < 0).all()


def test_distances_match_the_textbook_formula():
    rng = np.random.default_rng(2)
    x, y, _ = _clusters(rng, spread=0.3)
    ref = GaussianReference.fit(x, y, shrinkage=0.1)
    q = rng.standard_normal((4, x.shape[1]))
    means = np.stack([x[y == c].mean(axis=0) for c in range(3)])
    resid = x - means[y]

    def precision(cov):
        return np.linalg.inv(cov + 0.1 * np.trace(cov) / len(cov) * np.eye(len(cov)))

    p = precision(resid.T @ resid / len(x))
    pb = precision(np.cov(x.T, bias=True))
    d2 = np.array([[(v - m) @ p @ (v - m) for m in means] for v in q]).min(axis=1)
    bg = np.array([(v - x.mean(axis=0)) @ pb @ (v - x.mean(axis=0)) for v in q])
    np.testing.assert_allclose(ref.mahalanobis(q), d2, rtol=1e-4)
    np.testing.assert_allclose(ref.relative_mahalanobis(q), d2 - bg, rtol=1e-3, atol=1e-2)


def test_a_reference_refuses_too_few_or_non_finite_rows():
    with pytest.raises(ValueError, match="at least 2 finite rows"):
        GaussianReference.fit(np.ones((1, 3)), np.array([0]))
    with pytest.raises(ValueError, match="at least 2 finite rows"):
        GaussianReference.fit(np.array([[0.0, np.nan], [1.0, 1.0]]), np.array([0, 1]))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=6, max_size=6),
)
def test_relative_mahalanobis_ignores_where_the_data_sit_and_the_row_order(seed, shift):
    rng = np.random.default_rng(seed)
    x, y, _ = _clusters(rng, spread=0.3)
    q = rng.standard_normal((5, x.shape[1]))
    base = GaussianReference.fit(x, y).relative_mahalanobis(q)
    moved = GaussianReference.fit(x + shift, y).relative_mahalanobis(q + shift)
    perm = rng.permutation(len(y))
    shuffled = GaussianReference.fit(x[perm], y[perm]).relative_mahalanobis(q)
    np.testing.assert_allclose(moved, base, rtol=1e-3, atol=1e-2)  # float32 products
    np.testing.assert_allclose(shuffled, base, rtol=1e-3, atol=1e-2)


def _head_and_rows():
    x, y, _ = _clusters(np.random.default_rng(1), n_classes=3, per=30)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    head = SoftmaxHead.fit(x, y, 3)
    return head, x, y


def test_the_mix_is_standardised_on_its_fit_rows_and_weighs_its_two_terms():
    head, x, y = _head_and_rows()
    mix = EnergyMahalanobis.fit(x, y, head, np.arange(3), mix=0.5)
    f = mix.features(x)
    z = (f - mix.center) / mix.scale
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-9)
    np.testing.assert_allclose(mix.combine(f, 0.0), z[:, 0])
    np.testing.assert_allclose(mix.combine(f, 1.0), z[:, 1])
    np.testing.assert_allclose(mix(x), 1 / (1 + np.exp(-(0.5 * z[:, 0] + 0.5 * z[:, 1]))))
    assert ((mix(x) > 0) & (mix(x) < 1)).all()
    far = -x[:3]  # the opposite directions: no class there
    assert mix(far).max() < mix(x).min()
    with pytest.raises(ValueError, match=r"mix must be in \[0, 1\]"):
        EnergyMahalanobis.fit(x, y, head, np.arange(3), mix=1.5)


def test_a_fitted_mix_is_cached_beside_the_heads_and_loads_the_same(tmp_path):
    head, x, y = _head_and_rows()
    calls = []

    def rows():
        calls.append(1)
        return x, y

    first = mix_or_fit(tmp_path, head, np.arange(3), rows)
    again = mix_or_fit(tmp_path, head, np.arange(3), rows)
    assert len(calls) == 1 and len(list((tmp_path / "heads").glob("mix-*.npz"))) == 1
    np.testing.assert_array_equal(again(x), first(x))
    assert again.mix == first.mix
    # another head (other examples) is another entry, fitted anew
    other = SoftmaxHead(head.weights * 2, head.bias)
    mix_or_fit(tmp_path, other, np.arange(3), rows)
    assert len(calls) == 2


def test_the_gate_score_needs_the_fitted_mix_and_the_embeddings():
    head, x, y = _head_and_rows()
    mix = EnergyMahalanobis.fit(x, y, head, np.arange(3))
    proba = head.proba(x)
    got = in_scope_score(
        proba, proba, np.zeros(0, int), "energy_mahalanobis", embeddings=x, mix=mix
    )
    np.testing.assert_allclose(got, mix(x))
    with pytest.raises(ValueError, match="needs the embeddings and a fitted mix"):
        in_scope_score(proba, proba, np.zeros(0, int), "energy_mahalanobis")


in_scope_rows = st.integers(3, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(in_scope_rows, st.floats(0.0, 1.0))
def test_the_accuracy_threshold_flags_the_most_the_accuracy_allows(data, target):
    score, right = (np.array(a) for a in data)
    score = np.round(score, 1)  # ties on purpose
    none = np.zeros(len(score), dtype=bool)
    if right.mean() < target:
        with pytest.raises(ValueError, match="no threshold keeps"):
            accuracy_threshold(score, right, target)
        return
    th = accuracy_threshold(score, right, target)
    got = gate_figures(score, none, right, th)
    assert got.zone_accuracy >= target
    # no threshold keeping the accuracy flags more (brute force over every distinct gate)
    candidates = np.concatenate([[-np.inf], np.unique(score), [np.inf]])
    feasible = [
        gate_figures(score, none, right, c).flagged
        for c in candidates
        if gate_figures(score, none, right, c).zone_accuracy >= target
    ]
    assert got.flagged == max(feasible)


def test_the_accuracy_threshold_refuses_non_finite_or_empty_scores():
    with pytest.raises(ValueError, match="finite and not empty"):
        accuracy_threshold(np.array([0.1, np.inf]), np.array([True, True]), 0.5)
    with pytest.raises(ValueError, match="finite and not empty"):
        accuracy_threshold(np.zeros(0), np.zeros(0, bool), 0.5)
