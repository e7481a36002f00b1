"""``service_time:`` as a scenario writes it -> a :mod:`~arena.workload.service` model.

One parser for every form: a bare number or duration (``2``, ``"120ms"``) is a constant; a
mapping picks its ``distribution`` and gives the numbers an engineer knows
(``{distribution: lognormal, median: 120ms, p99: 2s}``) or raw parameters; ``{per_token: {base:
30ms, input: 0.05ms, output: 12ms}}`` scales with the request's tokens; ``{llm: {prefill_per_token:
0.1ms, decode_per_token: 12ms, overhead: 20ms, block_tokens: 512, cache_blocks: 4096}}`` is an LLM
replica with a prefix cache (:mod:`~arena.workload.llm_service`). Every duration field goes
through :func:`~arena.workload.units.parse_duration`; every error names the field at fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from .latencies import read_latency_column
from .llm_service import LLMService
from .per_token import PerToken
from .service import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Geometric,
    LogNormal,
    Pareto,
    ServiceModel,
    Uniform,
    Weibull,
)
from .units import DURATION_UNITS, format_duration, parse_duration


class _Fields:
    """The keys of one ``service_time`` mapping, read with the field path in every error."""

    def __init__(
        self, m: Mapping[str, Any], allowed: tuple[str, ...], file: str | None, where: str
    ):
        self.m, self.file, self.where = m, file, where
        for key in m:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if isinstance(key, str) else where,
                    f"unknown key {key!r} (expected one of: {', '.join(allowed)})",
                )

    def fail(self, field: str, problem: str) -> ScenarioError:
        return ScenarioError(self.file, field, problem)

    def has(self, *keys: str) -> bool:
        return all(k in self.m for k in keys)

    def need(self, key: str) -> Any:
        if key not in self.m:
            raise self.fail(f"{self.where}.{key}", "is required")
        return self.m[key]

    def duration(self, key: str, *, allow_zero: bool = False, minimum: float = 0.0) -> float:
        return parse_duration(
            self.need(key),
            file=self.file,
            field=f"{self.where}.{key}",
            allow_zero=allow_zero,
            minimum=minimum,
        )

    def number(self, key: str, low: float, high: float, *, open_low: bool = True) -> float:
        value, field = self.need(key), f"{self.where}.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"expected a number, got {value!r:.40}")
        value = float(value)
        if math.isnan(value) or not (low < value if open_low else low <= value) or value > high:
            bound = f"{'above' if open_low else 'at least'} {low:g} and at most {high:g}"
            raise self.fail(field, f"must be {bound}, got {value:g}")
        return value

    def count(self, key: str, low: int, high: int) -> int:
        """A whole number in ``[low, high]`` (a count of tokens or blocks)."""
        value, field = self.need(key), f"{self.where}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"expected a whole number, got {value!r:.40}")
        if not low <= value <= high:
            raise self.fail(field, f"must be between {low} and {high}, got {value}")
        return int(value)

    def text(self, key: str) -> str:
        value = self.need(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                f"{self.where}.{key}", f"expected a non-empty string, got {value!r:.40}"
            )
        return value

    def one_of(self, *forms: tuple[str, ...]) -> tuple[str, ...]:
        """The one parameter set present among ``forms`` (e.g. median+p99 or mean+cv)."""
        present = [f for f in forms if self.has(*f)]
        if len(present) != 1:
            said = ", or ".join(" and ".join(f) for f in forms)
            what = "only one of" if present else "one of"
            raise self.fail(self.where, f"give {what}: {said}")
        return present[0]

    def median_p99(self) -> tuple[float, float]:
        median = self.duration("median")
        p99 = self.duration("p99")
        if p99 <= median:
            raise self.fail(
                f"{self.where}.p99",
                f"must be above the median ({format_duration(median)}), got {format_duration(p99)}",
            )
        return median, p99


CV_MAX = 100.0
SHAPE_MAX = 1e4
SIGMA_MAX = 5.0
ALPHA_MIN = 0.5


def _lognormal(f: _Fields) -> ServiceModel:
    form = f.one_of(("median", "p99"), ("mean", "cv"), ("mu", "sigma"))
    if form == ("median", "p99"):
        model = LogNormal.from_median_p99(*f.median_p99())
        if model.sigma > SIGMA_MAX:
            raise f.fail(f"{f.where}.p99", "is too far above the median (sigma above 5)")
        return model
    if form == ("mean", "cv"):
        return LogNormal.from_mean_cv(f.duration("mean"), f.number("cv", 0, CV_MAX))
    low, high = math.log(1e-9), math.log(30 * 86400.0)
    return LogNormal(f.number("mu", low, high, open_low=False), f.number("sigma", 0, SIGMA_MAX))


def _gamma(f: _Fields) -> ServiceModel:
    if f.one_of(("mean", "cv"), ("shape", "scale")) == ("mean", "cv"):
        return Gamma.from_mean_cv(f.duration("mean"), f.number("cv", 0, CV_MAX))
    return Gamma(f.number("shape", 0, SHAPE_MAX), f.duration("scale"))


def _weibull(f: _Fields) -> ServiceModel:
    if f.one_of(("shape", "scale"), ("median", "p99")) == ("shape", "scale"):
        return Weibull(f.number("shape", 0.05, SHAPE_MAX), f.duration("scale"))
    model = Weibull.from_median_p99(*f.median_p99())
    if model.shape < 0.05:
        raise f.fail(f"{f.where}.p99", "is too far above the median (Weibull shape below 0.05)")
    return model


def _pareto(f: _Fields) -> ServiceModel:
    form = f.one_of(("alpha", "minimum"), ("alpha", "xm"), ("median", "p99"))
    if form == ("median", "p99"):
        model = Pareto.from_median_p99(*f.median_p99())
        if model.alpha < ALPHA_MIN:
            raise f.fail(f"{f.where}.p99", f"is too far above the median (alpha below {ALPHA_MIN})")
        return model
    return Pareto(f.number("alpha", ALPHA_MIN, SHAPE_MAX, open_low=False), f.duration(form[1]))


def _uniform(f: _Fields) -> ServiceModel:
    low = f.duration("low")
    high = f.duration("high", minimum=low)
    return Uniform(low, high)


def _empirical(f: _Fields, base_dir: Path | None) -> ServiceModel:
    name = f.text("file")
    column = f.text("column")
    unit = f.text("unit") if "unit" in f.m else "s"
    if unit.lower() not in DURATION_UNITS:
        raise f.fail(f"{f.where}.unit", f"expected a time unit like ms, s or us, got {unit!r:.40}")
    path = Path(name) if base_dir is None else Path(base_dir) / name
    values = read_latency_column(path, column, unit, file=f.file, field=f"{f.where}.file")
    return Empirical(values, name, column, unit)


#: the largest prefix cache a replica may declare, in blocks (2**24 blocks of 512 tokens: 8.6 G tokens)
CACHE_BLOCKS_MAX = 1 << 24
BLOCK_TOKENS_MAX = 1 << 16
LLM_KEYS = ("prefill_per_token", "decode_per_token", "overhead", "block_tokens", "cache_blocks")


def _llm(inner: Any, file: str | None, where: str) -> ServiceModel:
    """``{llm: {...}}``: every key required, so a replica's figures are always stated."""
    if not isinstance(inner, Mapping):
        raise ScenarioError(file, where, f"expected a mapping, got {inner!r:.40}")
    f = _Fields(inner, LLM_KEYS, file, where)
    prefill = f.duration("prefill_per_token", allow_zero=True)
    decode = f.duration("decode_per_token", allow_zero=True)
    overhead = f.duration("overhead", allow_zero=True)
    block_tokens = f.count("block_tokens", 1, BLOCK_TOKENS_MAX)
    cache_blocks = f.count("cache_blocks", 1, CACHE_BLOCKS_MAX)
    if prefill == decode == overhead == 0:
        raise ScenarioError(
            file,
            where,
            "give at least one of prefill_per_token, decode_per_token, overhead above 0",
        )
    return LLMService(prefill, decode, overhead, block_tokens, cache_blocks)


