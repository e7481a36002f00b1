"""Live deployment benchmark: requests/s through the gateway with trivial services, and the
gateway's added latency, against a bare loopback HTTP round trip measured in the same run.

The deployment is the real one (:class:`arena.live.Deployment`: a gateway and one worker process
per zone) for ``customer_support`` with every service time 1 µs and room for everything, so what is
timed is the path: the client's HTTP request to the gateway, its micro-batched embedding (cached
texts) and routing with the scenario's physics router, the forward to the zone worker over a
keep-alive connection, the capability engine's call there, and both answers. Measured in the
same run, from the same client code (:mod:`arena.live.http`):

- bare: an echo server (the same HTTP code, nothing behind it) in its own process — the floor
  of one loopback HTTP round trip; the gateway path has two (client -> gateway -> worker);
- throughput: ``concurrency`` connections each sending as fast as answers come, for a while;
  requests/s through the gateway and through the bare echo server;
- latency: one request at a time; p50/p99 of the gateway path and of the bare round trip, and
  the gateway's added latency (the difference) and ratio;
- for the choice of HTTP stack: the same echo on uvicorn + starlette (h11 on the asyncio loop,
  as installed here: no uvloop, no httptools), throughput and p50 from the same client.

Goal: >= 2,000 requests/s through the gateway on this 2-core machine (shared: the client, the
gateway and the workers all run on the same two cores).
Run: ``python -m benchmarks.bench_live`` (seconds) or ``--full`` (the figures to report).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from arena.live import Deployment, report_period
from arena.live.http import Pool, serve
from arena.model import ArenaModel
from arena.scenario import load_scenario
from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "customer_support.yaml"
TARGET_PER_S = 2000.0
HEADLINE = (
    "gateway_requests_per_s",
    "bare_requests_per_s",
    "gateway_vs_bare_throughput",
    "gateway_p50_ms",
    "bare_p50_ms",
    "added_p50_ms",
    "added_p99_ms",
    "gateway_vs_bare_p50",
)


def trivial_scenario(folder: Path) -> Path:
    """customer_support with every service time 1 µs and room for everything (sources resolved
    to absolute paths, so the copy can live anywhere)."""
    raw = yaml.safe_load(SCENARIO.read_text())
    for key in ("examples", "arrivals"):
        src = raw[key]["source"]
        src["file"] = str((SCENARIO.parent / src["file"]).resolve())
    for cap in raw["capabilities"]:
        cap["service_time"] = "1us"  # the smallest a scenario takes
    for zone in raw["zones"]:
        zone["capacity"] = zone["queue_limit"] = 100_000
    path = folder / "customer_support_trivial.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def serve_uvicorn_echo() -> None:
    """The same echo as uvicorn + starlette (h11, asyncio loop: uvloop and httptools are not
    installed): what the live processes would cost on the usual stack."""
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def request(req: Request) -> JSONResponse:
        body = await req.json()
        return JSONResponse({"id": body.get("id") if isinstance(body, dict) else None})

    app = Starlette(routes=[Route("/request", request, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, loop="asyncio", http="h11", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve_echo() -> None:
    """The bare baseline: the same HTTP code answering every request at once."""

    async def handler(method: str, path: str, body: Any) -> tuple[int, Any]:
        return 200, {"id": body.get("id") if isinstance(body, dict) else None}

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    asyncio.run(main())


async def throughput(port: int, bodies: list[dict[str, Any]], seconds: float, conc: int) -> float:
    """Requests/s answered with ``conc`` connections each sending back to back."""
    pools = [Pool("127.0.0.1", port) for _ in range(conc)]
    done = 0
    end = time.monotonic() + seconds

    async def loop(k: int) -> None:
        nonlocal done
        i = k
        while time.monotonic() < end:
            await pools[k].request("POST", "/request", bodies[i % len(bodies)])
            done += 1
            i += conc

    start = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(conc)))
    rate = done / (time.monotonic() - start)
    for p in pools:
        p.close()
    return rate


async def latencies(port: int, bodies: list[dict[str, Any]], n: int) -> np.ndarray:
    """Seconds per request, one at a time over one keep-alive connection."""
    pool = Pool("127.0.0.1", port)
    out = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        await pool.request("POST", "/request", bodies[i % len(bodies)])
        out[i] = time.perf_counter() - t
    pool.close()
    return out


def start_echo(flag: str = "--serve-echo") -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_live", flag],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the echo server did not start ({line!r})")
    return proc, int(line.split()[1])


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes ``pids`` have used (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


async def measure(
    dep: Deployment,
    echo: int,
    uvi: int,
    bodies: list[dict[str, Any]],
    seconds: float,
    conc: int,
    n: int,
) -> dict[str, float]:
    gateway = dep.gateway_port
    await latencies(gateway, bodies, 50)  # warm both paths (connections, caches)
    await latencies(echo, bodies, 50)
    f: dict[str, float] = {}
    assert dep.gateway is not None
    gw = [dep.gateway.pid]
    workers = [p.pid for p in dep.workers.values()]
    before = (cpu_seconds(gw), cpu_seconds(workers), time.process_time())
    f["gateway_requests_per_s"] = await throughput(gateway, bodies, seconds, conc)
    after = (cpu_seconds(gw), cpu_seconds(workers), time.process_time())
    served = f["gateway_requests_per_s"] * seconds
    for key, b, a in zip(("gateway", "workers", "client"), before, after):
        f[f"{key}_cpu_us_per_request"] = (a - b) / served * 1e6
    f["bare_requests_per_s"] = await throughput(echo, bodies, seconds, conc)
    await latencies(uvi, bodies, 50)
    f["uvicorn_echo_requests_per_s"] = await throughput(uvi, bodies, seconds, conc)
    u = await latencies(uvi, bodies, n) * 1000
    f["uvicorn_echo_p50_ms"] = float(np.percentile(u, 50))
    g = await latencies(gateway, bodies, n) * 1000
    b = await latencies(echo, bodies, n) * 1000
    f["gateway_p50_ms"], f["gateway_p99_ms"] = np.percentile(g, [50, 99]).tolist()
    f["bare_p50_ms"], f["bare_p99_ms"] = np.percentile(b, [50, 99]).tolist()
    f["added_p50_ms"] = f["gateway_p50_ms"] - f["bare_p50_ms"]
    f["added_p99_ms"] = f["gateway_p99_ms"] - f["bare_p99_ms"]
    f["gateway_vs_bare_p50"] = f["gateway_p50_ms"] / f["bare_p50_ms"]
    f["gateway_vs_bare_throughput"] = f["gateway_requests_per_s"] / f["bare_requests_per_s"]
    return f


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_size_options(parser, "the real sizes (about a minute)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--router", default=None, help="override the scenario's (physics)")
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-uvicorn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_echo:
        serve_echo()
        return {}
    if args.serve_uvicorn:
        serve_uvicorn_echo()
        return {}
    seconds, n = by_size(args, (1.0, 100), (3.0, 500), (10.0, 3000))
    with tempfile.TemporaryDirectory() as tmp:
        path = trivial_scenario(Path(tmp))
        sc = load_scenario(str(path))
        model = ArenaModel(sc, check_conservation=False)
        a = model.arrivals
        bodies = [
            {"id": i, "text": model.source_texts[int(t)]} for i, t in enumerate(a.text.tolist())
        ]
        period = report_period(sc.load_info)
        zones = [z.name for z in sc.zones]
        dep = Deployment(str(path), zones, sc.seed, 1.0, period, router=args.router)
        echo: subprocess.Popen[str] | None = None
        uvi: subprocess.Popen[str] | None = None
        try:
            dep.start()
            echo, echo_port = start_echo()
            uvi, uvi_port = start_echo("--serve-uvicorn")
            dep.wait_listening()
            asyncio.run(dep.start_clock(period))
            figures = asyncio.run(
                measure(dep, echo_port, uvi_port, bodies, seconds, args.concurrency, n)
            )
        finally:
            dep.stop()
            for proc in (echo, uvi):
                if proc is not None:
                    proc.kill()
                    proc.wait()
    figures["concurrency"] = float(args.concurrency)
    _print_table(figures)
    return figures


def _print_table(f: dict[str, float]) -> None:
    met = "met" if f["gateway_requests_per_s"] >= TARGET_PER_S else "MISSED"
    rows = [
        (
            "through the gateway",
            f"{f['gateway_requests_per_s']:,.0f} req/s",
            f"target >= {TARGET_PER_S:,.0f}: {met}",
        ),
        (
            "CPU µs/request gateway / workers / client",
            f"{f['gateway_cpu_us_per_request']:.0f} / {f['workers_cpu_us_per_request']:.0f} / "
            f"{f['client_cpu_us_per_request']:.0f}",
            "",
        ),
        ("bare loopback echo (baseline)", f"{f['bare_requests_per_s']:,.0f} req/s", ""),
        ("gateway / bare", f"{f['gateway_vs_bare_throughput']:.2f}x", "two hops vs one"),
        (
            "uvicorn+starlette echo (h11)",
            f"{f['uvicorn_echo_requests_per_s']:,.0f} req/s",
            f"p50 {f['uvicorn_echo_p50_ms']:.3f} ms: the usual stack, same client",
        ),
        (
            "latency p50 gateway / bare",
            f"{f['gateway_p50_ms']:.3f} / {f['bare_p50_ms']:.3f} ms",
            f"{f['gateway_vs_bare_p50']:.1f}x",
        ),
        (
            "latency p99 gateway / bare",
            f"{f['gateway_p99_ms']:.3f} / {f['bare_p99_ms']:.3f} ms",
            "",
        ),
        (
            "gateway's added latency p50 / p99",
            f"{f['added_p50_ms']:.3f} / {f['added_p99_ms']:.3f} ms",
            "",
        ),
    ]
    for name, value, note in rows:
        print(f"{name:<36} {value:>24}  {note}")


if __name__ == "__main__":
    main()
