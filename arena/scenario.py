"""Scenario files: what a run of the arena is made of, loaded from YAML and checked first.

Every mistake a user can make in a scenario is reported before anything runs, as a
:class:`ScenarioError` naming the file, the field path (``zones[2].capacity``) and what was
expected. Paths inside a scenario are relative to the scenario file.

A scenario can spell out its zones and capabilities, or generate them from a grouping file
(``zones_from``: a JSON object ``zone -> [labels]``, one capability per label), so a new labelled
intent dataset needs only a scenario file, no code.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from capabilities import Capability, PacketFlowError, Registry

from .datasets import DatasetSpec, LabelledTexts, load_dataset
from .errors import ScenarioError
from .physics import Physics

DEFAULT_HANDLER = "arena.handlers:answer_request"
ROUTERS = ("physics", "random", "round_robin", "least_loaded", "semantic_argmax")
SERVICE_DISTRIBUTIONS = ("constant", "exponential", "uniform", "geometric")


@dataclass(frozen=True)
class ServiceTime:
    """How many steps serving one intent takes (always at least one)."""

    distribution: str = "constant"
    mean: float = 1.0
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class FaultSpec:
    """Injected faults: each execution fails with ``failure_rate``; ``extra_steps`` adds latency."""

    failure_rate: float = 0.0
    extra_steps: int = 0


@dataclass(frozen=True)
class CapabilitySpec:
    name: str
    intent: str
    function: str = DEFAULT_HANDLER
    requires: Any = None
    provides: Any = None
    labels: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    service_time: ServiceTime = ServiceTime()
    faults: FaultSpec | None = None
    policy: Mapping[str, Any] | None = None
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZoneSpec:
    name: str
    capacity: int
    queue_limit: int
    radius: float
    position: tuple[float, float] | None = None
    specialisation: str | None = None
    capabilities: tuple[str, ...] = ()
    fallback: bool = False


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
    epochs: int = 300
    learning_rate: float = 50.0
    l2: float = 0.0
    momentum: float = 0.9


@dataclass(frozen=True)
class ArrivalSpec:
    """When intents arrive and what they say.

    ``rate`` is the mean number per step, or ``schedule`` a list of ``[step, rate]`` changes
    (piecewise constant). ``process`` is ``poisson`` or ``constant``. Texts come from a labelled
    ``source`` (shuffled by the model's RNG unless ``shuffle: false``) or inline ``texts``.
    """

    rate: float = 10.0
    schedule: tuple[tuple[int, float], ...] = ()
    process: str = "poisson"
    source: DatasetSpec | None = None
    texts: tuple[str, ...] = ()
    shuffle: bool = True
    repeat: bool = False
    only_labels: tuple[str, ...] = ()
    out_of_scope_labels: tuple[str, ...] = ()

    def rate_at(self, step: int) -> float:
        rate = self.rate
        for start, r in self.schedule:
            if step >= start:
                rate = r
        return rate


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str | None
    seed: int
    steps: int
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

    # -- derived views -------------------------------------------------------------------------
    @property
    def fallback_zone(self) -> str | None:
        return next((z.name for z in self.zones if z.fallback), None)

    def label_to_capability(self) -> dict[str, str]:
        return {lab: c.name for c in self.capabilities for lab in c.labels}

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> Scenario:
        """A copy with ``physics.temperature=0.05``-style overrides applied and re-validated."""
        if not overrides:
            return self
        if self.file is None:
            raise ScenarioError(None, None, "overrides need a scenario loaded from a file")
        return load_scenario(self.file, overrides=overrides)

    def load_source(self) -> LabelledTexts:
        """The intent texts (and labels) arrivals draw from."""
        arr = self.arrivals
        if arr.source is None:
            return LabelledTexts(arr.texts, (None,) * len(arr.texts))
        data = load_dataset(arr.source, scenario_file=self.file, field="arrivals.source")
        if arr.only_labels:
            keep = set(arr.only_labels)
            rows = [(t, lab) for t, lab in zip(data.texts, data.labels) if lab in keep]
            if not rows:
                raise ScenarioError(
                    self.file, "arrivals.only_labels", "no row of the source has these labels"
                )
            data = LabelledTexts(tuple(r[0] for r in rows), tuple(r[1] for r in rows))
        known = set(self.label_to_capability()) | set(arr.out_of_scope_labels)
        unknown = sorted({lab for lab in data.labels if lab is not None and lab not in known})
        if unknown:
            raise ScenarioError(
                self.file,
                "arrivals.source",
                f"labels {unknown[:5]}{'...' if len(unknown) > 5 else ''} map to no capability; "
                "list them in a capability's labels, in arrivals.out_of_scope_labels, or filter "
                "the source with arrivals.only_labels",
            )
        return data

    def build_registry(self, registry: Registry | None = None) -> Registry:
        """A registry holding the scenario's capabilities, examples attached."""
        registry = registry if registry is not None else Registry()
        examples: dict[str, list[str]] = {}
        if self.examples is not None:
            by_label = load_dataset(
                self.examples.source, scenario_file=self.file, field="examples.source"
            ).by_label()
            for c in self.capabilities:
                pool = [t for lab in c.labels for t in by_label.get(lab, ())]
                examples[c.name] = pool[: self.examples.per_label * max(1, len(c.labels))]
        for i, c in enumerate(self.capabilities):
            where = f"capabilities[{i}]"
            data: dict[str, Any] = {
                "name": c.name,
                "intent": c.intent,
                "function": c.function,
                "permissions": list(c.permissions),
                "examples": list(c.examples) + examples.get(c.name, []),
                "metadata": {
                    "service_time": c.service_time,
                    "faults": c.faults,
                    "labels": c.labels,
                },
            }
            if c.requires is not None:
                data["requires"] = c.requires
            if c.provides is not None:
                data["provides"] = c.provides
            try:
                cap = Capability.from_data(data, where=where)
            except PacketFlowError as exc:
                raise ScenarioError(
                    self.file, where, str(exc).removeprefix(where + ": ").removeprefix(where)
                ) from None
            if c.policy is not None:
                cap = cap.replace(policy=_build_policy(c.policy, self.file, f"{where}.policy"))
            registry.register(cap, replace=True)
        return registry


def _build_policy(data: Mapping[str, Any], file: str | None, where: str) -> Any:
    try:
        from capabilities.resilience import Policy
    except ImportError:  # pragma: no cover - resilience not installed
        raise ScenarioError(
            file, where, "resilience policies are not available in this version"
        ) from None
    try:
        return Policy.from_data(data)
    except (PacketFlowError, ValueError, TypeError) as exc:
        raise ScenarioError(file, where, str(exc)) from None


# ----------------------------------------------------------------------------------------------
# Loading and validation
# ----------------------------------------------------------------------------------------------
class _Reader:
    """Typed access to raw YAML data that raises ScenarioError with the field path."""

    def __init__(self, file: str | None):
        self.file = file

    def fail(self, path: str, problem: str) -> ScenarioError:
        return ScenarioError(self.file, path, problem)

    def mapping(self, value: Any, path: str, keys: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise self.fail(
                f"{path}.{unknown[0]}" if path else str(unknown[0]),
                f"unknown key; expected one of: {', '.join(keys)}",
            )
        return value

    def str(
        self,
        m: Mapping[str, Any],
        key: str,
        path: str,
        default: Any = ...,
        *,
        empty_ok: bool = False,
    ) -> Any:
        v = self._get(m, key, path, default)
        if v is default and default is not ...:
            return v
        if not isinstance(v, str) or (not empty_ok and not v.strip()):
            raise self.fail(_join(path, key), f"expected a non-empty string, got {_kind(v)}")
        return v

    def number(
        self,
        m: Mapping[str, Any],
        key: str,
        path: str,
        default: Any = ...,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        integer: bool = False,
        exclusive_min: bool = False,
    ) -> Any:
        v = self._get(m, key, path, default)
        if v is default and default is not ...:
            return v
        return self.check_number(
            v,
            _join(path, key),
            minimum=minimum,
            maximum=maximum,
            integer=integer,
            exclusive_min=exclusive_min,
        )

    def check_number(
        self,
        v: Any,
        where: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        integer: bool = False,
        exclusive_min: bool = False,
    ) -> Any:
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok:
            raise self.fail(
                where, f"expected {'an integer' if integer else 'a number'}, got {_kind(v)}"
            )
        if minimum is not None and (v <= minimum if exclusive_min else v < minimum):
            rel = ">" if exclusive_min else ">="
            raise self.fail(where, f"must be {rel} {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise self.fail(where, f"must be <= {maximum}, got {v}")
        return v

    def bool(self, m: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        v = m.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(_join(path, key), f"expected true or false, got {_kind(v)}")
        return v

    def str_list(self, m: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        v = m.get(key, ())
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            raise self.fail(_join(path, key), f"expected a list of strings, got {_kind(v)}")
        return tuple(v)

    def _get(self, m: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
        if key in m:
            return m[key]
        if default is ...:
            raise self.fail(_join(path, key), "required field is missing")
        return default


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    return f"{type(v).__name__} {v!r:.40}"


TOP_KEYS = (
    "name",
    "description",
    "seed",
    "steps",
    "space",
    "layout",
    "entry",
    "zones",
    "zones_from",
    "capabilities",
    "examples",
    "arrivals",
    "physics",
    "router",
    "attraction",
)


def load_scenario(
    path: str | Path, *, overrides: Mapping[str, Any] | Sequence[str] = ()
) -> Scenario:
    """Read and validate a scenario file. ``overrides`` are ``"a.b=value"`` strings or a mapping
    of dotted paths to values, applied before validation (so they are checked too)."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise ScenarioError(file, None, "scenario file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(file, None, f"not valid YAML: {exc}") from None
    if raw is None:
        raise ScenarioError(file, None, "the file is empty")
    raw = _apply_overrides(raw, overrides, file)
    return parse_scenario(raw, file=file, base_dir=p.parent)


def _apply_overrides(raw: Any, overrides: Mapping[str, Any] | Sequence[str], file: str) -> Any:
    items: list[tuple[str, Any]] = []
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        for text in overrides:
            key, sep, value = str(text).partition("=")
            if not sep or not key.strip():
                raise ScenarioError(
                    file, None, f"override {text!r} must look like 'physics.temperature=0.05'"
                )
            items.append((key.strip(), yaml.safe_load(value)))
    if not items:
        return raw
    raw = json.loads(json.dumps(raw))  # a deep copy of plain data
    for key, value in items:
        node = raw
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise ScenarioError(
                    file, ".".join(parts[: i + 1]), f"override {key!r} does not match the file"
                )
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ScenarioError(file, key, f"override {key!r} does not match the file")
    return raw


def parse_scenario(raw: Any, *, file: str | None = None, base_dir: Path | None = None) -> Scenario:
    """Validate plain data (already parsed YAML/JSON) into a :class:`Scenario`."""
    r = _Reader(file)
    base = base_dir or Path.cwd()
    top = r.mapping(raw, "", TOP_KEYS)
    name = r.str(top, "name", "")
    seed = r.number(top, "seed", "", 0, minimum=0, integer=True)
    steps = r.number(top, "steps", "", 100, minimum=1, integer=True)
    space = r.mapping(top.get("space", {}), "space", ("width", "height"))
    width = float(r.number(space, "width", "space", 100.0, minimum=0, exclusive_min=True))
    height = float(r.number(space, "height", "space", 100.0, minimum=0, exclusive_min=True))
    layout = r.str(top, "layout", "", "circle")
    if layout not in ("circle", "grid"):
        raise r.fail("layout", f"expected 'circle' or 'grid', got {layout!r}")
    entry = (
        _point(r, top.get("entry"), "entry", width, height)
        if top.get("entry") is not None
        else None
    )

    caps: list[CapabilitySpec] = []
    zones: list[ZoneSpec] = []
    if "zones_from" in top:
        gz, gc = _zones_from(r, top["zones_from"], base)
        zones += gz
        caps += gc
    raw_caps = top.get("capabilities", [])
    if not isinstance(raw_caps, list):
        raise r.fail("capabilities", f"expected a list, got {_kind(raw_caps)}")
    for i, c in enumerate(raw_caps):
        caps.append(_capability(r, c, f"capabilities[{i}]"))
    raw_zones = top.get("zones", [])
    if not isinstance(raw_zones, list):
        raise r.fail("zones", f"expected a list, got {_kind(raw_zones)}")
    for i, z in enumerate(raw_zones):
        zones.append(_zone(r, z, f"zones[{i}]", width, height))
    _check_references(r, zones, caps, raw_zones, len(zones) - len(raw_zones))

    examples = None
    if "examples" in top:
        ex = r.mapping(top["examples"], "examples", ("source", "per_label"))
        examples = ExamplesSpec(
            source=_dataset(r, r._get(ex, "source", "examples", ...), "examples.source", base),
            per_label=r.number(ex, "per_label", "examples", 20, minimum=1, integer=True),
        )
    arrivals = _arrivals(r, top.get("arrivals"), base)
    physics = _physics(r, top.get("physics", {}))
    attraction = _attraction(r, top.get("attraction", {}))
    if attraction.kind == "learned" and examples is None:
        raise r.fail("attraction.kind", "'learned' needs an 'examples' source to learn from")
    router = r.str(top, "router", "", "physics")
    if router not in ROUTERS:
        raise r.fail("router", f"unknown router {router!r}; expected one of {', '.join(ROUTERS)}")
    return Scenario(
        name=name,
        file=file,
        seed=seed,
        steps=steps,
        width=width,
        height=height,
        zones=tuple(zones),
        capabilities=tuple(caps),
        arrivals=arrivals,
        physics=physics,
        router=router,
        layout=layout,
        entry=entry,
        examples=examples,
        attraction=attraction,
        description=r.str(top, "description", "", "", empty_ok=True),
    )


def _point(r: _Reader, v: Any, where: str, width: float, height: float) -> tuple[float, float]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise r.fail(where, f"expected [x, y], got {_kind(v)}")
    x = r.check_number(v[0], f"{where}[0]", minimum=0, maximum=width)
    y = r.check_number(v[1], f"{where}[1]", minimum=0, maximum=height)
    return float(x), float(y)


def _service_time(r: _Reader, v: Any, where: str) -> ServiceTime:
    if isinstance(v, int | float) and not isinstance(v, bool):
        r.check_number(v, where, minimum=1)
        return ServiceTime("constant", float(v))
    m = r.mapping(v, where, ("distribution", "mean", "low", "high"))
    dist = r.str(m, "distribution", where, "constant")
    if dist not in SERVICE_DISTRIBUTIONS:
        raise r.fail(
            f"{where}.distribution",
            f"expected one of {', '.join(SERVICE_DISTRIBUTIONS)}, got {dist!r}",
        )
    if dist == "uniform":
        low = r.number(m, "low", where, minimum=1)
        high = r.number(m, "high", where, minimum=low)
        return ServiceTime(dist, (low + high) / 2, float(low), float(high))
    return ServiceTime(dist, float(r.number(m, "mean", where, minimum=1)))


CAP_KEYS = (
    "name",
    "intent",
    "function",
    "requires",
    "provides",
    "labels",
    "examples",
    "service_time",
    "faults",
    "policy",
    "permissions",
)


def _capability(r: _Reader, c: Any, where: str) -> CapabilitySpec:
    m = r.mapping(c, where, CAP_KEYS)
    name = r.str(m, "name", where)
    if not name.isidentifier():
        raise r.fail(f"{where}.name", f"{name!r} must be an identifier (letters, digits, _)")
    faults = None
    if "faults" in m:
        f = r.mapping(m["faults"], f"{where}.faults", ("failure_rate", "extra_steps"))
        faults = FaultSpec(
            float(r.number(f, "failure_rate", f"{where}.faults", 0.0, minimum=0, maximum=1)),
            int(r.number(f, "extra_steps", f"{where}.faults", 0, minimum=0, integer=True)),
        )
    policy = m.get("policy")
    if policy is not None and not isinstance(policy, Mapping):
        raise r.fail(f"{where}.policy", f"expected a mapping, got {_kind(policy)}")
    return CapabilitySpec(
        name=name,
        intent=r.str(m, "intent", where, name.replace("_", " ")),
        function=r.str(m, "function", where, DEFAULT_HANDLER),
        requires=m.get("requires"),
        provides=m.get("provides"),
        labels=r.str_list(m, "labels", where) or (name,),
        examples=r.str_list(m, "examples", where),
        service_time=_service_time(r, m.get("service_time", 1), f"{where}.service_time"),
        faults=faults,
        policy=policy,
        permissions=r.str_list(m, "permissions", where),
    )


ZONE_KEYS = (
    "name",
    "capacity",
    "queue_limit",
    "radius",
    "position",
    "specialisation",
    "capabilities",
    "fallback",
)


def _zone(r: _Reader, z: Any, where: str, width: float, height: float) -> ZoneSpec:
    m = r.mapping(z, where, ZONE_KEYS)
    spec = m.get("specialisation")
    if spec is not None and (not isinstance(spec, str) or not spec.strip()):
        raise r.fail(f"{where}.specialisation", f"expected a non-empty string, got {_kind(spec)}")
    return ZoneSpec(
        name=r.str(m, "name", where),
        capacity=int(r.number(m, "capacity", where, minimum=1, integer=True)),
        queue_limit=int(r.number(m, "queue_limit", where, 0, minimum=0, integer=True)),
        radius=float(
            r.number(m, "radius", where, min(width, height) * 0.06, minimum=0, exclusive_min=True)
        ),
        position=_point(r, m["position"], f"{where}.position", width, height)
        if m.get("position") is not None
        else None,
        specialisation=spec,
        capabilities=r.str_list(m, "capabilities", where),
        fallback=r.bool(m, "fallback", where, False),
    )


def _zones_from(r: _Reader, v: Any, base: Path) -> tuple[list[ZoneSpec], list[CapabilitySpec]]:
    where = "zones_from"
    m = r.mapping(v, where, ("file", "groups", "capacity", "queue_limit", "radius", "capability"))
    if ("file" in m) == ("groups" in m):
        raise r.fail(where, "give either 'file' (a JSON object zone -> labels) or inline 'groups'")
    if "groups" in m:
        groups, field = m["groups"], f"{where}.groups"
        problem = "expected a mapping: zone name -> list of labels"
    else:
        path = base / r.str(m, "file", where)
        field, problem = f"{where}.file", f"{path} must hold an object: zone name -> list of labels"
        if not path.exists():
            raise r.fail(field, f"file not found: {path}")
        try:
            groups = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise r.fail(field, f"cannot read {path} as JSON: {exc}") from None
    if (
        not isinstance(groups, Mapping)
        or not groups
        or not all(
            isinstance(k, str) and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
            for k, v in groups.items()
        )
    ):
        raise r.fail(field, problem)
    template = r.mapping(
        m.get("capability", {}), f"{where}.capability", ("intent", "function", "service_time")
    )
    intent_tpl = r.str(template, "intent", f"{where}.capability", "{label} ({zone})")
    function = r.str(template, "function", f"{where}.capability", DEFAULT_HANDLER)
    service = _service_time(r, template.get("service_time", 1), f"{where}.capability.service_time")
    zones, caps = [], []
    taken: set[str] = set()
    for zone_name, labels in groups.items():
        for label in labels:
            name = _identifier(label, taken)
            try:
                intent = intent_tpl.format(
                    label=label.replace("_", " "), zone=zone_name.replace("_", " ")
                )
            except (KeyError, IndexError):
                raise r.fail(
                    f"{where}.capability.intent", "only {label} and {zone} may be used"
                ) from None
            caps.append(
                CapabilitySpec(
                    name=name,
                    intent=intent,
                    function=function,
                    labels=(label,),
                    service_time=service,
                )
            )
        zones.append(
            ZoneSpec(
                name=zone_name,
                capacity=int(r.number(m, "capacity", where, 20, minimum=1, integer=True)),
                queue_limit=int(r.number(m, "queue_limit", where, 0, minimum=0, integer=True)),
                radius=float(r.number(m, "radius", where, 6.0, minimum=0, exclusive_min=True)),
                capabilities=tuple(c.name for c in caps[len(caps) - len(labels) :]),
            )
        )
    return zones, caps


def _identifier(label: str, taken: set[str]) -> str:
    """A capability name for a dataset label: ``"what's up?"`` -> ``what_s_up``, unique."""
    base = re.sub(r"\W+", "_", label.strip()).strip("_") or "label"
    if base[0].isdigit():
        base = f"label_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _check_references(
    r: _Reader, zones: list[ZoneSpec], caps: list[CapabilitySpec], raw_zones: list, offset: int
) -> None:
    def where(i: int) -> str:
        return f"zones[{i - offset}]" if i >= offset else f"zones_from (zone {zones[i].name!r})"

    if not zones:
        raise r.fail("zones", "a scenario needs at least one zone (zones or zones_from)")
    cap_names = [c.name for c in caps]
    seen_caps: set[str] = set()
    for c in caps:
        if c.name in seen_caps:
            raise r.fail("capabilities", f"capability {c.name!r} is declared twice")
        seen_caps.add(c.name)
    names: set[str] = set()
    hosted: dict[str, str] = {}
    for i, z in enumerate(zones):
        if z.name in names:
            raise r.fail(f"{where(i)}.name", f"zone {z.name!r} is declared twice")
        names.add(z.name)
        for j, c in enumerate(z.capabilities):
            if c not in seen_caps:
                import difflib

                close = difflib.get_close_matches(c, cap_names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise r.fail(f"{where(i)}.capabilities[{j}]", f"unknown capability {c!r}{hint}")
            if c in hosted:
                raise r.fail(
                    f"{where(i)}.capabilities[{j}]",
                    f"capability {c!r} is already hosted by zone {hosted[c]!r}",
                )
            hosted[c] = z.name
        if not z.capabilities and not z.specialisation:
            raise r.fail(
                where(i), f"zone {z.name!r} needs a specialisation text or hosted capabilities"
            )
    if sum(z.fallback for z in zones) > 1:
        raise r.fail("zones", "at most one zone can be the fallback")
    unhosted = [c for c in cap_names if c not in hosted]
    if unhosted:
        raise r.fail(
            "capabilities",
            f"capability {unhosted[0]!r} is hosted by no zone; add it to a zone's capabilities",
        )


def _dataset(r: _Reader, v: Any, where: str, base: Path) -> DatasetSpec:
    m = r.mapping(v, where, ("file", "format", "split", "text_column", "label_column", "limit"))
    file = base / r.str(m, "file", where)
    fmt = r.str(m, "format", where, "csv" if file.suffix.lower() == ".csv" else "json")
    if fmt not in ("json", "csv"):
        raise r.fail(f"{where}.format", f"expected 'json' or 'csv', got {fmt!r}")
    split = r.str_list(m, "split", where)
    label_col = m.get("label_column", "label")
    if label_col is not None and not isinstance(label_col, str):
        raise r.fail(
            f"{where}.label_column", f"expected a column name or null, got {_kind(label_col)}"
        )
    limit = r.number(m, "limit", where, None, minimum=1, integer=True)
    if not file.exists():
        raise r.fail(f"{where}.file", f"file not found: {file}")
    return DatasetSpec(
        file=file,
        format=fmt,
        split=split,
        text_column=r.str(m, "text_column", where, "text"),
        label_column=label_col,
        limit=limit,
    )


ARRIVAL_KEYS = (
    "rate",
    "schedule",
    "process",
    "source",
    "texts",
    "shuffle",
    "repeat",
    "only_labels",
    "out_of_scope_labels",
)


def _arrivals(r: _Reader, v: Any, base: Path) -> ArrivalSpec:
    if v is None:
        raise r.fail("arrivals", "required field is missing")
    m = r.mapping(v, "arrivals", ARRIVAL_KEYS)
    schedule = []
    raw_sched = m.get("schedule", [])
    if not isinstance(raw_sched, list):
        raise r.fail(
            "arrivals.schedule", f"expected a list of [step, rate], got {_kind(raw_sched)}"
        )
    for i, item in enumerate(raw_sched):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise r.fail(f"arrivals.schedule[{i}]", f"expected [step, rate], got {_kind(item)}")
        s = r.check_number(item[0], f"arrivals.schedule[{i}][0]", minimum=0, integer=True)
        rate = r.check_number(item[1], f"arrivals.schedule[{i}][1]", minimum=0)
        schedule.append((int(s), float(rate)))
    process = r.str(m, "process", "arrivals", "poisson")
    if process not in ("poisson", "constant"):
        raise r.fail("arrivals.process", f"expected 'poisson' or 'constant', got {process!r}")
    source = _dataset(r, m["source"], "arrivals.source", base) if "source" in m else None
    texts = r.str_list(m, "texts", "arrivals")
    if source is None and not texts:
        raise r.fail("arrivals", "give a labelled 'source' file or inline 'texts'")
    return ArrivalSpec(
        rate=float(r.number(m, "rate", "arrivals", 10.0, minimum=0)),
        schedule=tuple(sorted(schedule)),
        process=process,
        source=source,
        texts=texts,
        shuffle=r.bool(m, "shuffle", "arrivals", True),
        repeat=r.bool(m, "repeat", "arrivals", False),
        only_labels=r.str_list(m, "only_labels", "arrivals"),
        out_of_scope_labels=r.str_list(m, "out_of_scope_labels", "arrivals"),
    )


def _attraction(r: _Reader, v: Any) -> AttractionSpec:
    m = r.mapping(v, "attraction", ("kind", "epochs", "learning_rate", "l2", "momentum"))
    kind = r.str(m, "kind", "attraction", "cosine")
    if kind not in ("cosine", "learned"):
        raise r.fail("attraction.kind", f"expected 'cosine' or 'learned', got {kind!r}")
    return AttractionSpec(
        kind=kind,
        epochs=int(r.number(m, "epochs", "attraction", 300, minimum=1, integer=True)),
        learning_rate=float(
            r.number(m, "learning_rate", "attraction", 50.0, minimum=0, exclusive_min=True)
        ),
        l2=float(r.number(m, "l2", "attraction", 0.0, minimum=0)),
        momentum=float(r.number(m, "momentum", "attraction", 0.9, minimum=0, maximum=0.99)),
    )


def _physics(r: _Reader, v: Any) -> Physics:
    fields = Physics.describe()
    m = r.mapping(v, "physics", tuple(fields))
    values = {}
    for key, val in m.items():
        meta = fields[key]
        values[key] = r.check_number(
            val, f"physics.{key}", minimum=meta["min"], maximum=meta["max"], integer=meta["integer"]
        )
    return Physics(**values)


def load_registry(path: str | Path) -> Registry:
    """The registry of a scenario's capabilities (used by ``mcp serve --scenario``)."""
    return load_scenario(path).build_registry()


def mcp_resources(path: str | Path) -> dict[str, Any]:
    """MCP resources of a scenario (used by ``mcp serve --scenario``): its latest summary.

    The summary is computed by running the scenario the first time an agent reads it, then kept
    for the life of the server, so agents can ask how requests flow before calling capabilities.
    """
    latest: dict[str, Any] = {}

    def arena_summary() -> dict[str, Any]:
        """The arena's latest run summary for this scenario (routing accuracy, load, drops)."""
        if not latest:
            from .runner import run_scenario

            latest.update(run_scenario(path)[1])
        return latest

    return {"arena://summary": arena_summary}
