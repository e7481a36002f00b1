"""Workflows: capabilities made of steps, parallel branches and conditional branches.

``conditions`` (branch predicates) < ``nodes`` (step / parallel / branch values) < ``execute``
(running a compiled plan) < ``build`` (the build-time contract check, compiling the plan) <
``definition`` (:class:`Workflow`, the value users declare).
"""

from capabilities.composition.workflow.conditions import Condition
from capabilities.composition.workflow.definition import Workflow, workflow_of
from capabilities.composition.workflow.nodes import (
    Branch,
    Node,
    Parallel,
    Step,
    as_node,
    branch,
    parallel,
    step,
)

__all__ = [
    "Branch",
    "Condition",
    "Node",
    "Parallel",
    "Step",
    "Workflow",
    "as_node",
    "branch",
    "parallel",
    "step",
    "workflow_of",
]
