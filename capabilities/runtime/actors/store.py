"""The actor store's SQLite schema (state per actor id, message log, snapshots) and JSON encoding."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

from capabilities.errors import ContractError
from capabilities.sqlite import connect

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

    def stored_reply(
        self, actor: str, actor_id: str, key: str | None, message: Any
    ) -> tuple[Any] | None:
        """``(reply,)`` if ``key`` was already committed for ``actor_id`` with this message.

        The key's original message is in the log beside it, so a resend is compared with it:
        the same key with a *different* message is a :class:`ContractError`, never the old
        reply passed off as the answer to the new message.
        """
        if key is None:
            return None
        rows = self.query(
            "SELECT reply, message FROM actor_messages "
            "WHERE actor=? AND actor_id=? AND idempotency_key=?",
            (actor, actor_id, key),
        )
        if not rows:
            return None
        reply, logged = rows[0]
        if json.loads(logged) != json.loads(dumps(actor, "message", message)):
            raise ContractError(
                actor,
                "idempotency_key",
                f"{key!r} was already used for actor id {actor_id!r} with a different message "
                f"({logged:.80}); a resend must repeat its message — use a new key for a new one",
            )
        return (json.loads(reply),)

    def commit(
        self,
        actor: str,
        actor_id: str,
        seen_seq: int,
        key: str | None,
        message_json: str,
        reply_json: str,
        state_json: str,
    ) -> int | None:
        """Log the message and store the new state as sequence ``seen_seq + 1``, in one
        transaction — if ``actor_id`` is still at ``seen_seq``. Returns the new sequence, or
        ``None`` when another connection (another process on this file) committed first.

        The sequence is read fresh under ``BEGIN IMMEDIATE`` (the write lock), so two processes
        can both send to one actor: the loser sees the conflict and re-handles on the fresh
        state instead of wedging on a stale cached number.
        """
        seq = seen_seq + 1
        now = time.time()
        try:
            with self.transaction() as db:
                row = db.execute(
                    "SELECT seq FROM actor_state WHERE actor=? AND actor_id=?", (actor, actor_id)
                ).fetchone()
                if (row[0] if row else 0) != seen_seq:
                    raise _Stale
                db.execute(
                    "INSERT INTO actor_messages (actor, actor_id, seq, idempotency_key, message, "
                    "reply, time) VALUES (?,?,?,?,?,?,?)",
                    (actor, actor_id, seq, key, message_json, reply_json, now),
                )
                db.execute(
                    "INSERT INTO actor_state (actor, actor_id, seq, state, updated) "
                    "VALUES (?,?,?,?,?) ON CONFLICT (actor, actor_id) DO UPDATE SET "
                    "seq=excluded.seq, state=excluded.state, updated=excluded.updated",
                    (actor, actor_id, seq, state_json, now),
                )
        except (_Stale, sqlite3.IntegrityError):  # a sequence or key another writer took
            return None
        return seq


class _Stale(Exception):
    """The actor id moved on since its state was read (rolls the transaction back)."""
