"""MCP benchmark: tool calls per second over stdio, and tools/list latency, with 150 capabilities.

The registry is the 150 CLINC150 intents (``domains.json``), each a capability with a trivial
handler, so what is timed is the protocol path: JSON-RPC over the pipes of a real
``packetflow-arena mcp serve`` subprocess, the SDK's server dispatch, our per-principal
filtering, contract checks and ``Engine.run_async``. Measured in the same run:

- baseline: ``Engine.run`` in-process on the same registry (the floor any transport adds to);
- stdio, sequential: one call at a time from the official SDK client (a full round trip each);
- stdio, 16 in flight: concurrent calls from one client, as an agent fanning out would;
- SDK floor: the same client against a bare SDK ``MCPServer`` with one echo tool over stdio —
  what the official transport costs with nothing of ours on the path;
- tools/list: the full 150-tool listing (schemas included), client cache bypassed; median
  and p95 latency.

Targets: >= 500 calls/s over stdio, tools/list <= 50 ms.
Run: ``python -m benchmarks.bench_mcp`` (seconds) or ``--full`` (the figures to report).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.timing import add_size_options, by_size
from capabilities import Capability, Engine, Registry

ROOT = Path(__file__).resolve().parents[1]
CLINC150 = ROOT.parent / "shared" / "data" / "clinc150"
CALLS_TARGET_PER_S = 500.0
LIST_TARGET_MS = 50.0


def build_registry() -> Registry:
    """150 capabilities, one per CLINC150 intent, each echoing what it was asked."""
    domains = json.loads((CLINC150 / "domains.json").read_text())
    registry = Registry()
    for domain, intents in domains.items():
        for intent in intents:

            def handle(text: str, intent: str = intent) -> dict:
                return {"intent": intent, "echo": text}

            registry.register(
                Capability.from_function(
                    handle,
                    name=intent,
                    intent=f"{domain.replace('_', ' ')}: {intent.replace('_', ' ')}",
                    provides={"intent": str, "echo": str},
                )
            )
    return registry


def engine_calls_per_s(registry: Registry, calls: int) -> float:
    names = registry.names()
    with Engine(registry) as engine:
        start = time.perf_counter()
        for i in range(calls):
            engine.run(names[i % len(names)], {"text": f"request {i}"})
        return calls / (time.perf_counter() - start)


def serve_bare() -> None:
    """The SDK floor: a bare ``MCPServer`` with one echo tool, nothing of ours on the path."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bare", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> dict:
        return {"intent": "echo", "echo": text}

    server.run("stdio")


def _stdio(args: list[str]) -> Any:
    from mcp import StdioServerParameters

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(ROOT))


async def sdk_floor_calls_per_s(calls: int) -> float:
    """Sequential calls/s of the same SDK client against :func:`serve_bare` over stdio."""
    from mcp import Client

    async with Client(_stdio(["-m", "benchmarks.bench_mcp", "--serve-bare"])) as client:
        for _ in range(20):
            await client.call_tool("echo", {"text": "warm up"})
        start = time.perf_counter()
        for i in range(calls):
            await client.call_tool("echo", {"text": f"request {i}"})
        return calls / (time.perf_counter() - start)


async def stdio_figures(calls: int, lists: int) -> dict[str, float]:
    from mcp import Client

    params = _stdio(["-m", "arena", "mcp", "serve", "--registry", "benchmarks.bench_mcp"])
    async with Client(params) as client:
        tools = (await client.list_tools(cache_mode="bypass")).tools
        capability_names = set(build_registry().names())
        names = [t.name for t in tools if t.name in capability_names]
        assert len(names) == 150, f"expected 150 capability tools, got {len(names)}"
        for name in names:  # warm up: the client compiles each tool's output-schema validator once
            await client.call_tool(name, {"text": "warm up"})

        start = time.perf_counter()
        for i in range(calls):
            result = await client.call_tool(names[i % 150], {"text": f"request {i}"})
            if result.is_error:
                raise RuntimeError(result.content[0].text)
        sequential = calls / (time.perf_counter() - start)

        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with sem:
                await client.call_tool(names[i % 150], {"text": f"request {i}"})

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        concurrent = calls / (time.perf_counter() - start)

        latencies = []
        for _ in range(lists):
            t = time.perf_counter()
            listed = await client.list_tools(cache_mode="bypass")
            latencies.append((time.perf_counter() - t) * 1e3)
        assert len(listed.tools) >= 150
    latencies.sort()
    return {
        "stdio_calls_per_s": sequential,
        "stdio_concurrent_calls_per_s": concurrent,
        "list_ms_median": statistics.median(latencies),
        "list_ms_p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "tools_listed": float(len(listed.tools)),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "the real sizes (about a minute)")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare()
        return {}
    calls, lists = by_size(args, (40, 5), (400, 30), (5000, 200))
    registry = build_registry()
    figures: dict[str, Any] = {"engine_calls_per_s": engine_calls_per_s(registry, calls * 4)}
    figures["sdk_floor_calls_per_s"] = asyncio.run(sdk_floor_calls_per_s(calls))
    figures.update(asyncio.run(stdio_figures(calls, lists)))
    figures["stdio_vs_engine"] = figures["stdio_calls_per_s"] / figures["engine_calls_per_s"]
    figures["stdio_vs_sdk_floor"] = figures["stdio_calls_per_s"] / figures["sdk_floor_calls_per_s"]
    _print_table(figures, calls, lists)
    return figures


def _print_table(f: dict[str, Any], calls: int, lists: int) -> None:
    rows = [
        ("Engine.run in-process (baseline)", f"{f['engine_calls_per_s']:,.0f} calls/s", ""),
        (
            "MCP over stdio, sequential",
            f"{f['stdio_calls_per_s']:,.0f} calls/s",
            f"target >= {CALLS_TARGET_PER_S:.0f}: "
            + ("met" if f["stdio_calls_per_s"] >= CALLS_TARGET_PER_S else "MISSED"),
        ),
        ("MCP over stdio, 16 in flight", f"{f['stdio_concurrent_calls_per_s']:,.0f} calls/s", ""),
        (
            "bare SDK server, 1 echo tool (floor)",
            f"{f['sdk_floor_calls_per_s']:,.0f} calls/s",
            "same client, nothing of ours",
        ),
        ("ours / bare SDK floor", f"{f['stdio_vs_sdk_floor']:.2f}x", "1.0 = no overhead of ours"),
        ("ours / Engine.run", f"{f['stdio_vs_engine']:.4f}x", "the transport's share of a call"),
        (
            f"tools/list ({f['tools_listed']:.0f} tools) median",
            f"{f['list_ms_median']:.2f} ms",
            f"target <= {LIST_TARGET_MS:.0f}: "
            + ("met" if f["list_ms_median"] <= LIST_TARGET_MS else "MISSED"),
        ),
        ("tools/list p95", f"{f['list_ms_p95']:.2f} ms", ""),
    ]
    print(f"bench_mcp: {calls:,} tool calls and {lists} listings over stdio, 150 capabilities")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>18}  {note}")


if __name__ == "__main__":
    main()
