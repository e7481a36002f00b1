"""Minimal HTTP/1.1 over asyncio streams: keep-alive, JSON bodies, one request at a time per
connection. What the live deployment's processes speak to each other over loopback.

Why not uvicorn + starlette: without uvloop and httptools (not installed here) they cost
several times more per request than these few lines, and the gateway's throughput goal
(benchmarks/bench_live.py) is about that cost. It is still plain HTTP: ``curl`` can talk to a
worker or the gateway, and a zone could sit at another host's address.
"""

from __future__ import annotations

import asyncio
import json
import socket
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


async def serve(
    handler: Handler, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
) -> asyncio.Server:
    """Serve ``handler(method, path, json_body) -> (status, json_payload)`` on ``host:port``
    (0: a free port; read it from ``server.sockets[0].getsockname()``), or on the listening
    socket ``sock`` (one a parent bound and handed over: connections wait in its backlog)."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                n = _content_length(head)
                if n > MAX_BODY:
                    writer.write(_response(413, {"error": f"body over {MAX_BODY} bytes"}))
                    break
                raw = await reader.readexactly(n) if n else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    writer.write(_response(400, {"error": "body is not JSON"}))
                    continue
                status, payload = await handler(method, path, body)
                writer.write(_response(status, payload))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the peer closed, or sent something that is not HTTP: drop the connection
        finally:
            writer.close()

    if sock is not None:
        return await asyncio.start_server(connection, sock=sock, backlog=1024)
    return await asyncio.start_server(connection, host, port, backlog=1024)


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port of ``host`` and listening, inheritable (``pass_fds``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class Connection:
    """One keep-alive connection to ``host:port``; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise TransportError(f"{host}:{port}: {exc.strerror or exc}") from None
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            raw = await self.reader.readexactly(_content_length(head))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            raise TransportError(f"{self.host}: connection lost ({type(exc).__name__})") from None
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections to one peer, opened on demand and reused: as many open at once
    as requests in flight to it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._idle: list[Connection] = []

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        """Send one request and wait for its answer; :class:`TransportError` when the peer is
        unreachable or drops the connection."""
        conn = self._idle.pop() if self._idle else await Connection.open(self.host, self.port)
        result = await conn.request(method, path, payload)
        self._idle.append(conn)
        return result

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
