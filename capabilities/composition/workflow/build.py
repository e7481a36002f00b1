"""The build-time check: walk a workflow once against the registry's contracts and compile it."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from capabilities.core.data import parse_fields
from capabilities.core.model import Capability, Field
from capabilities.errors import (
    CapabilityNotFound,
    WorkflowError,
)

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry
from capabilities.composition.workflow.execute import (
    WORKFLOW_POLICY,
    RunBranch,
    Runner,
    RunParallel,
    RunStep,
    plan_is_async,
)
from capabilities.composition.workflow.nodes import Branch, Node, Parallel, Step


class WorkflowDefinition(Protocol):
    """What the builder reads of a ``Workflow`` (``definition`` imports this module, not back);
    read-only, as a frozen dataclass's fields are."""

    @property
    def name(self) -> str: ...
    @property
    def steps(self) -> tuple[Any, ...]: ...
    @property
    def requires(self) -> Any: ...
    @property
    def provides(self) -> Any: ...
    @property
    def intent(self) -> str: ...
    @property
    def permissions(self) -> tuple[str, ...]: ...
    @property
    def examples(self) -> tuple[str, ...]: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...
    def step_names(self) -> list[str]: ...


class Builder:
    """Walks the definition once, tracking which fields exist at each point."""

    def __init__(self, workflow: WorkflowDefinition, registry: Registry):
        self.wf = workflow
        self.registry = registry
        self.declared: dict[str, Field] | None = None
        if workflow.requires is not None:
            fields = parse_fields(workflow.requires, f"workflow {workflow.name!r}: requires")
            self.declared = {f.name: f for f in fields}
        self.inferred: dict[str, Field] = {}
        self.used: set[str] = set()
        self.partial: dict[str, str] = {}  # field -> where it is produced on one path only

    def error(
        self, field_name: str | None, problem: str, *, path: str, step: str | None = None
    ) -> WorkflowError:
        return WorkflowError(self.wf.name, field_name, problem, step=step, path=path)

    # -- entry ----------------------------------------------------------------------------------
    def build(self) -> Capability:
        available: dict[str, Field] = dict(self.declared or {})
        plan, produced = self.sequence(self.wf.steps, available, "steps")
        requires = self.requires_fields()
        provides = self.provides_fields(available, produced)
        if self.declared is not None:
            provided = {f.name for f in provides}
            unused = [n for n in self.declared if n not in self.used and n not in provided]
            if unused:
                raise self.error(
                    unused[0],
                    "declared input is read by no step, condition or output; remove it or "
                    "check its spelling",
                    path="requires",
                )
        runner = Runner(self.wf.name, plan, tuple(f.name for f in provides))
        is_async = plan_is_async(plan)
        intent = self.wf.intent.strip() or _default_intent(self.wf, requires, provides)
        return Capability(
            name=self.wf.name,
            intent=intent,
            requires=requires,
            provides=provides,
            execute=runner.execute if is_async else runner.execute_sync,
            permissions=self.wf.permissions,
            examples=self.wf.examples,
            policy=WORKFLOW_POLICY,
            metadata={**self.wf.metadata, "workflow": self.wf},
            is_async=is_async,
            kind="workflow",
            inject=(("engine", "engine"), ("context", "context")),
        )

    def requires_fields(self) -> tuple[Field, ...]:
        if self.declared is not None:
            return tuple(self.declared.values())
        return tuple(self.inferred.values())

    def provides_fields(
        self, available: dict[str, Field], produced: dict[str, Field]
    ) -> tuple[Field, ...]:
        if self.wf.provides is None:
            if not produced:
                raise self.error(None, "no step produces any output", path="provides")
            return tuple(Field(n, f.type) for n, f in produced.items())
        declared = parse_fields(self.wf.provides, f"workflow {self.wf.name!r}: provides")
        out = []
        for f in declared:
            if f.name not in available:
                where = self.partial.get(f.name)
                problem = (
                    f"promised output is not produced on every path: only {where}"
                    if where
                    else "promised output is produced by no step"
                )
                raise self.error(f.name, problem, path="provides")
            out.append(Field(f.name, available[f.name].type if f.type is Any else f.type))
        return tuple(out)

    # -- nodes ----------------------------------------------------------------------------------
    def sequence(
        self, nodes: Sequence[Node], available: dict[str, Field], path: str
    ) -> tuple[tuple[Any, ...], dict[str, Field]]:
        produced: dict[str, Field] = {}
        plan = []
        for i, node in enumerate(nodes):
            compiled, out = self.node(node, available, f"{path}[{i}]")
            plan.append(compiled)
            available.update(out)
            produced.update(out)
        return tuple(plan), produced

    def node(self, node: Node, available: dict[str, Field], path: str) -> tuple[Any, dict]:
        if isinstance(node, Step):
            return self.step(node, available, path)
        if isinstance(node, Parallel):
            return self.parallel(node, available, path)
        if isinstance(node, Branch):
            return self.branch(node, available, path)
        return self.sequence(node, available, path)

    def resolve(self, st: Step, path: str) -> Capability:
        target = st.capability
        if isinstance(target, Capability):
            return target
        if not isinstance(target, str):  # a nested Workflow (see nodes.Buildable)
            return target.build(self.registry)
        try:
            return self.registry.get(target)
        except CapabilityNotFound as exc:
            raise self.error(None, str(exc), path=path, step=st.label) from None

    def step(self, st: Step, available: dict[str, Field], path: str) -> tuple[RunStep, dict]:
        cap = self.resolve(st, path)
        if cap.name == self.wf.name:
            raise self.error(None, "a workflow cannot contain itself", path=path, step=st.label)
        for param in st.inputs:
            if param not in cap.input_names:
                raise self.error(
                    param,
                    f"renamed input is not a parameter of {cap.name!r}; its inputs are "
                    f"{sorted(cap.input_names)}",
                    path=f"{path}.inputs",
                    step=st.label,
                )
        for out in st.outputs:
            if out not in cap.output_names:
                raise self.error(
                    out,
                    f"renamed output is not provided by {cap.name!r}; it provides "
                    f"{sorted(cap.output_names)}",
                    path=f"{path}.outputs",
                    step=st.label,
                )
        sources = []
        for f in cap.requires:
            src = st.inputs.get(f.name, f.name)
            source_field = available.get(src)
            # inferred inputs: whatever a step needs (or explicitly reads) that nothing before
            # it wrote; an optional input nobody provides keeps the capability's default
            if source_field is None and self.declared is None and (f.required or src in st.inputs):
                source_field = self.inferred.setdefault(src, _input_field(f, src))
                available[src] = source_field
            if source_field is None:
                if f.required:
                    via = f" (read from {src!r})" if src != f.name else ""
                    raise self.error(
                        src,
                        f"{cap.name!r} requires {f.name!r}{via}, which neither the workflow's "
                        f"inputs nor an earlier step provides"
                        + (f" (only {self.partial[src]})" if src in self.partial else ""),
                        path=path,
                        step=st.label,
                    )
                continue  # optional and absent: the capability's default applies
            if not _compatible(source_field.type, f.type):
                raise self.error(
                    src,
                    f"{cap.name!r} expects {f.type_name} for {f.name!r} but the field holds "
                    f"{source_field.type_name}",
                    path=path,
                    step=st.label,
                )
            self.used.add(src)
            sources.append((f.name, src))
        targets = tuple((f.name, st.outputs.get(f.name, f.name)) for f in cap.provides)
        produced = {t: Field(t, cap_field.type) for (_, t), cap_field in zip(targets, cap.provides)}
        return (
            RunStep(
                st.label,
                cap,
                tuple(sources),
                targets,
                None if st.grants is None else frozenset(st.grants),
            ),
            produced,
        )

    def parallel(
        self, node: Parallel, available: dict[str, Field], path: str
    ) -> tuple[RunParallel, dict]:
        produced: dict[str, Field] = {}
        writer: dict[str, str] = {}
        compiled = []
        for i, b in enumerate(node.branches):
            bpath = f"{path}.branches[{i}]"
            run, out = self.node(b, dict(available), bpath)
            for name in out:
                if name in writer:
                    raise self.error(
                        name,
                        f"parallel branches {writer[name]} and {bpath} both write this field; "
                        "rename one with outputs={...}",
                        path=path,
                        step=_first_label(b),
                    )
                writer[name] = bpath
            produced.update(out)
            compiled.append(run if isinstance(b, tuple) else (run,))
        # inputs inferred inside a branch are workflow inputs, visible after the parallel too
        available.update({n: f for n, f in self.inferred.items() if n not in available})
        return RunParallel(tuple(compiled)), produced

    def branch(
        self, node: Branch, available: dict[str, Field], path: str
    ) -> tuple[RunBranch, dict]:
        for name in sorted(node.when.names or ()):
            if name not in available:
                raise self.error(
                    name,
                    f"condition {node.when.text!r} reads {name!r}, which neither the workflow's "
                    "inputs nor an earlier step provides",
                    path=f"{path}.when",
                )
            self.used.add(name)
        then_avail, else_avail = dict(available), dict(available)
        then_plan, then_out = self.sequence(node.then, then_avail, f"{path}.then")
        else_plan, else_out = self.sequence(node.otherwise, else_avail, f"{path}.otherwise")
        both = {n: f for n, f in then_out.items() if n in else_out}
        for name in then_out.keys() - else_out.keys():
            self.partial.setdefault(name, f"on the 'then' path of {path}")
        for name in else_out.keys() - then_out.keys():
            self.partial.setdefault(name, f"on the 'otherwise' path of {path}")
        available.update({n: f for n, f in self.inferred.items() if n not in available})
        return RunBranch(node.when, then_plan, else_plan), both


