"""What a run of the arena is made of: the scenario's frozen dataclasses.

Built by :func:`arena.scenario.parse.parse_scenario` (which checks every field first) and bound
to a capability registry by :mod:`arena.scenario.bind`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ScenarioError
from ..physics import LoadInfo, Physics
from ..workload import ArrivalProcess, Constant, ServiceModel, TraceSpec
from .datasets import DatasetSpec, LabelledTexts, load_dataset

DEFAULT_HANDLER = "arena.handlers:answer_request"


@dataclass(frozen=True)
class FaultSpec:
    """Injected faults: each execution fails with ``failure_rate``; ``extra`` adds seconds."""

    failure_rate: float = 0.0
    extra: float = 0.0


@dataclass(frozen=True)
class Outage:
    """Zone ``zone`` goes out of service at ``at`` seconds (see :mod:`.outages`)."""

    zone: str
    at: float


@dataclass(frozen=True)
class ClockSpec:
    """The model's tick (the physics' step and the batch of arrivals routed together) and the
    interval of ``zone_load.csv``'s rows, in seconds. Events happen at their exact times
    whatever the tick; a finer tick only makes routing decisions see fresher load."""

    tick: float = 1.0
    report: float | None = None  # None: about 500 rows over the duration, at least one tick


@dataclass(frozen=True)
class NetworkSpec:
    """Network delay from the gateway (the entry point) to a zone: ``base`` plus ``per_unit``
    seconds per space unit of straight-line distance (both 0 by default: no delay)."""

    base: float = 0.0
    per_unit: float = 0.0


@dataclass(frozen=True)
class CapabilitySpec:
    name: str
    intent: str
    function: str = DEFAULT_HANDLER
    requires: Any = None
    provides: Any = None
    labels: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    # seconds (see arena.workload.service)
    service_time: ServiceModel = dataclasses.field(default_factory=lambda: Constant(1.0))
    faults: FaultSpec | None = None
    policy: Mapping[str, Any] | None = None
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZoneSpec:
    """One zone. ``group`` names the service it belongs to (zones of one group are replicas:
    the same capabilities, and routing to any of them counts as correct); it defaults to the
    zone's name. ``quality`` gives a hosted capability a quality in (0, 1] (default 1): a zone
    serving a capability at quality 0.6 attracts it at 60% of its similarity, and serving it
    there does not count as "served well". ``ring`` places an auto-laid-out zone at this
    fraction of the arena's size from the centre (default 0.38): replicas at different
    distances cost different travel times."""

    name: str
    capacity: int
    queue_limit: int
    radius: float
    position: tuple[float, float] | None = None
    specialisation: str | None = None
    capabilities: tuple[str, ...] = ()
    fallback: bool = False
    group: str | None = None
    quality: tuple[tuple[str, float], ...] = ()
    ring: float | None = None

    @property
    def group_name(self) -> str:
        return self.group or self.name

    def quality_of(self, capability: str) -> float:
        return dict(self.quality).get(capability, 1.0)


@dataclass(frozen=True)
class ExamplesSpec:
    """Sample requests per label (from a *training* split) that anchor capability meaning."""

    source: DatasetSpec
    per_label: int = 20


@dataclass(frozen=True)
class AttractionSpec:
    """What "similar" means for routing.

    ``cosine``: similarity of the request to each hosted capability (its description and
    example centroid) — zero-shot, works without labelled data. ``learned``: a softmax head
    trained on the ``examples`` source (every row whose label maps to a capability); a zone's
    attraction is the probability of its most likely capability.
    """

    kind: str = "cosine"
    # the out-of-scope gate's score: "best_zone" (the best routable zone's attraction) or
    # "fallback_class" (1 - the learned head's probability of the fallback zone's capabilities)
    # or "energy_mahalanobis" (the head's energy mixed with a relative Mahalanobis distance:
    # holds best on new kinds of request; docs/out_of_scope.md)
    out_of_scope_score: str = "best_zone"
    epochs: int = 300
    learning_rate: float = 50.0
    l2: float = 0.0
    momentum: float = 0.9


@dataclass(frozen=True)
class ArrivalSpec:
    """When intents arrive and what they say.

    ``rate`` is the mean number per second, or ``schedule`` a list of ``[time, rate]`` changes
    (piecewise constant, times in seconds). ``process`` is ``poisson``, ``constant`` or a
    bursty one (``mmpp``, ``diurnal``: ``bursty``); ``trace`` replays a trace's arrival
    times and tokens instead. Texts come from a labelled ``source`` (shuffled by the model's
    RNG unless ``shuffle: false``) or inline ``texts``.
    """

    rate: float = 10.0
    schedule: tuple[tuple[float, float], ...] = ()
    process: str = "poisson"
    bursty: ArrivalProcess | None = None  # the mmpp or diurnal process, checked
    trace: TraceSpec | None = None
    source: DatasetSpec | None = None
    texts: tuple[str, ...] = ()
    shuffle: bool = True
    repeat: bool = False
    only_labels: tuple[str, ...] = ()
    out_of_scope_labels: tuple[str, ...] = ()
    # (label or zone name, weight): how many times more often its requests arrive than the
    # source holds them (3 = each row three times a day, 0.5 = every other row); see
    # Scenario.label_weights
    weights: tuple[tuple[str, float], ...] = ()

    def rate_at(self, t: float) -> float:
        """The mean rate (per second) at time ``t``."""
        rate = self.rate
        for start, r in self.schedule:
            if t >= start:
                rate = r
        return rate

    def segments(self, duration: float) -> list[tuple[float, float, float]]:
        """``(start, end, rate)`` pieces of the rate over ``[0, duration)``."""
        cuts = [0.0] + [s for s, _ in self.schedule if 0 < s < duration] + [duration]
        return [(a, b, self.rate_at(a)) for a, b in itertools.pairwise(cuts) if b > a]


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str | None
    seed: int
    duration: float  # seconds of arrivals (the run then drains)
    width: float
    height: float
    zones: tuple[ZoneSpec, ...]
    capabilities: tuple[CapabilitySpec, ...]
    arrivals: ArrivalSpec
    physics: Physics = dataclasses.field(default_factory=Physics)
    router: str = "physics"
    layout: str = "circle"
    entry: tuple[float, float] | None = None
    examples: ExamplesSpec | None = None
    attraction: AttractionSpec = dataclasses.field(default_factory=AttractionSpec)
    description: str = ""
    # per router name, the keyword arguments its class is built with
    router_params: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    load_info: LoadInfo = dataclasses.field(default_factory=LoadInfo)
    clock: ClockSpec = dataclasses.field(default_factory=ClockSpec)
    network: NetworkSpec = dataclasses.field(default_factory=NetworkSpec)
    outages: tuple[Outage, ...] = ()

    # -- derived views -------------------------------------------------------------------------
    def label_to_capability(self) -> dict[str, str]:
        return {lab: c.name for c in self.capabilities for lab in c.labels}

    def label_weights(self) -> dict[str, float]:
        """``arrivals.weights`` per label: a zone's weight applies to every label its
        capabilities serve, a label's own weight wins over its zone's."""
        by_zone = {z.name: z for z in self.zones}
        caps = {c.name: c for c in self.capabilities}
        out: dict[str, float] = {}
        for key, w in self.arrivals.weights:
            if key in by_zone:
                for cap in by_zone[key].capabilities:
                    for lab in caps[cap].labels:
                        out.setdefault(lab, w)
        for key, w in self.arrivals.weights:
            if key not in by_zone:
                out[key] = w
        return out

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    def load_source(self) -> LabelledTexts:
        """The intent texts (and labels) arrivals draw from."""
        arr = self.arrivals
        if arr.source is None:
            return LabelledTexts(arr.texts, (None,) * len(arr.texts))
        data = load_dataset(arr.source, scenario_file=self.file, field="arrivals.source")
        present = set(data.labels)
        for key, listed in (
            ("only_labels", arr.only_labels),
            ("out_of_scope_labels", arr.out_of_scope_labels),
        ):
            absent = [lab for lab in listed if lab not in present]
            if absent:
                raise ScenarioError(
                    self.file,
                    f"arrivals.{key}",
                    f"label {absent[0]!r} is in no row of the source (a typo?)",
                )
        known = set(self.label_to_capability()) | set(arr.out_of_scope_labels)
        # only_labels defaults to the labels the capabilities (and out_of_scope_labels) list:
        # a source of many labels feeds a scenario that serves some of them without a list
        keep = set(arr.only_labels) or known
        rows = [
            (t, lab)
            for t, lab in zip(data.texts, data.labels)
            if lab in keep or (lab is None and not arr.only_labels)
        ]
        if not rows:
            field = "arrivals.only_labels" if arr.only_labels else "arrivals.source"
            what = "these labels" if arr.only_labels else "a label the capabilities list"
            raise ScenarioError(self.file, field, f"no row of the source has {what}")
        data = LabelledTexts(tuple(r[0] for r in rows), tuple(r[1] for r in rows))
        unknown = sorted({lab for lab in data.labels if lab is not None and lab not in known})
        if unknown:
            raise ScenarioError(
                self.file,
                "arrivals.source",
                f"labels {unknown[:5]}{'...' if len(unknown) > 5 else ''} map to no capability; "
                "list them in a capability's labels or in arrivals.out_of_scope_labels, or leave "
                "them out of arrivals.only_labels",
            )
        return data
