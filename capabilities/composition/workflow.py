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

import ast
import asyncio
import contextvars
import operator
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Union

from capabilities.core.context import Context
from capabilities.core.data import parse_fields
from capabilities.core.model import Capability, Field
from capabilities.core.protocols import EngineHandle, PolicyOutcome
from capabilities.errors import (
    CapabilityNotFound,
    PacketFlowError,
    RegistrationError,
    StepFailed,
    WorkflowError,
)

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry

# ---------------------------------------------------------------------------------------------
# The definition: plain immutable values
# ---------------------------------------------------------------------------------------------


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
    capability: str | Capability | Workflow,
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
    return Parallel(tuple(_as_node(b) for b in branches))


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
    return Branch(Condition.of(when), _as_seq(then), _as_seq(otherwise))


def _as_seq(nodes: Node | Sequence[Node]) -> tuple[Node, ...]:
    if isinstance(nodes, Step | Parallel | Branch):
        return (nodes,)
    if isinstance(nodes, str):
        return (step(nodes),)
    return tuple(_as_node(n) for n in nodes)


def _as_node(node: Any) -> Node:
    if isinstance(node, Step | Parallel | Branch):
        return node
    if isinstance(node, str):
        return step(node)
    if isinstance(node, list | tuple):
        return _as_seq(node)
    raise RegistrationError(
        f"a workflow step must be step(...), parallel(...), branch(...) or a list of them, "
        f"got {type(node).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# Conditions: a callable, or a safe expression over the data
# ---------------------------------------------------------------------------------------------

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "any": any, "all": all, "abs": abs}
_CONSTANTS = {"True": True, "False": False, "None": None}


