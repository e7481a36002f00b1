"""Building an :class:`arena.model.ArenaModel` from its scenario: faults and policies bound to
the registry, zones laid out, capabilities placed, the intent source embedded and scored.

A mixin of the model (construction only; nothing here runs during a step).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np

from capabilities import default_cache_dir, with_faults

from ..errors import ScenarioError
from ..physics import (
    EnergyMahalanobis,
    HeadSettings,
    SoftmaxHead,
    in_scope_score,
    mix_or_fit,
    train_or_load,
    zone_attraction,
)
from ..scenario import Scenario, load_dataset
from .agents import CapabilityAgent, ZoneAgent
from .clock import CallClock, with_service_time
from .sampling import ServiceSampler
from .source import ArrivalStream, draw_arrivals
from .state import ArenaState

if TYPE_CHECKING:  # annotations only
    from capabilities import Registry

    from ..physics import Physics
    from .model import ArenaModel

ARENA_INPUTS = ("text",)


class ArenaBuild:
    """The model's construction steps (see :meth:`ArenaModel.__init__` for their order)."""

    scenario: Scenario
    registry: Registry
    physics: Physics
    rng: np.random.Generator
    seed_value: int  # the run's seed (its service draws are keyed by it)
    steps: int
    rate_scale: float
    state: ArenaState  # set by the model once the zones are built

    def inject_faults(self) -> None:
        for spec in self.scenario.capabilities:
            if spec.faults is not None and spec.faults.failure_rate > 0:
                faulty = with_faults(
                    self.registry.get(spec.name),
                    failure_rate=spec.faults.failure_rate,
                    rng=self.rng,
                )
                self.registry.register(faulty, replace=True)

    def inject_service_times(self) -> None:
        """Each execution takes its sampled service time (plus the faults' extra time) on the
        call clock, so a policy's timeout sees it (see :mod:`arena.model.clock`)."""
        self.call_clock = CallClock()
        for stream, spec in enumerate(self.scenario.capabilities):
            cap = self.registry.get(spec.name)
            extra = spec.faults.extra if spec.faults is not None else 0.0
            sampler = ServiceSampler(
                spec.service_time, self.seed_value, stream, self.call_clock, extra
            )
            timeout = getattr(cap.policy, "timeout", None)
            timed = with_service_time(cap, sampler, self.call_clock, timeout)
            self.registry.register(timed, replace=True)

    def bind_policies(self) -> None:
        """Resilience policies run on the call clock: one step is one second of their clock,
        retry backoff advances it instead of sleeping, and a timeout judges each attempt by the
        simulated service time it took."""
        clock = self.call_clock
        for cap in self.registry:
            if cap.policy is not None and hasattr(cap.policy, "bind"):
                bound = cap.policy.bind(clock, sleep=clock.sleep)
                self.registry.register(cap.replace(policy=bound), replace=True)

    def whole_model(self) -> ArenaModel:
        """This build as the model its agents belong to: ArenaBuild is ArenaModel's base only
        (its steps run inside ``ArenaModel.__init__``), and an agent needs the whole model. A
        cast, not an import: importing ``.model`` here would close an import circle."""
        return cast("ArenaModel", self)

    def build_zones(self) -> None:
        sc = self.scenario
        positions = zone_layout(sc)
        self.zones: list[ZoneAgent] = []
        for i, z in enumerate(sc.zones):
            self.zones.append(
                ZoneAgent(
                    self.whole_model(),
                    i,
                    z.name,
                    positions[i],
                    z.radius,
                    z.capacity,
                    z.queue_limit,
                    z.specialisation,
                    z.fallback,
                )
            )
        Z = len(self.zones)
        self.zone_names = [z.name for z in self.zones]
        self.zone_xy = np.array([positions[i] for i in range(Z)], dtype=np.float32)
        self.zone_radius2 = np.array([z.radius**2 for z in self.zones], dtype=np.float32)
        self.zone_capacity = np.array([z.capacity for z in self.zones], dtype=np.int64)
        self.zone_queue_limit = np.array([z.queue_limit for z in self.zones], dtype=np.int64)
        groups = list(dict.fromkeys(z.group_name for z in sc.zones))
        self.group_names = groups
        self.zone_group = np.array([groups.index(z.group_name) for z in sc.zones], dtype=np.intp)
        self.fallback_index = next((i for i, z in enumerate(self.zones) if z.fallback), -1)
        self.routable_zones = np.array(
            [i for i in range(Z) if i != self.fallback_index], dtype=np.intp
        )
        self.routable_mask = np.zeros(Z, dtype=bool)
        self.routable_mask[self.routable_zones] = True
        if len(self.routable_zones) == 0:
            raise ScenarioError(
                sc.file, "zones", "every zone is a fallback; at least one must not be"
            )
        self.k = int(min(self.physics.candidates, len(self.routable_zones)))
        self.entry = np.array(
            sc.entry if sc.entry is not None else (sc.width / 2, sc.height / 2), dtype=np.float32
        )

    def build_capabilities(self) -> None:
        names, vectors = self.registry.capability_vectors()
        self.capability_names = list(names)
        self.capability_vectors = vectors
        index = {n: i for i, n in enumerate(names)}
        self.capability_specs = {c.name: c for c in self.scenario.capabilities}
        self.zone_caps: list[np.ndarray] = []
        self.zone_quality: list[np.ndarray] = []  # per zone, the quality of each hosted capability
        self.capability_agents: list[CapabilityAgent] = []
        for zi, (zone, spec) in enumerate(zip(self.zones, self.scenario.zones, strict=True)):
            idx = np.array([index[c] for c in spec.capabilities], dtype=np.intp)
            if len(idx) == 0:
                raise ScenarioError(
                    self.scenario.file,
                    f"zones[{zi}]",
                    f"zone {zone.name!r} hosts no capability, so it could not serve what it captures",
                )
            self.zone_caps.append(idx)
            self.zone_quality.append(
                np.array([spec.quality_of(c) for c in spec.capabilities], dtype=np.float32)
            )
            for j, ci in enumerate(idx):
                angle = 2 * math.pi * j / len(idx)
                r = zone.radius * 0.6
                pos = (
                    float(np.clip(zone.position[0] + r * math.cos(angle), 0, self.scenario.width)),
                    float(np.clip(zone.position[1] + r * math.sin(angle), 0, self.scenario.height)),
                )
                self.capability_agents.append(
                    CapabilityAgent(self.whole_model(), int(ci), names[ci], zone, pos)
                )
        self.capability_agent_of = {a.index: a for a in self.capability_agents}
        self.capability_served = np.zeros(len(names), dtype=np.int64)
        for cap in self.registry:
            missing = sorted(cap.required_inputs - set(ARENA_INPUTS))
            if missing:
                raise ScenarioError(
                    self.scenario.file,
                    "capabilities",
                    f"capability {cap.name!r} requires {missing}, but the arena can only "
                    f"give it {list(ARENA_INPUTS)}",
                )
        self._spec_vectors = {}
        self.head = self.learned_head() if self.scenario.attraction.kind == "learned" else None
        self.out_of_scope_mix = self.fit_out_of_scope_score()
        texts = [
            (i, z.specialisation) for i, z in enumerate(self.scenario.zones) if z.specialisation
        ]
        if texts and self.head is None:
            vecs = self.registry.embedder.encode([t for _, t in texts])
            self._spec_vectors = {i: vecs[j] for j, (i, _) in enumerate(texts)}

    def example_rows(self) -> tuple[list[str], np.ndarray]:
        """The examples source's texts whose label maps to a capability, and that capability's
        index: what the learned head is trained on (and cross-validated over)."""
        sc = self.scenario
        assert sc.examples is not None  # checked when the scenario was parsed
        data = load_dataset(sc.examples.source, scenario_file=sc.file, field="examples.source")
        l2c = sc.label_to_capability()
        index = {n: i for i, n in enumerate(self.capability_names)}
        rows = [
            (t, index[l2c[lab]])
            for t, lab in zip(data.texts, data.labels, strict=True)
            if lab in l2c
        ]
        return [t for t, _ in rows], np.array([c for _, c in rows], dtype=np.int64)

    def learned_head(self) -> SoftmaxHead:
        """Train (or load from the cache) the softmax head over the scenario's examples."""
        sc = self.scenario
        texts, caps = self.example_rows()
        lacking = [n for i, n in enumerate(self.capability_names) if i not in set(caps.tolist())]
        if lacking:
            raise ScenarioError(
                sc.file,
                "attraction.kind",
                f"'learned' needs examples for every capability; {lacking[:3]} have none "
                "in examples.source (check their labels)",
            )
        embedder = self.registry.embedder
        return train_or_load(
            default_cache_dir(),
            embedder.name,
            self.capability_names,
            texts,
            caps,
            embedder.encode,
            self.head_settings(),
        )

    def head_settings(self) -> HeadSettings:
        a = self.scenario.attraction
        return HeadSettings(
            epochs=a.epochs, learning_rate=a.learning_rate, l2=a.l2, momentum=a.momentum
        )

    def fit_out_of_scope_score(self) -> EnergyMahalanobis | None:
        """``fallback_class`` reads the head's probability of the fallback zone's capabilities:
        it needs a learned head and a fallback zone. ``energy_mahalanobis`` needs the head and
        is fitted here, once, on its in-scope examples (:mod:`arena.physics.shift_scores`)."""
        kind = self.scenario.attraction.out_of_scope_score
        if kind == "fallback_class" and (self.head is None or self.fallback_index < 0):
            raise ScenarioError(
                self.scenario.file,
                "attraction.out_of_scope_score",
                "'fallback_class' needs attraction.kind 'learned' and a fallback zone whose "
                "capabilities have out-of-scope examples (else use 'best_zone')",
            )
        if kind != "energy_mahalanobis":
            return None
        if self.head is None:
            raise ScenarioError(
                self.scenario.file,
                "attraction.out_of_scope_score",
                "'energy_mahalanobis' needs attraction.kind 'learned' (else use 'best_zone')",
            )
        return self.energy_mahalanobis_mix()

    def energy_mahalanobis_mix(self) -> EnergyMahalanobis:
        """The head's energy and a relative Mahalanobis distance, fitted on the examples of
        every capability outside the fallback zone (embedded through the cache), or loaded
        from the cache where it keeps fitted mixes beside the heads."""
        assert self.head is not None
        fallback: np.ndarray | list[int] = (
            self.zone_caps[self.fallback_index] if self.fallback_index >= 0 else []
        )
        in_cols = np.setdiff1d(np.arange(len(self.capability_names)), fallback)

        def rows() -> tuple[np.ndarray, np.ndarray]:
            texts, caps = self.example_rows()
            inside = ~np.isin(caps, fallback)
            x = self.registry.embedder.encode([t for t, keep in zip(texts, inside) if keep])
            return x, caps[inside]

        return mix_or_fit(default_cache_dir(), self.head, in_cols, rows)

    def prepare_source(self) -> None:
        data = self.scenario.load_source()
        self.source_texts = data.texts
        label_names = sorted({lab for lab in data.labels if lab is not None})
        self.label_names = label_names
        lid = {lab: i for i, lab in enumerate(label_names)}
        self.source_labels = np.array(
            [lid[lab] if lab is not None else -1 for lab in data.labels], dtype=np.int32
        )
        cap_index = {n: i for i, n in enumerate(self.capability_names)}
        # a capability's home zone: its best-quality host (the first, among replicas); the
        # quality matrix says how well each zone serves each capability (0: not at all)
        self.cap_quality = np.zeros((len(self.zones), len(self.capability_names)), np.float32)
        for zi, (idx, q) in enumerate(zip(self.zone_caps, self.zone_quality, strict=True)):
            self.cap_quality[zi, idx] = q
        zone_of_cap = np.where(
            self.cap_quality.max(axis=0) > 0, self.cap_quality.argmax(axis=0), -1
        ).astype(np.int16)
        l2c = self.scenario.label_to_capability()
        oos = set(self.scenario.arrivals.out_of_scope_labels)
        self.label_capability = np.array(
            [cap_index[l2c[lab]] if lab in l2c else -1 for lab in label_names], dtype=np.int32
        )
        self.label_zone = np.array(
            [zone_of_cap[c] if c >= 0 else -1 for c in self.label_capability], dtype=np.int16
        )
        self.label_is_oos = np.array([lab in oos for lab in label_names], dtype=bool)
        self.label_group = np.where(
            self.label_zone >= 0, self.zone_group[np.maximum(self.label_zone, 0)], -1
        )
        self.text_zone_sim, self.text_best_cap, self.text_in_scope = self.similarities(
            list(self.source_texts)
        )
        rows = self._weighted_rows(data.labels)
        order = rows[self.rng.permutation(len(rows))] if self.scenario.arrivals.shuffle else rows
        self.source_text_index = order.astype(np.int32)

    def draw_arrivals(self) -> ArrivalStream:
        """Every arrival of the run at once (see :func:`arena.model.source.draw_arrivals`)."""
        return draw_arrivals(self.scenario, self.rng, self.rate_scale, self.source_text_index)

    def hosts_of(self, rows: np.ndarray) -> np.ndarray:
        """``(m, Z)``: the zones hosting, at any quality, the capability that serves each intent
        at its most similar routable zone (where a baseline may send it: its replicas and
        lower-quality hosts, never a wrong specialist)."""
        text = self.state.ledger.text[rows]
        sims = self.text_zone_sim[text]
        best = np.where(self.routable_mask[None, :], sims, -np.inf).argmax(axis=1)
        caps = self.text_best_cap[text, best]
        return (self.cap_quality[:, caps].T > 0) & self.routable_mask[None, :]

    def network_delays(self) -> np.ndarray:
        """Seconds from the entry point to each zone: ``network.base`` plus ``per_unit`` per
        space unit of straight-line distance (zero by default)."""
        net = self.scenario.network
        dist = np.hypot(*(self.zone_xy - self.entry).T).astype(np.float64)
        return net.base + net.per_unit * dist

    def _weighted_rows(self, labels: tuple[str | None, ...]) -> np.ndarray:
        """The source rows a day's arrivals draw, each repeated by its ``arrivals.weights``
        weight (``floor(w)`` times, once more with probability ``w - floor(w)``): a skewed day.
        Without weights, every row once (and no random draw, so seeds keep their runs)."""
        n = len(labels)
        weights = self.scenario.label_weights()
        if not weights:
            return np.arange(n)
        w = np.array([weights.get(lab, 1.0) if lab is not None else 1.0 for lab in labels])
        whole = np.floor(w)
        times = whole.astype(np.int64) + (self.rng.random(n) < w - whole)
        return np.repeat(np.arange(n), times)

    def similarities(
        self, texts: list[str], chunk: int = 4096
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(n, Z)`` similarity of each text to each zone, the best hosted capability per zone,
        and ``(n,)`` how in scope each text looks (the out-of-scope gate's score).

        A zone's attraction is that of its best-matching hosted capability: cosine similarity
        (or its specialisation text's, if closer), or with learned attraction the head's
        probability, scaled by the zone's quality for it (a negative cosine is divided by it,
        so lower quality always means less attraction). The in-scope score is
        ``attraction.out_of_scope_score``'s (see :func:`arena.physics.in_scope_score`). Texts
        are embedded in batches through the cache.
        """
        n, Z = len(texts), len(self.zones)
        sims = np.empty((n, Z), dtype=np.float32)
        best = np.empty((n, Z), dtype=np.int32)
        in_scope = np.empty(n, dtype=np.float32)
        embedder = self.registry.embedder
        kind = self.scenario.attraction.out_of_scope_score
        fallback_cols = (
            self.zone_caps[self.fallback_index] if self.fallback_index >= 0 else np.zeros(0, int)
        )
        for s in range(0, n, chunk):
            e = embedder.encode(texts[s : s + chunk])
            cs = self.head.proba(e) if self.head is not None else e @ self.capability_vectors.T
            block, best[s : s + len(e)] = zone_attraction(cs, self.zone_caps, self.zone_quality)
            for z, v in self._spec_vectors.items():
                np.maximum(block[:, z], e @ v, out=block[:, z])
            sims[s : s + len(e)] = block
            in_scope[s : s + len(e)] = in_scope_score(
                cs,
                block[:, self.routable_zones],
                fallback_cols,
                kind,
                embeddings=e,
                mix=self.out_of_scope_mix,
            )
        return sims, best, in_scope


def zone_layout(sc: Scenario) -> list[tuple[float, float]]:
    """Explicit positions where given; the rest on a circle (or grid) around the centre."""
    auto = [i for i, z in enumerate(sc.zones) if z.position is None]
    out: list[tuple[float, float]] = [z.position or (0.0, 0.0) for z in sc.zones]
    cx, cy = sc.width / 2, sc.height / 2
    if sc.layout == "circle":
        for j, i in enumerate(auto):
            ring = sc.zones[i].ring
            r = (ring if ring is not None else 0.38) * min(sc.width, sc.height)
            a = 2 * math.pi * j / max(1, len(auto)) + math.pi / 2
            out[i] = (cx + r * math.cos(a), cy + r * math.sin(a))
    else:
        cols = max(1, math.ceil(math.sqrt(len(auto))))
        rows = max(1, math.ceil(len(auto) / cols))
        for j, i in enumerate(auto):
            out[i] = (sc.width * (j % cols + 0.5) / cols, sc.height * (j // cols + 0.5) / rows)
    return out
