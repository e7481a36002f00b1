"""The run summary: what happened to every intent, how well it was routed, how long it took.

Computed from the run's view (its ledger's exact times) only, so the same scenario and seed give
the same summary, bit for bit (no wall-clock figures in it). Times are reported in milliseconds
(``latency_ms``: arrival to end of service; ``wait_ms``: reaching the zone to start of service;
``network_ms``: gateway to zone; ``service_ms``), each as ``{mean, p50, p95, p99}``, overall and
per zone; with LLM zones also ``ttft_ms`` (arrival to first token) and ``cache_hit_rate``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from capabilities import resilience_counts

from .ledger import COMPLETED, DROP_REASONS, IN_SERVICE, OUTCOMES
from .view import zone_load_frame

if TYPE_CHECKING:  # annotations only
    from .view import ArenaView


@dataclass(frozen=True)
class Millis:
    """A distribution of times in milliseconds over served intents (None: none served)."""

    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, seconds: np.ndarray) -> Millis:
        if not seconds.size:
            return cls(None, None, None, None)
        ms = seconds * 1000.0
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return cls(mean=_r(ms.mean()), p50=_r(p50), p95=_r(p95), p99=_r(p99))


@dataclass(frozen=True)
class OutOfScope:
    """How well the out-of-scope gate found the intents labelled out of scope."""

    precision: float | None
    recall: float | None
    actual: int
    predicted: int


@dataclass(frozen=True)
class RunSummary:
    """What happened to every intent of a run; ``to_dict()`` is summary.json's content."""

    scenario: str
    router: str
    seed: int
    steps: int  # ticks the model ran (quiet ones are skipped)
    duration_s: float  # model time simulated, drain included
    arrived: int
    in_flight: int
    queued: int
    in_service: int
    completed: int
    dropped: int
    dropped_by_reason: Mapping[str, int]
    lost: int
    drained: bool  # nothing left in flight, queued or in service when the run ended
    overflowed: int
    outcomes: Mapping[str, int]
    routing_accuracy: float | None
    capability_accuracy: float | None
    scored_intents: int
    served_well: float | None
    latency_ms: Millis
    wait_ms: Millis
    network_ms: Millis
    service_ms: Millis
    zones: Mapping[str, Mapping[str, Any]]  # per zone: latency_ms, wait_ms, utilisation
    zone_utilisation: Mapping[str, Mapping[str, float | None]]
    resilience: Mapping[str, Mapping[str, int]]
    physics: Mapping[str, Any]
    rate_scale: float
    embedder: str  # the embedding model's name, e.g. all-MiniLM-L6-v2@onnx-fp32:e7da3216b6e4
    embedder_sha256: str | None  # the embedder artefact's hash: the same vectors everywhere
    arrivals_ran_dry_s: float | None = None  # the source's rows ran out then (no repeat)
    out_of_scope: OutOfScope | None = None  # only when the source has out-of-scope labels
    ttft_ms: Millis | None = None  # arrival to first token, on LLM zones (docs/llm.md)
    cache_hit_rate: float | None = None  # prompt tokens served from prefix caches / all

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON, keys in summary.json's order (``out_of_scope``, ``ttft_ms`` and
        ``cache_hit_rate`` only when set)."""
        out = dataclasses.asdict(self)
        for key in ("out_of_scope", "ttft_ms", "cache_hit_rate"):
            if getattr(self, key) is None:
                del out[key]
        return out

    def format(self) -> str:
        """A short human-readable table."""
        return format_summary(self)


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def summarise(view: ArenaView) -> RunSummary:
    L = view.ledger
    counts = view.counts()
    served = (L.state == IN_SERVICE) | (L.state == COMPLETED)
    done = L.state == COMPLETED
    label = L.label
    labelled = label >= 0
    lab = np.maximum(label, 0)
    if len(view.label_names):
        is_oos = labelled & view.label_is_oos[lab]
        true_group = view.label_group[lab]
        true_cap = view.label_capability[lab]
    else:  # an unlabelled source: nothing to score
        is_oos = np.zeros(len(L), dtype=bool)
        true_group = true_cap = np.full(len(L), -1)
    in_scope = labelled & ~is_oos
    scored = served & in_scope
    # routing is right when the zone belongs to the group (any replica) of the label's home zone
    zone_group = view.zone_group[np.maximum(L.zone, 0)]
    util = _utilisation(view)
    duration_s = _r(view.now)
    if duration_s is None:  # the clock only advances by finite steps
        raise ValueError(f"summarise: the run's clock is not finite ({view.now})")
    return RunSummary(
        scenario=view.scenario.name,
        router=view.router_name,
        seed=view.seed,
        steps=view.steps,
        duration_s=duration_s,
        arrived=counts["arrived"],
        in_flight=counts["in_flight"],
        queued=counts["queued"],
        in_service=counts["in_service"],
        completed=counts["completed"],
        dropped=counts["dropped"],
        dropped_by_reason={r: int(view.dropped[i]) for i, r in enumerate(DROP_REASONS)},
        lost=int(view.lost()),
        drained=counts["in_flight"] + counts["queued"] + counts["in_service"] == 0,
        overflowed=int(L.overflow.sum()),
        outcomes={
            name: int((L.outcome[served] == i).sum()) for i, name in enumerate(OUTCOMES) if i
        },
        routing_accuracy=_r(np.mean(zone_group[scored] == true_group[scored]))
        if scored.any()
        else None,
        capability_accuracy=_r(np.mean(L.capability[scored] == true_cap[scored]))
        if scored.any()
        else None,
        scored_intents=int(scored.sum()),
        served_well=_served_well(view, served, in_scope, true_cap),
        latency_ms=Millis.of((L.end - L.arrival)[done]),
        wait_ms=Millis.of((L.start - L.reach)[served]),
        network_ms=Millis.of((L.reach - L.arrival)[served]),
        service_ms=Millis.of((L.end - L.start)[done]),
        zones=_per_zone(view, served, done, util),
        zone_utilisation=util,
        resilience=_resilience(view),
        physics={k: getattr(view.physics, k) for k in view.physics.describe()},
        rate_scale=view.rate_scale,
        embedder=view.embedder_name,
        embedder_sha256=view.embedder_sha256,
        arrivals_ran_dry_s=_r(view.ran_dry_at) if view.ran_dry_at is not None else None,
        out_of_scope=_out_of_scope(L.fallback, is_oos, labelled)
        if view.label_is_oos.any() and labelled.any()
        else None,
        **_llm_figures(L, done),
    )


def _llm_figures(L: Any, done: np.ndarray) -> dict[str, Any]:
    """TTFT (arrival to first token: network, queueing wait, overhead and uncached prefill)
    over completed LLM calls, and the share of their prompt tokens the prefix caches held;
    nothing when no LLM zone served (the keys stay out of summary.json)."""
    llm = done & np.isfinite(L.first_token)
    if not llm.any():
        return {}
    prompt = int(L.input_tokens[llm].sum())
    return {
        "ttft_ms": Millis.of((L.first_token - L.arrival)[llm]),
        "cache_hit_rate": _r(L.cached_tokens[llm].sum() / prompt) if prompt else None,
    }


def _per_zone(
    view: ArenaView, served: np.ndarray, done: np.ndarray, util: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Latency and wait per zone (ms), with the zone's utilisation."""
    L = view.ledger
    out: dict[str, dict[str, Any]] = {}
    for z, name in enumerate(view.zone_names):
        here = L.zone == z
        out[name] = {
            "latency_ms": dataclasses.asdict(Millis.of((L.end - L.arrival)[done & here])),
            "wait_ms": dataclasses.asdict(Millis.of((L.start - L.reach)[served & here])),
            "utilisation": util.get(name, {}).get("mean"),
        }
    return out


