"""Child process for the audit kill -9 test: runs an audited capability until killed.

Usage: ``python audit_kill_child.py STORE LOG MODE PAUSE``: ``PAUSE`` seconds of other work
(a sleep) between calls, as a service has. After each ``Engine.run`` has returned
(the call is *acknowledged*), the child appends ``a <wall time>`` to LOG with one unbuffered
``os.write``, so a SIGKILL never loses a line that was written. The parent counts acknowledged
calls against the audit rows that reached the SQLite file.
"""

from __future__ import annotations

import os
import sys
import time

from capabilities import Engine, Registry, audit_log


def main(store: str, log: str, mode: str, pause: str) -> None:
    wait = float(pause)
    registry = Registry()

    @registry.capability(provides=["y"], effects=[audit_log()])
    def bump(x: int) -> int:
        """Add one."""
        return x + 1

    engine = Engine(registry, store=store, audit_mode=mode)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for i in range(10_000_000):
        engine.run("bump", {"x": i})
        os.write(fd, f"a {time.time():.6f}\n".encode())
        if wait:
            time.sleep(wait)


if __name__ == "__main__":
    main(*sys.argv[1:5])
