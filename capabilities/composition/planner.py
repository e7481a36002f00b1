"""Planning from plain language: a request in words -> a validated workflow and why.

:class:`SemanticPlanner` (the default, offline) works in three moves:

1. **Goals by meaning.** The request is split into clauses at explicit sequencing words
   ("then", "after that", ";"), and each clause's closest capability (``registry.discover``,
   all-MiniLM-L6-v2) becomes a goal.
2. **Backward chaining on contracts.** Every input a goal needs is either supplied by the caller
   or produced by another capability, chained back until only supplied inputs remain. Where
   several capabilities could produce a field, the one closest in meaning to the request is
   tried first (a "PDF" request extracts text from the PDF, a "scanned letter" one runs OCR),
   falling back to the next when its own inputs cannot be met. Supplied are: ``have``, fields
   no capability produces, and identifiers (``*_id``) no goal produces — an id names something
   that already exists, so the planner never invents a "create customer" step to act on one.
   The chosen capabilities run in dependency layers, independent ones in parallel.
   (:func:`capabilities.composition.auto.compose` is the other tool: the *shortest* chain, blind to
   meaning.)
3. **Validation.** The plan is built into a :class:`Workflow` and checked against the registry
   before it is returned.

Any object with the :class:`Planner` protocol's ``plan`` method can replace it, e.g. one that
asks an LLM for the goals or the whole graph; :func:`evaluate` scores any planner on cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from capabilities.composition.auto import layer_schedule, layer_steps
from capabilities.composition.workflow import Workflow
from capabilities.core.model import Capability
from capabilities.errors import PacketFlowError

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry

_CLAUSE_BREAK = re.compile(
    r"\s*(?:;|,?\s+and\s+then\s+|,?\s+then\s+|,?\s+after\s+that\s*,?\s+|"
    r",?\s+afterwards\s*,?\s+|,?\s+followed\s+by\s+|,?\s+and\s+also\s+)\s*",
    re.IGNORECASE,
)


_LEADING_WORD = re.compile(
    r"^(?:and\s+then|then|after\s+that|afterwards|followed\s+by|and\s+also)\b[\s,]*",
    re.IGNORECASE,
)


class PlanningError(PacketFlowError):
    """No plan could be made for a request (nothing matches, or nothing valid chains)."""


@dataclass(frozen=True)
class Plan:
    """A planned workflow: ``workflow`` (the definition), ``capability`` (built and validated),
    the ``goals`` chosen for the request and an ``explanation`` in words."""

    request: str
    workflow: Workflow
    capability: Capability
    goals: tuple[str, ...]
    explanation: str
    supplied: tuple[str, ...] = ()
    candidates: tuple[tuple[str, float], ...] = field(default=(), repr=False)

    def outline(self) -> list[Any]:
        return self.workflow.outline()


@runtime_checkable
class Planner(Protocol):
    """Turns a plain-language request into a validated :class:`Plan` over ``registry``."""

    def plan(self, request: str, registry: Registry, have: Iterable[str] = ()) -> Plan: ...


def split_request(request: str) -> list[str]:
    """The clauses of a request, split at explicit sequencing words only ("then", ";", ...).

    A bare "and" is not a split: "terms and conditions" is one thing.
    """
    parts = [_LEADING_WORD.sub("", p.strip(" ,.")) for p in _CLAUSE_BREAK.split(request)]
    return [p for p in parts if p]


def is_identifier(field_name: str) -> bool:
    return field_name == "id" or field_name.endswith("_id") or field_name.endswith("_ids")


class SemanticPlanner:
    """The default planner: discovery by meaning, then backward chaining on contracts.

    ``candidates`` is how many matches are weighed per clause; a clause whose best match scores
    below ``min_score`` is rejected rather than guessed at; in a one-clause request, matches
    scoring at least ``closeness`` times the best compete to be its aim (see :meth:`aim_of`).
    """

    def __init__(self, *, candidates: int = 4, min_score: float = 0.2, closeness: float = 0.7):
        self.candidates = candidates
        self.min_score = min_score
        self.closeness = closeness

    def plan(self, request: str, registry: Registry, have: Iterable[str] = ()) -> Plan:
        if not isinstance(request, str) or not request.strip():
            raise PlanningError("the planner needs a non-empty request")
        if len(registry) == 0:
            raise PlanningError("the registry is empty: there is nothing to plan with")
        have_set = frozenset(have)
        goals, lines = self.choose_goals(request, registry)
        scores = {m.capability.name: m.score for m in registry.discover(request, k=len(registry))}
        supplied = self.supplied_fields(registry, goals, have_set)
        chosen = self.backward_chain(registry, goals, supplied, scores)
        caps = {n: registry.get(n) for n in chosen}
        # an identifier a chosen step creates is read from that step, not asked of the caller
        created = {f for c in caps.values() for f in c.output_names} - have_set
        supplied = frozenset(f for f in supplied if not (is_identifier(f) and f in created))
        layers, stuck, _ = layer_schedule(caps, supplied, chosen)
        if stuck:
            raise PlanningError(
                f"request {request!r}: {stuck} wait on each other's outputs (a cycle); "
                "pass one of their inputs in 'have'"
            )
        workflow = self.workflow_for(request, registry, layers, supplied, goals)
        capability = workflow.build(registry)  # validated before it is returned
        lines += self.explain_chain(registry, layers, supplied, have_set)
        return Plan(
            request=request,
            workflow=workflow,
            capability=capability,
            goals=goals,
            explanation="\n".join(lines),
            supplied=tuple(f.name for f in capability.requires),
            candidates=tuple(sorted(scores.items(), key=lambda kv: -kv[1])[: self.candidates]),
        )

    # -- the three moves ------------------------------------------------------------------------
    def choose_goals(self, request: str, registry: Registry) -> tuple[tuple[str, ...], list[str]]:
        goals: list[str] = []
        lines = [f"Request: {request!r}"]
        clauses = split_request(request) or [request]
        for clause in clauses:
            matches: list[Any] = registry.discover(clause, k=self.candidates + len(goals))
            fresh = [m for m in matches if m.capability.name not in goals]
            if not fresh or fresh[0].score < self.min_score:
                best = (
                    f" (best: {fresh[0].capability.name} at {fresh[0].score:.2f})" if fresh else ""
                )
                raise PlanningError(
                    f"no capability matches {clause!r} well enough{best}; "
                    f"rephrase it or lower min_score (now {self.min_score})"
                )
            goal, reason = fresh[0], ""
            if len(clauses) == 1:
                goal, reason = self.aim_of(fresh)
            goals.append(goal.capability.name)
            others = ", ".join(f"{m.capability.name} {m.score:.2f}" for m in fresh if m is not goal)
            lines.append(
                f"Goal {goal.capability.name} (similarity {goal.score:.2f}) for {clause!r}"
                + reason
                + (f"; also considered: {others}" if others else "")
            )
        return tuple(goals), lines

    def aim_of(self, matches: Sequence[Any]) -> tuple[Any, str]:
        """Among the matches about as close as the best, the one the others feed into.

        A one-clause request usually names both its material ("this scanned letter") and its
        aim ("a short summary"); the material's capability (OCR) may match best, but its
        output is an input of the aim's (summarise), so the aim is the goal and the material's
        capability is chained in front of it by backward chaining.
        """
        best = matches[0]
        close = [m for m in matches if m.score >= best.score * self.closeness]

        def feeds_another(m: Any) -> bool:
            outs = m.capability.output_names
            return any(o is not m and outs & o.capability.input_names for o in close)

        for m in close:
            if not feeds_another(m):
                if m is best:
                    return best, ""
                return m, f" (its input comes from {best.capability.name}, the best match)"
        return best, ""

    @staticmethod
    def backward_chain(
        registry: Registry,
        goals: Sequence[str],
        supplied: frozenset[str],
        scores: Mapping[str, float],
    ) -> tuple[str, ...]:
        """The goals plus every capability needed to produce their missing inputs."""
        producers: dict[str, list[Capability]] = {}
        for cap in sorted(registry, key=lambda c: (-scores.get(c.name, 0.0), c.name)):
            for out in cap.output_names:
                producers.setdefault(out, []).append(cap)

        def provided(chosen: tuple[str, ...]) -> set[str]:
            return set(supplied).union(*(registry.get(n).output_names for n in chosen))

        def need(
            cap: Capability, chosen: tuple[str, ...], path: frozenset[str]
        ) -> tuple[str, ...] | None:
            for f in sorted(cap.required_inputs):
                if f in provided(chosen):
                    continue
                for producer in producers.get(f, []):
                    if producer.name in path:
                        continue  # would wait on its own output
                    found = need(producer, (*chosen, producer.name), path | {producer.name})
                    if found is not None:
                        chosen = found
                        break
                else:
                    return None
            return chosen

        chosen: tuple[str, ...] = tuple(goals)
        for g in goals:
            found = need(registry.get(g), chosen, frozenset({g}))
            if found is None:
                missing = sorted(registry.get(g).required_inputs - provided(chosen))
                raise PlanningError(
                    f"goal {g!r} needs {missing}, which no chain of capabilities can produce "
                    f"from what is supplied ({sorted(supplied)}); pass them in 'have'"
                )
            chosen = found
        return chosen

    @staticmethod
    def supplied_fields(
        registry: Registry, goals: Sequence[str], have: frozenset[str]
    ) -> frozenset[str]:
        produced = {f for c in registry for f in c.output_names}
        goal_outputs = {f for g in goals for f in registry.get(g).output_names}
        needed = {f for c in registry for f in c.input_names}
        free = {f for f in needed if f not in produced}
        ids = {f for f in needed if is_identifier(f) and f not in goal_outputs}
        return frozenset(have | free | ids)

    @staticmethod
    def workflow_for(
        request: str,
        registry: Registry,
        layers: list[list[str]],
        supplied: frozenset[str],
        goals: Sequence[str],
    ) -> Workflow:
        steps = layer_steps(layers)
        requires: dict[str, Any] = {}
        produced: set[str] = set()
        for layer in layers:
            for n in layer:
                for f in registry.get(n).requires:
                    if (
                        f.name in supplied
                        and f.name not in produced
                        and (f.required or f.name not in requires)
                    ):
                        requires.setdefault(f.name, f.type)
            produced |= {f for n in layer for f in registry.get(n).output_names}
        provides = list(dict.fromkeys(f for g in goals for f in registry.get(g).output_names))
        name = re.sub(r"\W+", "_", "plan_" + "_then_".join(goals))[:80]
        return Workflow(name, tuple(steps), intent=request, requires=requires, provides=provides)

    @staticmethod
    def explain_chain(
        registry: Registry, layers: list[list[str]], supplied: frozenset[str], have: frozenset[str]
    ) -> list[str]:
        lines: list[str] = []
        producer: dict[str, str] = {}
        you_supply: list[str] = []
        for layer in layers:
            for n in layer:
                cap = registry.get(n)
                for f in sorted(cap.required_inputs):
                    if f in producer:
                        lines.append(f"{n} needs {f!r}: produced by {producer[f]} (chained)")
                    elif f not in you_supply:
                        you_supply.append(f)
            for n in layer:
                for f in registry.get(n).output_names:
                    producer[f] = n
        for f in you_supply:
            why = (
                "you have it"
                if f in have
                else "an identifier of something that exists"
                if is_identifier(f)
                else "no capability produces it"
            )
            lines.append(f"You supply {f!r} ({why})")
        shape = " -> ".join(" || ".join(layer) for layer in layers)
        lines.append(f"Plan: {shape}")
        return lines


def evaluate(
    planner: Planner, registry: Registry, cases: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Score ``planner`` on ``cases`` (each ``{"request", "expected", "have"?}``, ``expected``
    being the plan's outline). Returns the share of exact matches and every miss."""
    hits, misses = 0, []
    for case in cases:
        try:
            got: Any = planner.plan(case["request"], registry, case.get("have", ())).outline()
        except PacketFlowError as exc:
            got = f"error: {exc}"
        if got == case["expected"]:
            hits += 1
        else:
            misses.append({"request": case["request"], "expected": case["expected"], "got": got})
    return {"cases": len(cases), "hits": hits, "share": hits / len(cases), "misses": misses}
