"""Loading and validating a scenario: a YAML file (or plain data) in, a :class:`Scenario` out.

Every mistake a user can make in a scenario is reported before anything runs, as a
:class:`ScenarioError` naming the file, the field path (``zones[2].capacity``) and what was
expected. Paths inside a scenario are relative to the scenario file.

A scenario can spell out its zones and capabilities, or generate them from a grouping file
(``zones_from``: a JSON object ``zone -> [labels]``, one capability per label), so a new labelled
intent dataset needs only a scenario file, no code.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from .arrivals import check_arrival_weights, parse_arrivals
from .files import read_yaml
from .outages import parse_outages
from .overlay import apply_overlays, owner_of, read_overlay
from .reader import Bounds, Reader, apply_raw_overrides, duration_field, kind_of
from .routing import parse_load_info, parse_router
from .sections import (
    parse_attraction,
    parse_capability,
    parse_dataset,
    parse_physics,
    parse_point,
)
from .spec import CapabilitySpec, ClockSpec, ExamplesSpec, NetworkSpec, Scenario, ZoneSpec
from .zones import check_references, parse_zone
from .zones_from import parse_zones_from

DEFAULT_TICK = 0.01  # 10 ms: fine enough that routing sees fresh load, coarse enough to be cheap

TOP_KEYS = (
    "name",
    "description",
    "seed",
    "duration",
    "steps",
    "clock",
    "network",
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
    "router_params",
    "load_info",
    "attraction",
    "outages",
)


def load_scenario(
    path: str | Path,
    *,
    overrides: Mapping[str, Any] | Sequence[str] = (),
    overlays: Sequence[str | Path | Mapping[str, Any]] = (),
) -> Scenario:
    """Read and validate a scenario file. ``overlays`` are YAML files of a partial scenario (or
    such mappings), deep-merged over it in order (see :mod:`arena.scenario.overlay`); ``overrides`` are
    ``"a.b=value"`` strings or a mapping of dotted paths to values, applied after them. All of it
    happens before validation, so everything is checked, and a mistake an overlay made is
    reported against the overlay's file."""
    file = str(path)
    layers = tuple(
        ("overlay" if isinstance(o, Mapping) else str(o), read_overlay(o)) for o in overlays
    )
    raw = apply_raw_overrides(apply_overlays(read_yaml(path), layers), overrides, file)
    try:
        return parse_scenario(raw, file=file, base_dir=Path(path).parent)
    except ScenarioError as exc:
        owner = owner_of(exc, layers)
        if owner is None:
            raise
        raise ScenarioError(owner, exc.field, exc.problem) from None


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any] | Sequence[str]) -> Scenario:
    """``scenario`` reloaded from its file with ``physics.temperature=0.05``-style overrides
    applied and re-validated (the scenario itself when there are none)."""
    if not overrides:
        return scenario
    if scenario.file is None:
        raise ScenarioError(None, None, "overrides need a scenario loaded from a file")
    return load_scenario(scenario.file, overrides=overrides)


def parse_scenario(raw: Any, *, file: str | None = None, base_dir: Path | None = None) -> Scenario:
    """Validate plain data (already parsed YAML/JSON) into a :class:`Scenario`."""
    r = Reader(file)
    base = base_dir or Path.cwd()
    top = r.mapping(raw, "", TOP_KEYS)
    name = r.str(top, "name", "")
    seed = r.number(top, "seed", "", 0, minimum=0, maximum=Bounds.SEED, integer=True)
    duration, clock = _time(r, top)
    width, height, layout, entry = _space(r, top)
    zones, caps = _zones_and_capabilities(r, top, base, width, height)
    examples = _examples(r, top, base)
    arrivals = parse_arrivals(r, top.get("arrivals"), base)
    check_arrival_weights(r, arrivals, zones, caps)
    physics = parse_physics(r, top.get("physics", {}))
    attraction = parse_attraction(r, top.get("attraction", {}))
    if attraction.kind == "learned" and examples is None:
        raise r.fail("attraction.kind", "'learned' needs an 'examples' source to learn from")
    router, router_params = parse_router(r, top)
    return Scenario(
        name=name,
        file=file,
        seed=seed,
        duration=duration,
        clock=clock,
        network=_network(r, top.get("network", {})),
        width=width,
        height=height,
        zones=tuple(zones),
        capabilities=tuple(caps),
        arrivals=arrivals,
        physics=physics,
        router=router,
        router_params=router_params,
        load_info=parse_load_info(r, top.get("load_info", {})),
        layout=layout,
        entry=entry,
        examples=examples,
        attraction=attraction,
        description=r.str(top, "description", "", "", empty_ok=True),
        outages=parse_outages(r, top.get("outages"), zones),
    )


