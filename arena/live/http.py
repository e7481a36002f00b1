"""Minimal HTTP/1.1 on asyncio protocols: keep-alive, JSON bodies, answers in request order.
What the live deployment's processes speak to each other over loopback.

Why not uvicorn + starlette: without uvloop and httptools (not installed here) they cost
several times more per request than these few lines (asyncio protocols, not streams: fewer
awaits per request), and the gateway's throughput goal
(benchmarks/bench_live.py) is about that cost. It is still plain HTTP: ``curl`` can talk to a
worker or the gateway, and a zone could sit at another host's address.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]
MAX_BODY = 1 << 20  # a request body over this is refused (413), never read
STATUS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large"}


class TransportError(ConnectionError):
    """The peer is gone (refused, reset, closed mid-response): what trips a zone's breaker."""


def _response(status: int, payload: Any) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {STATUS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class _ServerProtocol(asyncio.Protocol):
    """One connection of :func:`serve`: requests parsed as bytes arrive, each handled in a task,
    answers written in request order (pipelining-safe)."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.buf = bytearray()
        self.answers: deque[list[Any]] = deque()  # [ready, bytes] per request, in order
        self.transport: asyncio.Transport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            try:
                method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                n = _content_length(head)
            except ValueError:
                return self._refuse(400, "not HTTP/1.1")
            if n > MAX_BODY:
                return self._refuse(413, f"body over {MAX_BODY} bytes")
            if len(self.buf) < end + 4 + n:
                return
            raw = bytes(self.buf[end + 4 : end + 4 + n])
            del self.buf[: end + 4 + n]
            slot: list[Any] = [False, b""]
            self.answers.append(slot)
            task = asyncio.ensure_future(self._answer(slot, method, path, raw))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _refuse(self, status: int, why: str) -> None:
        if self.transport is not None:
            self.transport.write(_response(status, {"error": why}))
            self.transport.close()

    async def _answer(self, slot: list[Any], method: str, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            slot[1] = _response(400, {"error": "body is not JSON"})
        else:
            try:
                status, payload = await self.handler(method, path, body)
            except (KeyError, TypeError, ValueError) as exc:  # a malformed request's fields
                status, payload = 400, {"error": f"{type(exc).__name__}: {exc}"}
            slot[1] = _response(status, payload)
        slot[0] = True
        while self.answers and self.answers[0][0]:
            out = self.answers.popleft()[1]
            if self.transport is not None:
                self.transport.write(out)


async def serve(
    handler: Handler, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
) -> asyncio.Server:
    """Serve ``handler(method, path, json_body) -> (status, json_payload)`` on ``host:port``
    (0: a free port; read it from ``server.sockets[0].getsockname()``), or on the listening
    socket ``sock`` (one a parent bound and handed over: connections wait in its backlog)."""
    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(lambda: _ServerProtocol(handler), sock=sock, backlog=1024)
    return await loop.create_server(lambda: _ServerProtocol(handler), host, port, backlog=1024)


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port of ``host`` and listening, inheritable (``pass_fds``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class _ClientProtocol(asyncio.Protocol):
    """The client side of one connection: answers parsed as bytes arrive, matched in order to
    the requests waiting for them."""

    def __init__(self, host: str, on_lost: Callable[[str], None] | None = None):
        self.host = host
        self.on_lost = on_lost
        self.closing = False
        self.buf = bytearray()
        self.waiting: deque[asyncio.Future[tuple[int, Any]]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.lost = f"{self.host}: connection lost ({type(exc).__name__ if exc else 'closed'})"
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(TransportError(self.lost))
        if self.on_lost is not None and not self.closing:  # the peer went, not we
            self.on_lost(self.lost)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.waiting:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            n = _content_length(head)
            if len(self.buf) < end + 4 + n:
                return
            raw = bytes(self.buf[end + 4 : end + 4 + n])
            del self.buf[: end + 4 + n]
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_result((int(head.split(b" ", 2)[1]), json.loads(raw) if raw else None))


class Connection:
    """One keep-alive connection to ``host:port``."""

    def __init__(self, proto: _ClientProtocol):
        self.proto = proto

    @classmethod
    async def open(
        cls, host: str, port: int, on_lost: Callable[[str], None] | None = None
    ) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await loop.create_connection(
                lambda: _ClientProtocol(f"{host}:{port}", on_lost), host, port
            )
        except OSError as exc:
            raise TransportError(f"{host}:{port}: {exc.strerror or exc}") from None
        return cls(proto)

    @property
    def usable(self) -> bool:
        return self.proto.transport is not None

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        p = self.proto
        if p.transport is None:
            raise TransportError(p.lost or f"{p.host}: connection closed")
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        fut: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        p.waiting.append(fut)
        p.transport.write(
            f"{method} {path} HTTP/1.1\r\nHost: {p.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return await fut

    def close(self) -> None:
        self.proto.closing = True
        if self.proto.transport is not None:
            self.proto.transport.close()


class Pool:
    """Keep-alive connections to one peer, opened on demand and reused: as many open at once
    as requests in flight to it. ``on_lost(why)`` is called when the peer drops any of them
    (an idle one too: a process that dies closes its sockets, so the pool sees it at once)."""

    def __init__(self, host: str, port: int, on_lost: Callable[[str], None] | None = None):
        self.host, self.port, self.on_lost = host, port, on_lost
        self._idle: list[Connection] = []

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        """Send one request and wait for its answer; :class:`TransportError` when the peer is
        unreachable or drops the connection."""
        while self._idle and not self._idle[-1].usable:
            self._idle.pop()
        if self._idle:
            conn = self._idle.pop()
        else:
            conn = await Connection.open(self.host, self.port, self.on_lost)
        try:
            result = await conn.request(method, path, payload)
        except asyncio.CancelledError:
            conn.close()  # its answer would be read as the next request's
            raise
        self._idle.append(conn)
        return result

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