@dataclass(frozen=True, slots=True)
class Condition:
    """A branch predicate. ``names`` are the data fields it reads (``None``: unknown, a callable)."""

    text: str
    names: frozenset[str] | None
    _fn: Callable[[Mapping[str, Any]], Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, when: str | Callable[[Mapping[str, Any]], Any] | Condition) -> Condition:
        if isinstance(when, Condition):
            return when
        if isinstance(when, str):
            return cls.parse(when)
        if callable(when):
            return cls(getattr(when, "__name__", repr(when)), None, when)
        raise RegistrationError(
            f"branch condition must be an expression string or a callable, got {when!r}"
        )

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Compile ``text`` into a predicate; only names, constants, comparisons, ``and`` /
        ``or`` / ``not``, arithmetic, ``x[...]`` and ``len/any/all/abs`` are allowed."""
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise RegistrationError(
                f"condition {text!r} is not an expression ({exc.msg})"
            ) from None
        names: set[str] = set()
        _check_expression(tree, text, names)
        return cls(text, frozenset(names), lambda data: _evaluate(tree, data))

    def __call__(self, data: Mapping[str, Any]) -> bool:
        return bool(self._fn(data))


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


def _check_expression(node: ast.AST, text: str, names: set[str]) -> None:
    """Reject anything outside the whitelist; collect the data names the expression reads."""
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            names.add(node.id)
        return
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS) or node.keywords:
            raise RegistrationError(
                f"condition {text!r}: only {sorted(_FUNCTIONS)} may be called, "
                f"not {ast.unparse(node.func)!r}"
            )
        for arg in node.args:
            _check_expression(arg, text, names)
        return
    allowed = (
        ast.Constant,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.Compare,
        ast.BinOp,
        ast.Subscript,
        ast.List,
        ast.Tuple,
        ast.Set,
        ast.Load,
        *_COMPARE,
        *_BINOPS,
    )
    if not isinstance(node, allowed):
        raise RegistrationError(
            f"condition {text!r}: {type(node).__name__} ({ast.unparse(node)!r}) is not allowed; "
            "use names, constants, comparisons, and/or/not, arithmetic and x['key']"
        )
    for child in ast.iter_child_nodes(node):
        _check_expression(child, text, names)


def _evaluate(node: ast.AST, data: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return data[node.id]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            value: Any = True
            for v in node.values:
                value = _evaluate(v, data)
                if not value:
                    return value
            return value
        value = False
        for v in node.values:
            value = _evaluate(v, data)
            if value:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, data)
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, data)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, data)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_evaluate(node.left, data), _evaluate(node.right, data))
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, data)[_evaluate(node.slice, data)]
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(e, data) for e in node.elts]
    if isinstance(node, ast.Set):
        return {_evaluate(e, data) for e in node.elts}
    if isinstance(node, ast.Call):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, data) for a in node.args))  # type: ignore[attr-defined]
    raise PacketFlowError(f"cannot evaluate {ast.unparse(node)!r}")  # unreachable: checked


# ---------------------------------------------------------------------------------------------
# The workflow and its build-time check
# ---------------------------------------------------------------------------------------------


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
        object.__setattr__(self, "steps", _as_seq(self.steps))
        object.__setattr__(self, "permissions", tuple(self.permissions))
        object.__setattr__(self, "examples", tuple(self.examples))
        if not self.steps:
            raise RegistrationError(f"workflow {self.name!r} has no steps")

    def build(self, registry: Registry) -> Capability:
        """Check every contract of the graph against ``registry`` and return the runnable
        capability (``kind="workflow"``). Raises :class:`WorkflowError` on the first problem."""
        return _Builder(self, registry).build()

    def outline(self) -> list[Any]:
        """The shape as plain data: a step is its label, ``{"parallel": [...]}``,
        ``{"branch": when, "then": [...], "otherwise": [...]}``; handy for tests and plans."""
        return [_outline(n) for n in self.steps]

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


def _outline(node: Node) -> Any:
    if isinstance(node, Step):
        return node.label
    if isinstance(node, Parallel):
        return {"parallel": [_outline(b) for b in node.branches]}
    if isinstance(node, Branch):
        return {
            "branch": node.when.text,
            "then": [_outline(n) for n in node.then],
            "otherwise": [_outline(n) for n in node.otherwise],
        }
    return [_outline(n) for n in node]


# Compiled nodes: what execution walks (capabilities resolved, mappings as tuples).


@dataclass(frozen=True, slots=True)
class _RunStep:
    label: str
    cap: Capability
    sources: tuple[tuple[str, str], ...]  # (parameter, data field)
    targets: tuple[tuple[str, str], ...]  # (output, data field)
    grants: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _RunParallel:
    branches: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _RunBranch:
    when: Condition
    then: tuple[Any, ...]
    otherwise: tuple[Any, ...]


class _Builder:
    """Walks the definition once, tracking which fields exist at each point."""

    def __init__(self, workflow: Workflow, registry: Registry):
        self.wf = workflow
        self.registry = registry
        self.declared: dict[str, Field] | None = None
        if workflow.requires is not None:
            fields = parse_fields(workflow.requires, f"workflow {workflow.name!r}: requires")
            self.declared = {f.name: f for f in fields}
        self.inferred: dict[str, Field] = {}
        self.used: set[str] = set()
        self.partial: dict[str, str] = {}  # field -> where it is produced on one path only

    def error(self, field_name: str | None, problem: str, *, path: str, step: str | None = None):
        return WorkflowError(self.wf.name, field_name, problem, step=step, path=path)

    # -- entry ----------------------------------------------------------------------------------
    def build(self) -> Capability:
        available: dict[str, Field] = dict(self.declared or {})
        plan, produced = self.sequence(self.wf.steps, available, "steps")
        requires = self.requires_fields()
        provides = self.provides_fields(available, produced)
        if self.declared is not None:
            unused = [n for n in self.declared if n not in self.used and n not in provides]
            if unused:
                raise self.error(
                    unused[0],
                    "declared input is read by no step, condition or output; remove it or "
                    "check its spelling",
                    path="requires",
                )
        runner = _Runner(self.wf.name, plan, tuple(f.name for f in provides))
        is_async = _plan_is_async(plan)
        intent = self.wf.intent.strip() or _default_intent(self.wf, requires, provides)
        return Capability(
            name=self.wf.name,
            intent=intent,
            requires=requires,
            provides=provides,
            execute=runner.execute if is_async else runner.execute_sync,
            permissions=self.wf.permissions,
            examples=self.wf.examples,
            policy=_WORKFLOW_POLICY,
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
        if isinstance(target, Workflow):
            return target.build(self.registry)
        try:
            return self.registry.get(target)
        except CapabilityNotFound as exc:
            raise self.error(None, str(exc), path=path, step=st.label) from None

    def step(self, st: Step, available: dict[str, Field], path: str) -> tuple[_RunStep, dict]:
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
            _RunStep(
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
    ) -> tuple[_RunParallel, dict]:
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
        return _RunParallel(tuple(compiled)), produced

    def branch(
        self, node: Branch, available: dict[str, Field], path: str
    ) -> tuple[_RunBranch, dict]:
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
        return _RunBranch(node.when, then_plan, else_plan), both


def _input_field(consumer: Field, name: str) -> Field:
    return Field(name, consumer.type, required=consumer.required, default=consumer.default)


def _first_label(node: Node) -> str | None:
    if isinstance(node, Step):
        return node.label
    if isinstance(node, tuple) and node:
        return _first_label(node[0])
    return None


def _default_intent(wf: Workflow, requires: Sequence[Field], provides: Sequence[Field]) -> str:
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


# ---------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    """The process-wide pool sync steps of parallel branches run on (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="pf-workflow")
        return _pool


