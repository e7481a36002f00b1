"""Resilience counters: the metric names a policy records, and reading them back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only
    from capabilities.core.effects import MetricsRegistry

COUNTERS = (
    "resilience.retries",
    "resilience.breaker_trips",
    "resilience.rejected",
    "resilience.timeouts",
    "resilience.fallbacks",
)


"""The metric names a policy records (labelled by capability)."""


# -- the policy ------------------------------------------------------------------------------


def resilience_counts(
    metrics: MetricsRegistry, capabilities: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """Per capability: ``{"retries", "breaker_trips", "rejected", "timeouts", "fallbacks"}``.

    Without ``capabilities``, every capability that has any of these counts. The arena sums
    these over the capabilities of a zone for its per-zone summary.
    """
    names = (
        sorted({c for (n, c, _), v in list(metrics.counters.items()) if n in COUNTERS and v})
        if capabilities is None
        else list(capabilities)
    )
    return {
        name: {m.removeprefix("resilience."): metrics.count(m, name) for m in COUNTERS}
        for name in names
    }


# -- helpers ---------------------------------------------------------------------------------
