"""Durable actor capabilities: one mailbox per actor id, state committed to SQLite per message.

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
delivery (:meth:`ActorRuntime.deliver`). One process owns an actor store at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sqlite3
import threading
import time
import typing
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Unpack

from capabilities.core.context import Context
from capabilities.core.contracts import check_inputs
from capabilities.core.data import injected_service, parse_fields
from capabilities.core.model import Capability, DeclarationOptions, Field
from capabilities.errors import ContractError, PacketFlowError, RegistrationError
from capabilities.sqlite import connect

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry
    from capabilities.runtime.engine import Engine, Result

ACTOR_INPUTS = ("actor_id", "message", "idempotency_key")

_SCHEMA = (
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


# -- declaration -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActorSpec:
    """What the runtime needs to run an actor: its handler, initial state and message contract."""

    name: str
    handler: Callable[..., Any]
    initial_state: Any
    message_fields: tuple[Field, ...] | None
    is_async: bool
    inject: tuple[tuple[str, str], ...] = ()
    message_contract: Capability | None = field(default=None, compare=False, repr=False)

    def fresh_state(self) -> Any:
        """A new initial state (a callable ``initial_state`` is a factory, e.g. ``dict``)."""
        value = self.initial_state() if callable(self.initial_state) else self.initial_state
        return json.loads(_dumps(self.name, "initial_state", value))


class ActorOptions(DeclarationOptions, total=False):
    """The keywords of ``actor_capability`` and ``Registry.actor``: a declaration's, plus the
    message contract (``requires``) and the ``initial_state``."""

    requires: Sequence[str] | Mapping[str, Any] | Sequence[Field] | None
    initial_state: Any


def actor_capability(handler: Callable[..., Any], **options: Unpack[ActorOptions]) -> Capability:
    """Declare an actor capability from an ``on_message(message, state) -> (reply, state)``.

    ``requires`` names the fields every *message* must carry (a list of names, name -> type
    hint / type name, or :class:`Field` objects for optional fields with defaults); ``provides`` names the reply's fields (default: one output ``reply``).
    ``initial_state`` is a JSON-ready value or a factory; parameters annotated ``Engine`` /
    ``Context`` are injected, so an actor can call other capabilities with its caller's
    authority.
    """
    cap_name = options.get("name") or handler.__name__
    inject = _handler_injections(handler, cap_name)
    message_fields, contract = _message_contract(handler, cap_name, options.get("requires"))
    initial_state = options.get("initial_state")
    spec = ActorSpec(
        name=cap_name,
        handler=handler,
        initial_state=initial_state if initial_state is not None else dict,
        message_fields=message_fields,
        is_async=inspect.iscoroutinefunction(handler),
        inject=inject,
        message_contract=contract,
    )
    spec.fresh_state()  # fail at declaration, not at the first message, if it is not JSON-ready
    provides = options.get("provides")
    out = parse_fields(provides, f"actor {cap_name!r}: provides") if provides else (Field("reply"),)
    return Capability(
        name=cap_name,
        intent=(options.get("intent") or inspect.getdoc(handler) or "").strip(),
        requires=ACTOR_FIELDS,
        provides=out,
        execute=_make_execute(spec),
        effects=tuple(options.get("effects", ())),
        permissions=tuple(options.get("permissions", ())),
        examples=tuple(options.get("examples", ())),
        metadata={**dict(options.get("metadata") or {}), "actor": spec},
        is_async=spec.is_async,
        kind="actor",
        inject=(("engine", "engine"), ("context", "context")),
    )


ACTOR_FIELDS = (
    Field("actor_id", str),
    Field("message", dict),
    Field("idempotency_key", str | None, required=False, default=None),
)


def _handler_injections(handler: Callable[..., Any], cap_name: str) -> tuple[tuple[str, str], ...]:
    """The handler's injected parameters; refuses a handler without exactly (message, state)."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception as exc:
        raise RegistrationError(f"actor {cap_name!r}: cannot resolve type hints ({exc})") from exc
    plain, inject = [], []
    for p in inspect.signature(handler).parameters.values():
        service = injected_service(hints.get(p.name))
        if service is not None:
            inject.append((p.name, service))
        else:
            plain.append(p.name)
    if len(plain) != 2:
        raise RegistrationError(
            f"actor {cap_name!r}: the handler must take exactly (message, state) plus optional "
            f"Engine/Context parameters; it takes {plain}"
        )
    return tuple(inject)


