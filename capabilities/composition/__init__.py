"""Capabilities made of capabilities: workflows, their YAML form, automatic chaining, planning.

Named ``composition`` (not ``compose``) because ``capabilities.compose`` is the exported
function. Nothing here imports the runtime: the registry and engine are seen through
``core.protocols`` (RegistryHandle, EngineHandle), so ``Registry.compose`` can build on this.
"""

from capabilities.composition.auto import compose, compose_layers
from capabilities.composition.planner import Plan, Planner, PlanningError, SemanticPlanner
from capabilities.composition.workflow import Workflow, branch, parallel, step, workflow_of
from capabilities.composition.workflow_yaml import load_workflows, workflow_from_data

__all__ = [
    "Plan",
    "Planner",
    "PlanningError",
    "SemanticPlanner",
    "Workflow",
    "branch",
    "compose",
    "compose_layers",
    "load_workflows",
    "parallel",
    "step",
    "workflow_from_data",
    "workflow_of",
]
