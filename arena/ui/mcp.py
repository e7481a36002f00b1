"""The arena's glue for ``packetflow-arena mcp serve --scenario``: a scenario's capabilities as a
registry, and its latest run summary as an MCP resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from capabilities import Registry

from ..scenario import load_registry


def mcp_resources(path: str | Path) -> dict[str, Any]:
    """MCP resources of a scenario (used by ``mcp serve --scenario``): its latest summary.

    The summary is computed by running the scenario the first time an agent reads it, then kept
    for the life of the server, so agents can ask how requests flow before calling capabilities.
    """
    latest: dict[str, Any] = {}

    def arena_summary() -> dict[str, Any]:
        """The arena's latest run summary for this scenario (routing accuracy, load, drops)."""
        if not latest:
            # on first read only: running a scenario loads Mesa and the embedder
            from ..analysis.runner import run_scenario

            latest.update(run_scenario(path)[1].to_dict())
        return latest

    return {"arena://summary": arena_summary}


def scenario_mcp(path: str) -> tuple[Registry, dict[str, Any]]:
    """``mcp serve --scenario``: the scenario's capabilities, and its latest summary resource."""
    return load_registry(path), mcp_resources(path)
