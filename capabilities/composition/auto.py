"""Automatic composition: the shortest workflow that turns what you have into what you want.

Capabilities chain where one's ``provides`` meets another's ``requires``. :func:`compose` finds
the *fewest* capabilities whose chain produces every wanted field from the given ones, then
schedules them in layers — everything whose inputs are ready runs in the same ``parallel``
layer — and returns a validated :class:`Workflow`.

Search is breadth-first over sets of chosen capabilities, so the first complete set found is
minimal. Each expansion picks the first unmet field (in name order) and branches on the
capabilities that could produce it — any valid plan must contain one of them, so nothing
shorter is skipped. Only capabilities reachable from ``have`` are considered at all, which
keeps the search small. Ties between equally short plans are broken by ``prefer`` scores (e.g.
similarity to a request) and then by name, so the same registry always gives the same plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from capabilities.composition.workflow import Node, Workflow, parallel, step
from capabilities.core.model import Capability
from capabilities.errors import CompositionError

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry

DEFAULT_MAX_STATES = 50_000


def compose(
    registry: Registry,
    have: Iterable[str],
    want: Iterable[str],
    *,
    name: str | None = None,
    intent: str | None = None,
    include: Iterable[str] = (),
    prefer: Mapping[str, float] | None = None,
    max_states: int = DEFAULT_MAX_STATES,
) -> Workflow:
    """The shortest valid workflow producing ``want`` from ``have`` (checked before returning).

    ``include`` names capabilities that must be part of the plan (the planner's goals);
    ``prefer`` scores capabilities for breaking ties between equally short plans.
    Raises :class:`CompositionError` naming each unreachable output and what it is missing.
    """
    have_set = frozenset(have)
    wanted = tuple(dict.fromkeys(want))
    layers = compose_layers(
        registry, have_set, wanted, include=include, prefer=prefer, max_states=max_states
    )
    caps = [registry.get(n) for layer in layers for n in layer]
    steps = layer_steps(layers)
    if not steps:
        raise CompositionError({}, "nothing to compose: every wanted field is already in 'have'")
    requires: dict[str, Any] = {}
    for cap in caps:
        for f in cap.requires:
            if f.name in have_set:
                requires.setdefault(f.name, f.type)
    for w in wanted:
        if w in have_set:
            requires.setdefault(w, Any)
    provides = list(wanted) or sorted({f for c in caps for f in c.output_names})
    wf = Workflow(
        name or _default_name(provides),
        tuple(steps),
        intent=intent or "",
        requires=requires,
        provides=provides,
    )
    wf.build(registry)  # validated before it is returned; raises WorkflowError if not
    return wf


def compose_layers(
    registry: Registry,
    have: Iterable[str],
    want: Iterable[str],
    *,
    include: Iterable[str] = (),
    prefer: Mapping[str, float] | None = None,
    max_states: int = DEFAULT_MAX_STATES,
) -> list[list[str]]:
    """The names of the chosen capabilities in execution layers (a layer runs in parallel)."""
    return _Search(registry, frozenset(have), tuple(want), tuple(include), prefer or {}).run(
        max_states
    )


class _Search:
    def __init__(
        self,
        registry: Registry,
        have: frozenset[str],
        want: tuple[str, ...],
        include: tuple[str, ...],
        prefer: Mapping[str, float],
    ):
        self.have = have
        self.want = want
        self.prefer = prefer
        self.caps: dict[str, Capability] = {c.name: c for c in sorted(registry, key=_name)}
        for n in include:
            registry.get(n)  # CapabilityNotFound for a typo
        self.include = frozenset(include)
        self.closure, self.usable = self.reachable()
        self.producers: dict[str, list[str]] = {}
        for n in sorted(self.usable, key=self.rank):
            for out in sorted(self.caps[n].output_names):
                self.producers.setdefault(out, []).append(n)

    def rank(self, name: str) -> tuple[float, str]:
        return (-self.prefer.get(name, 0.0), name)

    def reachable(self) -> tuple[frozenset[str], frozenset[str]]:
        """Every field derivable from ``have`` and the capabilities able to run at all."""
        avail = set(self.have)
        usable: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, cap in self.caps.items():
                if name not in usable and cap.required_inputs <= avail:
                    usable.add(name)
                    avail |= cap.output_names
                    changed = True
        return frozenset(avail), frozenset(usable)

    # -- errors ---------------------------------------------------------------------------------
    def check_reachable(self) -> None:
        unreachable = {w: self.missing_for(w, frozenset({w})) for w in self.want}
        unreachable = {w: m for w, m in unreachable.items() if w not in self.closure}
        blocked = sorted(self.include - self.usable)
        if not unreachable and not blocked:
            return
        lines = []
        for w in unreachable:
            makers = [c for c in self.caps.values() if w in c.output_names]
            if not makers:
                lines.append(f"{w!r}: no capability provides it")
                continue
            why = "; ".join(
                f"{c.name} needs {sorted(c.required_inputs - self.closure)}" for c in makers
            )
            lines.append(f"{w!r}: {why}")
        for n in blocked:
            need = sorted(self.caps[n].required_inputs - self.closure)
            unreachable.setdefault(n, self.missing_for_cap(n))
            lines.append(f"capability {n!r} cannot run: it needs {need}")
        supply = sorted({m for ms in unreachable.values() for m in ms})
        detail = (
            f"cannot produce {sorted(unreachable)} from {sorted(self.have) or 'nothing'}: "
            + " | ".join(lines)
            + (f". Missing inputs nobody provides: {supply}" if supply else "")
        )
        raise CompositionError({k: tuple(v) for k, v in unreachable.items()}, detail)

    def missing_for(self, field: str, seen: frozenset[str]) -> list[str]:
        """The fields nobody provides (and nobody supplied) that block ``field``."""
        if field in self.closure:
            return []
        makers = [c for c in self.caps.values() if field in c.output_names]
        if not makers:
            return [field]
        out: set[str] = set()
        for c in makers:
            for inp in c.required_inputs - self.closure:
                if inp not in seen:
                    out.update(self.missing_for(inp, seen | {inp}))
        return sorted(out)

    def missing_for_cap(self, name: str) -> list[str]:
        out: set[str] = set()
        for inp in self.caps[name].required_inputs - self.closure:
            out.update(self.missing_for(inp, frozenset({inp})))
        return sorted(out)

    # -- search ---------------------------------------------------------------------------------
    def schedule(self, state: frozenset[str]) -> tuple[list[list[str]], list[str], set[str]]:
        return layer_schedule(self.caps, self.have, state)

    def run(self, max_states: int) -> list[list[str]]:
        self.check_reachable()
        want = set(self.want)
        frontier = [self.include]
        seen = {self.include}
        explored = 0
        while frontier:
            goals: list[tuple[tuple, list[list[str]]]] = []
            successors: list[frozenset[str]] = []
            for state in frontier:
                layers, remaining, avail = self.schedule(state)
                if not remaining and want <= avail:
                    key = (-sum(self.prefer.get(n, 0.0) for n in state), tuple(sorted(state)))
                    goals.append((key, layers))
                    continue
                if goals:
                    continue  # a plan of this length exists; only compare plans of this length
                explored += 1
                if explored > max_states:
                    raise CompositionError(
                        {w: () for w in self.want},
                        f"composition search gave up after {max_states} partial plans; "
                        "narrow the registry or pass more fields in 'have'",
                    )
                for option in self.options(state, avail, remaining, want):
                    child = state | {option}
                    if child not in seen:
                        seen.add(child)
                        successors.append(child)
            if goals:
                return min(goals)[1]
            frontier = successors
        raise CompositionError(  # only when dependencies are circular all the way down
            {w: () for w in self.want},
            f"no acyclic chain produces {sorted(self.want)} from {sorted(self.have)}",
        )

    def options(
        self, state: frozenset[str], avail: set[str], remaining: list[str], want: set[str]
    ) -> list[str]:
        needs = set(want)
        for n in state:
            needs |= self.caps[n].required_inputs
        missing = needs - avail
        written_by_state = set().union(*(self.caps[n].output_names for n in state))
        strong = sorted(missing - written_by_state)
        if strong:  # nobody in the plan writes it: some producer of it must join
            return [p for p in self.producers.get(strong[0], []) if p not in state]
        # only circular dependencies left: some producer of some missing input must join
        out: dict[str, None] = {}
        for n in remaining:
            for f in sorted(self.caps[n].required_inputs - avail):
                out.update((p, None) for p in self.producers.get(f, []) if p not in state)
        return sorted(out, key=self.rank)


def layer_schedule(
    caps: Mapping[str, Capability], have: Iterable[str], names: Iterable[str]
) -> tuple[list[list[str]], list[str], set[str]]:
    """Order ``names`` into layers: each layer is every capability whose required inputs are
    ready (minus any that would write a field another in the layer writes; those wait a
    layer). Returns the layers, the names that can never run, and the fields available."""
    avail = set(have)
    remaining = sorted(names)
    layers: list[list[str]] = []
    while remaining:
        layer: list[str] = []
        written: set[str] = set()
        for n in remaining:
            cap = caps[n]
            if cap.required_inputs <= avail and not (cap.output_names & written):
                layer.append(n)
                written |= cap.output_names
        if not layer:
            break
        layers.append(layer)
        avail |= written
        remaining = [n for n in remaining if n not in layer]
    return layers, remaining, avail


def layer_steps(layers: list[list[str]]) -> list[Node]:
    """Workflow steps for scheduled layers: a layer of one is a step, a wider one a parallel."""
    return [
        step(layer[0]) if len(layer) == 1 else parallel(*(step(n) for n in layer))
        for layer in layers
    ]


def _name(cap: Capability) -> str:
    return cap.name


def _default_name(provides: list[str]) -> str:
    text = re.sub(r"\W+", "_", "compose_" + "_".join(provides))[:60].strip("_")
    return text if text.isidentifier() else "composed_workflow"