def _message_contract(
    handler: Callable[..., Any], cap_name: str, requires: Any
) -> tuple[tuple[Field, ...] | None, Capability | None]:
    """The fields every message must carry, and a capability whose ``requires`` checks them."""
    if requires is None:
        return None, None
    if isinstance(requires, Sequence) and all(isinstance(f, Field) for f in requires):
        fields = tuple(requires)  # full Fields: optional ones and defaults allowed
    else:
        fields = parse_fields(requires, f"actor {cap_name!r}: requires")
    contract = Capability(
        name=cap_name, intent="message contract", requires=fields, provides=(), execute=handler
    )
    return fields, contract


def _make_execute(spec: ActorSpec) -> Callable[..., Any]:
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


def actor_spec(cap: Capability) -> ActorSpec:
    spec = cap.metadata.get("actor") if cap.kind == "actor" else None
    if not isinstance(spec, ActorSpec):
        raise PacketFlowError(f"capability {cap.name!r} is not an actor (kind={cap.kind!r})")
    return spec


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
class _Mailbox:
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


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    seq: int
    message: Any
    reply: Any
    idempotency_key: str | None
    time: float


class ActorRuntime:
    """Runs actor capabilities of an engine's registry durably.

    ``store`` is the SQLite file for actor state and message logs (default: the engine's store,
    next to its audit log). Creating a runtime attaches it to the engine, so
    ``engine.run("assistant", {"actor_id": ..., "message": ...})`` uses it.
    """

    def __init__(self, engine: Engine, store: str | None = None):
        self.engine = engine
        self.store = str(store) if store is not None else engine.store
        self._db = connect(self.store, durable=True)
        self._db_lock = threading.Lock()
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._mailboxes: dict[tuple[str, str], _Mailbox] = {}
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
        cap = self._actor(actor)
        self._check_message(actor_spec(cap), message)  # a caller's bad message raises here
        inputs = {"actor_id": actor_id, "message": message, "idempotency_key": idempotency_key}
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
        cap = self._actor(actor)
        self._check_message(actor_spec(cap), message)
        inputs = {"actor_id": actor_id, "message": message, "idempotency_key": idempotency_key}
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
        box = self._mailbox(spec.name, actor_id)
        async with box.loop_lock():
            await _acquire(box.thread_lock)
            try:
                stored = self._stored_reply(spec.name, actor_id, idempotency_key)
                if stored is not None:
                    return stored[0]
                state = self._load(spec, box, actor_id)
                kwargs = self._handler_kwargs(spec, actor_id, context)
                outcome = spec.handler(self._check_message(spec, message), state, **kwargs)
                if inspect.isawaitable(outcome):
                    outcome = await outcome
                return self._commit(spec, box, actor_id, message, idempotency_key, outcome)
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
        box = self._mailbox(spec.name, actor_id)
        with box.thread_lock:
            stored = self._stored_reply(spec.name, actor_id, idempotency_key)
            if stored is not None:
                return stored[0]
            state = self._load(spec, box, actor_id)
            kwargs = self._handler_kwargs(spec, actor_id, context)
            outcome = spec.handler(self._check_message(spec, message), state, **kwargs)
            return self._commit(spec, box, actor_id, message, idempotency_key, outcome)

    # -- reading back ------------------------------------------------------------------------
    def state(self, actor: str, actor_id: str) -> Any:
        """The last committed state of ``actor_id`` (the initial state if it has none yet)."""
        spec = actor_spec(self._actor(actor))
        row = self._query(
            "SELECT state FROM actor_state WHERE actor=? AND actor_id=?", (actor, actor_id)
        )
        return json.loads(row[0][0]) if row else spec.fresh_state()

    def actor_ids(self, actor: str) -> list[str]:
        rows = self._query(
            "SELECT actor_id FROM actor_state WHERE actor=? ORDER BY actor_id", (actor,)
        )
        return [r[0] for r in rows]

    def history(self, actor: str, actor_id: str, limit: int | None = None) -> list[LoggedMessage]:
        """Logged messages and replies of ``actor_id``, oldest first (the last ``limit``)."""
        sql = (
            "SELECT seq, message, reply, idempotency_key, time FROM actor_messages "
            "WHERE actor=? AND actor_id=? ORDER BY seq DESC"
        )
        args: tuple[Any, ...] = (actor, actor_id)
        if limit is not None:
            sql += " LIMIT ?"
            args += (int(limit),)
        rows = self._query(sql, args)
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
        with self._transaction() as db:
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

    def snapshots(self, actor: str, actor_id: str) -> list[tuple[int, Any]]:
        rows = self._query(
            "SELECT seq, state FROM actor_snapshots WHERE actor=? AND actor_id=? ORDER BY seq",
            (actor, actor_id),
        )
        return [(s, json.loads(st)) for s, st in rows]

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
        with _RUNTIMES_LOCK:
            if _RUNTIMES.get(self.engine) is self:
                del _RUNTIMES[self.engine]

    def __enter__(self) -> ActorRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _actor(self, name: str) -> Capability:
        cap = self.engine.registry.get(name)
        actor_spec(cap)
        return cap

    def _mailbox(self, actor: str, actor_id: str) -> _Mailbox:
        key = (actor, actor_id)
        box = self._mailboxes.get(key)
        if box is None:
            with self._mailboxes_lock:
                box = self._mailboxes.setdefault(key, _Mailbox())
        return box

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple]:
        with self._db_lock:
            return self._db.execute(sql, args).fetchall()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._db_lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _stored_reply(self, actor: str, actor_id: str, key: str | None) -> tuple[Any] | None:
        if key is None:
            return None
        rows = self._query(
            "SELECT reply FROM actor_messages WHERE actor=? AND actor_id=? AND idempotency_key=?",
            (actor, actor_id, key),
        )
        return (json.loads(rows[0][0]),) if rows else None

    def _load(self, spec: ActorSpec, box: _Mailbox, actor_id: str) -> Any:
        """A fresh copy of the committed state (handlers may mutate it; a failure then leaves
        the committed state untouched)."""
        if box.state_json is None:
            rows = self._query(
                "SELECT seq, state FROM actor_state WHERE actor=? AND actor_id=?",
                (spec.name, actor_id),
            )
            if rows:
                box.seq, box.state_json = rows[0]
            else:
                box.seq, box.state_json = 0, _dumps(spec.name, "initial_state", spec.fresh_state())
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
        box: _Mailbox,
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
        state_json = _dumps(spec.name, "state", new_state)
        reply_json = _dumps(spec.name, "reply", reply)
        message_json = _dumps(spec.name, "message", message)
        seq = box.seq + 1
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO actor_messages (actor, actor_id, seq, idempotency_key, message, "
                "reply, time) VALUES (?,?,?,?,?,?,?)",
                (spec.name, actor_id, seq, key, message_json, reply_json, now),
            )
            db.execute(
                "INSERT INTO actor_state (actor, actor_id, seq, state, updated) "
                "VALUES (?,?,?,?,?) ON CONFLICT (actor, actor_id) DO UPDATE SET "
                "seq=excluded.seq, state=excluded.state, updated=excluded.updated",
                (spec.name, actor_id, seq, state_json, now),
            )
        box.seq, box.state_json = seq, state_json
        return reply


async def _acquire(lock: threading.Lock) -> None:
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


def _dumps(actor: str, what: str, value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(
            actor, what, f"must be JSON-serialisable to be persisted ({exc})"
        ) from None


def actors_of(registry: Registry) -> list[Capability]:
    """The actor capabilities of ``registry``, in registration order."""
    return [c for c in registry if c.kind == "actor"]
