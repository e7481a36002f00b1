"""SIGKILL a child process at a moment the test picks (the crash-durability tests share it)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def acks_in(log: Path) -> int:
    """Lines ``a ...`` a child appended to ``log`` (0 before it exists)."""
    return log.read_bytes().count(b"\na ") + 1 if log.exists() else 0


def kill_when(child: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> str:
    """Poll ``ready()`` every 2 ms; SIGKILL ``child`` once it holds (or the child exits, or
    ``timeout`` passes). Returns the child's stderr."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and child.poll() is None:
            if ready():
                break
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=30)
    return err.decode() if err else ""
