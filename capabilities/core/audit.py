"""The audit log: one SQLite row per execution, with a stated bound on what a crash can lose.

Two modes, because an audit trail is written on every call and the cost of a commit per call is
large next to the engine's own overhead (see ``benchmarks/bench_engine.py``):

- ``"batched"`` (the default) — *group commit with a bounded delay*. ``write`` appends the row
  to a buffer and returns; the group is committed in one transaction once its oldest row is
  ``flush_interval`` (5 ms) old — by the next ``write`` itself while calls keep coming (so the
  bound does not depend on when a thread gets the GIL), else by a background thread once the
  group is 1.2 intervals old (6 ms: the caller goes first). A process killed with SIGKILL
  therefore loses at most the rows of its last flush interval; a reader sees rows within ~6 ms.
  ``synchronous=NORMAL``: a committed group survives the process dying (the WAL is in the OS's
  page cache); only a power cut can take the last groups since a checkpoint.
- ``"durable"`` — *commit per call*: ``write`` returns after the row's own transaction has
  committed with ``synchronous=FULL`` (the WAL is fsynced), so an execution whose Result was
  returned is in the log even after a kill -9 or a power cut. FULL rather than NORMAL because
  a mode called durable that a power cut can undo would promise more than it keeps; who only
  fears process crashes gets nearly that from ``"batched"`` at a fraction of the cost.

Both modes use WAL, so readers (another process, ``sqlite3`` on the command line) see committed
rows while the engine runs. Pending rows are flushed by :meth:`AuditStore.close`, by
:meth:`AuditStore.rows`, when the store is garbage-collected and at interpreter exit
(``weakref.finalize`` registers an atexit hook) — only SIGKILL / ``os._exit`` skip that.
An in-memory store (``":memory:"``) has nothing to lose to a crash: it buffers rows and writes
them when read, with no thread.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from typing import Any

from capabilities.core.effects import Execution
from capabilities.errors import PacketFlowError
from capabilities.sqlite import connect

AUDIT_MODES = ("batched", "durable")
MAX_PENDING = 4096  # a writer flushes inline past this many pending rows (bounded memory)

_INSERT_HEAD = (
    "INSERT INTO audit_log (time, capability, input_keys, status, duration, request_id, "
    "principal, level, error) VALUES "
)
_INSERT = _INSERT_HEAD + "(?,?,?,?,?,?,?,?,?)"
_CHUNK = 1000  # rows per statement: 9,000 parameters, under SQLite's 32,766


def _insert_many(db: Any, rows: list[tuple]) -> None:
    """Insert ``rows`` in one transaction, as few multi-row statements as SQLite allows.

    One statement per chunk rather than ``executemany``: each SQLite call releases and retakes
    the GIL, and a flusher thread retaking it while the engine's thread computes waits up to the
    interpreter's switch interval (5 ms) *per call* — per row, with ``executemany``.
    """
    if len(rows) <= _CHUNK:
        db.execute(_insert_sql(len(rows)), [v for r in rows for v in r])  # autocommit
        return
    db.execute("BEGIN")
    try:
        for i in range(0, len(rows), _CHUNK):
            chunk = rows[i : i + _CHUNK]
            db.execute(_insert_sql(len(chunk)), [v for r in chunk for v in r])
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@functools.cache
def _insert_sql(n: int) -> str:
    return _INSERT_HEAD + ",".join(["(?,?,?,?,?,?,?,?,?)"] * n)


class _Writer:
    """The connection, the pending rows and the flusher thread — everything the finalizer needs,
    held apart from :class:`AuditStore` so that the store itself can be garbage-collected."""

    def __init__(self, path: str, mode: str, flush_interval: float):
        self.durable = mode == "durable"
        self.db = connect(path, durable=self.durable)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY, time REAL, "
            "capability TEXT, input_keys TEXT, status TEXT, duration REAL, request_id TEXT, "
            "principal TEXT, level TEXT, error TEXT)"
        )
        self.interval = flush_interval
        self.pending: list[tuple] = []
        self.oldest = 0.0  # time.monotonic() of the oldest pending row
        self.lock = threading.Lock()  # guards `pending` (held only to append or swap)
        self.db_lock = threading.Lock()  # guards the connection; taken before `lock`
        self.wake = threading.Condition(self.lock)
        self.closed = False
        self.stopping = threading.Event()  # cuts the gathering wait short on close
        self.thread: threading.Thread | None = None
        if path != ":memory:" and not self.durable:
            self.thread = threading.Thread(
                target=self._flush_loop, name=f"audit-flush {path}", daemon=True
            )
            self.thread.start()

    def write(self, row: tuple) -> None:
        if self.durable:
            with self.db_lock:
                if self.closed:
                    raise PacketFlowError("audit log: the store is closed")
                self.db.execute(_INSERT, row)  # autocommit: one fsynced transaction
            return
        now = time.monotonic()
        with self.lock:
            if self.closed:
                raise PacketFlowError("audit log: the store is closed")
            self.pending.append(row)
            if len(self.pending) == 1:
                self.oldest = now
                self.wake.notify()
                return
            due = now - self.oldest >= self.interval or len(self.pending) >= MAX_PENDING
        if due:
            self.flush()

    def flush(self) -> None:
        with self.db_lock:  # one flush at a time, so rows are committed in write order
            with self.lock:
                rows, self.pending = self.pending, []
            if rows:
                _insert_many(self.db, rows)

    def _flush_loop(self) -> None:
        """Commit a group its writer left behind: only once its oldest row is a little past
        the interval, so while calls keep coming (and the caller commits on time) this thread
        wakes about once per interval and goes back to sleep, never contending for the GIL
        or the connection with the caller's own commits."""
        late = self.interval * 1.2
        while True:
            with self.lock:
                while not self.pending and not self.closed:
                    self.wake.wait()
                if self.closed:
                    return
                age = time.monotonic() - self.oldest
            if age < late:
                self.stopping.wait(late - age)  # gather the group: the bounded delay
                continue
            self.flush()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True  # no new rows from here on
            self.wake.notify()
        self.stopping.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()
        with self.db_lock:
            with self.lock:
                rows, self.pending = self.pending, []
            if rows:
                _insert_many(self.db, rows)
            self.db.close()


