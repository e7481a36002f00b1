"""The built-in tools: discover, send (actors), plan and run_workflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from capabilities.composition.planner import SemanticPlanner
from capabilities.errors import ContractError, PacketFlowError, PermissionDenied
from capabilities.interfaces.mcp.host import ServerHost
from capabilities.interfaces.mcp.schema import jsonable
from capabilities.runtime.actors import actors_of


def add_builtin_tools(server: ServerHost) -> None:
    """``discover`` and ``send`` (plus ``plan`` / ``run_workflow``), with the SDK's decorators."""

    @server.tool(
        description=(
            "Find the capabilities that best match a need described in plain words; "
            "returns tool names with cosine similarity scores, best first."
        )
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
            "and actor_id; returns its reply. Reuse idempotency_key when resending."
        )
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
        try:
            result = await server.engine.run_async(cap, inputs, principal.context(label="mcp"))
        except (ContractError, PermissionDenied) as exc:
            raise ToolError(str(exc)) from None
        if not result.ok:
            raise ToolError(f"actor {actor!r} failed: {result.error}")
        return jsonable(result.outputs)

    add_workflow_tools(server)


def add_workflow_tools(server: ServerHost) -> None:
    """``plan`` / ``run_workflow``: plan a workflow from a request, run it as the caller."""
    planner = SemanticPlanner()

    def plan_for(request: str, have: Sequence[str]) -> Any:
        principal = server.principal_now()
        try:
            planned = planner.plan(request, server.registry, have=have)
        except PacketFlowError as exc:
            raise ToolError(str(exc)) from None
        hidden = [
            n
            for n in planned.workflow.step_names()
            if n in server.registry and not server.permitted(server.registry.get(n), principal)
        ]
        if hidden:
            raise ToolError(
                f"the plan needs capabilities principal {principal.name!r} may not call: {hidden}"
            )
        return planned

    @server.tool(
        description=(
            "Turn a plain-language request into a workflow of registered capabilities "
            "(goals by meaning, missing inputs chained from other capabilities) and explain "
            "it; 'have' lists the inputs you can supply. Does not run anything."
        )
    )
    def plan(request: str, have: list[str] | None = None) -> dict[str, Any]:
        planned = plan_for(request, have or [])
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
    async def run_workflow(request: str, inputs: dict[str, Any]) -> dict[str, Any]:
        planned = plan_for(request, list(inputs))
        principal = server.principal_now()
        try:
            result = await server.engine.run_async(
                planned.capability, inputs, principal.context(label="mcp")
            )
        except (ContractError, PermissionDenied) as exc:
            raise ToolError(str(exc)) from None
        if not result.ok:
            raise ToolError(f"workflow failed: {type(result.error).__name__}: {result.error}")
        return {"steps": planned.workflow.step_names(), "outputs": jsonable(result.outputs)}