def _served_well(
    model: ArenaView, served: np.ndarray, in_scope: np.ndarray, true_cap: np.ndarray
) -> float | None:
    """Share of the in-scope labelled intents that arrived and were served by their own
    capability at a zone hosting it at full quality (quality 1): a drop, a wrong capability
    or a lower-quality host (a general intake standing in for a specialist) all count against.
    """
    if not in_scope.any():
        return None
    L = model.ledger
    cap = np.maximum(L.capability, 0)
    zone = np.maximum(L.zone, 0)
    well = served & in_scope & (L.capability == true_cap) & (model.cap_quality[zone, cap] >= 1.0)
    return _r(well.sum() / in_scope.sum())


def _out_of_scope(predicted: np.ndarray, is_oos: np.ndarray, labelled: np.ndarray) -> OutOfScope:
    tp = int((predicted & is_oos).sum())
    p = int(predicted[labelled].sum())
    a = int(is_oos.sum())
    return OutOfScope(
        precision=_r(tp / p) if p else None,
        recall=_r(tp / a) if a else None,
        actual=a,
        predicted=p,
    )


def _resilience(model: ArenaView) -> dict[str, dict[str, int]]:
    """Retries, breaker trips, refusals, timeouts and fallbacks summed over each zone's capabilities."""
    out: dict[str, dict[str, int]] = {}
    for name, idx in zip(model.zone_names, model.zone_caps, strict=True):
        counts = resilience_counts(model.engine_metrics, [model.capability_names[i] for i in idx])
        total: dict[str, int] = {}
        for per_cap in counts.values():
            for key, value in per_cap.items():
                total[key] = total.get(key, 0) + int(value)
        out[name] = total
    return out


