"""``run_live``: a scenario as a real deployment on this machine, and its rows and summary.

Order: the scenario's model is built here (never stepped: its arrivals are the client's, its
tables the summary's); the deployment starts (gateway, one worker per zone) and every zone
reports to the board; the run's start ``t0`` is the next multiple of the board's wall period
on the monotonic clock (so workers' reports fall at multiples of the period from the start,
as the simulation posts its board); the client replays the arrivals; then everything is
stopped — also on Ctrl-C, on an error, and when a process dies unexpectedly (a worker killed
by ``kill`` is expected: the gateway's breaker handles it and the run goes on).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import os
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..errors import ScenarioError
from ..model import ArenaModel, RunSummary, requests_frame, summarise
from ..physics import make_router
from ..scenario import Scenario, check_run_options, load_scenario
from ..workload import parse_duration
from .client import Replay
from .deployment import Deployment, DeploymentError, report_period
from .lifecycle import override_strings, raise_fd_limit
from .rows import RowStore, write_csv
from .view import LiveView

T = TypeVar("T")
DRAIN_S = 30.0  # wall seconds the client waits for answers after the last arrival (at most)
MAX_SPEED = 1000.0


@dataclass(frozen=True)
class LiveResult:
    """A live run: its summary (the simulation's :class:`RunSummary`), its rows and where
    they were written (``summary.json``, ``requests.csv``, ``requests.sqlite``)."""

    summary: RunSummary
    requests: pd.DataFrame  # the rows as recorded (requests.sqlite), reasons in full
    table: pd.DataFrame  # the same requests in the simulation's columns (requests.csv)
    out: Path
    sent: int


def parse_kill(text: str | None, scenario: Scenario) -> tuple[str, float] | None:
    """``ZONE@TIME`` (e.g. ``technical_support@2s``): SIGKILL that zone's worker at that
    scenario time; a one-line ScenarioError naming ``--kill`` otherwise."""
    if text is None:
        return None
    zone, sep, at = str(text).rpartition("@")
    names = [z.name for z in scenario.zones]
    if not sep or zone not in names:
        raise ScenarioError(
            scenario.file, "--kill", f"expected ZONE@TIME with ZONE one of {names}, got {text!r}"
        )
    return zone, parse_duration(at, file=scenario.file, field="--kill", allow_zero=True)


def check_speed(speed: object, file: str | None) -> float:
    if (
        isinstance(speed, bool)
        or not isinstance(speed, int | float)
        or not math.isfinite(speed)
        or not 0 < speed <= MAX_SPEED
    ):
        raise ScenarioError(
            file, "--speed", f"expected a number in (0, {MAX_SPEED:g}], got {speed!r}"
        )
    return float(speed)


def run_live(
    scenario: str | Path | Scenario,
    out: str | Path,
    *,
    speed: float = 1.0,
    duration: float | None = None,
    seed: int | None = None,
    kill: str | None = None,
    router: str | None = None,
    rate_scale: float = 1.0,
    overrides: Mapping[str, Any] | Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
) -> LiveResult:
    """Run ``scenario`` live (see the module docstring); ``duration`` bounds the arrivals
    sent (scenario seconds, default the scenario's), ``speed`` compresses time (service times,
    board periods and arrivals all run ``speed`` times faster; times are reported in scenario
    seconds), ``kill`` is ``ZONE@TIME``; ``router``, ``rate_scale``, ``overrides`` and
    ``overlays`` as for a simulated run. A :class:`Scenario` object must come from a file
    (the processes load it from there, with the same overrides and overlays)."""
    raise_fd_limit()
    sets = override_strings(overrides)
    layers = [str(o) for o in overlays]
    if isinstance(scenario, Scenario):
        if scenario.file is None:
            raise ScenarioError(None, None, "live needs a scenario read from a file")
        file = scenario.file
    else:
        file = str(scenario)
    sc = load_scenario(file, overrides=sets, overlays=layers)
    check_run_options(sc.file, duration=duration, seed=seed, rate_scale=rate_scale)
    speed = check_speed(speed, sc.file)
    killing = parse_kill(kill, sc)
    seed = sc.seed if seed is None else int(seed)
    if router is not None:  # a bad name fails here, in one line, before any process starts
        make_router(router, sc.router_params.get(router), file=sc.file, field="--router")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DeploymentError(f"live: --out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    db = out / "requests.sqlite"
    for stale in (
        "requests.csv",
        "summary.json",
        "pids.json",
        *(db.name + x for x in ("", "-wal", "-shm")),
    ):
        (out / stale).unlink(missing_ok=True)
    period = report_period(sc.load_info)
    dep = Deployment(
        file, [z.name for z in sc.zones], seed, speed, period, router, rate_scale, sets, layers
    )
    store: RowStore | None = None
    try:
        dep.start()
        dep.write_pids(out / "pids.json")
        # built while the processes start: the arrivals the client sends, the summary's tables
        model = ArenaModel(
            sc, seed=seed, router=router, rate_scale=rate_scale, check_conservation=False
        )
        a = model.arrivals
        end = sc.duration if duration is None else min(float(duration), sc.duration)
        n = int(np.searchsorted(a.times, end, side="left"))
        store = RowStore(db)
        dep.wait_listening()
        t0 = run_sync(dep.start_clock(period / speed))
        texts = [model.source_texts[int(t)] for t in a.text[:n]]
        replay = Replay(dep.gateway_port, t0, speed, store.add)
        died = run_sync(_drive(dep, replay, a.times[:n], texts, a.text[:n], killing, speed))
    finally:  # also on Ctrl-C: every process stopped, the rows so far written
        dep.stop()
        if store is not None:
            store.flush()
    rows = store.frame()
    store.close()
    span = max(end, float(np.nanmax(rows["finished"].to_numpy(float), initial=0.0)))
    view = LiveView(model, rows, span, replay.sent)
    table = requests_frame(view)  # the simulation's columns: validate compares them
    write_csv(table, out / "requests.csv")
    if died is not None:
        raise DeploymentError(f"live: {died}; stopped every process (rows in {db})")
    summary = summarise(view)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, out / "summary.json")
    return LiveResult(summary=summary, requests=rows, table=table, out=out, sent=replay.sent)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion: on this thread, or — where an event loop already runs here
    (Jupyter) — on a thread of its own, so ``run_live`` works from a notebook too."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _drive(
    dep: Deployment,
    replay: Replay,
    times: np.ndarray,
    texts: list[str],
    text_index: np.ndarray,
    killing: tuple[str, float] | None,
    speed: float,
) -> str | None:
    """Replay the arrivals, kill a worker on schedule, watch for an unexpected death (which
    stops the replay); returns that death's description, if any."""
    stop = asyncio.Event()
    died: list[str] = []

    async def watch() -> None:
        while not stop.is_set():
            if (
                killing is not None
                and killing[0] not in dep.killed
                and time.monotonic() >= replay.t0 + killing[1] / speed
            ):
                dep.kill(killing[0])
            why = dep.died()
            if why is not None:
                died.append(why)
                stop.set()
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        await replay.run(times, texts, text_index, stop, DRAIN_S)
    finally:
        stop.set()
        await watcher
    return died[0] if died else None
