"""What the live deployment's child processes share: dying with their parent, and loading
the scenario exactly as the run loaded it (file, overrides, overlays, seed, speed)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..scenario import Scenario, load_scenario

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (even by SIGKILL), so a
    worker or gateway never outlives the run that started it; and ignore Ctrl-C (SIGINT goes
    to the whole terminal's process group: the run stops its children itself, in order)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_fd_limit()
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> ``(host, port)``; ValueError naming the text otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    """The scenario a child process loads, as the run loaded it: its file, ``--set``
    overrides and ``--overlay`` files, the seed and the speed."""
    p.add_argument("--scenario", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--overlay", dest="overlays", action="append", default=[])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--speed", type=float, default=1.0, help="scenario seconds per wall second")


def scenario_args(
    file: str, overrides: Sequence[str], overlays: Sequence[str], seed: int, speed: float
) -> list[str]:
    """The command-line arguments :func:`add_scenario_args` reads back."""
    out = ["--scenario", file, "--seed", str(seed), "--speed", repr(speed)]
    for o in overrides:
        out += ["--set", o]
    for o in overlays:
        out += ["--overlay", o]
    return out


def load_from_args(args: argparse.Namespace) -> Scenario:
    return load_scenario(args.scenario, overrides=args.overrides, overlays=args.overlays)


def override_strings(overrides: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """Overrides as ``key=value`` strings (a mapping's values as JSON, which YAML reads)."""
    if isinstance(overrides, Mapping):
        return [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


def announce_port(port: int) -> None:
    """Tell the parent where this process listens: ``PORT n`` on stdout, its pipe (the one
    line of the startup protocol :class:`arena.live.Deployment` reads, not a log record)."""
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


def raise_fd_limit() -> None:
    """Lift the soft limit on open files to the hard one: the client and the gateway keep one
    connection per request in flight (a thousand queued requests are a thousand sockets each
    way), and a soft limit of 1,024 is common."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