class AuditStore:
    """The audit log table in SQLite (see the module doc for the two modes and their bounds)."""

    def __init__(
        self, path: str = ":memory:", *, mode: str = "batched", flush_interval: float = 0.005
    ):
        if mode not in AUDIT_MODES:
            raise PacketFlowError(
                f"audit log: mode must be one of {list(AUDIT_MODES)}, got {mode!r}"
            )
        if not (isinstance(flush_interval, int | float) and 0 < flush_interval <= 60):
            raise PacketFlowError(
                f"audit log: flush_interval must be a number of seconds in (0, 60], "
                f"got {flush_interval!r}"
            )
        self.path = path
        self.mode = mode
        self.flush_interval = float(flush_interval)
        self._writer = _Writer(path, mode, self.flush_interval)
        self._finalizer = weakref.finalize(self, self._writer.close)  # also runs at exit

    def write(self, e: Execution, level: str) -> None:
        self._writer.write(
            (
                time.time(),
                e.capability,
                ",".join(e.input_keys),
                e.status,
                e.duration,
                e.request_id,
                e.principal,
                level,
                e.error,
            )
        )

    def flush(self) -> None:
        """Commit pending rows now."""
        self._writer.flush()

    def rows(self, capability: str | None = None, status: str | None = None) -> list[dict]:
        """Audit rows as dicts, oldest first (flushes pending rows first)."""
        self.flush()
        sql = "SELECT * FROM audit_log"
        args: list[Any] = []
        where = []
        if capability is not None:
            where.append("capability = ?")
            args.append(capability)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        writer = self._writer
        with writer.db_lock:
            cur = writer.db.execute(sql + " ORDER BY id", args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def close(self) -> None:
        """Flush, stop the flusher and close the file (idempotent)."""
        self._finalizer()
