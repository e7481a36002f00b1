"""Raw JSON-RPC over stdio against ``packetflow-arena mcp serve`` (and, where a gap belongs to
the SDK's transport, against a bare SDK server in the same run), plus real third-party clients:
the official SDK client over stdio and streamable HTTP, and the MCP Inspector CLI (npx)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from paths import REPO_ROOT, SUPPORT_DIR
from test_mcp_transports import _free_port, _wait_for_port

CLI = shutil.which("packetflow-arena", path=str(Path(sys.executable).parent)) or "packetflow-arena"
OURS = [CLI, "mcp", "serve", "--registry", "mcp_hostile_registry"]
BARE = [sys.executable, "-m", "benchmarks.bench_mcp", "--serve-bare"]
LEGACY = "2025-06-18"  # a handshake-era protocol version, as the Inspector speaks


def _env() -> dict[str, str]:
    env = dict(os.environ)
    path = [str(SUPPORT_DIR), str(REPO_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


class Raw:
    """A server subprocess spoken to line by line."""

    def __init__(self, argv: list[str], cwd: Path):
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
            cwd=str(cwd),
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, payload: dict | str) -> None:
        line = payload if isinstance(payload, str) else json.dumps(payload)
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def reply(self, timeout: float = 60) -> dict | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def initialize(self) -> dict:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY,
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            }
        )
        answer = self.reply()
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def ours(tmp_path):
    server = Raw(OURS, tmp_path)
    yield server
    server.close()


def test_a_request_before_initialize_is_refused_as_not_initialized(ours):
    ours.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    answer = ours.reply()
    assert answer["id"] == 1 and answer["error"]["code"] == -32600
    assert "not initialized" in answer["error"]["message"]
    assert ours.initialize()["result"]["serverInfo"]["version"]


def test_duplicate_in_flight_ids_run_once_and_protocol_answers(ours):
    ours.initialize()
    call = {"name": "sleep_for", "arguments": {"seconds": 1.5}}
    for _ in range(2):
        ours.send({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": call})
    answers = [ours.reply(), ours.reply()]
    errors = [a for a in answers if "error" in a]
    results = [a for a in answers if "result" in a]
    assert len(errors) == 1 and len(results) == 1
    assert (
        errors[0]["error"]["code"] == -32600
        and "already in flight" in errors[0]["error"]["message"]
    )
    ours.send({"jsonrpc": "2.0", "id": 8, "method": "prompts/get", "params": {"name": "nope"}})
    assert ours.reply()["error"]["code"] == -32602
    ours.send(
        {"jsonrpc": "2.0", "id": 9, "method": "logging/setLevel", "params": {"level": "debug"}}
    )
    assert ours.reply() == {"jsonrpc": "2.0", "id": 9, "result": {}}


def test_stdio_parse_errors_get_no_reply_from_the_sdk_transport_ours_or_bare(tmp_path):
    """The SDK's stdio transport drops unparseable lines without a reply (over HTTP the same
    input gets -32700): confirmed against a bare SDK server, documented in docs/mcp.md."""
    for argv in (OURS, BARE):
        server = Raw(argv, tmp_path)
        try:
            server.initialize()
            for hostile in ("not json", '{"jsonrpc": "2.0", "id": 3, "meth', "[" * 200 + "]" * 200):
                server.send(hostile)
            assert server.reply(timeout=2) is None, argv
            server.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
            assert server.reply()["id"] == 4, "the server keeps serving"
        finally:
            server.close()


# -- the official SDK client, over stdio and HTTP ------------------------------------------------
async def test_sdk_client_over_stdio_progress_cancellation_and_hostile_cases(tmp_path):
    params = StdioServerParameters(command=OURS[0], args=OURS[1:], env=_env(), cwd=str(tmp_path))
    seen = []

    async def on_progress(progress, total, message) -> None:
        seen.append(progress)

    with anyio.fail_after(120):
        async with Client(params) as client:
            assert "sleep_for" in {t.name for t in (await client.list_tools()).tools}
            planned = await client.call_tool(
                "run_workflow",
                {
                    "request": "average a list of numbers",
                    "inputs": {"values": [1, 2], "weights": {}},
                },
                progress_callback=on_progress,
            )
            assert not planned.is_error, planned.content[0].text
            assert seen[0] == 0 and seen[-1] == 3
            with pytest.raises(MCPError):  # the client gives up and cancels the request
                await client.call_tool("sleep_for", {"seconds": 5}, read_timeout_seconds=0.5)
            with anyio.fail_after(3):  # the server did not wait for the abandoned call
                assert not (await client.call_tool("average", {"values": [1.0]})).is_error
            leaked = await client.call_tool("connect_db", {"query": "x"})
            assert leaked.is_error and "hunter2" not in leaked.content[0].text
            with pytest.raises(MCPError, match="Unknown tool: read_secret"):
                await client.call_tool("read_secret", {"key": "k"})


async def test_http_without_config_is_loopback_only_and_advertises_no_oauth(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [*OURS, "--transport", "http", "--port", str(port)],
        env=_env(),
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, proc)
        async with httpx2.AsyncClient(timeout=10) as http:
            meta = await http.get(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource")
            assert meta.status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert b"loopback only" in proc.stderr.read()
    refused = subprocess.run(
        [*OURS, "--transport", "http", "--host", "0.0.0.0"], env=_env(), capture_output=True
    )
    assert refused.returncode == 2 and b"needs authentication" in refused.stderr
    assert len(refused.stderr.decode().strip().splitlines()) == 1
    bad = subprocess.run([*OURS, "--grant", "not a grant!!"], env=_env(), capture_output=True)
    assert bad.returncode == 2 and bad.stderr.decode().startswith(
        "packetflow-arena: error: --grant"
    )


# -- the MCP Inspector CLI ---------------------------------------------------------------------
def _inspector(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("npx") is None:
        pytest.skip("npx is not installed: the MCP Inspector CLI needs Node.js")
    argv = ["npx", "-y", "@modelcontextprotocol/inspector", "--cli", *OURS]
    for key, value in _env().items():
        if key in ("PYTHONPATH", "HF_HUB_OFFLINE"):
            argv[4:4] = ["-e", f"{key}={value}"]
    return subprocess.run(
        [*argv, *args], capture_output=True, text=True, timeout=300, cwd=str(tmp_path)
    )


def test_inspector_cli_lists_calls_and_meets_the_hostile_cases(tmp_path):
    listed = _inspector(tmp_path, "--method", "tools/list")
    if listed.returncode != 0 and "npm" in listed.stderr and "ERR" in listed.stderr:
        pytest.skip(f"the Inspector could not be fetched: {listed.stderr[-300:]}")
    assert listed.returncode == 0, listed.stderr[-2000:]
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    assert "read_secret" not in tools and tools["wipe_records"]["annotations"]["destructiveHint"]
    called = _inspector(
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "growth_ratio",
        "--tool-arg",
        "before=2",
        "--tool-arg",
        "after=3",
    )
    assert json.loads(called.stdout)["structuredContent"] == {"ratio": 1.5}, called.stderr
    leaked = _inspector(
        tmp_path, "--method", "tools/call", "--tool-name", "connect_db", "--tool-arg", "query=x"
    )
    assert "RuntimeError" in leaked.stdout and "hunter2" not in leaked.stdout + leaked.stderr
    hidden = _inspector(
        tmp_path, "--method", "tools/call", "--tool-name", "read_secret", "--tool-arg", "key=k"
    )
    assert "Unknown tool: read_secret" in hidden.stdout + hidden.stderr
    assert "vault" not in hidden.stdout + hidden.stderr
