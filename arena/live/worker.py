"""A zone worker: one process per zone, an HTTP server on loopback with ``capacity`` slots and
a bounded FIFO queue, executing the zone's capabilities through the capability engine.

``POST /call {id, cap, text, tin, tout}``: the request takes a free slot, else waits in the
queue (at most ``queue_limit``), else is dropped (``queue_full``); with ``if_free: true`` (the
gateway trying an overflow) it takes a free slot or is answered ``busy`` at once. In a slot, the engine runs
the call on the call clock (:mod:`arena.live.zone_engine`) and the worker then waits the call's
busy time for real (``asyncio.sleep``, divided by the run's speed) before answering with its
times on ``time.monotonic()``, which is one clock for every process on a Linux host (the run
turns them into scenario seconds from its start).

Every ``period`` seconds (aligned to the run's start, as the simulation's board posts at
multiples of its period) it reports its occupancy and queue to the gateway's load board, so a
router's staleness arises from a real report period. Run as
``python -m arena.live.worker --scenario F --zone NAME --seed N --board HOST:PORT --period P``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from .http import Pool, TransportError, serve
from .lifecycle import (
    add_scenario_args,
    announce_port,
    die_with_parent,
    load_from_args,
    parse_address,
)
from .zone_engine import ZoneEngine


class Zone:
    """Slots, queue and engine of one zone; :meth:`handle` is the HTTP handler."""

    def __init__(self, engine: ZoneEngine, capacity: int, queue_limit: int, speed: float):
        self.engine, self.capacity, self.queue_limit, self.speed = (
            engine,
            capacity,
            queue_limit,
            speed,
        )
        self.busy = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    def now(self) -> float:
        return time.monotonic()

    async def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/health":
            return 200, {"busy": self.busy, "queue": len(self.waiting)}
        if path != "/call" or not isinstance(body, dict):
            return 404, {"error": f"no {method} {path}"}
        reach = self.now()
        rid = int(body["id"])
        if self.busy < self.capacity:
            self.busy += 1
        elif body.get("if_free"):  # an overflow probe: only an idle slot will do
            return 200, {"id": rid, "outcome": "busy"}
        elif len(self.waiting) < self.queue_limit:
            slot = asyncio.get_running_loop().create_future()
            self.waiting.append(slot)
            await slot  # the slot is handed over by the call that frees it
        else:
            return 200, {"id": rid, "outcome": "dropped", "reason": "queue_full", "reach": reach}
        start = self.now()
        try:
            call = self.engine.call(
                body["cap"], rid, body["text"], (int(body["tin"]), int(body["tout"]))
            )
            await asyncio.sleep(max(0.0, start + call.busy / self.speed - self.now()))
        finally:
            if self.waiting:
                self.waiting.popleft().set_result(None)
            else:
                self.busy -= 1
        return 200, {
            "id": rid,
            "outcome": call.status,
            "reason": call.error,
            "reach": reach,
            "start": start,
            "end": self.now(),
        }


async def report(zone: Zone, name: str, port: int, board: Pool, period: float) -> None:
    """Post the zone's load to the board every ``period`` scenario seconds, at multiples of it
    on the monotonic clock (the run's start is one such multiple: see :mod:`arena.live.run`)."""
    wall = period / zone.speed
    while True:
        try:
            await board.request(
                "POST",
                "/board",
                {"zone": name, "port": port, "occupancy": zone.busy, "queue": len(zone.waiting)},
            )
        except TransportError:
            return  # the gateway is gone: the deployment is stopping us
        now = zone.now()
        await asyncio.sleep((math.floor(now / wall + 1e-9) + 1) * wall - now)


async def main_async(args: argparse.Namespace) -> None:
    scenario = load_from_args(args)
    names = [z.name for z in scenario.zones]
    zi = names.index(args.zone)
    spec = scenario.zones[zi]
    engine = ZoneEngine(scenario, args.seed, zi)
    zone = Zone(engine, spec.capacity, spec.queue_limit, args.speed)
    server = await serve(zone.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    announce_port(port)
    host, board_port = parse_address(args.board)
    await report(zone, args.zone, port, Pool(host, board_port), args.period)
    server.close()


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="arena.live.worker")
    add_scenario_args(p)
    p.add_argument("--zone", required=True)
    p.add_argument("--board", required=True, help="the gateway's HOST:PORT")
    p.add_argument("--period", type=float, required=True, help="load report period (s)")
    args = p.parse_args(argv)
    die_with_parent()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
