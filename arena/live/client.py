"""The client: replays the run's arrivals against the gateway in wall-clock time.

The arrivals are the simulation's own (:func:`arena.model.source.draw_arrivals` through the
scenario's model for the same seed), so the times and texts are the same; arrival ``i`` is
sent at ``t0 + times[i] / speed`` (every arrival already due is sent at once, so a late wake-up
never reorders them). Each answer, with the time it was sent, is one row; a request still
unanswered when the drain bound passes ends ``failed`` with reason ``run ended``. Every
request sent gets exactly one row.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .http import Pool, TransportError

RowSink = Callable[[Mapping[str, Any]], None]


class Replay:
    """Send arrivals ``(times, texts)`` to the gateway at ``port``; rows go to ``sink``."""

    def __init__(self, port: int, t0: float, speed: float, sink: RowSink):
        self.pool = Pool("127.0.0.1", port)
        self.t0, self.speed, self.sink = t0, speed, sink
        self.sent = 0
        self.in_flight: dict[int, float] = {}

    async def run(
        self,
        times: np.ndarray,
        texts: Sequence[str],
        text_index: np.ndarray,
        stop: asyncio.Event,
        drain_s: float,
    ) -> None:
        """Send every arrival at its time (until ``stop``), then wait at most ``drain_s`` wall
        seconds for the answers; what is still unanswered then ends ``failed``."""
        tasks: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []  # a row that could not be recorded fails the run

        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]

        wall = self.t0 + np.asarray(times, dtype=np.float64) / self.speed
        i, n = 0, len(wall)
        while i < n and not stop.is_set():
            j = int(np.searchsorted(wall, time.monotonic(), side="right"))
            for k in range(i, j):
                task = asyncio.create_task(self.send(k, texts[k], int(text_index[k])))
                tasks.add(task)
                task.add_done_callback(done)
            i = max(i, j)
            if i < n:
                wait = max(0.0, min(wall[i] - time.monotonic(), 0.05))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=drain_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.pool.close()
        if failures:
            raise failures[0]

    async def send(self, rid: int, text: str, text_index: int) -> None:
        sent = time.monotonic()
        self.sent += 1
        self.in_flight[rid] = sent
        row: dict[str, Any]
        try:
            _, row = await self.pool.request("POST", "/request", {"id": rid, "text": text})
        except TransportError as exc:
            row = {"outcome": "failed", "reason": f"gateway lost: {exc}"}
            row["finished"] = time.monotonic()
        except asyncio.CancelledError:
            row = {"outcome": "failed", "reason": "run ended", "finished": time.monotonic()}
        del self.in_flight[rid]
        self.sink(self.scenario_seconds(row | {"id": rid, "text": text_index, "sent": sent}))

    def scenario_seconds(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` with its monotonic times as scenario seconds from the run's start."""
        out = dict(row)
        for key in ("sent", "routed", "queued", "started", "finished"):
            if out.get(key) is not None:
                out[key] = (float(out[key]) - self.t0) * self.speed
        return out