def _utilisation(view: ArenaView) -> dict[str, dict[str, float | None]]:
    """Per zone: ``mean`` busy share of its servers over the run (exact, from the ledger's
    service times) and ``max`` share busy at any report time."""
    L = view.ledger
    span = view.now
    frame = zone_load_frame(view)
    result: dict[str, dict[str, float | None]] = {}
    started = np.isfinite(L.start)
    for z, name in enumerate(view.zone_names):
        if span <= 0:
            result[name] = {"mean": None, "max": None}
            continue
        mine = started & (L.zone == z)
        busy = np.clip(np.minimum(L.end[mine], span) - L.start[mine], 0, None).sum()
        peak = frame.loc[frame["zone"] == name, "utilisation"]
        result[name] = {
            "mean": _r(busy / (span * view.zone_capacity[z])),
            "max": _r(peak.max()) if len(peak) else None,
        }
    return result


def format_summary(s: RunSummary) -> str:
    """A short human-readable table of a summary."""
    lines = [
        f"scenario {s.scenario}  router {s.router}  seed {s.seed}  simulated {s.duration_s:g} s  "
        f"embedder {s.embedder}",
        f"arrived {s.arrived}  completed {s.completed}  in flight {s.in_flight}  "
        f"queued {s.queued}  in service {s.in_service}  dropped {s.dropped} "
        f"{ {k: v for k, v in s.dropped_by_reason.items() if v} }  lost {s.lost}"
        + ("" if s.drained else "  (not drained)"),
    ]
    if s.routing_accuracy is not None:
        lines.append(
            f"routing accuracy {s.routing_accuracy:.4f}  capability accuracy "
            f"{s.capability_accuracy:.4f}  (over {s.scored_intents} labelled intents)"
        )
    if s.served_well is not None:
        lines.append(f"served well {s.served_well:.4f}  (own capability at full quality)")
    lat, w = s.latency_ms, s.wait_ms
    if lat.p50 is not None:
        lines.append(
            f"latency ms p50 {lat.p50:.1f}  p95 {lat.p95:.1f}  p99 {lat.p99:.1f}  "
            f"(wait p95 {w.p95:.1f}, network mean {s.network_ms.mean:.1f})"
        )
    if s.ttft_ms is not None and s.ttft_ms.p50 is not None:
        t = s.ttft_ms
        lines.append(
            f"ttft ms p50 {t.p50:.1f}  p95 {t.p95:.1f}  p99 {t.p99:.1f}  "
            f"cache hit rate {s.cache_hit_rate}"
        )
    if s.arrivals_ran_dry_s is not None:
        lines.append(f"arrivals ran out of source rows at {s.arrivals_ran_dry_s:g} s")
    if s.out_of_scope is not None:
        o = s.out_of_scope
        lines.append(f"out of scope precision {o.precision}  recall {o.recall}")
    lines.append(
        "zone utilisation (mean/max): "
        + ", ".join(
            f"{z} {u['mean']:.2f}/{u['max']:.2f}"
            for z, u in s.zone_utilisation.items()
            if u["mean"] is not None
        )
    )
    return "\n".join(lines)