def _input_field(consumer: Field, name: str) -> Field:
    return Field(name, consumer.type, required=consumer.required, default=consumer.default)


def _first_label(node: Node) -> str | None:
    if isinstance(node, Step):
        return node.label
    if isinstance(node, tuple) and node:
        return _first_label(node[0])
    return None


def _default_intent(
    wf: WorkflowDefinition, requires: Sequence[Field], provides: Sequence[Field]
) -> str:
    steps = ", ".join(dict.fromkeys(wf.step_names()))
    return (
        f"Workflow producing {', '.join(f.name for f in provides)} from "
        f"{', '.join(f.name for f in requires) or 'nothing'} via {steps}"
    )


def _compatible(provided: Any, required: Any) -> bool:
    """Can a value declared as ``provided`` ever satisfy ``required``? Conservative: only a
    clear mismatch between concrete types (``str`` into ``int``) is rejected at build time;
    the engine still checks every actual value at run time."""
    if provided is Any or required is Any or provided is required:
        return True
    p_origin, r_origin = typing.get_origin(provided), typing.get_origin(required)
    if p_origin in (typing.Union, types.UnionType):
        return any(_compatible(a, required) for a in typing.get_args(provided))
    if r_origin in (typing.Union, types.UnionType):
        return any(_compatible(provided, a) for a in typing.get_args(required))
    p_base = p_origin or provided
    r_base = r_origin or required
    if not (isinstance(p_base, type) and isinstance(r_base, type)):
        return True
    if typing.is_typeddict(provided) or typing.is_typeddict(required):
        return True
    if r_base is float and p_base is int:
        return True
    return issubclass(p_base, r_base) or issubclass(r_base, p_base)
