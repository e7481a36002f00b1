"""Leave-one-zone-out on small synthetic embeddings: the held-out zone never reaches a fit or a
choice, and the protocol's figures are what they say."""

from __future__ import annotations

import numpy as np
import pytest

from arena.analysis.out_of_scope_shift import (
    ShiftData,
    evaluate_zone,
    inner_zones,
    leave_one_zone_out,
    plain_head_fitter,
)
from arena.physics import HeadSettings

ZONES, CAPS_PER_ZONE, DIM = 5, 3, 24
FAST = HeadSettings(epochs=40)
GOAL = 0.85
LEVEL = 0.25  # the cross-validated margin's confidence: 150 calibration rows or fewer here
# the probability scores saturate at 1.0 on these well-separated clusters (no threshold
# between tied scores reaches the goal), so thresholds are chosen for the continuous ones; the
# folds still compute, and the noise test compares, every score on the calibration rows
SCORES = (
    "energy",
    "relative_mahalanobis",
    "knn",
    "energy_mahalanobis",
    "energy_mahalanobis_nested",
)
SMALL = {"inner": 2, "goal": GOAL, "level": LEVEL, "scores": SCORES}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic(seed: int = 0) -> ShiftData:
    """Five zones of three intents each, clustered in embedding space, plus a fallback
    capability (id 15) with scattered examples and scattered out-of-scope arrivals."""
    rng = np.random.default_rng(seed)
    n_caps = ZONES * CAPS_PER_ZONE
    zone_centres = rng.standard_normal((ZONES, DIM)) * 2.0
    centres = zone_centres.repeat(CAPS_PER_ZONE, axis=0) + rng.standard_normal((n_caps, DIM))

    def rows(per: int) -> tuple[np.ndarray, np.ndarray]:
        cap = np.repeat(np.arange(n_caps), per)
        return _unit(centres[cap] + 0.4 * rng.standard_normal((len(cap), DIM))), cap

    ex_x, ex_cap = rows(12)
    ar_x, ar_cap = rows(20)
    oos_ex = _unit(rng.standard_normal((20, DIM)))
    oos_ar = _unit(rng.standard_normal((16, DIM)))
    return ShiftData(
        example_x=np.concatenate([ex_x, oos_ex]).astype(np.float32),
        example_cap=np.concatenate([ex_cap, np.full(20, n_caps)]),
        arrival_x=np.concatenate([ar_x, oos_ar]).astype(np.float32),
        arrival_cap=np.concatenate([ar_cap, np.full(16, -1)]),
        arrival_label=np.concatenate([ar_cap, np.full(16, n_caps)]),
        zone_of_cap=np.concatenate([np.repeat(np.arange(ZONES), CAPS_PER_ZONE), [-1]]),
        zone_names=[f"z{i}" for i in range(ZONES)],
    )


def with_noise(data: ShiftData, zone: int, seed: int = 99) -> ShiftData:
    """The same data with every row of ``zone`` (examples and arrivals) replaced by random
    unit vectors."""
    rng = np.random.default_rng(seed)
    zoc = data.zone_of_cap
    ex = data.example_x.copy()
    ar = data.arrival_x.copy()
    ex_rows = zoc[data.example_cap] == zone
    ar_rows = data.arrival_zone() == zone
    ex[ex_rows] = _unit(rng.standard_normal((int(ex_rows.sum()), DIM)))
    ar[ar_rows] = _unit(rng.standard_normal((int(ar_rows.sum()), DIM)))
    return ShiftData(
        ex,
        data.example_cap,
        ar,
        data.arrival_cap,
        data.arrival_label,
        data.zone_of_cap,
        data.zone_names,
    )


