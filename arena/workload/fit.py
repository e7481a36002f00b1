"""Fit service-time distributions to measured latencies and say which to paste in a scenario.

:func:`fit_latencies` fits lognormal, gamma, Weibull, exponential and Pareto by maximum
likelihood with ``scipy.stats`` (location fixed at 0: a latency starts at zero), ranks them by
AIC (``2k - 2 log-likelihood``: fewer parameters win a tie) and reports each one's
Kolmogorov-Smirnov statistic (the largest gap between the data's ECDF and the fitted CDF: how far
off it looks, whatever the likelihood says). :meth:`FitReport.yaml` is the ``service_time``
snippet to paste, in the numbers an engineer knows (``median``/``p99`` of a lognormal...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from scipy import stats

from ..errors import ScenarioError
from .service import Exponential, Gamma, LogNormal, Pareto, ServiceModel, Weibull
from .units import format_duration, parse_duration

#: fewer samples than this fit anything and nothing
MIN_SAMPLES = 20
#: above this many samples, fit a seeded random subsample of this size (the fit is as good;
#: Weibull's numeric MLE on millions of points is not worth the wait)
MAX_FIT_SAMPLES = 200_000


def _lognormal(x: np.ndarray) -> tuple[dict[str, float], ServiceModel]:
    s, _, scale = stats.lognorm.fit(x, floc=0)
    return {"s": s, "scale": scale}, LogNormal(math.log(scale), s)


def _gamma(x: np.ndarray) -> tuple[dict[str, float], ServiceModel]:
    a, _, scale = stats.gamma.fit(x, floc=0)
    return {"a": a, "scale": scale}, Gamma(a, scale)


def _weibull(x: np.ndarray) -> tuple[dict[str, float], ServiceModel]:
    c, _, scale = stats.weibull_min.fit(x, floc=0)
    return {"c": c, "scale": scale}, Weibull(c, scale)


def _exponential(x: np.ndarray) -> tuple[dict[str, float], ServiceModel]:
    _, scale = stats.expon.fit(x, floc=0)
    return {"scale": scale}, Exponential(scale)


def _pareto(x: np.ndarray) -> tuple[dict[str, float], ServiceModel]:
    b, _, scale = stats.pareto.fit(x, floc=0)
    return {"b": b, "scale": scale}, Pareto(b, scale)


#: candidate -> (scipy fit giving its parameters and model, number of free parameters)
CANDIDATES = {
    "lognormal": (_lognormal, 2),
    "gamma": (_gamma, 2),
    "weibull": (_weibull, 2),
    "exponential": (_exponential, 1),
    "pareto": (_pareto, 2),
}


@dataclass(frozen=True)
class Candidate:
    """One fitted family: scipy's parameters (``params``, seconds), the service model they make,
    log-likelihood, AIC and the KS statistic (and its p-value, optimistic since the parameters
    were fitted on the same data)."""

    name: str
    params: dict[str, float]
    model: ServiceModel
    loglik: float
    aic: float
    ks: float
    ks_pvalue: float

    def friendly(self, digits: int = 3) -> dict[str, Any]:
        """The model's ``describe()`` rounded to ``digits`` significant digits for pasting."""
        return {k: _rounded(v, digits) for k, v in self.model.describe().items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": {k: float(v) for k, v in self.params.items()},
            "service_time": self.friendly(),
            "loglik": self.loglik,
            "aic": self.aic,
            "ks": self.ks,
            "ks_pvalue": self.ks_pvalue,
        }


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, str):
        try:
            seconds = parse_duration(value, file=None, field="")
        except ScenarioError:
            return value
        return format_duration(seconds, digits)
    return value


@dataclass(frozen=True)
class FitReport:
    """The candidates, best (lowest AIC) first; ``n`` samples were given, ``n_fit`` fitted."""

    candidates: tuple[Candidate, ...]
    n: int
    n_fit: int

    @property
    def pick(self) -> Candidate:
        return self.candidates[0]

    def yaml(self) -> str:
        """``service_time: {distribution: lognormal, median: 118ms, p99: 2.1s}``"""
        flow = yaml.safe_dump(self.pick.friendly(), default_flow_style=True, sort_keys=False)
        return f"service_time: {flow.strip()}"

    def table(self) -> str:
        """The ranking as aligned text: family, AIC, its gap to the best, KS, parameters."""
        best = self.pick.aic
        rows = [f"{'distribution':<12} {'AIC':>12} {'dAIC':>9} {'KS':>7}  service_time"]
        for c in self.candidates:
            params = ", ".join(f"{k}: {v}" for k, v in c.friendly().items() if k != "distribution")
            rows.append(f"{c.name:<12} {c.aic:>12.1f} {c.aic - best:>9.1f} {c.ks:>7.4f}  {params}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_fit": self.n_fit,
            "pick": self.pick.name,
            "yaml": self.yaml(),
            "candidates": [c.to_dict() for c in self.candidates],
        }


def fit_latencies(
    samples_seconds: np.ndarray, *, file: str | None = None, field: str = "latencies"
) -> FitReport:
    """Fit every candidate to ``samples_seconds`` (finite, above 0, at least
    ``MIN_SAMPLES``) and rank them by AIC. A family whose fit fails numerically is left out."""
    x = np.asarray(samples_seconds, dtype=np.float64).ravel()
    if x.size < MIN_SAMPLES:
        raise ScenarioError(file, field, f"need at least {MIN_SAMPLES} latencies, got {x.size}")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ScenarioError(file, field, "latencies must be finite and above 0")
    n = int(x.size)
    if n > MAX_FIT_SAMPLES:
        x = np.random.default_rng(0).choice(x, MAX_FIT_SAMPLES, replace=False)
    found = []
    with np.errstate(all="ignore"):
        for name, (fit, k) in CANDIDATES.items():
            try:
                params, model = fit(x)
                frozen = model.dist()
                loglik = float(np.sum(frozen.logpdf(x)))
            except (ValueError, RuntimeError, FloatingPointError, ZeroDivisionError):
                continue
            if not math.isfinite(loglik):
                continue
            ks = stats.kstest(x, frozen.cdf)
            found.append(
                Candidate(
                    name,
                    {key: float(v) for key, v in params.items()},
                    model,
                    loglik,
                    2 * k - 2 * loglik,
                    float(ks.statistic),
                    float(ks.pvalue),
                )
            )
    if not found:
        raise ScenarioError(file, field, "no candidate distribution could be fitted to them")
    found.sort(key=lambda c: c.aic)
    return FitReport(tuple(found), n, int(x.size))
