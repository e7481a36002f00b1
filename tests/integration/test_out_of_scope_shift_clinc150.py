"""Leave-one-domain-out on real CLINC150 text (three domains, 30 train rows per intent; the
embeddings come from the project's cache): a scenario's rows reach the protocol intact, the
held-out domain reaches no fit, and the shipped score catches most of an unseen domain."""

from __future__ import annotations

import numpy as np
import pytest
from test_out_of_scope_calibration import DOMAINS, small_scenario

from arena.analysis.out_of_scope_shift import (
    ShiftData,
    cached_head_fitter,
    evaluate_zone,
    plain_head_fitter,
    scenario_shift_data,
)
from arena.model import ArenaModel
from arena.physics import HeadSettings

SETTINGS = {"goal": 0.9, "inner": 1, "scores": ("fallback_class", "energy_mahalanobis")}


@pytest.fixture(scope="module")
def clinc(tmp_path_factory):
    model = ArenaModel(small_scenario(tmp_path_factory.mktemp("shift")))
    data, texts = scenario_shift_data(model)
    return model, data, texts


def test_the_scenario_rows_map_to_domains_and_the_fallback(clinc):
    _, data, texts = clinc
    assert list(data.zone_names) == list(DOMAINS)
    assert len(texts) == len(data.example_x) == 45 * 30 + 100  # train + oos_train
    assert (data.zone_of_cap[data.example_cap] == -1).sum() == 100
    assert (data.arrival_cap == -1).sum() == 100  # oos_val
    assert len(data.arrival_x) == 45 * 20 + 100
    for z in range(3):  # every domain: 15 intents, 20 validation rows each
        assert (data.arrival_zone() == z).sum() == 300
    np.testing.assert_allclose(np.linalg.norm(data.example_x, axis=1), 1, atol=1e-4)


def test_a_real_held_out_domain_never_reaches_a_fit(clinc):
    _, data, _ = clinc
    zone = 1
    rng = np.random.default_rng(5)
    ex, ar = data.example_x.copy(), data.arrival_x.copy()
    for x, rows in (
        (ex, data.zone_of_cap[data.example_cap] == zone),
        (ar, data.arrival_zone() == zone),
    ):
        noise = rng.standard_normal((int(rows.sum()), x.shape[1]))
        x[rows] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
    noisy = ShiftData(
        ex,
        data.example_cap,
        ar,
        data.arrival_cap,
        data.arrival_label,
        data.zone_of_cap,
        data.zone_names,
    )
    fast = HeadSettings(epochs=100)
    a = evaluate_zone(data, zone, plain_head_fitter(data, fast), **SETTINGS)
    b = evaluate_zone(noisy, zone, plain_head_fitter(noisy, fast), **SETTINGS)
    for fa, fb in zip(a[:2], b[:2], strict=True):
        np.testing.assert_array_equal(fa.head.weights, fb.head.weights)
        np.testing.assert_array_equal(fa.mix.center, fb.mix.center)
        np.testing.assert_array_equal(fa.mix.reference.relative, fb.mix.reference.relative)
    for name in SETTINGS["scores"]:
        ra, rb = a[2][name], b[2][name]
        assert ra.unknown.threshold == rb.unknown.threshold
        assert ra.unknown.zone_accuracy == rb.unknown.zone_accuracy
        assert ra.oos == rb.oos
        assert ra.shift_accuracy == rb.shift_accuracy
    # the real domain's requests were judged (15 intents x (30 examples + 20 validation rows))
    assert a[2]["energy_mahalanobis"].unknown.oos_total == 15 * 50


def test_the_cached_heads_give_the_shipped_score_a_real_unseen_domain(clinc):
    model, data, texts = clinc
    _, _, res = evaluate_zone(data, 0, cached_head_fitter(model, data, texts), **SETTINGS)
    mixed = res["energy_mahalanobis"]
    assert mixed.unknown.zone_accuracy >= 0.9
    assert mixed.unknown.recall > 0.5  # most of banking, never seen, is flagged
