"""Fitting latencies (issue #20): on synthetic samples of known law, ``fit`` recovers the
parameters within 5% and picks the right family at least 9 times in 10; its YAML parses back;
bad input is one line naming the line of the file."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy import stats

from arena.errors import ScenarioError
from arena.workload import fit_latencies, parse_service_model, plot_fit

# the goal: n = 5000, lognormal/gamma/Weibull, ten seeds each
TRUTHS = {
    "lognormal": (stats.lognorm(s=0.8, scale=0.12), {"s": 0.8, "scale": 0.12}),
    "gamma": (stats.gamma(a=2.5, scale=0.2), {"a": 2.5, "scale": 0.2}),
    "weibull": (stats.weibull_min(c=0.8, scale=1.0), {"c": 0.8, "scale": 1.0}),
}


@pytest.mark.parametrize("family", TRUTHS)
def test_fit_recovers_parameters_and_picks_the_family(family):
    dist, truth = TRUTHS[family]
    picks, worst = 0, 0.0
    for seed in range(10):
        x = dist.rvs(size=5000, random_state=np.random.default_rng(1000 + seed))
        report = fit_latencies(x)
        picks += report.pick.name == family
        fitted = next(c for c in report.candidates if c.name == family).params
        for key, value in truth.items():
            worst = max(worst, abs(fitted[key] / value - 1))
    assert picks >= 9, f"{family} picked {picks}/10"
    assert worst <= 0.05, f"{family}: worst parameter error {worst:.1%}"


def test_ranking_is_by_aic_with_ks_reported():
    x = stats.lognorm(s=1.2, scale=0.5).rvs(size=3000, random_state=np.random.default_rng(3))
    report = fit_latencies(x)
    aics = [c.aic for c in report.candidates]
    assert aics == sorted(aics) and len(aics) == 5
    for c in report.candidates:
        assert c.aic == pytest.approx(2 * (1 if c.name == "exponential" else 2) - 2 * c.loglik)
        assert c.ks == pytest.approx(stats.kstest(x, c.model.dist().cdf).statistic)
    assert report.pick.ks < min(c.ks for c in report.candidates[1:])


def test_yaml_is_the_snippet_to_paste_and_parses_back():
    x = stats.lognorm(s=0.9, scale=0.118).rvs(size=5000, random_state=np.random.default_rng(0))
    report = fit_latencies(x)
    text = report.yaml()
    assert text.startswith("service_time: {distribution: lognormal, median: ")
    spec = yaml.safe_load(text)["service_time"]
    model = parse_service_model(spec, file="pasted.yaml", field="service_time")
    assert model.dist().median() == pytest.approx(0.118, rel=0.05)
    assert model.dist().ppf(0.99) == pytest.approx(0.118 * np.exp(0.9 * 2.3263), rel=0.08)
    table = report.table()
    assert table.splitlines()[1].startswith("lognormal") and "median:" in table
    assert report.to_dict()["pick"] == "lognormal"


def test_a_pareto_tail_is_recognised():
    x = stats.pareto(b=1.8, scale=0.05).rvs(size=5000, random_state=np.random.default_rng(4))
    report = fit_latencies(x)
    assert report.pick.name == "pareto"
    assert report.pick.params["b"] == pytest.approx(1.8, rel=0.05)


@pytest.mark.parametrize(
    ("samples", "says"),
    [
        (np.ones(5), "need at least 20 latencies, got 5"),
        (np.r_[np.ones(30), np.nan], "finite and above 0"),
        (np.r_[np.ones(30), -1.0], "finite and above 0"),
        (np.r_[np.ones(30), 0.0], "finite and above 0"),
    ],
)
def test_bad_samples(samples, says):
    with pytest.raises(ScenarioError, match=says):
        fit_latencies(samples, file="lat.csv", field="latency_ms")


def test_plot_is_written_atomically(tmp_path):
    x = stats.gamma(a=2, scale=0.1).rvs(size=800, random_state=np.random.default_rng(1))
    path = plot_fit(fit_latencies(x), x, tmp_path / "fit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.png"]
