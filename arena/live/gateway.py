"""The gateway: one process that embeds and routes each request with the scenario's router and
forwards it to the chosen zone worker over HTTP.

``POST /request {id, text}`` waits in a micro-batch (every request read in the same pass of
the event loop, or within ``--batch-ms``), which :class:`~arena.live.routing.LiveRouting` routes in one vectorised call (as
the simulation routes a tick's arrivals); each routed request is forwarded to its zone's worker
over a keep-alive connection and the answer holds its times: ``{id, zone, capability, outcome,
reason, routed, queued, started, finished}`` (times on the host's monotonic clock). ``POST /board`` is the load board the workers
report to (their first report also registers their address); ``GET /ready`` says how many zones
registered. A worker that refuses or drops a connection trips its zone's breaker: the zone is
down for the rest of the run (the router no longer sees it) and the requests it held end
``failed`` with the reason. Run as ``python -m arena.live.gateway --scenario F --seed N``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model import DROP_REASONS
from .http import Pool, TransportError, serve
from .lifecycle import add_scenario_args, announce_port, die_with_parent, load_from_args
from .routing import LiveRouting

log = logging.getLogger(__name__)

#: a request's routing: zone (-1: none), capability, why not sent, overflow candidates
Routed = tuple[int, int, str | None, list[tuple[int, int]]]


class Gateway:
    """Board, batcher, breaker and forwarder; :meth:`handle` is the HTTP handler."""

    def __init__(self, routing: LiveRouting, t0: float, speed: float, batch_s: float):
        self.routing, self.t0, self.speed, self.batch_s = routing, t0, speed, batch_s
        self.zone_index = {n: i for i, n in enumerate(routing.zone_names)}
        self.pools: dict[int, Pool] = {}
        self.pending: list[tuple[int, str, asyncio.Future[Routed]]] = []
        info = routing.scenario.load_info
        self.delay = info.delay if info.mode == "delayed" else 0.0

    def now(self) -> float:
        """The host's monotonic clock (what every timestamp of the run is read on)."""
        return time.monotonic()

    async def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/request" and isinstance(body, dict):
            return 200, await self.request(int(body["id"]), str(body["text"]))
        if path == "/board" and isinstance(body, dict):
            self.board(body)
            return 200, {}
        if path == "/start" and isinstance(body, dict):
            self.t0 = float(body["t0"])  # the run's start, once every process is up
            return 200, {}
        if path == "/ready":
            return 200, {"zones": len(self.pools), "of": len(self.zone_index)}
        return 404, {"error": f"no {method} {path}"}

    def board(self, body: dict[str, Any]) -> None:
        z = self.zone_index[body["zone"]]
        if z not in self.pools:
            self.pools[z] = Pool("127.0.0.1", int(body["port"]), lambda why: self.lost(z, why))
        occ, queue = int(body["occupancy"]), int(body["queue"])
        if self.delay > 0:  # load_info delayed: the figures reach the router that much later
            loop = asyncio.get_running_loop()
            loop.call_later(self.delay / self.speed, self.routing.report, z, occ, queue)
        else:
            self.routing.report(z, occ, queue)

    def lost(self, zone: int, why: str) -> None:
        """The breaker: a zone whose worker dropped a connection is down for the rest of the
        run (the router no longer sees it; it shows full on the board)."""
        if not self.routing.down[zone]:
            self.routing.mark_down(zone)
            log.warning("zone %s is down: %s", self.routing.zone_names[zone], why)

    async def request(self, rid: int, text: str) -> dict[str, Any]:
        fut: asyncio.Future[Routed] = asyncio.get_running_loop().create_future()
        if not self.pending:  # the batch: what arrives within batch_s (0: this loop pass)
            loop = asyncio.get_running_loop()
            if self.batch_s > 0:
                loop.call_later(self.batch_s, self.flush)
            else:
                loop.call_soon(self.flush)
        self.pending.append((rid, text, fut))
        zone, cap, reason, alts = await fut
        routed = self.now()
        record: dict[str, Any] = {"id": rid, "routed": routed, "zone": None, "capability": None}
        if zone < 0:
            outcome = "dropped" if reason in DROP_REASONS else "failed"
            return record | {"outcome": outcome, "reason": reason, "finished": routed}
        try:
            zone, cap, answer = await self.forward(rid, text, zone, cap, alts)
        except TransportError as exc:
            self.lost(zone, str(exc))  # refused: the breaker opens
            # what a simulated outage does to the requests a zone held: dropped, zone_down
            record |= {"zone": self.routing.zone_names[zone]}
            return record | {"outcome": "dropped", "reason": "zone_down", "finished": self.now()}
        return record | {
            "zone": self.routing.zone_names[zone],
            "capability": self.routing.capability_names[cap],
            "outcome": answer["outcome"],
            "reason": answer.get("reason"),
            "queued": answer.get("reach"),
            "started": answer.get("start"),
            "finished": answer.get("end"),
            "overflow": bool(answer.get("overflow")),
        }

    async def call(
        self, zone: int, cap: int, rid: int, text: str, if_free: bool = False
    ) -> dict[str, Any]:
        """One call to ``zone``'s worker (``if_free``: only if a slot is idle, else ``busy``)."""
        a = self.routing.arrivals
        body = {
            "id": rid,
            "cap": self.routing.capability_names[cap],
            "text": text,
            "tin": int(a.input_tokens[rid]),
            "tout": int(a.output_tokens[rid]),
        }
        if if_free:
            body["if_free"] = True
        _, answer = await self.pools[zone].request("POST", "/call", body)
        return dict(answer)

    async def forward(
        self, rid: int, text: str, zone: int, cap: int, alts: list[tuple[int, int]]
    ) -> tuple[int, int, dict[str, Any]]:
        """Serve the request at ``zone``; with overflow candidates ``alts``, as the simulation
        admits it: an idle slot at its zone, else at the first candidate with one (that the
        board shows free, when the board is stale), else its zone's queue. Returns the zone
        and capability that served it and the worker's answer; TransportError if ``zone``'s
        worker is gone."""
        if not alts:
            return zone, cap, await self.call(zone, cap, rid, text)
        answer = await self.call(zone, cap, rid, text, if_free=True)
        if answer["outcome"] != "busy":
            return zone, cap, answer
        r = self.routing
        stale = r.scenario.load_info.stale
        for cz, ccap in alts:
            if r.down[cz] or cz not in self.pools:
                continue
            if stale and r.seen_occupancy[cz] >= r.zone_capacity[cz]:
                continue
            try:
                other = await self.call(cz, ccap, rid, text, if_free=True)
            except TransportError as exc:
                self.lost(cz, str(exc))
                continue
            if other["outcome"] != "busy":
                return cz, ccap, other | {"overflow": True}
        return zone, cap, await self.call(zone, cap, rid, text)

    def flush(self) -> None:
        """Route every pending request in one call (a micro-batch: the live tick)."""
        batch, self.pending = self.pending, []
        ids = np.array([b[0] for b in batch], dtype=np.int64)
        try:
            now = (self.now() - self.t0) * self.speed  # scenario seconds: the router's step
            d = self.routing.route_batch(ids, [b[1] for b in batch], now)
        except Exception as exc:  # a router's error fails its batch, never the gateway
            for _, _, fut in batch:
                fut.set_result((-1, -1, f"routing failed: {type(exc).__name__}: {exc}", []))
            return
        for i, (_, _, fut) in enumerate(batch):
            alts = d.overflow[i] if d.overflow else []
            fut.set_result((int(d.zone[i]), int(d.capability[i]), d.reason[i], alts))


async def main_async(args: argparse.Namespace) -> None:
    scenario = load_from_args(args)
    routing = LiveRouting(scenario, seed=args.seed, router=args.router, rate_scale=args.rate_scale)
    gateway = Gateway(routing, time.monotonic(), args.speed, args.batch_ms / 1000.0)
    # the first route compiles the physics kernel and warms the embedder: before any request
    if len(routing.arrivals):
        routing.route_batch(np.array([0]), [routing.source_texts[routing.arrivals.text[0]]], 0.0)
    server = await serve(gateway.handle, sock=socket.socket(fileno=args.fd))
    announce_port(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="arena.live.gateway")
    add_scenario_args(p)
    p.add_argument("--rate-scale", type=float, default=1.0)
    p.add_argument("--router", default=None, help="override the scenario's router")
    p.add_argument("--fd", type=int, required=True, help="the listening socket handed over")
    p.add_argument(
        "--batch-ms",
        type=float,
        default=0.0,
        help="micro-batch window in wall ms (0: the requests read in one pass of the event loop)",
    )
    args = p.parse_args(argv)
    die_with_parent()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
