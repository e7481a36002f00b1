"""Durable actor capabilities: one mailbox per actor id, state committed to SQLite per message.

(Over 400 lines on purpose: the mailbox, the commit-retry loop across processes and the
principal scoping of actor ids are one protocol — splitting them would put the exactly-once
argument in three files. The store and the declarations already live apart.)

An actor is a capability with memory. Its handler is ``on_message(message, state) -> (reply,
new_state)`` (sync or async); the runtime keeps one mailbox per *actor id* (a conversation, a
customer), so messages to one id are handled strictly one after another while different ids
run concurrently.

Why a message is only acknowledged after its commit: the new state, the message and its reply
are written in ONE SQLite transaction (WAL, ``synchronous=FULL``) before the reply is returned.
A process that dies at any moment therefore loses nothing it acknowledged, and a restarted
process resumes every actor from its last committed state. A message may carry an
*idempotency key*: a resend of an already-committed message (the client never saw the reply
because of the crash) returns the stored reply instead of being applied twice.

Actors are ordinary capabilities (``kind="actor"``) with the contract
``actor_id: str, message: dict, idempotency_key: str | None -> <provides>``, so the engine,
workflows and MCP call them like anything else — and every path goes through the same durable
delivery (:meth:`ActorRuntime.deliver`).

Several processes may share one actor store: each commit checks, under SQLite's write lock,
that the actor id is still at the sequence its state was read at. If another process got there
first, the message is handled again on the fresh state (at most ``MAX_COMMIT_ATTEMPTS`` times),
so every message is applied exactly once and sequences stay contiguous. A handler should
therefore be a function of ``(message, state)``: what it does besides returning — calls through
an injected engine — may happen again on such a conflict.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capabilities.core.context import Context
from capabilities.core.contracts import check_inputs
from capabilities.core.model import Capability
from capabilities.errors import ContractError, PacketFlowError

if TYPE_CHECKING:
    from capabilities.runtime.engine import Engine, Result
from capabilities.runtime.actors.spec import ANONYMOUS, ActorSpec, LoggedMessage, actor_spec
from capabilities.runtime.actors.store import ActorStore, dumps

MAX_COMMIT_ATTEMPTS = 100  # conflicting commits with other processes before giving up
_CONFLICT: Any = object()  # _commit's answer when another process committed first


def make_execute(spec: ActorSpec) -> Callable[..., Any]:
    """The capability's ``execute``: hand the message to the engine's runtime (durable path)."""
    if spec.is_async:

        async def execute_async(
            actor_id: str,
            message: dict,
            idempotency_key: str | None = None,
            *,
            engine: Engine,
            context: Context,
        ) -> Any:
            runtime = runtime_for(engine)
            return await runtime.deliver(spec, actor_id, message, idempotency_key, context)

        return execute_async

    def execute(
        actor_id: str,
        message: dict,
        idempotency_key: str | None = None,
        *,
        engine: Engine,
        context: Context,
    ) -> Any:
        return runtime_for(engine).deliver_sync(spec, actor_id, message, idempotency_key, context)

    return execute


# -- runtime -----------------------------------------------------------------------------------
_RUNTIMES: weakref.WeakKeyDictionary[Any, ActorRuntime] = weakref.WeakKeyDictionary()


_RUNTIMES_LOCK = threading.RLock()


def runtime_for(engine: Engine) -> ActorRuntime:
    """The engine's actor runtime; created on first use, stored in the engine's ``store``."""
    runtime = _RUNTIMES.get(engine)
    if runtime is None:
        with _RUNTIMES_LOCK:
            runtime = _RUNTIMES.get(engine)
            if runtime is None:
                runtime = ActorRuntime(engine)
    return runtime


@dataclass
class Mailbox:
    """Serialises one actor id: a thread lock across threads/loops, an asyncio lock per loop
    (FIFO, so messages from one event loop are handled in the order they were sent)."""

    thread_lock: threading.Lock = field(default_factory=threading.Lock)
    loop_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    state_json: str | None = None
    seq: int = 0

    def loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self.loop_locks.get(loop)
        if lock is None:
            lock = self.loop_locks[loop] = asyncio.Lock()
        return lock


class ActorRuntime:
    """Runs actor capabilities of an engine's registry durably.

    ``store`` is the SQLite file for actor state and message logs (default: the engine's store,
    next to its audit log). Creating a runtime attaches it to the engine, so
    ``engine.run("assistant", {"actor_id": ..., "message": ...})`` uses it.
    """

    def __init__(self, engine: Engine, store: str | None = None):
        self.engine = engine
        self.store = str(store) if store is not None else engine.store
        self._db = ActorStore(self.store)
        self._mailboxes: dict[tuple[str, str], Mailbox] = {}
        self._mailboxes_lock = threading.Lock()
        with _RUNTIMES_LOCK:
            _RUNTIMES[engine] = self

    # -- sending (through the engine: contract, permissions, effects, trace) -----------------
    async def send(
        self,
        actor: str,
        actor_id: str,
        message: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        context: Context | None = None,
    ) -> Result:
        """Send ``message`` to ``actor_id`` through ``Engine.run_async``; returns its Result.

        A message that breaks the actor's message contract raises :class:`ContractError` here
        (a caller bug, like bad inputs to ``Engine.run``); through ``Engine.run`` directly it
        comes back as a failed Result naming ``message.<field>``.
        """
        cap, inputs = self._addressed(actor, actor_id, message, idempotency_key)
        return await self.engine.run_async(cap, inputs, context)

    def send_sync(
        self,
        actor: str,
        actor_id: str,
        message: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        context: Context | None = None,
    ) -> Result:
        """Synchronous :meth:`send` (through ``Engine.run``)."""
        cap, inputs = self._addressed(actor, actor_id, message, idempotency_key)
        return self.engine.run(cap, inputs, context)

    # -- delivery (the durable path every call ends in) --------------------------------------
    async def deliver(
        self,
        spec: ActorSpec,
        actor_id: str,
        message: Mapping[str, Any],
        idempotency_key: str | None,
        context: Context,
    ) -> Any:
        """Handle one message in the actor's mailbox and commit before returning the reply."""
        actor_id = spec.storage_id(actor_id, context.principal)  # the caller's own namespace
        box = self._mailbox(spec.name, actor_id)
        async with box.loop_lock():
            await acquire_thread_lock(box.thread_lock)
            try:
                for _ in range(MAX_COMMIT_ATTEMPTS):
                    replayed, outcome = self._handle(
                        spec, box, actor_id, message, idempotency_key, context
                    )
                    if replayed:
                        return outcome
                    if inspect.isawaitable(outcome):
                        outcome = await outcome
                    reply = self._commit(spec, box, actor_id, message, idempotency_key, outcome)
                    if reply is not _CONFLICT:
                        return reply
                raise self._contended(spec, actor_id)
            finally:
                box.thread_lock.release()

    def deliver_sync(
        self,
        spec: ActorSpec,
        actor_id: str,
        message: Mapping[str, Any],
        idempotency_key: str | None,
        context: Context,
    ) -> Any:
        if spec.is_async:
            raise PacketFlowError(f"actor {spec.name!r} is async; use 'await deliver(...)'")
        actor_id = spec.storage_id(actor_id, context.principal)  # the caller's own namespace
        box = self._mailbox(spec.name, actor_id)
        with box.thread_lock:
            for _ in range(MAX_COMMIT_ATTEMPTS):
                replayed, outcome = self._handle(
                    spec, box, actor_id, message, idempotency_key, context
                )
                if replayed:
                    return outcome
                reply = self._commit(spec, box, actor_id, message, idempotency_key, outcome)
                if reply is not _CONFLICT:
                    return reply
            raise self._contended(spec, actor_id)

    # -- reading back ------------------------------------------------------------------------
    # Readers take the principal whose namespace to read (see ``ActorSpec.storage_id``); the
    # default is a default ``Context()``'s, and a ``scope="shared"`` actor ignores it.
    def state(self, actor: str, actor_id: str, *, principal: str = ANONYMOUS) -> Any:
        """The last committed state of ``actor_id`` (the initial state if it has none yet)."""
        spec = actor_spec(self._actor(actor))
        row = self._db.query(
            "SELECT state FROM actor_state WHERE actor=? AND actor_id=?",
            (actor, spec.storage_id(actor_id, principal)),
        )
        return json.loads(row[0][0]) if row else spec.fresh_state()

    def actor_ids(self, actor: str, *, principal: str = ANONYMOUS) -> list[str]:
        """The ids ``principal`` has state under (every id of a shared actor)."""
        spec = actor_spec(self._actor(actor))
        prefix = spec.storage_id("", principal)
        rows = self._db.query(
            "SELECT actor_id FROM actor_state WHERE actor=? ORDER BY actor_id", (actor,)
        )
        return [r[0][len(prefix) :] for r in rows if r[0].startswith(prefix)]

    def history(
        self, actor: str, actor_id: str, limit: int | None = None, *, principal: str = ANONYMOUS
    ) -> list[LoggedMessage]:
        """Logged messages and replies of ``actor_id``, oldest first (the last ``limit``)."""
        sql = (
            "SELECT seq, message, reply, idempotency_key, time FROM actor_messages "
            "WHERE actor=? AND actor_id=? ORDER BY seq DESC"
        )
        spec = actor_spec(self._actor(actor))
        args: tuple[Any, ...] = (actor, spec.storage_id(actor_id, principal))
        if limit is not None:
            sql += " LIMIT ?"
            args += (int(limit),)
        rows = self._db.query(sql, args)
        return [
            LoggedMessage(s, json.loads(m), json.loads(r), k, t) for s, m, r, k, t in rows[::-1]
        ]

    def compact(self, actor: str | None = None, *, keep_last: int = 100) -> int:
        """Snapshot each actor's state and trim its message log to the last ``keep_last``.

        The snapshot (``actor_snapshots``) records the state at the log's new starting point, so
        the history that remains still explains the current state. Idempotency keys of removed
        messages are forgotten: compact only what is older than any resend you expect.
        Returns the number of log rows removed.
        """
        if keep_last < 0:
            raise PacketFlowError(f"compact: keep_last must be >= 0, got {keep_last}")
        where, args = ("WHERE actor=?", (actor,)) if actor is not None else ("", ())
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO actor_snapshots (actor, actor_id, seq, state, time) "
                f"SELECT actor, actor_id, seq, state, ? FROM actor_state {where}",
                (time.time(), *args),
            )
            cur = db.execute(
                "DELETE FROM actor_messages WHERE rowid IN (SELECT m.rowid FROM "
                "actor_messages m JOIN actor_state s ON m.actor=s.actor AND "
                f"m.actor_id=s.actor_id WHERE m.seq <= s.seq - ? "
                f"{'AND s.actor=?' if actor is not None else ''})",
                (keep_last, *args),
            )
            removed = cur.rowcount
        return removed

    def snapshots(
        self, actor: str, actor_id: str, *, principal: str = ANONYMOUS
    ) -> list[tuple[int, Any]]:
        spec = actor_spec(self._actor(actor))
        rows = self._db.query(
            "SELECT seq, state FROM actor_snapshots WHERE actor=? AND actor_id=? ORDER BY seq",
            (actor, spec.storage_id(actor_id, principal)),
        )
        return [(s, json.loads(st)) for s, st in rows]

    def close(self) -> None:
        self._db.close()
        with _RUNTIMES_LOCK:
            if _RUNTIMES.get(self.engine) is self:
                del _RUNTIMES[self.engine]

    def __enter__(self) -> ActorRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _addressed(
        self, actor: str, actor_id: str, message: Mapping[str, Any], key: str | None
    ) -> tuple[Capability, dict[str, Any]]:
        """The actor capability and its inputs; a caller's bad message raises here."""
        cap = self._actor(actor)
        self._check_message(actor_spec(cap), message)
        return cap, {"actor_id": actor_id, "message": message, "idempotency_key": key}

    def _handle(
        self,
        spec: ActorSpec,
        box: Mailbox,
        actor_id: str,
        message: Mapping[str, Any],
        key: str | None,
        context: Context,
    ) -> tuple[bool, Any]:
        """``(True, stored reply)`` for a replayed key, else ``(False, the handler's outcome)``
        (awaitable for an async handler). Shared by :meth:`deliver` and :meth:`deliver_sync`;
        the mailbox lock is held by the caller."""
        stored = self._db.stored_reply(spec.name, actor_id, key, message)
        if stored is not None:
            return True, stored[0]
        state = self._load(spec, box, actor_id)
        kwargs = self._handler_kwargs(spec, actor_id, context)
        return False, spec.handler(self._check_message(spec, message), state, **kwargs)

    def _actor(self, name: str) -> Capability:
        cap = self.engine.registry.get(name)
        actor_spec(cap)
        return cap

    def _mailbox(self, actor: str, actor_id: str) -> Mailbox:
        key = (actor, actor_id)
        box = self._mailboxes.get(key)
        if box is None:
            with self._mailboxes_lock:
                box = self._mailboxes.setdefault(key, Mailbox())
        return box

    def _load(self, spec: ActorSpec, box: Mailbox, actor_id: str) -> Any:
        """A fresh copy of the committed state (handlers may mutate it; a failure then leaves
        the committed state untouched)."""
        if box.state_json is None:
            rows = self._db.query(
                "SELECT seq, state FROM actor_state WHERE actor=? AND actor_id=?",
                (spec.name, actor_id),
            )
            if rows:
                box.seq, box.state_json = rows[0]
            else:
                box.seq, box.state_json = 0, dumps(spec.name, "initial_state", spec.fresh_state())
        return json.loads(box.state_json)

    def _handler_kwargs(self, spec: ActorSpec, actor_id: str, context: Context) -> dict[str, Any]:
        if not spec.inject:
            return {}
        child = context.child("inherit", label=f"actor {spec.name}/{actor_id}")
        return {p: (child if s == "context" else self.engine) for p, s in spec.inject}

    @staticmethod
    def _check_message(spec: ActorSpec, message: Mapping[str, Any]) -> dict[str, Any]:
        if spec.message_contract is None:
            return dict(message)
        try:
            return check_inputs(spec.message_contract, message)
        except ContractError as exc:
            raise ContractError(spec.name, f"message.{exc.field}", exc.problem) from None

    def _commit(
        self,
        spec: ActorSpec,
        box: Mailbox,
        actor_id: str,
        message: Mapping[str, Any],
        key: str | None,
        outcome: Any,
    ) -> Any:
        if not (isinstance(outcome, tuple) and len(outcome) == 2):
            raise ContractError(
                spec.name,
                None,
                f"on_message must return (reply, new_state), got {type(outcome).__name__}",
            )
        reply, new_state = outcome
        state_json = dumps(spec.name, "state", new_state)
        reply_json = dumps(spec.name, "reply", reply)
        message_json = dumps(spec.name, "message", message)
        seq = self._db.commit(
            spec.name, actor_id, box.seq, key, message_json, reply_json, state_json
        )
        if seq is None:  # another process committed to this id first: re-read, re-handle
            box.state_json = None
            return _CONFLICT
        box.seq, box.state_json = seq, state_json
        return reply

    def _contended(self, spec: ActorSpec, actor_id: str) -> PacketFlowError:
        return PacketFlowError(
            f"actor {spec.name!r} id {actor_id!r}: {MAX_COMMIT_ATTEMPTS} commits in a row lost "
            f"to other processes writing {self.store}; too much contention on one actor id"
        )


async def acquire_thread_lock(lock: threading.Lock) -> None:
    """Take a thread lock from async code without blocking the event loop.

    The fast path is uncontended; otherwise a worker thread waits. If the waiting coroutine is
    cancelled, the lock is released as soon as the worker gets it, so it is never leaked.
    """
    if lock.acquire(blocking=False):
        return
    waiting = asyncio.ensure_future(asyncio.to_thread(lock.acquire))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        waiting.add_done_callback(lambda _: lock.release())
        raise
