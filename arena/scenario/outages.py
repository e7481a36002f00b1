"""``outages``: zones that go out of service at a stated time, as a killed worker does live.

``outages: [{zone: technical_support, at: 20s}]``. From ``at`` on, routers no longer see the
zone and nothing is admitted there; whatever it held then (queued or in service, or on its way
to it) is dropped with reason ``zone_down``. The same failure a live run injects with
``--kill technical_support@20s``, so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .reader import Reader, duration_field
from .spec import Outage, ZoneSpec


def parse_outages(r: Reader, value: Any, zones: Sequence[ZoneSpec]) -> tuple[Outage, ...]:
    """The checked outages, by time; a zone may go down once."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail("outages", "expected a list like [{zone: NAME, at: 20s}]")
    names = [z.name for z in zones]
    out: list[Outage] = []
    for i, item in enumerate(value):
        where = f"outages[{i}]"
        m = r.mapping(item, where, ("zone", "at"))
        zone = r.str(m, "zone", where)
        if zone not in names:
            raise r.fail(f"{where}.zone", f"no zone called {zone!r} (zones: {names[:8]})")
        if "at" not in m:
            raise r.fail(f"{where}.at", "required field is missing")
        if any(o.zone == zone for o in out):
            raise r.fail(f"{where}.zone", f"zone {zone!r} already goes down earlier in the list")
        out.append(Outage(zone=zone, at=duration_field(r, m, "at", where, 0.0)))
    return tuple(sorted(out, key=lambda o: o.at))
