"""Fallbacks: which capability answers when the primary failed, checked, and its outcome.

``FALLBACK_CHAIN`` holds the capabilities already falling back in this call chain, so two
capabilities naming each other cannot loop.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capabilities.core.protocols import PolicyOutcome
from capabilities.errors import ContractError

if TYPE_CHECKING:  # types only
    from capabilities.core.effects import MetricsRegistry
    from capabilities.core.model import Capability

FALLBACK_CHAIN: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "packetflowFALLBACK_CHAIN", default=frozenset()
)


def check_fallback(fallback: str | None, cap: Capability, registry: Any) -> Capability | None:
    """Raise :class:`ContractError` unless the fallback can stand in for ``cap``.

    Returns the fallback capability. Called on first use; scenario loaders may call it at
    load time to fail early.
    """
    if fallback is None:
        return None
    fb = registry.get(fallback)
    if fb.name == cap.name:
        raise ContractError(cap.name, None, "policy.fallback names the capability itself")
    for f in cap.provides:
        if f.name not in fb.output_names:
            raise ContractError(
                fb.name,
                f.name,
                f"fallback for {cap.name!r} must provide every output of it; {f.name!r} is missing",
            )
    for name in fb.required_inputs:
        if name not in cap.input_names:
            raise ContractError(
                fb.name,
                name,
                f"fallback for {cap.name!r} requires an input {cap.name!r} does not take",
            )
    return fb


def fallback_outcome(
    fallback: str | None,
    primary_error: Exception,
    result: Any,
    cap: Capability,
    metrics: MetricsRegistry,
    count: int,
) -> PolicyOutcome:
    if result.status == "failed":
        metrics.inc("resilience.fallbacks", cap.name, "failed")
        primary_error.add_note(
            f"fallback {fallback!r} also failed: {type(result.error).__name__}: {result.error}"
        )
        raise primary_error
    metrics.inc("resilience.fallbacks", cap.name, "ok")
    return PolicyOutcome(
        result.outputs,
        max(count, 1),
        degraded=True,
        served_by=result.served_by or result.capability,
    )


def inputs_for(fb: Capability, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    if inputs is None:
        return {}
    return {k: v for k, v in inputs.items() if k in fb.input_names}
