"""A scenario served over MCP: its capabilities are tools and its latest summary is a resource."""

from __future__ import annotations

import json
from pathlib import Path

import mcp
import mcp.shared.exceptions
import pytest
from paths import REPO_ROOT, SCENARIOS_DIR

from arena.scenario import load_registry
from arena.ui.mcp import mcp_resources
from capabilities.interfaces.mcp import build_server

SCENARIO = SCENARIOS_DIR / "customer_support.yaml"


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


async def test_mcp_serve_with_a_scenario_over_stdio(tmp_path):
    import os
    import shutil
    import sys

    import anyio
    from mcp import Client, StdioServerParameters

    cli = (
        shutil.which("packetflow-arena", path=str(Path(sys.executable).parent))
        or "packetflow-arena"
    )
    params = StdioServerParameters(
        command=cli,
        args=["mcp", "serve", "--scenario", str(SCENARIO)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=str(tmp_path),
    )
    with anyio.fail_after(180):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "handle_security_incident" in names
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert "arena://summary" in resources


def test_capabilities_never_imports_the_arena():
    import ast

    root = REPO_ROOT / "capabilities"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not any(n == "arena" or n.startswith("arena.") for n in names), path
        assert '"arena.' not in path.read_text(), f"{path} imports the arena by name"


async def test_run_arena_reports_progress_and_each_run_is_a_resource():
    from arena.ui.mcp import scenario_mcp

    registry, extras = scenario_mcp(str(SCENARIO))
    server = build_server(registry, extras=extras)
    steps = []

    async def on_progress(progress, total, message) -> None:
        steps.append(progress)

    async with mcp.Client(server) as client:
        ran = await client.call_tool("run_arena", {"steps": 20}, progress_callback=on_progress)
        assert not ran.is_error, ran.content[0].text
        run_id = ran.structured_content["run_id"]
        assert steps and steps == sorted(steps) and steps[-1] >= 20
        res = await client.read_resource(f"arena://runs/{run_id}/summary")
        assert json.loads(res.contents[0].text) == ran.structured_content["summary"]
        prompt = await client.get_prompt("route_request", {"request": "my card was declined"})
        assert "answer_account_question" in prompt.messages[0].content.text
        with pytest.raises(mcp.shared.exceptions.MCPError):
            await client.read_resource("arena://runs/run-999/summary")
