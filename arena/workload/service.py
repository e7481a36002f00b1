"""Service-time models: how long serving one request takes, in float seconds.

Each model is a frozen dataclass holding its canonical parameters (seconds), built by
:func:`~arena.workload.service_parse.parse_service_model` from the numbers an engineer knows
(``median`` and ``p99`` of a lognormal, ``mean`` and ``cv`` of a gamma...). Every model samples
vectorised from an ``np.random.Generator`` through ``scipy.stats`` (the same generator gives the
same draws), reports its ``mean``, describes itself back as YAML-ready friendly units and, where
scipy has one, hands out its frozen distribution (``dist()``) for quantiles and plots.

Draws are clipped into ``[MIN_SERVICE_S, MAX_DURATION_S]`` (1 ns .. 30 days): a service time is
always above zero and finite even when a heavy tail (Pareto with a small alpha) or an
underflowing lognormal would give 0 or a value no simulation could finish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy import special, stats

from .units import MAX_DURATION_S, format_duration

#: the shortest service time a draw can give (1 ns): zero would be no service at all
MIN_SERVICE_S = 1e-9
#: the standard normal's 99th percentile: lognormal sigma from median and p99
Z99 = float(stats.norm.ppf(0.99))

Tokens = np.ndarray | None


@runtime_checkable
class ServiceModel(Protocol):
    """What the arena needs of a service-time model."""

    needs_tokens: ClassVar[bool]

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray: ...

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray: ...

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float: ...

    def describe(self) -> dict[str, Any]: ...

    def dist(self) -> Any: ...


def clip_service_times(x: np.ndarray) -> np.ndarray:
    """Draws kept in ``[MIN_SERVICE_S, MAX_DURATION_S]`` as float64 (see the module's note)."""
    return np.clip(np.asarray(x, dtype=np.float64), MIN_SERVICE_S, MAX_DURATION_S)


class _ScipyModel:
    """A model whose draws and mean come from its frozen scipy distribution, made once and
    kept (freezing one costs ~0.5 ms, far more than drawing a few values from it)."""

    needs_tokens: ClassVar[bool] = False

    def _make_dist(self) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def dist(self) -> Any:
        frozen = self.__dict__.get("_frozen")
        if frozen is None:
            frozen = self._make_dist()
            object.__setattr__(self, "_frozen", frozen)  # a cache, not a field
        return frozen

    def __getstate__(self) -> dict[str, Any]:  # pickled (to sweep workers) without the cache
        return {k: v for k, v in self.__dict__.items() if k != "_frozen"}

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray:
        return clip_service_times(self.dist().rvs(size=int(n), random_state=rng))

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray:
        """The service times at probabilities ``u`` (inverse-transform sampling: keyed draws).
        Subclasses with a closed form override :meth:`_ppf`; freezing and calling a scipy
        distribution costs ~50 us a call, a closed form or a special function ~1 us."""
        return clip_service_times(self._ppf(np.asarray(u, dtype=np.float64)))

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self.dist().ppf(u))

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        return float(self.dist().mean())


@dataclass(frozen=True)
class Constant:
    """Every request takes exactly ``seconds``."""

    seconds: float
    needs_tokens: ClassVar[bool] = False

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray:
        return clip_service_times(np.full(int(n), self.seconds))

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray:
        return clip_service_times(np.full(np.shape(u), self.seconds))

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        return self.seconds

    def describe(self) -> dict[str, Any]:
        return {"distribution": "constant", "mean": format_duration(self.seconds)}

    def dist(self) -> None:
        return None


@dataclass(frozen=True)
class Exponential(_ScipyModel):
    """Memoryless service (M/M/c): given by its ``mean``."""

    mean_s: float

    def _make_dist(self) -> Any:
        return stats.expon(scale=self.mean_s)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_s * np.log1p(-u)

    def describe(self) -> dict[str, Any]:
        return {"distribution": "exponential", "mean": format_duration(self.mean_s)}


@dataclass(frozen=True)
class LogNormal(_ScipyModel):
    """``log(service)`` is normal(``mu``, ``sigma``): the usual shape of a measured latency.
    Given by ``median`` + ``p99``, ``mean`` + ``cv``, or ``mu``/``sigma`` (of log-seconds)."""

    mu: float
    sigma: float

    @classmethod
    def from_median_p99(cls, median: float, p99: float) -> LogNormal:
        return cls(math.log(median), (math.log(p99) - math.log(median)) / Z99)

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> LogNormal:
        sigma2 = math.log1p(cv * cv)
        return cls(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    def _make_dist(self) -> Any:
        return stats.lognorm(s=self.sigma, scale=math.exp(self.mu))

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(self.mu + self.sigma * special.ndtri(u))

    def describe(self) -> dict[str, Any]:
        median = math.exp(self.mu)
        return {
            "distribution": "lognormal",
            "median": format_duration(median),
            "p99": format_duration(median * math.exp(Z99 * self.sigma)),
        }


@dataclass(frozen=True)
class Gamma(_ScipyModel):
    """Gamma(``shape``, ``scale``); ``mean`` + ``cv`` is ``shape = 1/cv^2``."""

    shape: float
    scale: float

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> Gamma:
        shape = 1.0 / (cv * cv)
        return cls(shape, mean / shape)

    def _make_dist(self) -> Any:
        return stats.gamma(a=self.shape, scale=self.scale)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return self.scale * special.gammaincinv(self.shape, u)

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": "gamma",
            "mean": format_duration(self.shape * self.scale),
            "cv": float(f"{1.0 / math.sqrt(self.shape):.6g}"),
        }


