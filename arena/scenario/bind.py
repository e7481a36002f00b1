"""Binding a scenario to the core engine: a :class:`capabilities.Registry` of its capabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from capabilities import Capability, PacketFlowError, Registry

from ..errors import ScenarioError
from .datasets import load_dataset
from .parse import load_scenario
from .sections import build_policy
from .spec import CapabilitySpec, Scenario


def build_registry(scenario: Scenario, registry: Registry | None = None) -> Registry:
    """A registry holding the scenario's capabilities, examples attached."""
    registry = registry if registry is not None else Registry()
    examples = _dataset_examples(scenario)
    for i, c in enumerate(scenario.capabilities):
        where = f"capabilities[{i}]"
        data = _capability_data(c, examples.get(c.name, []))
        try:
            cap = Capability.from_data(data, where=where)
        except PacketFlowError as exc:
            raise ScenarioError(
                scenario.file, where, str(exc).removeprefix(where + ": ").removeprefix(where)
            ) from None
        if c.policy is not None:
            cap = cap.replace(policy=build_policy(c.policy, scenario.file, f"{where}.policy"))
        registry.register(cap, replace=True)
    return registry


def _dataset_examples(scenario: Scenario) -> dict[str, list[str]]:
    """Per capability, up to ``examples.per_label`` sample texts per label of its own."""
    if scenario.examples is None:
        return {}
    by_label = load_dataset(
        scenario.examples.source, scenario_file=scenario.file, field="examples.source"
    ).by_label()
    examples: dict[str, list[str]] = {}
    for c in scenario.capabilities:
        pool = [t for lab in c.labels for t in by_label.get(lab, ())]
        examples[c.name] = pool[: scenario.examples.per_label * max(1, len(c.labels))]
    return examples


def _capability_data(c: CapabilitySpec, extra_examples: list[str]) -> dict[str, Any]:
    """The plain data :meth:`capabilities.Capability.from_data` takes for one capability."""
    data: dict[str, Any] = {
        "name": c.name,
        "intent": c.intent,
        "function": c.function,
        "permissions": list(c.permissions),
        "examples": list(c.examples) + extra_examples,
        "metadata": {"service_time": c.service_time, "faults": c.faults, "labels": c.labels},
    }
    if c.requires is not None:
        data["requires"] = c.requires
    if c.provides is not None:
        data["provides"] = c.provides
    return data


def load_registry(path: str | Path) -> Registry:
    """The registry of a scenario's capabilities (used by ``mcp serve --scenario``)."""
    return build_registry(load_scenario(path))
