"""A registry for the MCP tests: the customer examples, a guarded capability and an actor.

Imported by the tests directly and by ``packetflow-arena mcp serve --registry
mcp_test_registry`` subprocesses (with ``tests/`` on ``PYTHONPATH``). Discovery uses the real
default embedder unless ``fake_meaning=True`` (in-process unit tests only).
"""

from __future__ import annotations

from capabilities import Registry
from capabilities.examples.customer import build_registry as customer_registry


def build_registry(fake_meaning: bool = False) -> Registry:
    embedder = None
    if fake_meaning:
        from fakes import BagOfWordsEmbedder

        embedder = BagOfWordsEmbedder()
    registry = customer_registry(Registry(embedder=embedder))

    @registry.capability(provides=["secret"], permissions=["vault:read"])
    def read_secret(key: str) -> str:
        """Read a secret value from the vault."""
        return f"secret-of-{key}"

    @registry.capability(provides=["mean", "count"])
    def average(values: list[float], weights: dict[str, float] | None = None) -> dict:
        """Average a list of numbers."""
        if not values:
            raise ValueError("cannot average an empty list")
        return {"mean": sum(values) / len(values), "count": len(values)}

    @registry.actor(
        requires={"value": int},
        provides=["total", "messages"],
        initial_state={"total": 0, "messages": 0},
    )
    def tally(message: dict, state: dict) -> tuple[dict, dict]:
        """Keep a running tally of the values sent to it."""
        state["total"] += message["value"]
        state["messages"] += 1
        return dict(state), state

    return registry
