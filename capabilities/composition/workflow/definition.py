"""Workflows: capabilities made of steps, parallel branches and conditional branches.

A workflow is a *value* built from three constructors — :func:`step`, :func:`parallel` and
:func:`branch` — nested freely, wrapped in a :class:`Workflow`. ``Workflow.build(registry)``
checks the whole graph against the registry's contracts *before anything runs*: every step's
required inputs come from the workflow's inputs or an earlier step, parallel branches never
write the same field, every promised output is produced on every path, and renamed inputs and
outputs name real fields. A mistake is a :class:`WorkflowError` naming the workflow, the field,
the step and where it sits (``steps[1].then[0]``).

The built workflow is an ordinary :class:`Capability` (``kind="workflow"``) so it can be
registered, discovered, run by the engine and used as a step of another workflow. Its execute
function receives the running :class:`Engine` and the caller's :class:`Context` by injection,
and runs every step through ``engine.run_async`` in a child context — so each step is
authorised, audited and traced like any other call, and the trace shows the tree.

Parallel branches really run at once: async capabilities as asyncio tasks, sync ones on a
shared thread pool (one pool for the process, so a workflow run through ``Engine.run`` does not
pay for starting threads on every call).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capabilities.core.model import Capability
from capabilities.errors import (
    RegistrationError,
)

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry
from capabilities.composition.workflow.build import Builder
from capabilities.composition.workflow.nodes import Branch, Node, Parallel, Step, as_seq


@dataclass(frozen=True)
class Workflow:
    """A named composition of steps; ``build(registry)`` checks it and returns a Capability.

    ``requires`` / ``provides`` may be given (names, or a mapping name -> type name) or left
    out: the inputs are then the fields steps read that no earlier step writes, and the outputs
    every field the steps write on every path.
    """

    name: str
    steps: tuple[Node, ...]
    intent: str = ""
    requires: Any = None
    provides: Any = None
    permissions: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", as_seq(self.steps))
        object.__setattr__(self, "permissions", tuple(self.permissions))
        object.__setattr__(self, "examples", tuple(self.examples))
        if not self.steps:
            raise RegistrationError(f"workflow {self.name!r} has no steps")

    def build(self, registry: Registry) -> Capability:
        """Check every contract of the graph against ``registry`` and return the runnable
        capability (``kind="workflow"``). Raises :class:`WorkflowError` on the first problem."""
        return Builder(self, registry).build()

    def outline(self) -> list[Any]:
        """The shape as plain data: a step is its label, ``{"parallel": [...]}``,
        ``{"branch": when, "then": [...], "otherwise": [...]}``; handy for tests and plans."""
        return [outline_of(n) for n in self.steps]

    def step_names(self) -> list[str]:
        """Every step label in definition order (both paths of a branch)."""
        out: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, Step):
                out.append(node.label)
            elif isinstance(node, Parallel):
                for b in node.branches:
                    walk(b)
            elif isinstance(node, Branch):
                for n in (*node.then, *node.otherwise):
                    walk(n)
            else:
                for n in node:
                    walk(n)

        for n in self.steps:
            walk(n)
        return out

    def render(self) -> str:
        """The graph as indented text."""
        lines = [f"workflow {self.name}"]

        def walk(node: Node, depth: int) -> None:
            pad = "  " * depth
            if isinstance(node, Step):
                extra = ""
                if node.inputs:
                    extra += f" from {dict(node.inputs)}"
                if node.outputs:
                    extra += f" to {dict(node.outputs)}"
                lines.append(f"{pad}step {node.label}{extra}")
            elif isinstance(node, Parallel):
                lines.append(f"{pad}parallel")
                for b in node.branches:
                    walk(b, depth + 1)
            elif isinstance(node, Branch):
                lines.append(f"{pad}when {node.when.text}")
                for n in node.then:
                    walk(n, depth + 1)
                if node.otherwise:
                    lines.append(f"{pad}otherwise")
                    for n in node.otherwise:
                        walk(n, depth + 1)
            else:
                lines.append(f"{pad}sequence")
                for n in node:
                    walk(n, depth + 1)

        for n in self.steps:
            walk(n, 1)
        return "\n".join(lines)


def outline_of(node: Node) -> Any:
    if isinstance(node, Step):
        return node.label
    if isinstance(node, Parallel):
        return {"parallel": [outline_of(b) for b in node.branches]}
    if isinstance(node, Branch):
        return {
            "branch": node.when.text,
            "then": [outline_of(n) for n in node.then],
            "otherwise": [outline_of(n) for n in node.otherwise],
        }
    return [outline_of(n) for n in node]


def workflow_of(capability: Capability) -> Workflow:
    """The definition behind a built workflow capability."""
    wf = capability.metadata.get("workflow")
    if capability.kind != "workflow" or not isinstance(wf, Workflow):
        raise RegistrationError(f"capability {capability.name!r} is not a workflow")
    return wf
