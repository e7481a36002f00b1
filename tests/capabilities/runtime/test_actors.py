"""Actor capabilities: mailboxes, durable state, idempotency, compaction, calls to other capabilities."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capabilities import (
    Capability,
    Context,
    ContractError,
    Engine,
    PacketFlowError,
    PermissionDenied,
    RegistrationError,
    Registry,
)
from capabilities.runtime.actors import ActorRuntime, actor_spec, actors_of, runtime_for


def counter_registry() -> Registry:
    registry = Registry()

    @registry.actor(
        requires={"value": int}, provides=["total"], initial_state={"total": 0, "log": []}
    )
    def counter(message: dict, state: dict) -> tuple[int, dict]:
        """Keep a running total of the values sent to it."""
        if message["value"] < 0:
            state["total"] = -999  # mutate, then fail: the committed state must not change
            raise ValueError("negative values are refused")
        state["total"] += message["value"]
        state["log"].append(message["value"])
        return state["total"], state

    return registry


def test_actor_is_a_capability_with_an_actor_contract():
    cap = counter_registry().get("counter")
    assert isinstance(cap, Capability)
    assert cap.kind == "actor"
    assert [f.name for f in cap.requires] == ["actor_id", "message", "idempotency_key"]
    assert cap.required_inputs == {"actor_id", "message"}
    assert [f.name for f in cap.provides] == ["total"]
    assert [f.name for f in actor_spec(cap).message_fields] == ["value"]


def test_state_is_kept_per_actor_id_and_survives_a_restart(tmp_path: Path):
    store = str(tmp_path / "pf.sqlite")
    with Engine(counter_registry(), store=store) as engine:
        for v in (1, 2, 3):
            assert engine.run("counter", {"actor_id": "a", "message": {"value": v}}).ok
        out = engine.run("counter", {"actor_id": "b", "message": {"value": 10}})
        assert out.outputs == {"total": 10}
        runtime_for(engine).close()
    with Engine(counter_registry(), store=store) as engine:
        runtime = ActorRuntime(engine)
        assert runtime.state("counter", "a") == {"total": 6, "log": [1, 2, 3]}
        assert runtime.actor_ids("counter") == ["a", "b"]
        assert runtime.send_sync("counter", "a", {"value": 4}).outputs == {"total": 10}
        assert [m.message["value"] for m in runtime.history("counter", "a")] == [1, 2, 3, 4]
        assert [m.reply for m in runtime.history("counter", "a", limit=2)] == [6, 10]
        runtime.close()


def test_idempotency_key_returns_stored_reply_without_reapplying(tmp_path: Path):
    with Engine(counter_registry(), store=str(tmp_path / "s.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        first = runtime.send_sync("counter", "a", {"value": 5}, idempotency_key="k1")
        again = runtime.send_sync("counter", "a", {"value": 5}, idempotency_key="k1")
        assert first.outputs == again.outputs == {"total": 5}
        assert runtime.state("counter", "a")["log"] == [5]
        # the same key on another actor id is a different message
        assert runtime.send_sync("counter", "b", {"value": 5}, idempotency_key="k1").ok
        assert runtime.state("counter", "b")["log"] == [5]
        runtime.close()


def test_a_failing_handler_commits_nothing():
    with Engine(counter_registry()) as engine:
        runtime = ActorRuntime(engine)
        runtime.send_sync("counter", "a", {"value": 2})
        failed = runtime.send_sync("counter", "a", {"value": -1})
        assert failed.status == "failed"
        assert "negative values" in str(failed.error)
        assert runtime.state("counter", "a") == {"total": 2, "log": [2]}
        assert len(runtime.history("counter", "a")) == 1
        assert runtime.send_sync("counter", "a", {"value": 3}).outputs == {"total": 5}


def test_bad_messages_name_the_field():
    with Engine(counter_registry()) as engine:
        runtime = ActorRuntime(engine)
        with pytest.raises(ContractError, match=r"'message.value': expected int"):
            runtime.send_sync("counter", "a", {"value": "3"})
        with pytest.raises(ContractError, match=r"'message.valeu'.*did you mean 'value'"):
            runtime.send_sync("counter", "a", {"valeu": 3})
        via_engine = engine.run("counter", {"actor_id": "a", "message": {}})
        assert isinstance(via_engine.error, ContractError)
        assert via_engine.error.field == "message.value"
        with pytest.raises(ContractError, match="'actor_id'"):
            engine.run("counter", {"actor_id": 3, "message": {"value": 1}})
        with pytest.raises(PacketFlowError, match="no capability named 'missing'"):
            runtime.send_sync("missing", "a", {})


def test_plain_capabilities_are_not_actors():
    registry = counter_registry()

    @registry.capability(provides=["y"])
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    with Engine(registry) as engine, pytest.raises(PacketFlowError, match="not an actor"):
        ActorRuntime(engine).send_sync("double", "a", {})


def test_declaration_errors_are_clear():
    registry = Registry()
    with pytest.raises(RegistrationError, match=r"exactly \(message, state\)"):

        @registry.actor(intent="x")
        def too_many(message, state, extra):
            return None, state

    with pytest.raises(ContractError, match="JSON-serialisable"):

        @registry.actor(intent="x", initial_state={"s": {1, 2}})
        def bad_state(message, state):
            return None, state

    @registry.actor(intent="returns a non-JSON state")
    def leaky(message, state):
        return "ok", {"s": object()}

    with Engine(registry) as engine:
        result = engine.run("leaky", {"actor_id": "a", "message": {}})
        assert isinstance(result.error, ContractError)
        assert "'state'" in str(result.error)


async def test_one_id_is_strictly_ordered_and_different_ids_run_concurrently():
    registry = Registry()
    both_inside = asyncio.Event()
    inside: set[str] = set()

    @registry.actor(intent="remember the order messages arrive in", initial_state=list)
    async def recorder(message: dict, state: list) -> tuple[int, list]:
        if message.get("rendezvous"):
            # Only completes if the other id's handler runs at the same time.
            inside.add(message["rendezvous"])
            if len(inside) == 2:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), timeout=5)
        else:
            await asyncio.sleep(0)  # yield: a later message must still wait its turn
        state.append(message["n"])
        return len(state), state

    with Engine(registry) as engine:
        runtime = ActorRuntime(engine)
        results = await asyncio.gather(
            *(runtime.send("recorder", "x", {"n": i}) for i in range(50)),
            *(runtime.send("recorder", "y", {"n": i}) for i in range(50)),
        )
        assert all(r.ok for r in results)
        assert runtime.state("recorder", "x") == list(range(50))
        assert runtime.state("recorder", "y") == list(range(50))
        pair = await asyncio.gather(
            runtime.send("recorder", "p", {"n": 0, "rendezvous": "p"}),
            runtime.send("recorder", "q", {"n": 0, "rendezvous": "q"}),
        )
        assert [r.status for r in pair] == ["ok", "ok"]


def test_threads_sending_to_one_id_never_lose_an_update():
    with Engine(counter_registry()) as engine:
        runtime = ActorRuntime(engine)

        def work() -> None:
            for _ in range(50):
                runtime.send_sync("counter", "shared", {"value": 1})

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert runtime.state("counter", "shared")["total"] == 200
        assert [m.seq for m in runtime.history("counter", "shared")] == list(range(1, 201))


def test_actor_calls_other_capabilities_with_its_callers_authority():
    registry = Registry()

    @registry.capability(provides=["balance"], permissions=["accounts:read"])
    def balance(account: str) -> float:
        """Look up a balance."""
        return 42.0

    @registry.actor(intent="answer questions about accounts", requires=["account"])
    def teller(message: dict, state: dict, engine: Engine, context: Context) -> tuple[dict, dict]:
        result = engine.run("balance", {"account": message["account"]}, context)
        state["asked"] = state.get("asked", 0) + 1
        return {"balance": result.unwrap()["balance"], "principal": context.principal}, state

    with Engine(registry) as engine:
        runtime = ActorRuntime(engine)
        ok = runtime.send_sync(
            "teller", "t", {"account": "a1"}, context=Context("ann", ["accounts:admin"])
        )
        assert ok.outputs["reply"] == {"balance": 42.0, "principal": "ann"}
        denied = runtime.send_sync("teller", "t", {"account": "a1"}, context=Context("bob"))
        assert isinstance(denied.error, PermissionDenied)
        assert runtime.state("teller", "t", principal="ann") == {"asked": 1}
        assert runtime.state("teller", "t") == {}, "state belongs to the principal that wrote it"
        assert [c.name for c in actors_of(registry)] == ["teller"]


def test_compaction_snapshots_state_and_trims_the_log(tmp_path: Path):
    with Engine(counter_registry(), store=str(tmp_path / "c.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        for v in range(1, 11):
            runtime.send_sync("counter", "a", {"value": v}, idempotency_key=f"k{v}")
        runtime.send_sync("counter", "b", {"value": 1})
        removed = runtime.compact("counter", keep_last=3)
        assert removed == 7
        assert [m.seq for m in runtime.history("counter", "a")] == [8, 9, 10]
        assert runtime.snapshots("counter", "a") == [(10, runtime.state("counter", "a"))]
        assert runtime.state("counter", "a")["total"] == 55
        # the log keeps going after compaction, and recent keys still deduplicate
        assert runtime.send_sync("counter", "a", {"value": 10}, idempotency_key="k10").outputs == {
            "total": 55
        }
        assert runtime.send_sync("counter", "a", {"value": 1}).outputs == {"total": 56}
        with pytest.raises(PacketFlowError, match="keep_last"):
            runtime.compact(keep_last=-1)
        runtime.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 1000), st.booleans()),
        max_size=30,
    )
)
def test_state_equals_the_fold_of_committed_messages_across_restarts(tmp_path_factory, messages):
    """Invariant: after any sequence of messages (some resent with their key, with a restart in
    the middle), each id's state is the sum of its distinct messages, each applied once."""
    store = str(tmp_path_factory.mktemp("fold") / "s.sqlite")
    expected: dict[str, list[int]] = {}
    half = len(messages) // 2
    for part in (messages[:half], messages[half:]):
        with Engine(counter_registry(), store=store) as engine:
            runtime = ActorRuntime(engine)
            for actor_id, value, resend in part:
                key = f"{actor_id}-{value}"
                seen = key in {f"{actor_id}-{v}" for v in expected.get(actor_id, [])}
                reply = runtime.send_sync(
                    "counter", actor_id, {"value": value}, idempotency_key=key
                ).outputs["total"]
                if not seen:
                    expected.setdefault(actor_id, []).append(value)
                if resend:
                    again = runtime.send_sync(
                        "counter", actor_id, {"value": value}, idempotency_key=key
                    )
                    assert again.outputs["total"] == reply
            runtime.close()
    with Engine(counter_registry(), store=store) as engine:
        runtime = ActorRuntime(engine)
        for actor_id, values in expected.items():
            assert runtime.state("counter", actor_id) == {"total": sum(values), "log": values}
        runtime.close()
