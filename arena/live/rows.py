"""The live run's per-request rows in SQLite: one row per request sent, written in batches.

Why SQLite: the rows survive a crash of the run (WAL, each batch one transaction), any tool can
read them, and ``requests.csv`` is exported from them at the end. Times are scenario seconds
from the run's start on the host's monotonic clock (see :mod:`arena.live.worker`): ``sent``
(the client sent it), ``routed`` (the gateway chose its zone), ``queued`` (it reached the zone
worker), ``started`` and ``finished`` (its service); ``outcome`` is ``ok``, ``degraded``,
``failed`` or ``dropped``, with a ``reason`` for the last two; ``overflow`` is 1 when the
request was served by a candidate zone because its own had no idle slot.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS = (
    "id",
    "text",
    "sent",
    "routed",
    "queued",
    "started",
    "finished",
    "zone",
    "capability",
    "outcome",
    "reason",
    "overflow",
)
OUTCOMES = ("ok", "degraded", "failed", "dropped")
SCHEMA = f"""CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, text INTEGER NOT NULL, sent REAL NOT NULL, routed REAL,
    queued REAL, started REAL, finished REAL, zone TEXT, capability TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN {OUTCOMES!r}), reason TEXT,
    overflow INTEGER NOT NULL DEFAULT 0)"""


class RowStore:
    """An SQLite file of request rows; :meth:`add` buffers, :meth:`flush` writes a batch."""

    def __init__(self, path: Path, batch: int = 512):
        self.path = Path(path)
        self.batch = batch
        self._buffer: list[tuple[Any, ...]] = []
        # written by the replay (on a thread of its own under Jupyter: run_sync), read after it:
        # one thread at a time, so the connection may cross threads
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.db.commit()

    def add(self, row: Mapping[str, Any]) -> None:
        self._buffer.append((*(row.get(c) for c in COLUMNS[:-1]), int(bool(row.get("overflow")))))
        if len(self._buffer) >= self.batch:
            self.flush()

    def add_all(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        """Write the buffered rows in one transaction (all or none)."""
        if not self._buffer:
            return
        with self.db:
            self.db.executemany(
                f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('?' * len(COLUMNS))})",
                self._buffer,
            )
        self._buffer.clear()

    def frame(self) -> pd.DataFrame:
        """Every row written, by request id."""
        self.flush()
        return pd.read_sql_query(
            f"SELECT {', '.join(COLUMNS)} FROM requests ORDER BY id", self.db
        ).astype({"zone": object, "capability": object, "reason": object})

    def close(self) -> None:
        self.flush()
        self.db.close()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV at ``path``, atomically (a temporary file renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
