"""Prompts: ``plan_request`` from the planner, and whatever prompts a layer above adds (the
arena's scenarios). A prompt is a user message a client can offer its user as a starting point.
"""

from __future__ import annotations

import json

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument

from capabilities.composition.planner import SemanticPlanner
from capabilities.errors import PacketFlowError
from capabilities.interfaces.mcp.host import Extras, PromptSpec, ServerHost
from capabilities.interfaces.mcp.schema import jsonable


def add_prompts(server: ServerHost, extras: Extras) -> None:
    """``plan_request`` plus the ``extras.prompts``."""
    planner = SemanticPlanner()

    def plan_request(request: str) -> str:
        """The planner's workflow for a request, as instructions for calling the tools."""
        principal = server.principal_now()
        try:
            planned = planner.plan(request, server.registry)
        except PacketFlowError as exc:
            return f"No plan for {request!r}: {exc}. Call 'discover' to find tools by meaning."
        steps = planned.workflow.step_names()
        if any(
            n in server.registry and not server.permitted(server.registry.get(n), principal)
            for n in steps
        ):
            return (
                f"No plan for {request!r} from the tools you may call. "
                "Call 'discover' to find tools by meaning."
            )
        need = [f.name for f in planned.capability.requires if f.required]
        return (
            f"Carry out this request: {request}\n\n"
            f"Plan ({planned.explanation}):\n"
            f"{json.dumps(jsonable(planned.outline()), indent=1)}\n\n"
            f"Call the tools {steps} in this order, or call 'run_workflow' with the request and "
            f"inputs {need}."
        )

    specs = (
        PromptSpec(
            "plan_request",
            "Plan a plain-language request into a workflow of the tools you may call.",
            plan_request,
            {"request": "what you want done, in plain words"},
        ),
        *extras.prompts,
    )
    for spec in specs:
        server.add_prompt(
            Prompt(
                name=spec.name,
                title=None,
                description=spec.description,
                arguments=[
                    PromptArgument(name=k, description=v, required=True)
                    for k, v in spec.arguments.items()
                ],
                fn=spec.render,
                context_kwarg=None,
            )
        )