def _time(r: Reader, top: Mapping[str, Any]) -> tuple[float, ClockSpec]:
    """``duration`` (how long arrivals come, e.g. ``"10m"``) and ``clock: {tick, report}``.
    The old ``steps: N`` still works: N seconds with a 1 s tick (one step was one second)."""
    if "duration" in top and "steps" in top:
        raise r.fail("steps", "give 'duration' (e.g. \"10m\") or the old 'steps', not both")
    c = r.mapping(top.get("clock", {}), "clock", ("tick", "report"))
    if "steps" in top:
        steps = r.number(top, "steps", "", 100, minimum=1, maximum=Bounds.STEPS, integer=True)
        duration, default_tick = float(steps), 1.0
    else:
        duration = duration_field(r, top, "duration", "", 100.0, positive=True)
        default_tick = DEFAULT_TICK
    tick = duration_field(r, c, "tick", "clock", default_tick, positive=True)
    if tick > duration:
        raise r.fail("clock.tick", f"must not exceed the duration ({duration:g} s), got {tick:g} s")
    report = duration_field(r, c, "report", "clock", 0.0, positive=True) if "report" in c else None
    return duration, ClockSpec(tick=tick, report=report)


def _network(r: Reader, v: Any) -> NetworkSpec:
    """``network: {base: "2ms", per_unit: "0.1ms"}``: delay from the entry to a zone."""
    m = r.mapping(v, "network", ("base", "per_unit"))
    return NetworkSpec(
        base=duration_field(r, m, "base", "network", 0.0),
        per_unit=duration_field(r, m, "per_unit", "network", 0.0),
    )


def _space(
    r: Reader, top: Mapping[str, Any]
) -> tuple[float, float, str, tuple[float, float] | None]:
    """The arena's size, zone layout and entry point."""
    space = r.mapping(top.get("space", {}), "space", ("width", "height"))
    width, height = (
        float(
            r.number(
                space, key, "space", 100.0, minimum=0, exclusive_min=True, maximum=Bounds.LENGTH
            )
        )
        for key in ("width", "height")
    )
    layout = r.str(top, "layout", "", "circle")
    if layout not in ("circle", "grid"):
        raise r.fail("layout", f"expected 'circle' or 'grid', got {layout!r}")
    entry = (
        parse_point(r, top.get("entry"), "entry", width, height)
        if top.get("entry") is not None
        else None
    )
    return width, height, layout, entry


def _zones_and_capabilities(
    r: Reader, top: Mapping[str, Any], base: Path, width: float, height: float
) -> tuple[list[ZoneSpec], list[CapabilitySpec]]:
    """Generated (``zones_from``) then spelled-out zones and capabilities, cross-checked."""
    caps: list[CapabilitySpec] = []
    zones: list[ZoneSpec] = []
    if "zones_from" in top:
        gz, gc = parse_zones_from(r, top["zones_from"], base)
        zones += gz
        caps += gc
    raw_caps = top.get("capabilities", [])
    if not isinstance(raw_caps, list):
        raise r.fail("capabilities", f"expected a list, got {kind_of(raw_caps)}")
    for i, c in enumerate(raw_caps):
        caps.append(parse_capability(r, c, f"capabilities[{i}]", base))
    raw_zones = top.get("zones", [])
    if not isinstance(raw_zones, list):
        raise r.fail("zones", f"expected a list, got {kind_of(raw_zones)}")
    for i, z in enumerate(raw_zones):
        zones.append(parse_zone(r, z, f"zones[{i}]", width, height))
    check_references(r, zones, caps, raw_zones, len(zones) - len(raw_zones))
    _check_fallbacks(r, caps[len(caps) - len(raw_caps) :], [c.name for c in caps])
    return zones, caps


def _check_fallbacks(r: Reader, declared: list[CapabilitySpec], names: list[str]) -> None:
    """Each ``policy.fallback`` names a capability of the scenario (checked at load, not when
    the first call fails)."""
    for i, c in enumerate(declared):
        fallback = (c.policy or {}).get("fallback")
        if fallback is None or fallback in names:
            continue
        close = difflib.get_close_matches(fallback, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise r.fail(
            f"capabilities[{i}].policy.fallback",
            f"unknown capability {fallback!r}{hint}",
        )


def _examples(r: Reader, top: Mapping[str, Any], base: Path) -> ExamplesSpec | None:
    if "examples" not in top:
        return None
    ex = r.mapping(top["examples"], "examples", ("source", "per_label"))
    return ExamplesSpec(
        source=parse_dataset(r, r.get(ex, "source", "examples", ...), "examples.source", base),
        per_label=r.number(
            ex, "per_label", "examples", 20, minimum=1, maximum=Bounds.COUNT, integer=True
        ),
    )
