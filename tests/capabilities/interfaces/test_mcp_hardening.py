"""The cases of issue #15 in-process (official SDK client): actor isolation, sync work off the
loop, safe errors with request ids, hidden = unknown, annotations, prompts, templates,
progress, logging/setLevel, serverInfo.version and output schemas."""

from __future__ import annotations

import importlib.metadata
import logging

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_hostile_registry import RELEASE, build_registry

from capabilities import Context, Engine, Registry
from capabilities.errors import RegistrationError
from capabilities.examples.research_assistant import register as register_assistant
from capabilities.interfaces.mcp import build_server
from capabilities.interfaces.mcp.host import Extras
from capabilities.runtime.actors import runtime_for


@pytest.fixture
def registry() -> Registry:
    return build_registry(fake_meaning=True)


def text(result) -> str:
    return result.content[0].text


# -- actor state belongs to a principal --------------------------------------------------------
async def test_the_confused_deputy_case_is_refused(registry):
    register_assistant(registry)
    engine = Engine(registry)
    ann = build_server(registry, engine, principal="ann")
    bob = build_server(registry, engine, principal="bob")
    msg = {"text": "my password is zebracorn for the vault"}
    async with Client(ann) as a, Client(bob) as b:
        told = await a.call_tool(
            "send", {"actor": "ai_research_assistant", "actor_id": "ann-private", "message": msg}
        )
        assert not told.is_error
        probe = {"text": "what is the password for the vault"}
        got = await b.call_tool(
            "send", {"actor": "ai_research_assistant", "actor_id": "ann-private", "message": probe}
        )
        assert "zebracorn" not in str(got.structured_content), "bob read ann's conversation"
    runtime = runtime_for(engine)  # the engine's runtime (its store is in memory)
    anns = runtime.state("ai_research_assistant", "ann-private", principal="ann")
    assert [h["question"] for h in anns["history"]] == [msg["text"]], "bob wrote into ann's"
    bobs = runtime.state("ai_research_assistant", "ann-private", principal="bob")
    assert [h["question"] for h in bobs["history"]] == [probe["text"]]


def test_the_runtime_scopes_state_without_mcp_and_shared_actors_are_declared():
    registry = Registry()

    @registry.actor(initial_state={"n": 0})
    def counter(message: dict, state: dict) -> tuple[int, dict]:
        """Count messages."""
        state["n"] += 1
        return state["n"], state

    @registry.actor(initial_state={"n": 0}, scope="shared")
    def board(message: dict, state: dict) -> tuple[int, dict]:
        """A board every principal writes to."""
        state["n"] += 1
        return state["n"], state

    with Engine(registry) as engine:
        run = engine.run
        assert run("counter", {"actor_id": "x", "message": {}}, Context("ann")).outputs == {
            "reply": 1
        }
        assert run("counter", {"actor_id": "x", "message": {}}, Context("bob")).outputs == {
            "reply": 1
        }
        # a principal named like another's namespace prefix cannot reach it
        sly = run("counter", {"actor_id": "x", "message": {}}, Context("ann/x"))
        assert sly.outputs == {"reply": 1}
        assert run("board", {"actor_id": "b", "message": {}}, Context("ann")).outputs["reply"] == 1
        assert run("board", {"actor_id": "b", "message": {}}, Context("bob")).outputs["reply"] == 2
        runtime = runtime_for(engine)  # the engine's runtime (its store is in memory)
        assert runtime.actor_ids("counter", principal="ann") == ["x"]
        assert runtime.state("board", "b") == {"n": 2}
    with pytest.raises(RegistrationError, match="scope must be one of"):
        registry.actor(lambda message, state: (1, state), name="bad", scope="everyone")


# -- sync work off the event loop --------------------------------------------------------------
async def test_a_slow_sync_call_does_not_delay_another_sessions_fast_call(registry):
    RELEASE.clear()
    server = build_server(registry)
    async with Client(server) as slow, Client(server) as fast:
        with anyio.fail_after(20):  # on the event loop, the fast call could never finish
            async with anyio.create_task_group() as tg:
                results = {}

                async def call_slow() -> None:
                    results["slow"] = await slow.call_tool("wait_for_release", {"timeout": 15})

                tg.start_soon(call_slow)
                await anyio.sleep(0.2)
                quick = await fast.call_tool("account_balance", {"account_id": "a"})
                assert not quick.is_error
                assert "slow" not in results, "the fast call returned while the slow one runs"
                RELEASE.set()
        assert results["slow"].structured_content == {"waited": True}