Builder = Callable[[_Fields, Path | None], ServiceModel]
_DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], Builder]] = {
    "constant": (("mean",), lambda f, _: Constant(f.duration("mean"))),
    "exponential": (("mean",), lambda f, _: Exponential(f.duration("mean"))),
    "lognormal": (("median", "p99", "mean", "cv", "mu", "sigma"), lambda f, _: _lognormal(f)),
    "gamma": (("mean", "cv", "shape", "scale"), lambda f, _: _gamma(f)),
    "weibull": (("shape", "scale", "median", "p99"), lambda f, _: _weibull(f)),
    "pareto": (("alpha", "minimum", "xm", "median", "p99"), lambda f, _: _pareto(f)),
    "uniform": (("low", "high"), lambda f, _: _uniform(f)),
    "geometric": (("mean",), lambda f, _: Geometric(f.duration("mean", minimum=1.0))),
    "empirical": (("file", "column", "unit"), _empirical),
}
#: the ``service_time.distribution`` names
SERVICE_DISTRIBUTIONS = tuple(_DISTRIBUTIONS)


def parse_service_model(
    value: Any, *, file: str | None, field: str, base_dir: str | Path | None = None
) -> ServiceModel:
    """The service model ``value`` describes (see the module doc); ``field`` is its path in the
    scenario (``capabilities[2].service_time``) and ``base_dir`` the folder an ``empirical``
    model's ``file`` is relative to (the scenario's)."""
    if not isinstance(value, Mapping):
        if isinstance(value, list | tuple | set):
            raise ScenarioError(file, field, f"expected a duration or a mapping, got {value!r:.40}")
        return Constant(parse_duration(value, file=file, field=field, allow_zero=False))
    if "llm" in value:
        if len(value) != 1:
            raise ScenarioError(file, field, "llm stands alone (no other keys beside it)")
        return _llm(value["llm"], file, f"{field}.llm")
    if "per_token" in value:
        if len(value) != 1:
            raise ScenarioError(file, field, "per_token stands alone (no other keys beside it)")
        inner = value["per_token"]
        where = f"{field}.per_token"
        if not isinstance(inner, Mapping):
            raise ScenarioError(file, where, f"expected a mapping, got {inner!r:.40}")
        f = _Fields(inner, ("base", "input", "output", "jitter"), file, where)
        jitter = f.number("jitter", 0, CV_MAX, open_low=False) if "jitter" in inner else 0.0
        base = f.duration("base", allow_zero=True) if "base" in inner else 0.0
        per_in = f.duration("input", allow_zero=True) if "input" in inner else 0.0
        per_out = f.duration("output", allow_zero=True) if "output" in inner else 0.0
        if base == per_in == per_out == 0:
            raise ScenarioError(file, where, "give at least one of base, input, output above 0")
        return PerToken(base, per_in, per_out, jitter)
    dist = value.get("distribution", "constant")
    if not isinstance(dist, str) or dist not in _DISTRIBUTIONS:
        raise ScenarioError(
            file,
            f"{field}.distribution",
            f"expected one of {', '.join(SERVICE_DISTRIBUTIONS)} (or per_token, llm), got {dist!r:.40}",
        )
    keys, build = _DISTRIBUTIONS[dist]
    body = {k: v for k, v in value.items() if k != "distribution"}
    f = _Fields(body, keys, file, field)
    return build(f, None if base_dir is None else Path(base_dir))
