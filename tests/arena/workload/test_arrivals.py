"""Synthetic arrivals (issue #20): the rates they promise, bursts where promised (an MMPP's
counts are over-dispersed, Poisson's are not), sorted, inside the window, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from arena.errors import ScenarioError
from arena.workload import (
    DiurnalProcess,
    MMPPProcess,
    diurnal_times,
    mmpp_times,
    parse_arrival_process,
    poisson_times,
    schedule_times,
)


def dispersion(times: np.ndarray, start: float, end: float, bin_s: float) -> float:
    """Index of dispersion of counts in bins of ``bin_s``: variance / mean (1 for Poisson)."""
    counts, _ = np.histogram(times, bins=int((end - start) / bin_s), range=(start, end))
    return float(counts.var() / counts.mean())


GENERATORS = {
    "poisson": lambda rng, s, e: poisson_times(12.0, s, e, rng),
    "schedule": lambda rng, s, e: schedule_times([(0, 5.0), (3000, 20.0)], s, e, rng),
    "mmpp": lambda rng, s, e: mmpp_times([5.0, 40.0], [60.0, 10.0], s, e, rng),
    "diurnal": lambda rng, s, e: diurnal_times(10.0, 3.0, 600.0, s, e, rng),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_sorted_inside_the_window_and_reproducible(name):
    make = GENERATORS[name]
    times = make(np.random.default_rng(4), 100.0, 6100.0)
    assert times.dtype == np.float64 and times.size > 1000
    assert np.all(np.diff(times) >= 0) and times[0] >= 100.0 and times[-1] < 6100.0
    np.testing.assert_array_equal(times, make(np.random.default_rng(4), 100.0, 6100.0))
    assert not np.array_equal(times, make(np.random.default_rng(5), 100.0, 6100.0))


@pytest.mark.parametrize(
    ("name", "rate"),
    [
        ("poisson", 12.0),
        ("schedule", (3000 * 5 + 3000 * 20) / 6000),
        ("mmpp", (5 * 60 + 40 * 10) / 70),
        ("diurnal", 10.0),
    ],
)
def test_the_empirical_rate_matches(name, rate):
    counts = [GENERATORS[name](np.random.default_rng(s), 0.0, 6000.0).size for s in range(5)]
    assert np.mean(counts) / 6000.0 == pytest.approx(rate, rel=0.03)


def test_mmpp_is_bursty_and_poisson_is_not():
    rng = np.random.default_rng(11)
    poisson = poisson_times(10.0, 0.0, 20_000.0, rng)
    mmpp = mmpp_times([5.0, 40.0], [60.0, 10.0], 0.0, 20_000.0, rng)
    assert dispersion(poisson, 0, 20_000, 10.0) == pytest.approx(1.0, abs=0.1)
    assert dispersion(mmpp, 0, 20_000, 10.0) > 5.0


def test_mmpp_spends_time_in_each_state_by_its_sojourn():
    """With a silent state, the fraction of empty seconds tracks that state's share of time."""
    times = mmpp_times([0.0, 50.0], [30.0, 10.0], 0.0, 40_000.0, np.random.default_rng(2))
    counts, _ = np.histogram(times, bins=40_000, range=(0, 40_000))
    assert np.mean(counts == 0) == pytest.approx(0.75, abs=0.03)


def test_diurnal_peaks_where_asked_with_the_asked_ratio():
    period = 1000.0
    times = diurnal_times(
        20.0, 3.0, period, 0.0, 100 * period, np.random.default_rng(3), peak_at_s=250.0
    )
    phase = np.mod(times, period)
    counts, _ = np.histogram(phase, bins=20, range=(0, period))
    assert np.argmax(counts) in (4, 5)  # the bin around 250 s
    assert counts.max() / counts.min() == pytest.approx(3.0, rel=0.15)


def test_schedule_holds_each_rate_until_the_next():
    times = schedule_times(
        [(0, 1.0), (100, 50.0), (200, 0.0)], 0.0, 300.0, np.random.default_rng(0)
    )
    assert np.sum(times >= 200) == 0
    assert np.sum((times >= 100) & (times < 200)) == pytest.approx(5000, rel=0.06)


def test_specs_parse_and_draw():
    mmpp = parse_arrival_process(
        {"process": "mmpp", "rates": ["5/s", "40/s"], "sojourn": ["60s", "10s"]},
        file="s.yaml",
        field="arrivals",
    )
    assert mmpp == MMPPProcess((5.0, 40.0), (60.0, 10.0))
    assert mmpp.mean_rate == pytest.approx(10.0)
    day = parse_arrival_process(
        {"process": "diurnal", "rate": "10/s", "peak": 3, "period": "24h"},
        file="s.yaml",
        field="arrivals",
    )
    assert day == DiurnalProcess(10.0, 3.0, 86400.0, 43200.0)
    assert parse_arrival_process(day.describe(), file="s", field="a") == day
    assert parse_arrival_process(mmpp.describe(), file="s", field="a") == mmpp
    assert day.times(0, 3600, np.random.default_rng(0)).size > 0


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"process": "hawkes"}, "arrivals.process: expected one of poisson, mmpp, diurnal"),
        (
            {"process": "mmpp", "rates": ["5/s"], "sojourn": ["1s", "2s"]},
            "arrivals.sojourn: needs one",
        ),
        (
            {"process": "mmpp", "rates": ["5/s", "x"], "sojourn": ["1s", "2s"]},
            "arrivals.rates[1]: expected a rate",
        ),
        (
            {"process": "mmpp", "rates": ["5/s"], "sojourn": ["0s"]},
            "arrivals.sojourn[0]: must be above 0s",
        ),
        ({"process": "mmpp", "rates": "5/s", "sojourn": ["1s"]}, "arrivals.rates: expected a list"),
        (
            {"process": "diurnal", "rate": "10/s", "peak": 0.5},
            "arrivals.peak: must be a number from 1",
        ),
        (
            {"process": "diurnal", "rate": "10/s", "period": "0s"},
            "arrivals.period: must be above 0s",
        ),
        ({"process": "diurnal", "peak": 2}, "arrivals.rate: is required"),
        ({"process": "poisson", "rate": "-1/s"}, "arrivals.rate: must be at least 0/s"),
        ({"process": "poisson", "rate": "1/s", "peak": 2}, "arrivals.peak: unknown key"),
    ],
)
def test_bad_specs_name_the_field(spec, says):
    with pytest.raises(ScenarioError) as err:
        parse_arrival_process(spec, file="s.yaml", field="arrivals")
    assert says in str(err.value)


def test_an_absurd_count_is_refused_before_drawing():
    with pytest.raises(ValueError, match="arrivals expected"):
        poisson_times(1e6, 0.0, 1e6, np.random.default_rng(0))
