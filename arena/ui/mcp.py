"""The arena's glue for ``packetflow-arena mcp serve --scenario``: a scenario's capabilities as a
registry, and what an agent needs around them — the latest run summary (``arena://summary``),
a ``run_arena`` tool that reports progress per step and can be cancelled, each run's summary
as ``arena://runs/{run_id}/summary``, and a ``route_request`` prompt from the scenario's zones.

Runs are CPU-bound and one at a time (a lock): a read or a run waits on a worker thread, never
on the event loop, so other sessions' calls go on while a scenario runs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import ToolAnnotations

from capabilities import Registry
from capabilities.interfaces.mcp.host import Extras, PromptSpec, ToolSpec
from capabilities.interfaces.mcp.offload import Progress

from ..scenario import load_registry, load_scenario

StepReport = Callable[[float, float | None, str | None], None]


class ArenaRuns:
    """The runs of one scenario in this server: summaries by run id, one run at a time."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.scenario = load_scenario(path)
        self.summaries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def run(
        self,
        seed: int | None = None,
        duration_s: float | None = None,
        report: StepReport | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Run the scenario (``report(seconds, total, message)`` after each step): its id and
        summary (times in ms)."""
        from ..model import ArenaModel  # Mesa and the embedder load on the first run only

        if duration_s is not None and not (0 < duration_s <= 30 * 86400):
            raise ValueError(f"field 'duration_s': must be in (0, 2592000] s, got {duration_s}")
        with self._lock:
            model = ArenaModel(self.scenario, seed=seed)
            total = duration_s or self.scenario.duration

            def on_step(t: float) -> None:
                if report is not None:
                    report(t, total if t <= total else None, f"t = {t:g} s")

            model.run(duration_s, progress=on_step)
            summary = model.summary().to_dict()
            run_id = f"run-{next(self._ids)}"
            self.summaries[run_id] = summary
            return run_id, summary

    def latest(self) -> dict[str, Any]:
        """The arena's latest run summary for this scenario (routing accuracy, load, drops)."""
        with self._lock:
            if self.summaries:
                return self.summaries[list(self.summaries)[-1]]
        return self.run()[1]

    def summary(self, run_id: str) -> dict[str, Any]:
        """The summary of one run of this scenario, by the id ``run_arena`` returned."""
        summary = self.summaries.get(run_id)
        if summary is None:
            raise ResourceError(f"Unknown run: {run_id}; runs: {sorted(self.summaries)}")
        return summary

    def route_prompt(self, request: str) -> str:
        """How this scenario's zones would handle a request, as a user message."""
        zones = "\n".join(
            f"- {z.name}: {', '.join(z.capabilities) or 'no capabilities'}"
            + (" (fallback)" if z.fallback else "")
            for z in self.scenario.zones
        )
        return (
            f"In the arena scenario {self.scenario.name!r}, requests are routed to zones by "
            f"meaning. The zones and the capabilities they host:\n{zones}\n\n"
            f"Which zone and capability should handle this request? Call 'discover' with it, "
            f"then the capability it finds.\n\nRequest: {request}"
        )


def mcp_extras(path: str | Path) -> Extras:
    """What ``mcp serve --scenario`` adds to the capability tools of a scenario."""
    runs = ArenaRuns(path)

    async def run_arena(
        ctx: Context, seed: int | None = None, duration_s: float | None = None
    ) -> dict[str, Any]:
        """Run this scenario in the arena for ``duration_s`` seconds of model time (default:
        the scenario's; progress in model seconds; cancellable between steps); returns the run
        id and its summary (latency_ms, wait_ms), also readable as
        arena://runs/{run_id}/summary."""
        progress = Progress(ctx.report_progress)
        run_id, summary = await anyio.to_thread.run_sync(
            runs.run, seed, duration_s, progress, abandon_on_cancel=True
        )
        return {"run_id": run_id, "summary": summary}

    return Extras(
        resources={"arena://summary": runs.latest},
        templates={"arena://runs/{run_id}/summary": runs.summary},
        prompts=(
            PromptSpec(
                "route_request",
                f"Ask how scenario {runs.scenario.name!r} would route a request.",
                runs.route_prompt,
                {"request": "a user request in plain words"},
            ),
        ),
        tools=(
            ToolSpec(
                run_arena,
                description=(run_arena.__doc__ or "").replace("\n        ", " "),
                annotations=ToolAnnotations(
                    read_only_hint=True, destructive_hint=False, idempotent_hint=False
                ),
            ),
        ),
    )


def mcp_resources(path: str | Path) -> dict[str, Any]:
    """The latest-summary resource alone (``{"arena://summary": reader}``)."""
    return dict(mcp_extras(path).resources)


def scenario_mcp(path: str) -> tuple[Registry, Extras]:
    """``mcp serve --scenario``: the scenario's capabilities, and the arena's extras."""
    return load_registry(path), mcp_extras(path)
