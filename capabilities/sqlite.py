"""One way to open the project's SQLite databases (audit log, actor state, embedding cache)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect(path: str | os.PathLike[str], *, durable: bool = False) -> sqlite3.Connection:
    """Open ``path`` (or ``":memory:"``) in WAL mode, shareable across threads.

    ``durable=True`` sets ``synchronous=FULL`` so a committed transaction survives a crash of the
    process *and* of the machine; otherwise ``NORMAL`` (survives a process crash, which is what
    audit logs and caches need).
    """
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target, check_same_thread=False, timeout=60, isolation_level=None)
    if target != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    return db
