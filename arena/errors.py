"""Errors of the arena layer, rooted in the project's one hierarchy."""

from __future__ import annotations

from capabilities import PacketFlowError


class ScenarioError(PacketFlowError):
    """A scenario file is wrong. The message names the file, the field path and what was expected.

    ``file`` and ``field`` (e.g. ``zones[2].capacity``) are kept as attributes so tools can point
    at the exact place.
    """

    def __init__(self, file: str | None, field: str | None, problem: str):
        self.file = file
        self.field = field
        self.problem = problem
        where = file or "<scenario>"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {problem}")


class ConservationError(PacketFlowError):
    """An intent disappeared: arrived != in flight + queued + in service + completed + dropped."""


class PhysicsError(PacketFlowError, ValueError):
    """A physics parameter is out of its range, not finite or of the wrong type (also a
    ValueError, for callers that catch that)."""


class RouterError(PacketFlowError):
    """A router (a plug-in, usually) returned something that is not one routable zone per intent."""


class SpawnGuardError(PacketFlowError, RuntimeError):
    """Worker processes could not start because the script that fans runs out has no
    ``if __name__ == "__main__":`` guard (spawned workers import the script again)."""
