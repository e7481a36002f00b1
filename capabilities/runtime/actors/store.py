"""The actor store's SQLite schema (state per actor id, message log, snapshots) and JSON encoding."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capabilities.errors import ContractError
from capabilities.sqlite import connect

if TYPE_CHECKING:
    pass


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS actor_state (actor TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL, "
    "PRIMARY KEY (actor, actor_id))",
    "CREATE TABLE IF NOT EXISTS actor_messages (actor TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, idempotency_key TEXT, message TEXT NOT NULL, reply TEXT NOT NULL, "
    "time REAL NOT NULL, PRIMARY KEY (actor, actor_id, seq))",
    "CREATE UNIQUE INDEX IF NOT EXISTS actor_messages_key ON actor_messages "
    "(actor, actor_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS actor_snapshots (actor TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, state TEXT NOT NULL, time REAL NOT NULL, "
    "PRIMARY KEY (actor, actor_id, seq))",
)


def dumps(actor: str, what: str, value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(
            actor, what, f"must be JSON-serialisable to be persisted ({exc})"
        ) from None


class ActorStore:
    """One SQLite connection for actor state and message logs, serialised by a lock."""

    def __init__(self, path: str):
        self.path = path
        self._db = connect(path, durable=True)
        self._lock = threading.Lock()
        for statement in SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def query(self, sql: str, args: tuple[Any, ...]) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def stored_reply(self, actor: str, actor_id: str, key: str | None) -> tuple[Any] | None:
        if key is None:
            return None
        rows = self.query(
            "SELECT reply FROM actor_messages WHERE actor=? AND actor_id=? AND idempotency_key=?",
            (actor, actor_id, key),
        )
        return (json.loads(rows[0][0]),) if rows else None
