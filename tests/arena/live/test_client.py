"""The client's replay against a stand-in gateway (an HTTP server in this process that answers
even ids at once and never answers odd ones): arrivals are sent at their times, compressed by
the speed; every request gets one row, the unanswered ones ``failed``/``run ended`` once the
drain bound passes; a stop ends sending early."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from arena.live.client import Replay
from arena.live.http import serve


async def half_answering(method: str, path: str, body: Any) -> tuple[int, Any]:
    if body["id"] % 2:
        await asyncio.sleep(3600)  # never, within the test's bounds
    return 200, {"id": body["id"], "outcome": "ok", "routed": time.monotonic()}


async def replay_against_stand_in(times: np.ndarray, stop_after: float | None) -> list[dict]:
    server = await serve(half_answering, "127.0.0.1", 0)
    rows: list[dict] = []
    try:
        replay = Replay(server.sockets[0].getsockname()[1], time.monotonic(), 10.0, rows.append)
        stop = asyncio.Event()
        if stop_after is not None:
            asyncio.get_running_loop().call_later(stop_after, stop.set)
        texts = [f"text {i}" for i in range(len(times))]
        await asyncio.wait_for(
            replay.run(times, texts, np.arange(len(times)), stop, drain_s=0.3), timeout=10
        )
        assert replay.sent == len(rows)
    finally:
        server.close()
    return rows


async def test_every_arrival_is_sent_on_time_and_ends_in_one_row():
    times = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])  # scenario s; 10x: 0.25 s of wall
    rows = await replay_against_stand_in(times, stop_after=None)
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == list(range(6))
    sent = np.array([by_id[i]["sent"] for i in range(6)])
    assert (sent >= times - 1e-9).all() and (sent - times < 0.5).all()  # 50 ms wall of slack
    for i, r in by_id.items():
        if i % 2:
            assert (r["outcome"], r["reason"]) == ("failed", "run ended")
            assert r["finished"] >= sent[-1] + 3.0 - 0.5  # waited the drain bound (0.3 s wall)
        else:
            assert r["outcome"] == "ok" and r["routed"] >= r["sent"]


async def test_a_stop_ends_sending_early_and_still_every_sent_request_has_its_row():
    times = np.arange(0.0, 100.0, 0.5)  # 10 s of wall if it were not stopped
    rows = await replay_against_stand_in(times, stop_after=0.2)
    assert 0 < len(rows) < len(times)
    assert sorted(r["id"] for r in rows) == list(range(len(rows)))
