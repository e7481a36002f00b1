"""Scenario fields for parallel zones and routing information: zone groups (replicas), per-zone
capability quality, ``zones_from.replicas``, ``load_info`` and ``router_params``.

Why a module of its own: these fields are what makes load matter (two zones able to serve the
same work, routers that see load late), and they are read with the same :class:`Reader`
helpers as every other field, so a bad value is the usual one-line error naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..physics import LOAD_INFO_MODES, LoadInfo, make_router
from .reader import Bounds, Reader, duration_field, kind_of
from .spec import ZoneSpec

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


def parse_load_info(r: Reader, v: Any) -> LoadInfo:
    """``load_info: {mode: instant | board | delayed, period: T, delay: D}``.

    Defaults: ``mode: instant`` (routers see every zone's load as it is). ``board`` needs its
    ``period`` (how often the board is posted) and ``delayed`` its ``delay`` (how old the
    figures are) stated, as durations (``"500ms"``; a bare number is seconds): a silent default
    would make them ``instant`` again at a fine tick."""
    m = r.mapping(v, "load_info", ("mode", "period", "delay"))
    mode = r.str(m, "mode", "load_info", "instant")
    if mode not in LOAD_INFO_MODES:
        raise r.fail(
            "load_info.mode", f"expected one of {', '.join(LOAD_INFO_MODES)}, got {mode!r}"
        )
    needed = {
        "board": ("period", "time between postings, e.g. 5s"),
        "delayed": ("delay", "how old the figures are, e.g. 500ms"),
    }
    if mode in needed and needed[mode][0] not in m:
        key, what = needed[mode]
        raise r.fail(
            f"load_info.{key}",
            f"mode {mode!r} needs a {key} ({what}); without one it would be mode 'instant'",
        )
    return LoadInfo(
        mode=mode,
        period=duration_field(r, m, "period", "load_info", 1.0, positive=True),
        delay=duration_field(r, m, "delay", "load_info", 0.0),
    )


def parse_router(r: Reader, top: Mapping[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The router's name and ``router_params`` (router name -> constructor keywords), checked by
    building the selected router once."""
    router = r.str(top, "router", "", "physics")
    raw = top.get("router_params", {})
    if not isinstance(raw, Mapping):
        raise r.fail(
            "router_params", f"expected a mapping router -> parameters, got {kind_of(raw)}"
        )
    params: dict[str, dict[str, Any]] = {}
    for name, p in raw.items():
        if not isinstance(p, Mapping):
            raise r.fail(
                f"router_params.{name}", f"expected a mapping of parameters, got {kind_of(p)}"
            )
        params[str(name)] = dict(p)
    make_router(router, params.get(router), file=r.file, field="router")
    return router, params
