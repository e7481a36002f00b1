"""A scenario served over MCP: its capabilities are tools and its latest summary is a resource."""

from __future__ import annotations

import json
from pathlib import Path

import mcp

from arena.scenario import load_registry, mcp_resources
from capabilities.mcp_server import build_server

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "customer_support.yaml"


async def test_scenario_capabilities_are_tools_and_the_summary_is_a_resource():
    server = build_server(load_registry(SCENARIO), resources=mcp_resources(SCENARIO))
    async with mcp.Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {
            "answer_account_question",
            "fix_technical_problem",
            "handle_security_incident",
        } <= names
        called = await client.call_tool("fix_technical_problem", {"text": "my card was declined"})
        assert not called.is_error
        assert "handled: my card was declined" in json.dumps(called.structured_content)
        res = await client.read_resource("arena://summary")
        summary = json.loads(res.contents[0].text)
        assert summary["scenario"] == "customer_support"
        assert summary["lost"] == 0 and summary["arrived"] > 0
        assert summary["routing_accuracy"] > 0.9
