"""The out-of-scope gate's parts: scores, the threshold choice, splits, folds, intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.physics import (
    SoftmaxHead,
    binomial_interval,
    choose_threshold,
    cross_validated_margin,
    gate_figures,
    in_scope_score,
    out_of_fold_proba,
    stratified_folds,
    stratified_holdout,
)


def test_scores_read_the_right_columns():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    zones = np.array([[0.7, 0.2], [0.1, 0.1]], dtype=np.float32)
    np.testing.assert_allclose(in_scope_score(proba, zones, np.array([2]), "best_zone"), [0.7, 0.1])
    np.testing.assert_allclose(
        in_scope_score(proba, zones, np.array([2]), "fallback_class"), [0.9, 0.2], atol=1e-6
    )
    with pytest.raises(ValueError, match="unknown out-of-scope score 'energy'"):
        in_scope_score(proba, zones, np.array([2]), "energy")


labelled = st.integers(5, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(labelled, st.floats(0.0, 1.0))
def test_the_chosen_threshold_is_the_best_one_that_keeps_the_accuracy(data, target):
    score, is_oos, right = (np.array(a) for a in data)
    score = np.round(score, 2)  # ties on purpose
    if (~is_oos).sum() == 0:
        is_oos[0] = False
    unflagged = gate_figures(score, is_oos, right, -np.inf).zone_accuracy
    if unflagged < target:
        with pytest.raises(ValueError, match="no threshold keeps"):
            choose_threshold(score, is_oos, right, target)
        return
    th = choose_threshold(score, is_oos, right, target)
    got = gate_figures(score, is_oos, right, th)
    assert got.zone_accuracy >= target
    # brute force over every threshold that makes a different gate
    candidates = np.concatenate([[-np.inf], np.unique(score), [np.inf]])
    feasible = [
        gate_figures(score, is_oos, right, c)
        for c in candidates
        if gate_figures(score, is_oos, right, c).zone_accuracy >= target
    ]
    assert got.oos_caught == max(f.oos_caught for f in feasible)


def test_bad_scores_and_an_unreachable_target_are_refused():
    with pytest.raises(ValueError, match="finite"):
        choose_threshold(
            np.array([0.1, np.nan]), np.array([0, 1], bool), np.array([1, 0], bool), 0.5
        )
    with pytest.raises(ValueError, match=r"unflagged it is 0\.5000"):
        choose_threshold(np.array([0.1, 0.2]), np.array([0, 0], bool), np.array([1, 0], bool), 0.9)


def test_holdout_takes_the_same_share_of_every_label_reproducibly():
    labels = np.repeat(np.arange(7), [20, 20, 21, 3, 100, 1, 2])
    held = stratified_holdout(labels, 0.5, seed=3)
    for lab, n in zip(range(7), [20, 20, 21, 3, 100, 1, 2], strict=True):
        assert held[labels == lab].sum() == round(0.5 * n)
    np.testing.assert_array_equal(held, stratified_holdout(labels, 0.5, seed=3))
    assert not np.array_equal(held, stratified_holdout(labels, 0.5, seed=4))
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        stratified_holdout(labels, 1.0, seed=0)


def test_folds_spread_every_label_evenly():
    labels = np.repeat(np.arange(4), [10, 11, 3, 50])
    fold = stratified_folds(labels, 5, seed=0)
    for lab in range(4):
        counts = np.bincount(fold[labels == lab], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_out_of_fold_rows_are_never_scored_by_a_head_that_saw_them():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = rng.normal(size=(60, 8)).astype(np.float32) + 3 * np.eye(8, dtype=np.float32)[y]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    seen: list[np.ndarray] = []

    def fit(mask):
        seen.append(mask.copy())
        return SoftmaxHead.fit(x[mask], y[mask], 3)

    proba = out_of_fold_proba(x, y, 3, folds=4, fit=fit)
    assert len(seen) == 4
    scored_by = [np.flatnonzero(~m) for m in seen]  # each fit scores exactly the rows it lacks
    assert sorted(np.concatenate(scored_by).tolist()) == list(range(60))
    assert (proba.argmax(axis=1) == y).mean() > 0.9  # separable data: still learned
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_wilson_interval_matches_its_formula():
    k, n, z = 41, 50, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = binomial_interval(k, n)
    assert lo == pytest.approx(centre - half, abs=1e-9) and hi == pytest.approx(
        centre + half, abs=1e-9
    )
    assert lo < p < hi
    assert all(math.isnan(v) for v in binomial_interval(0, 0))
    assert binomial_interval(50, 50)[1] == pytest.approx(1.0)


def test_gate_figures_count_flagged_in_scope_as_misrouted():
    score = np.array([0.1, 0.2, 0.9, 0.8, 0.3])
    is_oos = np.array([True, False, False, False, True])
    right = np.array([False, True, True, False, False])
    f = gate_figures(score, is_oos, right, 0.25)  # flags rows 0 and 1
    assert (f.oos_caught, f.oos_total, f.flagged) == (1, 2, 2)
    assert (f.in_scope_right, f.in_scope_total) == (1, 3)
    assert f.recall == 0.5 and f.precision == 0.5 and f.zone_accuracy == pytest.approx(1 / 3)
    ci = f.intervals()
    assert set(ci) == {"recall", "precision", "zone_accuracy"}
    assert ci["recall"][0] < 0.5 < ci["recall"][1]


def test_the_cross_validated_margin_keeps_the_goal_out_of_fold():
    """Noisy scores: aiming exactly at the goal overfits, so a margin is added, and the
    figures it returns are the out-of-fold ones, whose 95% lower bound reaches the goal."""
    rng = np.random.default_rng(0)
    n = 3000
    is_oos = rng.random(n) < 0.05
    right = ~is_oos & (rng.random(n) < 0.98)
    score = np.where(is_oos, rng.normal(0.3, 0.2, n), rng.normal(0.8, 0.2, n))
    margin, oof = cross_validated_margin(score, is_oos, right, 0.95)
    assert margin > 0
    assert oof.in_scope_total == (~is_oos).sum() and oof.oos_total == is_oos.sum()
    assert binomial_interval(oof.in_scope_right, oof.in_scope_total)[0] >= 0.95
    # separable scores: no margin is needed
    clean = np.where(is_oos, 0.1, 0.9)
    assert cross_validated_margin(clean, is_oos, right, 0.95)[0] == 0.0
    with pytest.raises(ValueError, match="no margin up to"):
        cross_validated_margin(score, is_oos, right, 0.99)
