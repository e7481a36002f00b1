"""Capabilities from plain data, including their resilience policy.

``Capability.from_data`` (in ``core``) reads everything a capability *is*; a ``policy`` entry
needs :mod:`capabilities.resilience`, which sits above ``core``, so the full declaration —
what ``Registry.register_data`` and scenario files use — is assembled here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capabilities.core.model import Capability
from capabilities.resilience import Policy


def capability_from_data(data: Mapping[str, Any], *, where: str = "capability") -> Capability:
    """A capability declared by ``data`` (see ``Capability.from_data`` for the keys), with its
    ``policy`` entry (see ``Policy.from_data``) parsed into a :class:`Policy`."""
    if not isinstance(data, Mapping) or "policy" not in data:
        return Capability.from_data(data, where=where)
    rest = {k: v for k, v in data.items() if k != "policy"}
    cap = Capability.from_data(rest, where=where)
    spec = data["policy"]
    if spec is None:
        return cap
    return cap.replace(policy=Policy.from_data(spec, where=f"{where}.policy"))