@dataclass(frozen=True)
class Weibull(_ScipyModel):
    """Weibull(``shape`` k, ``scale`` lambda): ``P(T > t) = exp(-(t/lambda)^k)``; k < 1 is a
    heavier tail than exponential. ``median`` + ``p99`` solve for k and lambda in closed form."""

    shape: float
    scale: float

    @classmethod
    def from_median_p99(cls, median: float, p99: float) -> Weibull:
        # log(-log(1 - p)) = k log t - k log lambda, at p = 0.5 and p = 0.99
        shape = (math.log(-math.log(0.01)) - math.log(math.log(2.0))) / math.log(p99 / median)
        return cls(shape, median / math.log(2.0) ** (1.0 / shape))

    def _make_dist(self) -> Any:
        return stats.weibull_min(c=self.shape, scale=self.scale)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return self.scale * (-np.log1p(-u)) ** (1.0 / self.shape)

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": "weibull",
            "shape": float(f"{self.shape:.6g}"),
            "scale": format_duration(self.scale),
        }


@dataclass(frozen=True)
class Pareto(_ScipyModel):
    """Pareto(``alpha``, ``minimum`` x_m): ``P(T > t) = (x_m / t)^alpha`` for t >= x_m. The
    heaviest tail here: alpha <= 1 has no finite mean (``mean()`` is inf), alpha <= 2 no
    finite variance. ``median`` + ``p99`` give ``alpha = ln 50 / ln(p99/median)``."""

    alpha: float
    minimum: float

    @classmethod
    def from_median_p99(cls, median: float, p99: float) -> Pareto:
        alpha = math.log(50.0) / math.log(p99 / median)
        return cls(alpha, median / 2.0 ** (1.0 / alpha))

    def _make_dist(self) -> Any:
        return stats.pareto(b=self.alpha, scale=self.minimum)

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        if self.alpha <= 1:
            return math.inf
        return self.alpha * self.minimum / (self.alpha - 1)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return self.minimum * (1.0 - u) ** (-1.0 / self.alpha)

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": "pareto",
            "alpha": float(f"{self.alpha:.6g}"),
            "minimum": format_duration(self.minimum),
        }


@dataclass(frozen=True)
class Uniform(_ScipyModel):
    """Uniform between ``low`` and ``high``."""

    low: float
    high: float

    def _make_dist(self) -> Any:
        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": "uniform",
            "low": format_duration(self.low),
            "high": format_duration(self.high),
        }


@dataclass(frozen=True)
class Geometric(_ScipyModel):
    """The arena's old step-based model: whole seconds 1, 2, 3... with the given ``mean``
    (each second ends the service with probability 1/mean). Kept so old scenarios read the same."""

    mean_s: float

    def _make_dist(self) -> Any:
        return stats.geom(p=1.0 / self.mean_s)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        p = 1.0 / self.mean_s
        if p >= 1.0:  # every service ends after its first second
            return np.ones_like(u)
        return np.maximum(np.ceil(np.log1p(-u) / math.log1p(-p)), 1.0)

    def describe(self) -> dict[str, Any]:
        return {"distribution": "geometric", "mean": format_duration(self.mean_s)}


@dataclass(frozen=True)
class Empirical:
    """Resample measured latencies (``values``, seconds) uniformly with replacement: the data's
    own shape, tail included, and nothing beyond its largest value."""

    values: np.ndarray = field(compare=False, repr=False)
    file: str
    column: str
    unit: str = "s"
    needs_tokens: ClassVar[bool] = False

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        input_tokens: Tokens = None,
        output_tokens: Tokens = None,
    ) -> np.ndarray:
        return clip_service_times(self.values[rng.integers(0, self.values.size, size=int(n))])

    def quantile(
        self, u: np.ndarray, *, input_tokens: Tokens = None, output_tokens: Tokens = None
    ) -> np.ndarray:
        """Row ``floor(u * n)`` of the measured values: each equally likely, like a resample."""
        n = self.values.size
        index = np.minimum((np.asarray(u) * n).astype(np.int64), n - 1)
        return clip_service_times(self.values[index])

    def mean(self, *, input_tokens: Tokens = None, output_tokens: Tokens = None) -> float:
        return float(self.values.mean())

    def describe(self) -> dict[str, Any]:
        return {
            "distribution": "empirical",
            "file": self.file,
            "column": self.column,
            "unit": self.unit,
        }

    def dist(self) -> None:
        return None
