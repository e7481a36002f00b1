"""One way to open the project's SQLite databases (audit log, actor state, embedding cache)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path


def connect(
    path: str | os.PathLike[str], *, durable: bool = False, page_size: int | None = None
) -> sqlite3.Connection:
    """Open ``path`` (or ``":memory:"``) in WAL mode, shareable across threads.

    ``durable=True`` sets ``synchronous=FULL`` so a committed transaction survives a crash of the
    process *and* of the machine; otherwise ``NORMAL`` (survives a process crash, which is what
    audit logs and caches need). ``page_size`` (bytes, a power of two from 512 to 65536) applies
    to a database this call creates; an existing file keeps its own (SQLite fixes the page size
    with the first write, and WAL mode cannot change it).
    """
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target, check_same_thread=False, timeout=60, isolation_level=None)
    if page_size is not None:
        db.execute(f"PRAGMA page_size={int(page_size)}")  # before WAL: that write fixes it
    if target != ":memory:":
        _enable_wal(db)
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    return db


def _enable_wal(db: sqlite3.Connection, wait: float = 60.0) -> None:
    """Switch to WAL, waiting for other processes that are opening the same file.

    Why a loop: changing the journal mode needs a moment of exclusive access, and SQLite answers
    ``database is locked`` at once (without its busy handler) while another process is doing the
    same on a new file — two actor processes started together did exactly that.
    """
    deadline = time.monotonic() + wait
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
