"""One actor store, several writers (two runtimes stand in for two processes: each has its own
SQLite connection and its own cached sequence numbers), and idempotency keys that must not be
reused for a different message. The real two-process and kill -9 runs are in
tests/integration/test_actor_durability.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from capabilities import ContractError, Engine, Registry
from capabilities.runtime.actors import ActorRuntime


def counter_registry() -> Registry:
    registry = Registry()

    @registry.actor(requires={"value": int}, provides=["total"], initial_state={"total": 0})
    def counter(message: dict, state: dict) -> tuple[int, dict]:
        """Keep a running total."""
        state["total"] += message["value"]
        return state["total"], state

    return registry


@pytest.fixture
def writers(tmp_path: Path):
    """Two runtimes on one file, each with its own connection and cached sequence numbers."""
    store = str(tmp_path / "shared.sqlite")
    with (
        Engine(counter_registry(), store=store) as one,
        Engine(counter_registry(), store=store) as two,
    ):
        yield ActorRuntime(one), ActorRuntime(two)


def test_two_writers_on_one_store_interleave_without_wedging(writers):
    a, b = writers
    totals = []
    for i in range(1, 21):  # each writer's cached sequence goes stale on every other send
        runtime = a if i % 2 else b
        result = runtime.send_sync("counter", "x", {"value": i}, idempotency_key=f"k{i}")
        assert result.ok, result.error
        totals.append(result.outputs["total"])
    assert totals == [sum(range(1, i + 1)) for i in range(1, 21)]  # always the fresh state
    assert [m.seq for m in a.history("counter", "x")] == list(range(1, 21))
    assert b.state("counter", "x") == {"total": 210}


def test_a_key_committed_by_the_other_writer_is_replayed_not_reapplied(writers):
    a, b = writers
    a.send_sync("counter", "x", {"value": 1})
    b.send_sync("counter", "x", {"value": 2})  # b now caches seq 2
    assert a.send_sync("counter", "x", {"value": 5}, idempotency_key="once").outputs == {"total": 8}
    again = b.send_sync("counter", "x", {"value": 5}, idempotency_key="once")
    assert again.outputs == {"total": 8}
    assert b.state("counter", "x") == {"total": 8}


def test_an_idempotency_key_reused_with_a_different_message_is_an_error(tmp_path: Path):
    with Engine(counter_registry(), store=str(tmp_path / "s.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        assert runtime.send_sync("counter", "x", {"value": 5}, idempotency_key="k1").ok
        reused = runtime.send_sync("counter", "x", {"value": 6}, idempotency_key="k1")
        assert reused.status == "failed"
        assert isinstance(reused.error, ContractError)
        assert (reused.error.capability, reused.error.field) == ("counter", "idempotency_key")
        assert "'k1'" in str(reused.error) and "different message" in str(reused.error)
        assert runtime.state("counter", "x") == {"total": 5}  # nothing applied, nothing replayed
        # the same message again (a true resend) still answers from the log
        assert runtime.send_sync("counter", "x", {"value": 5}, idempotency_key="k1").outputs == {
            "total": 5
        }
