"""The MCP server in-process (official SDK client): tools from contracts, permissions, errors."""

from __future__ import annotations

import json
import typing
from typing import Any, Literal, TypedDict

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_test_registry import build_registry

from capabilities import Engine, PacketFlowError, Registry
from capabilities.interfaces.mcp import (
    CATALOGUE_URI,
    AccessConfig,
    Principal,
    build_server,
    input_schema,
    json_schema,
)


def text(result) -> str:
    return result.content[0].text


@pytest.fixture
def registry() -> Registry:
    return build_registry(fake_meaning=True)


# -- schemas -----------------------------------------------------------------------------------
class Point(TypedDict):
    x: float
    y: float


@pytest.mark.parametrize(
    ("hint", "good", "bad"),
    [
        (str, "a", 1),
        (int, 3, 3.5),
        (float, 3, "3"),
        (bool, True, 1),
        (list[str], ["a"], ["a", 1]),
        (dict[str, int], {"a": 1}, {"a": "1"}),
        (int | None, None, "x"),
        (Literal["a", "b"], "b", "c"),
        (tuple[int, str], [1, "a"], [1, "a", 2]),
        (set[int], [1, 2], [1, 1]),
        (Point, {"x": 1, "y": 2.5}, {"x": 1}),
        (Any, {"anything": [1]}, None),
    ],
)
def test_json_schema_accepts_what_the_contract_accepts(hint, good, bad):
    schema = json_schema(hint)
    jsonschema.validate(good, schema)
    if bad is not None:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_input_schema_lists_required_fields_and_defaults(registry):
    schema = input_schema(registry.get("open_support_ticket"))
    assert schema["required"] == ["customer_id", "problem"]
    assert schema["properties"]["urgent"] == {"type": "boolean", "default": False}
    assert schema["additionalProperties"] is False
    actor = input_schema(registry.get("tally"))
    assert actor["properties"]["message"]["required"] == ["value"]


# -- tools -------------------------------------------------------------------------------------
async def test_every_capability_is_a_tool_with_its_contract(registry):
    server = build_server(registry, principal="ann", grants=["vault:read"])
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(registry.names()) | {"discover", "send"} <= set(tools)
        ticket = tools["open_support_ticket"]
        assert ticket.description == registry.get("open_support_ticket").intent
        any_json = {"type": ["string", "number", "integer", "boolean", "array", "object", "null"]}
        assert ticket.output_schema["properties"] == {"ticket_id": any_json, "priority": any_json}
        profile = tools["user_profile_enrichment"].output_schema
        assert profile["properties"]["insights"] == {"type": "array", "items": {"type": "string"}}

        result = await client.call_tool("average", {"values": [1, 2, 3.5]})
        assert not result.is_error
        assert result.structured_content == {"mean": pytest.approx(6.5 / 3), "count": 3}
        assert json.loads(text(result)) == result.structured_content
        secret = await client.call_tool("read_secret", {"key": "k"})
        assert secret.structured_content == {"secret": "secret-of-k"}


async def test_tools_a_principal_may_not_call_are_hidden_and_refused(registry):
    calls = []
    original = registry.get("read_secret")
    registry.register(
        original.replace(execute=lambda key: calls.append(key) or "leak"), replace=True
    )
    server = build_server(registry, principal="bob", grants=["profile:read"])
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "read_secret" not in names
        assert "account_balance" in names
        with pytest.raises(MCPError, match="Unknown tool: read_secret") as refused:
            await client.call_tool("read_secret", {"key": "k"})
        assert "vault" not in str(refused.value), "a hidden tool's permission must not leak"
        assert calls == [], "a refused tool must never run"
        catalogue = json.loads((await client.read_resource(CATALOGUE_URI)).contents[0].text)
        assert "read_secret" not in {c["name"] for c in catalogue}
        found = await client.call_tool("discover", {"query": "read a secret value", "k": 10})
        assert "read_secret" not in {m["name"] for m in found.structured_content["result"]}


async def test_bad_arguments_are_tool_errors_naming_the_field(registry):
    async with Client(build_server(registry)) as client:
        missing = await client.call_tool("user_profile_enrichment", {"user_id": "u"})
        assert missing.is_error and "'data_sources'" in text(missing)
        wrong = await client.call_tool("account_balance", {"account_id": 42})
        assert wrong.is_error and "field 'account_id': expected str" in text(wrong)
        extra = await client.call_tool("account_balance", {"account_id": "a", "acount": 1})
        assert extra.is_error and "'acount'" in text(extra)
        failing = await client.call_tool("average", {"values": []})
        # the capability's own exception text stays in the server log; the client gets the class
        assert failing.is_error and text(failing).startswith("ValueError: ")
        assert "cannot average" not in text(failing)
        bad_k = await client.call_tool("discover", {"query": "refund", "k": "many"})
        assert bad_k.is_error and "k" in text(bad_k)
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await client.call_tool("no_such_tool", {})
        ok = await client.call_tool("account_balance", {"account_id": "still-serving"})
        assert not ok.is_error


async def test_discover_ranks_capabilities_with_scores(registry):
    async with Client(build_server(registry)) as client:
        found = await client.call_tool("discover", {"query": "refund money to a customer", "k": 3})
        matches = found.structured_content["result"]
        assert matches[0]["name"] == "issue_refund"
        assert len(matches) == 3
        scores = [m["score"] for m in matches]
        assert scores == sorted(scores, reverse=True)


