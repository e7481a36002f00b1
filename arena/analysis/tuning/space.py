"""The search space of a tuning run: which physics fields, within which bounds.

Bounds default to the field's documented range (:meth:`arena.Physics.describe`); a user may
narrow them (``temperature=0.01:0.3``) but never widen them, and may search a positive range on
a log scale (``temperature=0.005:0.5:log``), where equal steps are equal ratios. Integer fields
(``candidates``) stay integers: the optimiser searches them with ``integrality``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ScenarioError
from ...physics import Physics

PREFIX = "physics."


@dataclass(frozen=True)
class ParamRange:
    """One searched physics field: ``low``/``high`` in the field's own units."""

    name: str
    low: float
    high: float
    integer: bool = False
    log: bool = False

    @property
    def path(self) -> str:
        """The scenario override path (``physics.temperature``)."""
        return PREFIX + self.name

    def to_search(self, value: float) -> float:
        """A field value in the optimiser's coordinates (log10 on a log scale)."""
        return math.log10(value) if self.log else float(value)

    def bounds(self) -> tuple[float, float]:
        return (self.to_search(self.low), self.to_search(self.high))

    def from_search(self, x: np.ndarray) -> np.ndarray:
        """Optimiser coordinates back to field values, clipped into the bounds (integers rounded)."""
        v = np.power(10.0, x) if self.log else np.asarray(x, dtype=float)
        v = np.clip(v, self.low, self.high)
        if self.integer:
            return np.rint(v)
        # 10 significant digits: readable overlays, and a value that went through the
        # optimiser's scaling (0.05 -> 0.05000000000000001) is the same point again
        return np.array([float(f"{e:.10g}") for e in np.ravel(v)]).reshape(np.shape(v))


def parse_param(text: str) -> ParamRange:
    """``temperature``, ``physics.repulsion=0:5`` or ``temperature=0.005:0.5:log``."""
    what = str(text).partition("=")[0].strip() or "param"
    name, sep, spec = str(text).partition("=")
    name = name.strip().removeprefix(PREFIX)
    fields = Physics.describe()
    if name not in fields:
        raise ScenarioError(
            None,
            PREFIX + name if name else "param",
            f"unknown physics parameter; expected one of: {', '.join(fields)}",
        )
    meta = fields[name]
    lo, hi, integer = float(meta["min"]), float(meta["max"]), bool(meta["integer"])
    log = False
    if sep:
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) == 3 and parts[2] == "log":
            log, parts = True, parts[:2]
        if len(parts) != 2:
            raise ScenarioError(
                None, what, f"bounds {spec!r:.60} must look like LOW:HIGH or LOW:HIGH:log"
            )
        lo, hi = (_bound(p, what) for p in parts)
    return check_range(ParamRange(name, lo, hi, integer, log))


def _bound(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(None, what, f"bound {text!r:.40} is not a number") from None
    if not math.isfinite(value):
        raise ScenarioError(None, what, f"bound {text!r:.40} is not a finite number")
    return value


def check_range(p: ParamRange) -> ParamRange:
    """Refuse bounds outside the field's documented range, empty ones, or a log scale over 0."""
    meta = Physics.describe().get(p.name)
    if meta is None:
        raise ScenarioError(None, p.path, "unknown physics parameter")
    lo, hi = float(meta["min"]), float(meta["max"])
    for b in (p.low, p.high):
        if not isinstance(b, int | float) or isinstance(b, bool) or not math.isfinite(b):
            raise ScenarioError(None, p.path, f"bound {b!r} is not a finite number")
    if p.low < lo or p.high > hi:
        raise ScenarioError(
            None, p.path, f"bounds [{p.low}, {p.high}] leave the field's range [{lo}, {hi}]"
        )
    if not p.low < p.high:
        raise ScenarioError(None, p.path, f"empty bounds: low {p.low} must be < high {p.high}")
    if p.integer and math.floor(p.high) < math.ceil(p.low):
        raise ScenarioError(None, p.path, f"bounds [{p.low}, {p.high}] hold no integer")
    if p.integer and p.log:
        raise ScenarioError(None, p.path, "an integer field is searched on a linear scale")
    if p.log and p.low <= 0:
        raise ScenarioError(None, p.path, f"a log scale needs bounds > 0, got low {p.low}")
    if p.integer:
        p = ParamRange(p.name, float(math.ceil(p.low)), float(math.floor(p.high)), True, False)
    return p


@dataclass(frozen=True)
class SearchSpace:
    """The searched fields, in order; converts optimiser vectors to scenario overrides."""

    params: tuple[ParamRange, ...]

    @classmethod
    def of(cls, params: Sequence[str | ParamRange] | Mapping[str, Any]) -> SearchSpace:
        """From ``["temperature", "repulsion=0:5"]``, :class:`ParamRange` objects, or a mapping
        ``{"temperature": (0.01, 0.3), "candidates": None}`` (``None``: the full range)."""
        items: list[ParamRange] = []
        if isinstance(params, Mapping):
            for name, b in params.items():
                if b is None:
                    items.append(parse_param(str(name)))
                else:
                    base = parse_param(str(name))
                    low, high, *rest = b
                    log = bool(rest and rest[0] == "log")
                    items.append(check_range(ParamRange(base.name, low, high, base.integer, log)))
        else:
            items = [p if isinstance(p, ParamRange) else parse_param(p) for p in params]
        items = [check_range(p) for p in items]
        if not items:
            raise ScenarioError(None, "param", "tune at least one physics parameter")
        names = [p.name for p in items]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ScenarioError(None, PREFIX + dup, "parameter given twice")
        return cls(tuple(items))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def bounds(self) -> list[tuple[float, float]]:
        return [p.bounds() for p in self.params]

    def integrality(self) -> np.ndarray:
        return np.array([p.integer for p in self.params], dtype=bool)

    def values(self, x: np.ndarray) -> np.ndarray:
        """Optimiser vectors (one per row) as field values (one column per parameter)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.column_stack([p.from_search(x[:, i]) for i, p in enumerate(self.params)])

    def to_search(self, physics: Physics) -> np.ndarray | None:
        """``physics``'s values in optimiser coordinates, or ``None`` if any is out of bounds."""
        values = [float(getattr(physics, p.name)) for p in self.params]
        if any(not p.low <= v <= p.high for p, v in zip(self.params, values)):
            return None
        return np.array([p.to_search(v) for p, v in zip(self.params, values)])

    def physics_values(self, row: np.ndarray) -> dict[str, float | int]:
        """One point's field values with their Python types (integers as ``int``)."""
        return {p.name: int(v) if p.integer else float(v) for p, v in zip(self.params, row)}
