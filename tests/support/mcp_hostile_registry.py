"""The MCP test registry plus capabilities for the hostile and concurrency cases: one that
blocks until told (or a timeout), one leaking a secret in its exception, one returning
infinity, one declared destructive, one read-only by its permissions.

``packetflow-arena mcp serve --registry mcp_hostile_registry`` serves it in subprocesses.
"""

from __future__ import annotations

import threading
import time

from mcp_test_registry import build_registry as base_registry

from capabilities import Registry

RELEASE = threading.Event()  # in-process tests set it to let ``wait_for_release`` return


def build_registry(fake_meaning: bool = False) -> Registry:
    registry = base_registry(fake_meaning=fake_meaning)

    @registry.capability(provides=["waited"])
    def wait_for_release(timeout: float = 10.0) -> bool:
        """Block until the test releases it (a slow synchronous capability)."""
        return RELEASE.wait(min(max(timeout, 0.0), 30.0))

    @registry.capability(provides=["slept"])
    def sleep_for(seconds: float) -> float:
        """Sleep a number of seconds, at most five (a slow call over a real transport)."""
        seconds = min(max(seconds, 0.0), 5.0)
        time.sleep(seconds)
        return seconds

    @registry.capability(provides=["rows"])
    def connect_db(query: str) -> int:
        """Run a query against the reporting database."""
        raise RuntimeError("db connect failed: postgres://admin:hunter2@db.internal:5432/prod")

    @registry.capability(provides=["ratio"])
    def growth_ratio(before: float, after: float) -> float:
        """The growth ratio after / before (infinite when before is zero)."""
        return after / before if before else float("inf")

    @registry.capability(provides=["wiped"], destructive=True)
    def wipe_records(table: str) -> int:
        """Delete every record of a table."""
        return 0

    @registry.capability(provides=["rows"], permissions=["reports:read"])
    def list_reports(limit: int = 10) -> list[str]:
        """List the latest reports."""
        return [f"report-{i}" for i in range(limit)]

    return registry
