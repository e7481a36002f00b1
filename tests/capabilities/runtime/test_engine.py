"""The engine: run / run_async, failures as Results, injected services, nested traces, permissions."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from fakes import BagOfWordsEmbedder

from capabilities import (
    Capability,
    CapabilityNotFound,
    Context,
    ContractError,
    Engine,
    PacketFlowError,
    PermissionDenied,
    Registry,
    audit_log,
    metric,
)


class Boom(RuntimeError):
    pass


def build() -> Registry:
    registry = Registry(BagOfWordsEmbedder())

    @registry.capability(provides=["y"], effects=[audit_log(), metric("calls")])
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    @registry.capability(provides=["y"])
    async def slow_double(x: int) -> int:
        """Double a number, asynchronously."""
        await asyncio.sleep(0)
        return 2 * x

    @registry.capability(provides=["y"], effects=[audit_log()])
    def explode(x: int) -> int:
        """Always fails."""
        raise Boom(f"cannot handle {x}")

    @registry.capability(provides=["y"])
    async def explode_async(x: int) -> int:
        """Always fails, asynchronously."""
        raise Boom("async failure")

    @registry.capability(provides={"y": "int"})
    def liar(x: int) -> dict:
        """Breaks its output contract."""
        return {"y": "not an int"}

    @registry.capability(provides=["y", "z"])
    def forgetful(x: int) -> dict:
        """Forgets an output."""
        return {"y": x}

    @registry.capability(provides=["who", "request", "span"])
    def introspect(ctx: Context) -> dict:
        """Report the context it was given."""
        return {"who": ctx.principal, "request": ctx.request_id, "span": ctx.span_id}

    @registry.capability(provides=["y"])
    def quadruple(x: int, ctx: Context, engine: Engine) -> int:
        """Call double twice through the engine, as the caller."""
        once = engine.run("double", {"x": x}, ctx).unwrap()["y"]
        return engine.run("double", {"x": once}, ctx).unwrap()["y"]

    @registry.capability(provides=["y"])
    async def quadruple_async(x: int, ctx: Context, engine: Engine) -> int:
        """Call slow_double twice concurrently through the engine."""
        a, b = await asyncio.gather(
            engine.run_async("slow_double", {"x": x}, ctx),
            engine.run_async("slow_double", {"x": x}, ctx),
        )
        return a.outputs["y"] + b.outputs["y"]

    @registry.capability(provides=["balance"], permissions=["accounts:read"], effects=[audit_log()])
    def balance(account_id: str) -> float:
        """Read an account balance."""
        return 10.0

    return registry


@pytest.fixture
def engine():
    with Engine(build()) as e:
        yield e


def test_run_returns_outputs_status_and_a_finished_span(engine):
    ctx = Context(principal="ada")
    result = engine.run("double", {"x": 21}, ctx)
    assert (result.status, result.outputs, result.error) == ("ok", {"y": 42}, None)
    assert result.ok and result.unwrap() == {"y": 42}
    assert result.capability == "double" and result.request_id == ctx.request_id
    assert result.span.name == "double" and result.span.status == "ok"
    assert result.span.parent_id is None and result.span.end >= result.span.start
    assert result.duration == result.span.duration >= 0
    assert list(result.trace) == [result.span] and result.trace is ctx.trace


def test_each_run_without_context_gets_its_own_request(engine):
    a, b = engine.run("double", {"x": 1}), engine.run("double", {"x": 1})
    assert a.request_id != b.request_id and len(a.trace) == 1


def test_an_injected_clock_times_executions():
    ticks = itertools.count(0.0, 0.5)
    with Engine(build(), clock=lambda: next(ticks)) as engine:
        result = engine.run("double", {"x": 1})
    assert result.duration == 0.5


def test_async_capability_runs_from_sync_code(engine):
    assert engine.run("slow_double", {"x": 4}).outputs == {"y": 8}


async def test_run_async_runs_async_and_sync_capabilities(engine):
    assert (await engine.run_async("slow_double", {"x": 5})).outputs == {"y": 10}
    assert (await engine.run_async("double", {"x": 5})).outputs == {"y": 10}


async def test_sync_run_of_an_async_capability_inside_a_loop_says_what_to_do(engine):
    with pytest.raises(PacketFlowError, match=r"await engine\.run_async"):
        engine.run("slow_double", {"x": 1})


@pytest.mark.parametrize("name", ["explode", "explode_async"])
def test_a_raising_capability_is_a_failed_result_not_a_crash(engine, name):
    result = engine.run(name, {"x": 3})
    assert result.status == "failed" and not result.ok
    assert isinstance(result.error, Boom) and result.outputs == {}
    assert result.span.status == "failed"
    assert result.span.attributes["error"].startswith("Boom: ")
    with pytest.raises(Boom):
        result.unwrap()
    assert engine.run("double", {"x": 1}).ok  # the engine carries on


async def test_a_raising_async_capability_fails_under_run_async(engine):
    result = await engine.run_async("explode_async", {"x": 1})
    assert result.status == "failed" and isinstance(result.error, Boom)


@pytest.mark.parametrize(
    ("name", "field", "problem"),
    [("liar", "y", "output expected int, got str"), ("forgetful", "z", "promised output")],
)
def test_breaking_the_output_contract_is_a_failed_result(engine, name, field, problem):
    result = engine.run(name, {"x": 1})
    assert result.status == "failed" and result.outputs == {}
    assert isinstance(result.error, ContractError)
    assert (result.error.capability, result.error.field) == (name, field)
    assert problem in str(result.error)


def test_caller_mistakes_raise_at_the_call_site(engine):
    with pytest.raises(ContractError) as info:
        engine.run("double", {"x": "2"})
    assert (info.value.capability, info.value.field) == ("double", "x")
    with pytest.raises(CapabilityNotFound, match="did you mean 'double'"):
        engine.run("dubble", {"x": 1})


def test_a_typo_in_an_input_is_one_clear_line(engine):
    with pytest.raises(ContractError) as info:
        engine.run("balance", {"acount_id": "acc-1"}, Context(grants=["accounts:read"]))
    message = str(info.value)
    assert message == (
        "capability 'balance': field 'acount_id': unknown input; did you mean 'account_id'?"
    )


def test_a_typo_through_the_cli_prints_one_line_and_no_traceback(monkeypatch, capsys):
    from arena import cli

    def run_with_typo(args):
        with Engine(build()) as engine:
            engine.run("double", {"xx": 1})

    monkeypatch.setitem(cli.COMMANDS, "typo", ("run a capability with a typo", None, run_with_typo))
    assert cli.main(["typo"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "packetflow-arena: error: capability 'double': field 'xx': unknown input; "
        "did you mean 'x'?\n"
    )


def test_a_capability_object_can_be_run_without_registering_it(engine):
    cap = Capability.from_function(lambda a, b: a + b, name="add", intent="Add", provides=["sum"])
    assert engine.run(cap, {"a": 1, "b": 2}).outputs == {"sum": 3}


def test_injected_context_is_the_callers_at_this_execution(engine):
    ctx = Context(principal="grace")
    result = engine.run("introspect", {}, ctx)
    assert result.outputs == {
        "who": "grace",
        "request": ctx.request_id,
        "span": result.span.span_id,
    }


def test_nested_calls_through_the_injected_engine_nest_their_spans(engine):
    ctx = Context(principal="ada")
    result = engine.run("quadruple", {"x": 3}, ctx)
    assert result.outputs == {"y": 12}
    spans = list(result.trace)
    assert [s.name for s in spans] == ["quadruple", "double", "double"]
    root = spans[0]
    assert root.parent_id is None
    assert all(s.parent_id == root.span_id for s in spans[1:])
    assert all(root.start <= s.start and s.end <= root.end for s in spans[1:])
    assert result.trace.children(root.span_id) == spans[1:]
    lines = result.trace.render().splitlines()
    assert lines[0].startswith("quadruple [ok]")
    assert lines[1].startswith("  double [ok]") and lines[2].startswith("  double [ok]")
    # nested executions are audited under the same request
    rows = engine.audit.rows("double")
    assert [r["request_id"] for r in rows] == [ctx.request_id] * 2


async def test_concurrent_nested_async_calls_share_the_trace(engine):
    result = await engine.run_async("quadruple_async", {"x": 2})
    assert result.outputs == {"y": 8}
    root = result.span
    children = result.trace.children(root.span_id)
    assert [c.name for c in children] == ["slow_double", "slow_double"]
    assert len(result.trace) == 3


def test_missing_permission_raises_and_is_audited(engine):
    with pytest.raises(PermissionDenied) as info:
        engine.run("balance", {"account_id": "a"}, Context(principal="eve", grants=["files:read"]))
    assert (info.value.capability, info.value.permission, info.value.principal) == (
        "balance",
        "accounts:read",
        "eve",
    )
    assert "lacks permission 'accounts:read'" in str(info.value)
    rows = engine.audit.rows("balance")
    assert [(r["status"], r["principal"]) for r in rows] == [("denied", "eve")]
    assert "accounts:read" in rows[0]["error"]


def test_a_permission_implied_by_a_grant_lets_the_call_through(engine):
    ctx = Context(principal="ada", grants=["accounts:admin"])  # admin => write => read
    assert engine.run("balance", {"account_id": "a"}, ctx).outputs == {"balance": 10.0}
    assert [r["status"] for r in engine.audit.rows("balance")] == ["ok"]
