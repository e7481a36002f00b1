"""A small customer-service capability set, used by the engine demo and the quickstart."""

from __future__ import annotations

from typing import TypedDict

from capabilities import Registry, audit_log, metric


class Profile(TypedDict):
    enriched_profile: dict
    insights: list[str]
    confidence_score: float


def build_registry(registry: Registry | None = None) -> Registry:
    """Register the example capabilities on ``registry`` (a new one by default)."""
    registry = registry if registry is not None else Registry()

    @registry.capability(effects=[audit_log(), metric("enrichment_seconds", kind="histogram")])
    def user_profile_enrichment(user_id: str, data_sources: list[str]) -> Profile:
        """Enrich a user profile with insights gathered from the given data sources."""
        insights = [f"{user_id} appears in {src}" for src in data_sources]
        return {
            "enriched_profile": {"user_id": user_id, "sources": sorted(data_sources)},
            "insights": insights,
            "confidence_score": min(1.0, 0.4 + 0.2 * len(data_sources)),
        }

    @registry.capability(
        provides=["ticket_id", "priority"], effects=[audit_log(), metric("tickets")]
    )
    def open_support_ticket(customer_id: str, problem: str, urgent: bool = False) -> dict:
        """Open a support ticket for a customer's technical problem."""
        priority = "high" if urgent or "down" in problem.lower() else "normal"
        return {
            "ticket_id": f"T-{abs(hash((customer_id, problem))) % 100000:05d}",
            "priority": priority,
        }

    @registry.capability(provides=["balance"], effects=[audit_log()])
    def account_balance(account_id: str) -> float:
        """Look up the current balance of a bank account."""
        return float(sum(ord(c) for c in account_id) % 5000) + 0.5

    @registry.capability(provides=["refund_id"], effects=[audit_log(level="warning")])
    def issue_refund(customer_id: str, amount: float) -> str:
        """Refund money to a customer for a disputed charge."""
        if amount <= 0:
            raise ValueError(f"refund amount must be positive, got {amount}")
        return f"R-{customer_id}-{int(amount * 100)}"

    return registry