@dataclass(slots=True)
class _Returned:
    """What a workflow's execute hands its policy: the outputs and the degraded steps."""

    outputs: dict[str, Any]
    degraded: tuple[str, ...]


class _WorkflowPolicy:
    """Marks a workflow's result degraded when any step's was (never silently wrong)."""

    def execute_sync(self, call, cap, engine, context, inputs=None) -> PolicyOutcome:
        return _unwrap(call())

    async def execute_async(self, call, cap, engine, context, inputs=None) -> PolicyOutcome:
        return _unwrap(await call())

    def __repr__(self) -> str:
        return "WorkflowPolicy()"


def _unwrap(value: Any) -> PolicyOutcome:
    if isinstance(value, _Returned):
        return PolicyOutcome(value.outputs, degraded=bool(value.degraded))
    return PolicyOutcome(value)


_WORKFLOW_POLICY = _WorkflowPolicy()


class _Runner:
    """Executes a compiled plan; one instance per built workflow, no per-run state.

    A workflow whose steps are all synchronous runs synchronously (``execute_sync``): the
    engine calls it inline, parallel branches go to the thread pool, and no event loop is
    started per call. As soon as one step is async the whole workflow is (``execute``), and
    parallel branches become asyncio tasks — sync steps inside them still go to the pool.
    """

    def __init__(self, name: str, plan: tuple[Any, ...], provides: tuple[str, ...]):
        self.name = name
        self.plan = plan
        self.provides = provides

    # -- shared by both modes ---------------------------------------------------------------
    @staticmethod
    def child(node: _RunStep, ctx: Context, engine: EngineHandle) -> Context:
        if node.grants is None:
            return ctx.child("inherit", label=node.label)
        return ctx.child(
            "restrict", grants=node.grants, label=node.label, hierarchy=engine.hierarchy
        )

    def store(self, node: _RunStep, result: Any, data: dict, degraded: list[str]) -> None:
        if result.status == "failed":
            raise StepFailed(self.name, node.label, result.error)
        if result.status == "degraded":
            degraded.append(node.label)
        outputs = result.outputs
        for out, target in node.targets:
            data[target] = outputs[out]

    @staticmethod
    def open_branch(node: _RunBranch, data: dict, ctx: Context, engine: EngineHandle):
        chosen = node.when(MappingProxyType(data))
        span = ctx.trace.start(
            f"branch[{'then' if chosen else 'otherwise'}]",
            ctx.span_id,
            engine.clock(),
            condition=node.when.text,
        )
        return (node.then if chosen else node.otherwise), span

    @staticmethod
    def merge(data: dict, snapshot: dict, results: list[dict]) -> None:
        for branch_data in results:
            for k, v in branch_data.items():
                if k not in snapshot or snapshot[k] is not v:
                    data[k] = v

    # -- synchronous mode -------------------------------------------------------------------
    def execute_sync(self, engine: EngineHandle, context: Context, **inputs: Any) -> _Returned:
        data = dict(inputs)
        degraded: list[str] = []
        self.sequence_sync(self.plan, data, engine, context, degraded)
        return _Returned({n: data[n] for n in self.provides}, tuple(degraded))

    def sequence_sync(self, plan, data, engine: EngineHandle, ctx: Context, degraded) -> None:
        for node in plan:
            kind = type(node)
            if kind is _RunStep:
                child = self.child(node, ctx, engine)
                inputs = {param: data[src] for param, src in node.sources if src in data}
                self.store(node, engine.run(node.cap, inputs, child), data, degraded)
            elif kind is _RunParallel:
                self.parallel_sync(node, data, engine, ctx, degraded)
            else:
                chosen, span = self.open_branch(node, data, ctx, engine)
                span.status = "failed"
                try:
                    self.sequence_sync(chosen, data, engine, ctx.at_span(span.span_id), degraded)
                    span.status = "ok"
                finally:
                    span.end = engine.clock()

    def parallel_sync(self, node: _RunParallel, data, engine: EngineHandle, ctx: Context, degraded):
        span = ctx.trace.start("parallel", ctx.span_id, engine.clock())
        inner = ctx.at_span(span.span_id)
        snapshot = dict(data)
        results = [dict(snapshot) for _ in node.branches]
        pool = _thread_pool()
        futures = [
            pool.submit(
                contextvars.copy_context().run,
                self.sequence_sync,
                plan,
                branch_data,
                engine,
                inner,
                degraded,
            )
            for plan, branch_data in zip(node.branches[1:], results[1:])
        ]
        errors: list[BaseException] = []
        try:  # the first branch runs on this thread: one hand-off fewer, one pool slot fewer
            self.sequence_sync(node.branches[0], results[0], engine, inner, degraded)
        except Exception as exc:
            errors.append(exc)
        for future in futures:  # threads cannot be cancelled: wait for every branch
            exc = future.exception()
            if exc is not None:
                errors.append(exc)
        span.end = engine.clock()
        span.status = "failed" if errors else "ok"
        if errors:
            raise errors[0]
        self.merge(data, snapshot, results)

    # -- asynchronous mode ------------------------------------------------------------------
    async def execute(self, engine: EngineHandle, context: Context, **inputs: Any) -> _Returned:
        data = dict(inputs)
        degraded: list[str] = []
        await self.sequence(self.plan, data, engine, context, degraded, False)
        return _Returned({n: data[n] for n in self.provides}, tuple(degraded))

    async def sequence(self, plan, data, engine: EngineHandle, ctx: Context, degraded, threaded):
        for node in plan:
            kind = type(node)
            if kind is _RunStep:
                await self.step(node, data, engine, ctx, degraded, threaded)
            elif kind is _RunParallel:
                await self.parallel(node, data, engine, ctx, degraded)
            else:
                chosen, span = self.open_branch(node, data, ctx, engine)
                span.status = "failed"
                try:
                    await self.sequence(
                        chosen, data, engine, ctx.at_span(span.span_id), degraded, threaded
                    )
                    span.status = "ok"
                finally:
                    span.end = engine.clock()

    async def step(
        self, node: _RunStep, data, engine: EngineHandle, ctx: Context, degraded, threaded
    ):
        inputs = {param: data[src] for param, src in node.sources if src in data}
        child = self.child(node, ctx, engine)
        cap = node.cap
        if cap.is_async or not threaded:
            result = await engine.run_async(cap, inputs, child)
        else:
            loop = asyncio.get_running_loop()
            call = contextvars.copy_context().run
            result = await loop.run_in_executor(
                _thread_pool(), call, engine.run, cap, inputs, child
            )
        self.store(node, result, data, degraded)

    async def parallel(
        self, node: _RunParallel, data, engine: EngineHandle, ctx: Context, degraded
    ):
        span = ctx.trace.start("parallel", ctx.span_id, engine.clock())
        inner = ctx.at_span(span.span_id)
        snapshot = dict(data)
        results = [dict(snapshot) for _ in node.branches]
        status, error = "ok", None
        try:
            async with asyncio.TaskGroup() as group:
                for branch_plan, branch_data in zip(node.branches, results):
                    group.create_task(
                        self.sequence(branch_plan, branch_data, engine, inner, degraded, True)
                    )
        except BaseExceptionGroup as eg:
            status = "failed"
            error = eg.exceptions[0]
        finally:
            span.end = engine.clock()
            span.status = status
        if error is not None:
            raise error
        self.merge(data, snapshot, results)


def _plan_is_async(plan: Sequence[Any]) -> bool:
    for node in plan:
        if type(node) is _RunStep:
            if node.cap.is_async:
                return True
        elif type(node) is _RunParallel:
            if any(_plan_is_async(b) for b in node.branches):
                return True
        elif _plan_is_async(node.then) or _plan_is_async(node.otherwise):
            return True
    return False


def workflow_of(capability: Capability) -> Workflow:
    """The definition behind a built workflow capability."""
    wf = capability.metadata.get("workflow")
    if capability.kind != "workflow" or not isinstance(wf, Workflow):
        raise RegistrationError(f"capability {capability.name!r} is not a workflow")
    return wf
