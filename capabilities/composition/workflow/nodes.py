"""The definition's building blocks: step, parallel and branch nodes (plain immutable values)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Union

from capabilities.core.model import Capability
from capabilities.errors import (
    RegistrationError,
)

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry
from capabilities.composition.workflow.conditions import Condition


class Buildable(Protocol):
    """A nested workflow as a step: anything that builds into a capability (a ``Workflow``)."""

    name: str

    def build(self, registry: Registry) -> Capability: ...


@dataclass(frozen=True, slots=True)
class Step:
    """Run one capability. See :func:`step`."""

    capability: Any  # a name, a Capability or a Workflow (nested)
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    grants: tuple[str, ...] | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        cap = self.capability
        return cap if isinstance(cap, str) else cap.name


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run branches at the same time. See :func:`parallel`."""

    branches: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Branch:
    """Run ``then`` when the condition holds, else ``otherwise``. See :func:`branch`."""

    when: Condition
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


Node = Union[Step, Parallel, Branch, tuple]  # a tuple is a sequence of nodes  # noqa: UP007


def step(
    capability: str | Capability | Buildable,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    *,
    grants: Iterable[str] | None = None,
    name: str | None = None,
) -> Step:
    """One step: run ``capability`` on the workflow's data.

    ``inputs`` maps a parameter of the capability to the data field it reads (the seed's
    ``from=``); ``outputs`` maps an output of the capability to the field it is stored as (the
    seed's ``to=``). Unmapped names pass through unchanged. ``grants`` runs the step in a
    *restricted* child context holding only those grants (they must be implied by the
    caller's); by default the step inherits the caller's context. ``name`` labels the step in
    errors and traces (defaults to the capability's name).
    """
    return Step(
        capability,
        dict(inputs or {}),
        dict(outputs or {}),
        None if grants is None else tuple(grants),
        name,
    )


def parallel(*branches: Node | Sequence[Node]) -> Parallel:
    """Run the branches concurrently. A branch is a node, or a list of nodes run in order.

    Branches see the data as it was before the ``parallel`` (not each other's outputs) and must
    not write the same field, so the result does not depend on which finishes first.
    """
    if len(branches) < 2:
        raise RegistrationError("parallel(...) needs at least two branches")
    return Parallel(tuple(as_node(b) for b in branches))


def branch(
    when: str | Callable[[Mapping[str, Any]], Any] | Condition,
    then: Node | Sequence[Node],
    otherwise: Node | Sequence[Node] = (),
) -> Branch:
    """Choose a path at run time (the seed's ``conditional/when/otherwise``).

    ``when`` is a Python callable over the data so far, or a small expression such as
    ``"not errors"`` or ``"risk_score > 0.5 and country in ['DE', 'FR']"`` — parsed once,
    evaluated by walking its syntax tree (no ``eval``), with the names it reads checked at build
    time like any step input.
    """
    return Branch(Condition.of(when), as_seq(then), as_seq(otherwise))


def as_seq(nodes: Node | Sequence[Node]) -> tuple[Node, ...]:
    if isinstance(nodes, Step | Parallel | Branch):
        return (nodes,)
    if isinstance(nodes, str):
        return (step(nodes),)
    return tuple(as_node(n) for n in nodes)


def as_node(node: Any) -> Node:
    if isinstance(node, Step | Parallel | Branch):
        return node
    if isinstance(node, str):
        return step(node)
    if isinstance(node, list | tuple):
        return as_seq(node)
    raise RegistrationError(
        f"a workflow step must be step(...), parallel(...), branch(...) or a list of them, "
        f"got {type(node).__name__}"
    )
