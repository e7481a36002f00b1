"""The processes a live run started (its ``pids.json``), for tests that must stop them all."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def started_pids(out: Path) -> list[int]:
    f = out / "pids.json"
    if not f.exists():
        return []
    data = json.loads(f.read_text())
    return [p for p in [data["gateway"], *data["workers"].values()] if p]


def kill_started(out: Path) -> None:
    """SIGKILL every process the live run in ``out`` started (pass or fail)."""
    for pid in started_pids(out):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
