"""Effects: what the engine does around every execution of a capability, declared per capability.

``effects=[audit_log(level="info"), metric("latency", kind="histogram")]`` on a capability
makes the engine write an audit row (SQLite and Python logging) and record a metric on every
execution — successful, failed, refused — so observability is part of the contract, not
something each function remembers to do. Every execution also records a trace span regardless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from capabilities.errors import RegistrationError

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
audit_logger = logging.getLogger("packetflow.audit")
_metrics_logger = logging.getLogger("packetflow.metrics")
logging.getLogger("packetflow").addHandler(logging.NullHandler())  # the app decides where logs go


@dataclass(slots=True)
class Execution:
    """What happened in one execution; effects read it."""

    capability: str
    input_keys: tuple[str, ...]
    status: str
    duration: float
    request_id: str
    principal: str
    error: str | None = None
    outputs: Mapping[str, Any] | None = None
    attempts: int = 1


class AuditWriter(Protocol):
    """Takes audit rows (:class:`capabilities.core.audit.AuditStore` is the one there is)."""

    def write(self, execution: Execution, level: str) -> None: ...


class EffectSink(Protocol):
    """Where effects write: an audit store and a metrics registry (the engine is one)."""

    @property
    def audit(self) -> AuditWriter: ...

    @property
    def metrics(self) -> MetricsRegistry: ...


class Effect(Protocol):
    def apply(self, execution: Execution, engine: EffectSink) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditLog:
    """Write one audit row per execution to the engine's store and to Python logging."""

    level: str = "info"

    def __post_init__(self) -> None:
        if self.level not in _LEVELS:
            raise ValueError(f"audit_log level {self.level!r} is not one of {sorted(_LEVELS)}")

    def apply(self, execution: Execution, engine: EffectSink) -> None:
        engine.audit.write(execution, self.level)
        lvl = _LEVELS["error"] if execution.error and self.level != "debug" else _LEVELS[self.level]
        if audit_logger.isEnabledFor(lvl):
            audit_logger.log(
                lvl,
                "%s %s %.6fs request=%s",
                execution.capability,
                execution.status,
                execution.duration,
                execution.request_id,
            )


@dataclass(frozen=True, slots=True)
class Metric:
    """Record into the engine's metrics registry.

    A ``counter`` counts executions (labelled by capability and status). A ``histogram``
    records the execution's duration in seconds, or the numeric output named by ``value``.
    """

    name: str
    kind: str = "counter"
    value: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("counter", "histogram"):
            raise ValueError(f"metric {self.name!r}: kind must be 'counter' or 'histogram'")

    def apply(self, execution: Execution, engine: EffectSink) -> None:
        if self.kind == "counter":
            engine.metrics.inc(self.name, execution.capability, execution.status)
        else:
            if self.value is None:
                v = execution.duration
            elif execution.outputs is not None and self.value in execution.outputs:
                raw = execution.outputs[self.value]
                try:
                    v = float(raw)
                except (TypeError, ValueError):  # a misdeclared metric must not fail the call
                    _metrics_logger.warning(
                        "metric %r of capability %r: output %r is not a number (%r); skipped",
                        self.name,
                        execution.capability,
                        self.value,
                        raw,
                    )
                    return
            else:
                return
            engine.metrics.observe(self.name, execution.capability, v)


def audit_log(level: str = "info") -> AuditLog:
    return AuditLog(level)


def metric(name: str, kind: str = "counter", value: str | None = None) -> Metric:
    return Metric(name, kind, value)


_EFFECT_FACTORIES: dict[str, Callable[..., Any]] = {"audit_log": audit_log, "metric": metric}


def effect_from_data(item: Any, where: str = "effects") -> Effect:
    """An effect written in plain data, so scenario files can declare effects too.

    Accepts an effect object as is, a bare name (``"audit_log"``), or a one-key mapping of the
    name to its options (``{"metric": {"name": "calls", "kind": "histogram"}}``; a string option
    is the metric's name or the audit level).
    """
    if callable(getattr(item, "apply", None)):
        return item
    options: Any
    if isinstance(item, str):
        kind, options = item, {}
    elif isinstance(item, Mapping) and len(item) == 1:
        ((kind, options),) = item.items()
        options = {} if options is None else options
    else:
        raise RegistrationError(
            f"{where}: {item!r} is not an effect; write 'audit_log' or {{'metric': {{'name': ...}}}}"
        )
    factory = _EFFECT_FACTORIES.get(kind)
    if factory is None:
        raise RegistrationError(
            f"{where}: unknown effect {kind!r}; use one of {sorted(_EFFECT_FACTORIES)}"
        )
    if isinstance(options, str):
        options = {"name" if kind == "metric" else "level": options}
    if not isinstance(options, Mapping):
        raise RegistrationError(f"{where}: options of {kind!r} must be a mapping, got {options!r}")
    try:
        return factory(**options)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"{where}: {kind}: {exc}") from None


@dataclass
class HistogramSummary:
    count: int
    sum: float
    mean: float
    p50: float
    p95: float
    p99: float
    max: float


@dataclass
class MetricsRegistry:
    """Counters and histograms that can be read back (counts, sums, quantiles)."""

    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    histograms: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inc(self, name: str, capability: str, status: str = "ok", by: int = 1) -> None:
        key = (name, capability, status)
        with self._lock:
            self.counters[key] = self.counters.get(key, 0) + by

    def observe(self, name: str, capability: str, value: float) -> None:
        key = (name, capability)
        with self._lock:
            bucket = self.histograms.get(key)
            if bucket is None:
                self.histograms[key] = [value]
            else:
                bucket.append(value)

    def count(self, name: str, capability: str | None = None, status: str | None = None) -> int:
        """Counter total, optionally for one capability and/or status."""
        return sum(
            v
            for (n, c, s), v in list(self.counters.items())
            if n == name and capability in (None, c) and status in (None, s)
        )

    def values(self, name: str, capability: str | None = None) -> np.ndarray:
        parts = [
            np.asarray(v, dtype=np.float64)
            for (n, c), v in list(self.histograms.items())
            if n == name and capability in (None, c)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def summary(self, name: str, capability: str | None = None) -> HistogramSummary:
        v = self.values(name, capability)
        if v.size == 0:
            return HistogramSummary(0, 0.0, float("nan"), *(float("nan"),) * 4)
        p50, p95, p99 = np.quantile(v, [0.5, 0.95, 0.99])
        return HistogramSummary(
            int(v.size),
            float(v.sum()),
            float(v.mean()),
            float(p50),
            float(p95),
            float(p99),
            float(v.max()),
        )