async def test_a_slow_resource_read_does_not_block_other_requests(registry):
    gate = anyio.Event()
    released = []

    def slow_summary() -> dict:
        """A summary that takes a while the first time."""
        import time

        deadline = time.monotonic() + 15
        while not released and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"ready": bool(released)}

    server = build_server(registry, extras=Extras(resources={"arena://summary": slow_summary}))
    async with Client(server) as reader, Client(server) as other:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:

                async def read() -> None:
                    res = await reader.read_resource("arena://summary")
                    assert '"ready": true' in res.contents[0].text
                    gate.set()

                tg.start_soon(read)
                await anyio.sleep(0.2)
                assert not (await other.call_tool("average", {"values": [1.0]})).is_error
                assert not gate.is_set()
                released.append(True)


# -- errors ------------------------------------------------------------------------------------
async def test_exception_text_stays_in_the_log_under_the_request_id(registry, caplog):
    caplog.set_level(logging.INFO, logger="packetflow.mcp")
    async with Client(build_server(registry)) as client:
        failed = await client.call_tool("connect_db", {"query": "select 1"})
    assert failed.is_error
    assert "hunter2" not in text(failed) and "postgres" not in text(failed)
    info = failed.meta["packetflow/error"]
    assert info["class"] == "RuntimeError" and text(failed).startswith("RuntimeError: ")
    assert f"(request {info['request_id']})" in text(failed)
    logged = [r.getMessage() for r in caplog.records if "hunter2" in r.getMessage()]
    assert logged and f"request {info['request_id']}:" in logged[0]


async def test_hidden_and_unknown_tools_answer_alike(registry):
    async with Client(build_server(registry, principal="bob")) as client:
        answers = []
        for name in ("read_secret", "no_such_tool"):
            with pytest.raises(MCPError) as err:
                await client.call_tool(name, {"key": "k"})
            answers.append((err.value.code, err.value.message.replace(name, "NAME")))
        assert answers[0] == answers[1]
        for uri in ("capability://read_secret", "capability://no_such_tool"):
            with pytest.raises(MCPError) as err:
                await client.read_resource(uri)
            assert "Unknown capability" in err.value.message and "vault" not in err.value.message


# -- what agents see ---------------------------------------------------------------------------
async def test_annotations_come_from_the_declaration(registry):
    async with Client(build_server(registry, grants=["reports:read", "vault:read"])) as client:
        tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    assert tools["wipe_records"].destructive_hint is True
    assert tools["wipe_records"].read_only_hint is False
    assert tools["list_reports"].read_only_hint is True  # every permission is read-level
    assert tools["list_reports"].idempotent_hint is True
    assert tools["tally"].read_only_hint is False and tools["tally"].idempotent_hint is False
    assert tools["discover"].read_only_hint is True
    with pytest.raises(RegistrationError, match="both read_only and destructive"):
        registry.capability(
            lambda: 1, name="odd", intent="x", provides=["y"], read_only=True, destructive=True
        )


async def test_output_schemas_have_types_and_infinity_is_refused_not_stringified(registry):
    async with Client(build_server(registry, grants=["vault:read"])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["read_secret"].output_schema["properties"]["secret"] == {"type": "string"}
        assert tools["growth_ratio"].output_schema["properties"]["ratio"] == {"type": "number"}
        assert all(tools["open_support_ticket"].output_schema["properties"].values())
        inf = await client.call_tool("growth_ratio", {"before": 0.0, "after": 2.0})
        assert inf.is_error and "not a finite number" in text(inf)
        assert inf.structured_content is None
        ok = await client.call_tool("growth_ratio", {"before": 2.0, "after": 3.0})
        assert ok.structured_content == {"ratio": 1.5}


async def test_prompts_templates_logging_and_version(registry):
    async with Client(build_server(registry)) as client:
        assert client.server_info.version == importlib.metadata.version("packetflow-arena")
        # logging/setLevel is a handshake-era method (2026-07-28 drops it): see the stdio tests
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "plan_request" in prompts
        got = await client.get_prompt("plan_request", {"request": "open a support ticket"})
        assert "open_support_ticket" in got.messages[0].content.text
        with pytest.raises(MCPError) as err:
            await client.get_prompt("no_such_prompt", {})
        assert err.value.code == -32602 and "Unknown prompt" in err.value.message
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert "capability://{name}" in templates
        cap = await client.read_resource("capability://average")
        assert (
            '"readOnlyHint"' in cap.contents[0].text or '"name": "average"' in cap.contents[0].text
        )


async def test_plan_and_run_workflow_report_progress(registry):
    seen = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(build_server(registry)) as client:
        planned = await client.call_tool(
            "plan", {"request": "open a support ticket"}, progress_callback=on_progress
        )
        assert not planned.is_error
    assert [p for p, _, _ in seen] == [0, 2] and seen[-1][1] == 2
