"""``zones_from``: zones and their capabilities generated from a data file (zone -> labels).

Why a module of its own: generating a whole arena from one mapping (a domain file such as
CLINC150's) has its own rules — the intent template, identifiers made from labels, capacity
overrides per zone, replicas — apart from the hand-written zones of :mod:`.sections`.
"""

from __future__ import annotations

import difflib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .files import MAX_DATA_BYTES, read_text
from .reader import Bounds, Reader, kind_of
from .sections import parse_service_time
from .spec import DEFAULT_HANDLER, CapabilitySpec, ZoneSpec
from .zones import parse_replicas


def parse_zones_from(r: Reader, v: Any, base: Path) -> tuple[list[ZoneSpec], list[CapabilitySpec]]:
    where = "zones_from"
    m = r.mapping(
        v,
        where,
        (
            "file",
            "groups",
            "capacity",
            "capacity_overrides",
            "queue_limit",
            "radius",
            "capability",
            "replicas",
        ),
    )
    if ("file" in m) == ("groups" in m):
        raise r.fail(where, "give either 'file' (a JSON object zone -> labels) or inline 'groups'")
    if "groups" in m:
        groups, field = m["groups"], f"{where}.groups"
        problem = "expected a mapping: zone name -> list of labels"
    else:
        path = base / r.str(m, "file", where)
        field, problem = f"{where}.file", f"{path} must hold an object: zone name -> list of labels"
        groups = read_json(r, path, field)
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
    intent_tpl = intent_template(r, template, f"{where}.capability")
    function = r.str(template, "function", f"{where}.capability", DEFAULT_HANDLER)
    service = parse_service_time(
        r, template.get("service_time", 1), f"{where}.capability.service_time", base
    )
    capacity = int(
        r.number(m, "capacity", where, 20, minimum=1, maximum=Bounds.COUNT, integer=True)
    )
    queue_limit = int(
        r.number(m, "queue_limit", where, 0, minimum=0, maximum=Bounds.COUNT, integer=True)
    )
    radius = float(
        r.number(m, "radius", where, 6.0, minimum=0, exclusive_min=True, maximum=Bounds.LENGTH)
    )
    overrides = _capacity_overrides(r, m.get("capacity_overrides", {}), where)
    zones, caps = [], []
    taken: set[str] = set()
    for zone_name, labels in groups.items():
        for label in labels:
            caps.append(
                CapabilitySpec(
                    name=identifier_for(label, taken),
                    intent=intent_tpl.format(
                        label=label.replace("_", " "), zone=zone_name.replace("_", " ")
                    ),
                    function=function,
                    labels=(label,),
                    service_time=service,
                )
            )
        zone = ZoneSpec(
            name=zone_name,
            capacity=overrides.get(zone_name, capacity),  # replicas inherit the override
            queue_limit=queue_limit,
            radius=radius,
            capabilities=tuple(c.name for c in caps[len(caps) - len(labels) :]),
        )
        zones += parse_replicas(r, m, where, zone)
    _check_override_names(r, overrides, [z.name for z in zones], where)
    # a zone named exactly (a replica ``billing_2`` too) gets its override last, over the
    # capacity its replica entry gave it: a capacity plan's overlay sizes every zone so
    zones = [replace(z, capacity=overrides.get(z.name, z.capacity)) for z in zones]
    return zones, caps


def read_json(r: Reader, path: Path, field: str) -> Any:
    """A JSON data file named at ``field`` (size-capped, UTF-8, nesting-safe)."""
    text = read_text(path, MAX_DATA_BYTES, lambda problem: r.fail(field, problem))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise r.fail(field, f"cannot read {path} as JSON: {exc}") from None
    except RecursionError:
        raise r.fail(field, f"cannot read {path} as JSON: nested too deeply") from None


def intent_template(r: Reader, template: Mapping[str, Any], where: str) -> str:
    """The generated capabilities' intent template: text with plain ``{label}`` / ``{zone}``
    fields only (no attributes, indexes, conversions or format specs, which could fail or
    build huge strings when formatted)."""
    text = r.str(template, "intent", where, "{label} ({zone})")
    problem = "only plain {label} and {zone} may be used (write {{ and }} for braces)"
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise r.fail(f"{where}.intent", f"{exc}; {problem}") from None
    for _, name, spec, conversion in fields:
        if name is not None and (name not in ("label", "zone") or spec or conversion):
            raise r.fail(f"{where}.intent", f"{{{name}}}: {problem}")
    return text


def _capacity_overrides(r: Reader, v: Any, where: str) -> dict[str, int]:
    """``zones_from.capacity_overrides``: ``{zone: slots}`` for generated zones that need their
    own capacity (a capacity plan's overlay writes these). A group's name also sizes the
    replicas that set no capacity of their own; a replica's name (``billing_2``) sizes it."""
    field = f"{where}.capacity_overrides"
    if not isinstance(v, Mapping):
        raise r.fail(field, f"expected a mapping: zone name -> capacity, got {kind_of(v)}")
    out = {}
    for zone, n in v.items():
        out[str(zone)] = int(
            r.check_number(n, f"{field}.{zone}", minimum=1, maximum=Bounds.COUNT, integer=True)
        )
    return out


def _check_override_names(
    r: Reader, overrides: Mapping[str, int], names: list[str], where: str
) -> None:
    for zone in overrides:
        if zone not in names:
            close = difflib.get_close_matches(zone, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise r.fail(
                f"{where}.capacity_overrides.{zone}", f"no generated zone is called {zone!r}{hint}"
            )


def identifier_for(label: str, taken: set[str]) -> str:
    """A capability name for a dataset label: ``"what's up?"`` -> ``what_s_up``, unique."""
    base = re.sub(r"\W+", "_", label.strip()).strip("_") or "label"
    if base[0].isdigit():
        base = f"label_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name
