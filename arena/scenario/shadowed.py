"""Which scenario fields another field makes dead: ``arrivals.rate`` under a ``schedule`` that
starts at step 0, ``load_info.period`` outside ``mode: board``, a router's ``router_params``
while another router runs.

Why a module of its own: a sweep (or any tool that varies one field) over a dead field runs
and gives identical rows — a study that does nothing, silently. Asking here, once per varied
field, turns it into an error naming both fields.
"""

from __future__ import annotations

from .spec import Scenario


def shadowed_by(scenario: Scenario, key: str) -> str | None:
    """A sentence naming the field of ``scenario`` that overrides ``key`` (a dotted override
    path), or ``None`` when ``key`` takes effect."""
    parts = key.split(".")
    arrivals = scenario.arrivals
    if key == "arrivals.rate" and arrivals.schedule and arrivals.schedule[0][0] == 0:
        return (
            "arrivals.schedule sets the rate from its start, so arrivals.rate is never used "
            "(vary the schedule, or use --rate-scale)"
        )
    if key == "load_info.period" and scenario.load_info.mode != "board":
        return f"load_info.mode is {scenario.load_info.mode!r}; a period applies to mode 'board'"
    if key == "load_info.delay" and scenario.load_info.mode != "delayed":
        return f"load_info.mode is {scenario.load_info.mode!r}; a delay applies to mode 'delayed'"
    if parts[0] == "router_params" and len(parts) > 1 and parts[1] != scenario.router:
        return f"router is {scenario.router!r}, so router_params.{parts[1]} is never read"
    return None