def _calibration_figures(outer, inner, results):
    """Every number fitted or chosen without the held-out zone."""
    figs = {}
    for name, fold in (("outer", outer), ("inner", inner)):
        figs[f"{name}.head.w"] = fold.head.weights
        figs[f"{name}.head.b"] = fold.head.bias
        figs[f"{name}.center"] = fold.mix.center
        figs[f"{name}.scale"] = fold.mix.scale
        ref = fold.mix.reference
        figs[f"{name}.project"] = ref.project
        figs[f"{name}.precision"] = ref.precision
        figs[f"{name}.relative"] = ref.relative
        figs[f"{name}.background"] = ref.background_linear
        figs[f"{name}.background_const"] = ref.background_const
        figs[f"{name}.calibration"] = fold.calibration
        figs[f"{name}.cal_scores"] = {k: v[fold.calibration] for k, v in fold.scores.items()}
    for score, r in results.items():
        figs[f"{score}.threshold"] = r.unknown.threshold
        figs[f"{score}.zone_accuracy"] = r.unknown.zone_accuracy
        figs[f"{score}.oos"] = (r.oos.oos_caught, r.oos.oos_total, r.oos.threshold)
        figs[f"{score}.mix"] = r.mix
        figs[f"{score}.shift_accuracy"] = r.shift_accuracy
        figs[f"{score}.shift_threshold"] = None if r.shift is None else r.shift.threshold
    return figs


def _assert_same(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=path)


@pytest.mark.parametrize("zone", [0, 3])
def test_the_held_out_zone_never_reaches_a_fit_or_a_choice(zone):
    data = synthetic()
    noisy = with_noise(data, zone)
    a = evaluate_zone(data, zone, plain_head_fitter(data, FAST), **SMALL)
    b = evaluate_zone(noisy, zone, plain_head_fitter(noisy, FAST), **SMALL)
    _assert_same(_calibration_figures(*a), _calibration_figures(*b))
    # ... while the evaluation did read the held-out rows (12 examples + 20 arrivals each)
    ra, rb = a[2]["energy_mahalanobis"], b[2]["energy_mahalanobis"]
    assert ra.unknown.oos_total == rb.unknown.oos_total == CAPS_PER_ZONE * 32
    held_a, held_b = a[0].unknown(zone), b[0].unknown(zone)
    assert not np.allclose(a[0].scores["energy"][held_a], b[0].scores["energy"][held_b])


def test_noise_in_a_zone_the_fold_keeps_does_change_the_calibration():
    """The check above can fail: noise in a kept zone moves the fitted numbers."""
    data = synthetic()
    a = evaluate_zone(data, 0, plain_head_fitter(data, FAST), **SMALL)
    noisy = with_noise(data, 4)  # zone 4 is kept by the outer fold (inner: 0, 1, 2)
    b = evaluate_zone(noisy, 0, plain_head_fitter(noisy, FAST), **SMALL)
    with pytest.raises(AssertionError):
        _assert_same(_calibration_figures(*a), _calibration_figures(*b))


def test_folds_split_the_rows_as_documented():
    data = synthetic()
    outer, inner, _ = evaluate_zone(data, 1, plain_head_fitter(data, FAST), **SMALL)
    assert inner.excluded == (1, 2, 3) and outer.excluded == (1,)
    for fold in (outer, inner):
        judged = fold.calibration | fold.test
        assert not (fold.calibration & fold.test).any()
        assert not np.isin(fold.zone[judged], fold.excluded).any()
        assert (fold.zone[judged] >= 0).all() and (fold.zone[fold.oos] == -1).all()
        assert fold.oos.sum() == 16
        # half of each kept intent's arrivals calibrate (10 of 20)
        assert fold.calibration.sum() == (ZONES - len(fold.excluded)) * CAPS_PER_ZONE * 10
    assert inner_zones(4, 5, 2) == (0, 1)


def test_results_come_worst_zone_first_and_the_gate_keeps_the_accuracy():
    data = synthetic()
    res = leave_one_zone_out(
        data,
        plain_head_fitter(data, FAST),
        goal=GOAL,
        level=LEVEL,
        inner=2,
        zones=[0, 2, 4],
        scores=("best_zone", "energy_mahalanobis", "energy_mahalanobis_nested"),
    )
    for rows in res.per_score.values():
        recalls = [r.unknown.recall for r in rows]
        assert recalls == sorted(recalls) and len(rows) == 3
        assert {r.zone for r in rows} == {"z0", "z2", "z4"}
    worst = res.worst("energy_mahalanobis")
    assert worst.unknown.recall == min(
        r.unknown.recall for r in res.per_score["energy_mahalanobis"]
    )
    assert res.mix_worst[res.deployed_mix] == max(res.mix_worst.values())
    nested = res.per_score["energy_mahalanobis_nested"]
    assert all(r.mix is not None and 0 <= r.mix <= 1 for r in nested)
    assert all(r.shift is not None and r.shift_accuracy <= GOAL for r in nested)