async def test_send_reaches_actors_durably(registry, tmp_path):
    engine = Engine(registry, store=str(tmp_path / "mcp.sqlite"))
    async with Client(build_server(registry, engine)) as client:
        for v in (2, 3):
            r = await client.call_tool(
                "send", {"actor": "tally", "actor_id": "c1", "message": {"value": v}}
            )
            assert not r.is_error, text(r)
        assert r.structured_content == {"total": 5, "messages": 2}
        direct = await client.call_tool(
            "tally", {"actor_id": "c1", "message": {"value": 1}, "idempotency_key": "once"}
        )
        again = await client.call_tool(
            "tally", {"actor_id": "c1", "message": {"value": 1}, "idempotency_key": "once"}
        )
        assert direct.structured_content == again.structured_content == {"total": 6, "messages": 3}
        bad = await client.call_tool(
            "send", {"actor": "tally", "actor_id": "c1", "message": {"value": "x"}}
        )
        assert bad.is_error and "message.value" in text(bad)
        not_actor = await client.call_tool(
            "send", {"actor": "account_balance", "actor_id": "c1", "message": {}}
        )
        assert not_actor.is_error and "actors: ['tally']" in text(not_actor)
    engine.close()


async def test_extra_resources_are_served(registry):
    summary = {"accuracy": 0.93, "dropped": 0}

    def latest_summary() -> dict:
        """The arena's latest run summary."""
        return summary

    server = build_server(registry, resources={"arena://summary/latest": latest_summary})
    async with Client(server) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert uris == {CATALOGUE_URI, "arena://summary/latest"}
        read = await client.read_resource("arena://summary/latest")
        assert json.loads(read.contents[0].text) == summary


def test_configuration_errors_name_the_file_and_field(tmp_path):
    cfg = tmp_path / "access.yaml"
    cfg.write_text("principal: ann\ngrants: [vault:read]\ntokens:\n  s3cret-token: bob\n")
    access = AccessConfig.load(cfg)
    assert access.principal == Principal("ann", frozenset({"vault:read"}))
    assert access.tokens["s3cret-token"] == Principal("bob")
    cfg.write_text("principal: ann\ngrants: [nonsense]\n")
    with pytest.raises(PacketFlowError, match=r"access.yaml.*grants.*'nonsense'"):
        AccessConfig.load(cfg)
    cfg.write_text("principle: ann\n")
    with pytest.raises(PacketFlowError, match=r"unknown key.*principle"):
        AccessConfig.load(cfg)
    with pytest.raises(PacketFlowError, match="cannot read"):
        AccessConfig.load(tmp_path / "missing.yaml")
    clash = Registry()

    @clash.capability(provides=["out"])
    def discover(text: str) -> str:
        """Shadow the built-in."""
        return text

    with pytest.raises(PacketFlowError, match="built-in MCP tool"):
        build_server(clash)


# -- robustness --------------------------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_arguments_get_a_result_or_a_tool_error_and_the_server_keeps_serving(
    registry, data
):
    server = build_server(registry, principal="p", grants=["profile:read"])
    tools = [*sorted(registry.names()), "send", "discover"]
    async with Client(server) as client:
        for _ in range(3):
            name = data.draw(st.sampled_from(tools))
            cap_fields = (
                [f.name for f in registry.get(name).requires] if name in registry else ["query"]
            )
            keys = st.sampled_from([*cap_fields, "actor", "message", "bogus"])
            arguments = data.draw(st.dictionaries(keys, json_values, max_size=4))
            if name in registry and registry.get(name).permissions == ("vault:read",):
                with pytest.raises(MCPError, match=f"Unknown tool: {name}"):  # hidden from p
                    await client.call_tool(name, arguments)
                continue
            result = await client.call_tool(name, arguments)
            if result.is_error:
                assert text(result).strip(), "a tool error must say what is wrong"
            else:
                tool = registry.get(name) if name in registry else None
                if tool is not None:
                    assert set(result.structured_content) == tool.output_names
        assert not (await client.call_tool("account_balance", {"account_id": "x"})).is_error


def test_type_hints_are_resolvable_for_schema():
    # the registry's contracts use real hints, not strings, so schemas are exact
    hints = typing.get_type_hints(build_registry(fake_meaning=True).get("average").execute)
    assert json_schema(hints["values"]) == {"type": "array", "items": {"type": "number"}}


async def test_plan_and_run_workflow_tools_respect_permissions(registry):
    pytest.importorskip("capabilities.composition.planner")
    async with Client(build_server(registry, principal="bob")) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"plan", "run_workflow"} <= names
        request = "look up the current balance of a bank account"
        planned = await client.call_tool("plan", {"request": request})
        assert not planned.is_error, text(planned)
        assert planned.structured_content["steps"] == ["account_balance"]
        assert planned.structured_content["requires"] == ["account_id"]
        ran = await client.call_tool(
            "run_workflow", {"request": request, "inputs": {"account_id": "acc-1"}}
        )
        expected = registry.get("account_balance").execute("acc-1")
        assert ran.structured_content["outputs"] == {"balance": expected}
        hidden = await client.call_tool(
            "run_workflow",
            {"request": "read a secret value from the vault", "inputs": {"key": "k"}},
        )
        assert hidden.is_error and "no plan for this request" in text(hidden)
        assert "read_secret" not in text(hidden), "plans must not name hidden tools"
