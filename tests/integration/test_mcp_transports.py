"""Real round trips: the official SDK client against ``packetflow-arena mcp serve`` subprocesses,
over stdio and over streamable HTTP on 127.0.0.1 (bearer token -> principal)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from paths import SUPPORT_DIR

TESTS = SUPPORT_DIR  # helper modules the server subprocess imports
CLI = shutil.which("packetflow-arena", path=str(Path(sys.executable).parent)) or "packetflow-arena"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


async def test_stdio_round_trip_with_the_default_registry_and_real_discovery(tmp_path):
    params = StdioServerParameters(
        command=CLI,
        args=["mcp", "serve", "--transport", "stdio", "--store", str(tmp_path / "s.sqlite")],
        env=_env(),
        cwd=str(tmp_path),
    )
    with anyio.fail_after(120):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"discover", "account_balance", "open_support_ticket"} <= names
            assert "send" not in names  # the default registry has no actors
            found = await client.call_tool(
                "discover", {"query": "my internet is down, please help", "k": 2}
            )
            assert found.structured_content["result"][0]["name"] == "open_support_ticket"
            ticket = await client.call_tool(
                "open_support_ticket", {"customer_id": "c1", "problem": "internet down"}
            )
            assert ticket.structured_content["priority"] == "high"
            bad = await client.call_tool("issue_refund", {"customer_id": "c1", "amount": "ten"})
            assert bad.is_error and "'amount'" in bad.content[0].text
            with pytest.raises(MCPError, match="Unknown tool"):
                await client.call_tool("launch_rockets", {})
            assert not (await client.call_tool("account_balance", {"account_id": "a"})).is_error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read().decode()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("server did not start listening in time")


@pytest.fixture
def http_server(tmp_path):
    config = tmp_path / "access.yaml"
    config.write_text(
        "principal: nobody\n"
        "tokens:\n"
        "  token-for-ann-1234: {principal: ann, grants: ['vault:read']}\n"
        "  token-for-bob-5678: {principal: bob}\n"
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            CLI,
            "mcp",
            "serve",
            "--registry",
            "mcp_test_registry",
            "--transport",
            "http",
            "--port",
            str(port),
            "--config",
            str(config),
            "--store",
            str(tmp_path / "http.sqlite"),
        ],
        env=_env(),
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _client(url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(url, http_client=http))


async def test_http_round_trip_maps_bearer_tokens_to_principals(http_server):
    with anyio.fail_after(60):
        async with _client(http_server, "token-for-ann-1234") as ann:
            names = {t.name for t in (await ann.list_tools()).tools}
            assert {"read_secret", "send", "tally"} <= names
            secret = await ann.call_tool("read_secret", {"key": "k"})
            assert secret.structured_content == {"secret": "secret-of-k"}
            sent = await ann.call_tool(
                "send", {"actor": "tally", "actor_id": "x", "message": {"value": 4}}
            )
            assert sent.structured_content == {"total": 4, "messages": 1}

        async with _client(http_server, "token-for-bob-5678") as bob:
            names = {t.name for t in (await bob.list_tools()).tools}
            assert "read_secret" not in names and "account_balance" in names
            with pytest.raises(MCPError, match="Unknown tool: read_secret"):
                await bob.call_tool("read_secret", {"key": "k"})  # hidden: answered as unknown
            # the same actor id is bob's own actor: ann's tally is neither read nor written
            sent = await bob.call_tool(
                "send", {"actor": "tally", "actor_id": "x", "message": {"value": 1}}
            )
            assert sent.structured_content == {"total": 1, "messages": 1}

        async with _client(http_server, "token-for-ann-1234") as ann:
            again = await ann.call_tool(
                "send", {"actor": "tally", "actor_id": "x", "message": {"value": 2}}
            )
            assert again.structured_content == {"total": 6, "messages": 2}


async def test_http_refuses_missing_or_unknown_tokens(http_server):
    async with httpx2.AsyncClient(timeout=10) as http:
        for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
            response = await http.post(
                http_server,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                headers={**headers, "Accept": "application/json, text/event-stream"},
            )
            assert response.status_code == 401
