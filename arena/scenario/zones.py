"""A zone's fields, parsed in one place: a spelled-out zone (:func:`parse_zone`), its group
(replicas), ring and per-capability quality, ``zones_from.replicas`` (:func:`parse_replicas`)
and the cross-zone quality check. Generated zones (:mod:`.zones_from`) and spelled-out ones use
these same parsers, so a zone's field means one thing and fails with one message wherever it is
written.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from .reader import Bounds, Reader, kind_of
from .sections import parse_point
from .spec import CapabilitySpec, ZoneSpec

ZONE_KEYS = (
    "name",
    "capacity",
    "queue_limit",
    "radius",
    "position",
    "specialisation",
    "capabilities",
    "fallback",
    "group",
    "quality",
    "ring",
)


def parse_zone(r: Reader, z: Any, where: str, width: float, height: float) -> ZoneSpec:
    m = r.mapping(z, where, ZONE_KEYS)
    spec = m.get("specialisation")
    if spec is not None and (not isinstance(spec, str) or not spec.strip()):
        raise r.fail(f"{where}.specialisation", f"expected a non-empty string, got {kind_of(spec)}")
    return ZoneSpec(
        name=r.str(m, "name", where),
        capacity=int(r.number(m, "capacity", where, minimum=1, maximum=Bounds.COUNT, integer=True)),
        queue_limit=int(
            r.number(m, "queue_limit", where, 0, minimum=0, maximum=Bounds.COUNT, integer=True)
        ),
        radius=float(
            r.number(
                m,
                "radius",
                where,
                min(width, height) * 0.06,
                minimum=0,
                exclusive_min=True,
                maximum=Bounds.LENGTH,
            )
        ),
        position=parse_point(r, m["position"], f"{where}.position", width, height)
        if m.get("position") is not None
        else None,
        specialisation=spec,
        capabilities=r.str_list(m, "capabilities", where),
        fallback=r.bool(m, "fallback", where, False),
        group=parse_group(r, m, where),
        quality=parse_quality(r, m, where),
        ring=parse_ring(r, m, where),
    )


REPLICA_KEYS = ("capacity", "queue_limit", "radius", "ring")


def parse_group(r: Reader, m: Mapping[str, Any], where: str) -> str | None:
    return r.str(m, "group", where, None)


def parse_ring(r: Reader, m: Mapping[str, Any], where: str) -> float | None:
    ring = r.number(m, "ring", where, None, minimum=0, maximum=0.5)
    return None if ring is None else float(ring)


def parse_quality(r: Reader, m: Mapping[str, Any], where: str) -> tuple[tuple[str, float], ...]:
    """``quality: {capability: q}`` with each ``q`` in (0, 1]."""
    if "quality" not in m:
        return ()
    q = m["quality"]
    if not isinstance(q, Mapping):
        raise r.fail(
            f"{where}.quality", f"expected a mapping capability -> quality, got {kind_of(q)}"
        )
    out = []
    for cap, value in q.items():
        if not isinstance(cap, str) or not cap.strip():
            raise r.fail(
                f"{where}.quality", f"expected capability names as keys, got {kind_of(cap)}"
            )
        v = r.check_number(
            value, f"{where}.quality.{cap}", minimum=0, exclusive_min=True, maximum=1
        )
        out.append((cap, float(v)))
    return tuple(out)


def parse_replicas(r: Reader, m: Mapping[str, Any], where: str, base: ZoneSpec) -> list[ZoneSpec]:
    """``replicas: [{capacity, queue_limit, radius, ring}, ...]``: the zones serving ``base``'s
    work, named ``base``, ``base_2``, ... in one group (fields they omit come from ``base``)."""
    raw = m.get("replicas")
    if raw is None:
        return [base]
    if not isinstance(raw, list) or not raw:
        raise r.fail(
            f"{where}.replicas", f"expected a non-empty list of mappings, got {kind_of(raw)}"
        )
    zones = []
    for i, item in enumerate(raw):
        at = f"{where}.replicas[{i}]"
        rep = r.mapping(item, at, REPLICA_KEYS)
        zones.append(
            ZoneSpec(
                name=base.name if i == 0 else f"{base.name}_{i + 1}",
                capacity=int(
                    r.number(
                        rep,
                        "capacity",
                        at,
                        base.capacity,
                        minimum=1,
                        maximum=Bounds.COUNT,
                        integer=True,
                    )
                ),
                queue_limit=int(
                    r.number(
                        rep,
                        "queue_limit",
                        at,
                        base.queue_limit,
                        minimum=0,
                        maximum=Bounds.COUNT,
                        integer=True,
                    )
                ),
                radius=float(
                    r.number(
                        rep,
                        "radius",
                        at,
                        base.radius,
                        minimum=0,
                        exclusive_min=True,
                        maximum=Bounds.LENGTH,
                    )
                ),
                capabilities=base.capabilities,
                group=base.name,
                ring=parse_ring(r, rep, at),
            )
        )
    return zones


def check_quality(r: Reader, zones: list[ZoneSpec], where: Callable[[int], str]) -> dict[str, str]:
    """Each quality names a capability its zone hosts; a capability's full-quality hosts are
    one group (its home). Returns capability -> home group. ``where(i)`` names zone ``i``."""
    home: dict[str, str] = {}
    for i, z in enumerate(zones):
        for cap, _ in z.quality:
            if cap not in z.capabilities:
                raise r.fail(
                    f"{where(i)}.quality.{cap}", f"zone {z.name!r} does not host capability {cap!r}"
                )
        for j, cap in enumerate(z.capabilities):
            if z.quality_of(cap) < 1.0:
                continue
            if cap in home and home[cap] != z.group_name:
                raise r.fail(
                    f"{where(i)}.capabilities[{j}]",
                    f"capability {cap!r} is already hosted at full quality by group "
                    f"{home[cap]!r}; make this zone a replica (group: {home[cap]}) or give it a "
                    f"lower quality for it",
                )
            home[cap] = z.group_name
    return home


def check_references(
    r: Reader, zones: list[ZoneSpec], caps: list[CapabilitySpec], raw_zones: list, offset: int
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
        for j, cap in enumerate(z.capabilities):
            if cap not in seen_caps:
                close = difflib.get_close_matches(cap, cap_names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise r.fail(f"{where(i)}.capabilities[{j}]", f"unknown capability {cap!r}{hint}")
            hosted.setdefault(cap, z.name)
        if not z.capabilities and not z.specialisation:
            raise r.fail(
                where(i), f"zone {z.name!r} needs a specialisation text or hosted capabilities"
            )
    if sum(z.fallback for z in zones) > 1:
        raise r.fail("zones", "at most one zone can be the fallback")
    check_quality(r, zones, where)  # several hosts: replicas of one group, or lower quality
    unhosted = [c for c in cap_names if c not in hosted]
    if unhosted:
        raise r.fail(
            "capabilities",
            f"capability {unhosted[0]!r} is hosted by no zone; add it to a zone's capabilities",
        )
