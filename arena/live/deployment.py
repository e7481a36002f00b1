"""Starting and stopping the live deployment's processes: the gateway and one worker per zone.

Each is ``python -m arena.live.gateway`` / ``arena.live.worker`` started with
:class:`subprocess.Popen` (no multiprocessing: importing Mesa switches its start method to
spawn, and a plain subprocess is simpler to watch and to kill), bound to 127.0.0.1 at a free
port it prints as ``PORT n``. Every process is tracked by pid and stopped by :meth:`stop`
(SIGTERM, then SIGKILL after a grace period), which :func:`arena.live.run.run_live` calls on
exit, on Ctrl-C and on failure; each child also asks Linux to end it if this process dies
(:func:`arena.live.lifecycle.die_with_parent`). The seam for another host: a worker only needs
the gateway's address to report to, and the gateway learns the worker's from its reports.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from capabilities import PacketFlowError

from ..physics import LoadInfo
from .http import Pool, TransportError, listening_socket
from .lifecycle import scenario_args

# bounds on starting: a process imports ~2 s of CPU (SciPy, Mesa, the engine), and thirty
# workers share two cores with the gateway building its model
READY_S = 60.0  # every worker has reported to the board by then, or the start failed
STARTUP_S = 300.0  # a process that has not said its port by then failed to start
INSTANT_PERIOD = 0.01  # load_info instant: workers report every 10 ms (scenario seconds)


class DeploymentError(PacketFlowError):
    """A process of the deployment failed to start or died unexpectedly."""


def report_period(info: LoadInfo) -> float:
    """Scenario seconds between a worker's load reports: the board's period; live figures
    (instant) as often as is cheap; delayed: as often, the gateway applying them late."""
    return info.period if info.mode == "board" else INSTANT_PERIOD


@dataclass
class Deployment:
    """The processes of one live run (see the module docstring)."""

    scenario_file: str
    zones: list[str]
    seed: int
    speed: float
    period: float
    router: str | None = None
    rate_scale: float = 1.0
    overrides: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)
    gateway: subprocess.Popen[str] | None = None
    gateway_port: int = 0
    workers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    killed: set[str] = field(default_factory=set)

    def _spawn(
        self, module: str, args: list[str], pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            pass_fds=pass_fds,
        )

    def start(self) -> None:
        """Start the gateway and the workers together (:meth:`wait_listening` waits for
        them). The gateway's socket is bound here and handed over, so the workers' first
        reports wait in its backlog while it starts: every process starts at once."""
        common = scenario_args(
            self.scenario_file, self.overrides, self.overlays, self.seed, self.speed
        )
        router = ["--router", self.router] if self.router else []
        router += ["--rate-scale", repr(self.rate_scale)]
        sock = listening_socket()
        self.gateway_port = sock.getsockname()[1]
        try:
            self.gateway = self._spawn(
                "arena.live.gateway",
                [*common, *router, "--fd", str(sock.fileno())],
                pass_fds=(sock.fileno(),),
            )
        finally:
            sock.close()
        board = f"127.0.0.1:{self.gateway_port}"
        for name in self.zones:
            self.workers[name] = self._spawn(
                "arena.live.worker",
                [*common, "--zone", name, "--board", board, "--period", repr(self.period)],
            )

    def wait_listening(self) -> None:
        """Wait until every process listens (DeploymentError if one fails to start)."""
        assert self.gateway is not None, "start() first"
        _read_port(self.gateway, "gateway")
        for name, proc in self.workers.items():
            _read_port(proc, f"worker {name!r}")

    async def start_clock(self, wall_period: float) -> float:
        """Wait until every zone has reported to the board, then start the run's clock at the
        next multiple of ``wall_period`` on the monotonic clock (the workers report at those
        multiples) and tell the gateway; returns that start, ``t0``."""
        pool = Pool("127.0.0.1", self.gateway_port)
        deadline = time.monotonic() + READY_S
        try:
            while True:
                _, ready = await pool.request("GET", "/ready")
                if ready["zones"] == ready["of"]:
                    break
                if time.monotonic() > deadline or self.died():
                    raise DeploymentError(
                        f"live: {ready['zones']} of {ready['of']} zones reported to the board "
                        f"within {READY_S:g} s"
                    )
                await asyncio.sleep(0.02)
            t0 = (math.floor(time.monotonic() / wall_period) + 1) * wall_period
            await pool.request("POST", "/start", {"t0": t0})
        except TransportError as exc:
            raise DeploymentError(f"live: the gateway is unreachable: {exc}") from None
        finally:
            pool.close()
        return t0

    def pids(self) -> list[int]:
        procs = [self.gateway, *self.workers.values()]
        return [p.pid for p in procs if p is not None]

    def write_pids(self, path: Path) -> None:
        """The pids, as JSON (``{"gateway": pid, "workers": {zone: pid}}``), atomically."""
        data = {
            "gateway": self.gateway.pid if self.gateway else None,
            "workers": {n: p.pid for n, p in self.workers.items()},
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)

    def kill(self, zone: str) -> None:
        """SIGKILL the worker of ``zone`` (the live fault: the gateway must notice)."""
        self.killed.add(zone)
        proc = self.workers[zone]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def died(self) -> str | None:
        """The first process that died without being killed on purpose, if any."""
        if self.gateway is not None and self.gateway.poll() is not None:
            return f"the gateway exited ({self.gateway.returncode})"
        for name, proc in self.workers.items():
            if name not in self.killed and proc.poll() is not None:
                return f"the worker of zone {name!r} exited ({proc.returncode})"
        return None

    def stop(self, grace: float = 3.0) -> None:
        """Stop every process started (SIGTERM, SIGKILL after ``grace`` s) and reap it."""
        procs = [p for p in (*self.workers.values(), self.gateway) if p is not None]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + grace
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()


def _read_port(proc: subprocess.Popen[str], what: str) -> int:
    """The port ``proc`` prints as ``PORT n`` once it listens (DeploymentError if it exits
    or stays silent for :data:`STARTUP_S`)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + STARTUP_S
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                raise DeploymentError(f"live: the {what} exited while starting ({proc.wait()})")
            if line.startswith("PORT "):
                return int(line.split()[1])
    raise DeploymentError(f"live: the {what} did not start within {STARTUP_S:g} s")
