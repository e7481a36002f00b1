"""The built-in tools: discover, send (actors), plan and run_workflow.

Errors of the project's own kind (a contract naming the field, a refused permission) propagate
as they are; the server turns them and anything else into a tool error carrying the class, a
safe message and the request id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcp.server.mcpserver import Context as ToolContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from capabilities.composition.planner import SemanticPlanner
from capabilities.core.context import Context
from capabilities.core.model import Capability
from capabilities.interfaces.mcp.host import ServerHost
from capabilities.interfaces.mcp.schema import jsonable
from capabilities.runtime.actors import actors_of

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


async def run_capability(
    server: ServerHost, cap: Capability, inputs: Mapping[str, Any], context: Context
) -> Any:
    """Run ``cap`` as the engine does, a sync one on the server's worker pool (not the loop)."""
    if cap.is_async:
        return await server.engine.run_async(cap, inputs, context)
    return await server.pool.run(server.engine.run, cap, inputs, context)


def add_builtin_tools(server: ServerHost) -> None:
    """``discover`` and ``send`` (plus ``plan`` / ``run_workflow``), with the SDK's decorators."""

    @server.tool(
        description=(
            "Find the capabilities that best match a need described in plain words; "
            "returns tool names with cosine similarity scores, best first."
        ),
        annotations=READ_ONLY,
    )
    def discover(query: str, k: int = 5) -> list[dict[str, Any]]:
        if not query.strip():
            raise ToolError("field 'query': describe what you need in a few words")
        if not 1 <= k <= 50:
            raise ToolError(f"field 'k': must be between 1 and 50, got {k}")
        principal = server.principal_now()
        allowed = [c for c in server.registry if server.permitted(c, principal)]
        matches = server.registry.discover(query, k=len(server.registry) or 1)
        ok = {c.name for c in allowed}
        return [
            {
                "name": m.capability.name,
                "score": round(m.score, 4),
                "intent": m.capability.intent,
            }
            for m in matches
            if m.capability.name in ok
        ][:k]

    @server.tool(
        description=(
            "Send a message to a durable actor (e.g. a conversation) identified by actor "
            "and actor_id; returns its reply. Actor ids are yours: another principal using the "
            "same id reaches its own actor. Reuse idempotency_key when resending."
        ),
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False),
    )
    async def send(
        actor: str,
        actor_id: str,
        message: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        principal = server.principal_now()
        cap = server.registry.lookup(actor)
        if cap is None or cap.kind != "actor" or not server.permitted(cap, principal):
            visible = [c.name for c in actors_of(server.registry) if server.permitted(c, principal)]
            raise ToolError(f"field 'actor': no actor {actor!r} available; actors: {visible}")
        inputs = {"actor_id": actor_id, "message": message, "idempotency_key": idempotency_key}
        result = await run_capability(server, cap, inputs, principal.context(label="mcp"))
        if not result.ok:
            raise result.error
        return jsonable(result.outputs)

    add_workflow_tools(server)


def add_workflow_tools(server: ServerHost) -> None:
    """``plan`` / ``run_workflow``: plan a workflow from a request, run it as the caller."""
    planner = SemanticPlanner()

    def plan_for(request: str, have: Sequence[str]) -> Any:
        principal = server.principal_now()
        planned = planner.plan(request, server.registry, have=have)
        hidden = [
            n
            for n in planned.workflow.step_names()
            if n in server.registry and not server.permitted(server.registry.get(n), principal)
        ]
        if hidden:  # never name them: hidden tools must not be probed through plans
            raise ToolError(
                f"no plan for this request from the tools principal {principal.name!r} may call"
            )
        return planned

    @server.tool(
        description=(
            "Turn a plain-language request into a workflow of registered capabilities "
            "(goals by meaning, missing inputs chained from other capabilities) and explain "
            "it; 'have' lists the inputs you can supply. Does not run anything."
        ),
        annotations=READ_ONLY,
    )
    async def plan(request: str, ctx: ToolContext, have: list[str] | None = None) -> dict[str, Any]:
        await ctx.report_progress(0, 2, "planning")
        planned = await server.pool.run(plan_for, request, have or [])
        await ctx.report_progress(2, 2, "planned")
        cap = planned.capability
        return {
            "goals": list(planned.goals),
            "steps": planned.workflow.step_names(),
            "outline": jsonable(planned.outline()),
            "explanation": planned.explanation,
            "requires": [f.name for f in cap.requires if f.required],
            "provides": [f.name for f in cap.provides],
        }

    @server.tool(
        description=(
            "Plan a plain-language request (as 'plan' does, with the keys of 'inputs' as "
            "what you have) and run the workflow with those inputs; returns its outputs."
        )
    )
    async def run_workflow(
        request: str, inputs: dict[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        await ctx.report_progress(0, 3, "planning")
        planned = await server.pool.run(plan_for, request, list(inputs))
        steps = planned.workflow.step_names()
        await ctx.report_progress(1, 3, f"running {len(steps)} steps: {', '.join(steps)}")
        principal = server.principal_now()
        result = await run_capability(
            server, planned.capability, inputs, principal.context(label="mcp")
        )
        await ctx.report_progress(3, 3, "done" if result.ok else "failed")
        if not result.ok:
            raise result.error
        return {"steps": steps, "outputs": jsonable(result.outputs)}
