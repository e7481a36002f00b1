"""The live deployment's HTTP: keep-alive round trips, answers in request order, hostile input
refused without taking the server down, and a peer's death seen by the pool (in this process,
on 127.0.0.1, every loop bounded)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.live.http import MAX_BODY, Connection, Pool, TransportError, serve


async def echo(method: str, path: str, body: Any) -> tuple[int, Any]:
    if path == "/slow":
        await asyncio.sleep(0.05)
    if path == "/fields":
        return 200, {"x": body["x"]}  # a missing field raises KeyError -> 400
    return 200, {"method": method, "path": path, "body": body}


async def started() -> tuple[asyncio.Server, int]:
    server = await serve(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def raw_exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), timeout=2)
    finally:
        writer.close()


async def test_round_trips_reuse_one_connection_and_keep_request_order():
    server, port = await started()
    try:
        pool = Pool("127.0.0.1", port)
        for i in range(20):
            assert await pool.request("POST", "/x", {"i": i}) == (
                200,
                {"method": "POST", "path": "/x", "body": {"i": i}},
            )
        # pipelined on one connection: the slow first answer still comes first
        conn = await Connection.open("127.0.0.1", port)
        slow = asyncio.ensure_future(conn.request("GET", "/slow"))
        await asyncio.sleep(0)
        fast = await conn.request("GET", "/fast")
        assert (await slow)[1]["path"] == "/slow" and fast[1]["path"] == "/fast"
        conn.close()
        pool.close()
    finally:
        server.close()


async def test_hostile_requests_get_an_error_and_the_server_keeps_serving():
    server, port = await started()
    try:
        too_big = f"POST /x HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        assert b" 413 " in await raw_exchange(port, too_big)
        assert b" 400 " in await raw_exchange(port, b"NONSENSE\r\n\r\n")
        bad_json = b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n{x]"
        assert b" 400 " in await raw_exchange(port, bad_json)
        pool = Pool("127.0.0.1", port)
        assert (await pool.request("POST", "/fields", {"y": 1}))[0] == 400
        assert await pool.request("POST", "/fields", {"x": 1}) == (200, {"x": 1})
        pool.close()
    finally:
        server.close()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_leave_the_server_answering(data):
    async def go() -> None:
        server, port = await started()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(data)
            await writer.drain()
            writer.close()
            pool = Pool("127.0.0.1", port)
            assert (await asyncio.wait_for(pool.request("GET", "/ok"), 2))[0] == 200
            pool.close()
        finally:
            server.close()

    asyncio.run(go())


async def test_a_peer_that_goes_away_is_seen_by_the_pool_also_on_idle_connections():
    async def answer_once_then_hang_up(reader, writer) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()  # the peer goes away with the connection idle

    peer = await asyncio.start_server(answer_once_then_hang_up, "127.0.0.1", 0)
    port = peer.sockets[0].getsockname()[1]
    lost: list[str] = []
    pool = Pool("127.0.0.1", port, on_lost=lost.append)
    assert await pool.request("GET", "/x") == (200, {})
    for _ in range(100):  # bounded: at most 1 s
        if lost:
            break
        await asyncio.sleep(0.01)
    assert lost and "connection lost" in lost[0]
    assert await pool.request("GET", "/x") == (200, {})  # a fresh connection, not the dead one
    peer.close()
    await peer.wait_closed()
    await asyncio.sleep(0.05)
    with pytest.raises(TransportError):
        await asyncio.wait_for(pool.request("GET", "/x"), 2)
    pool.close()
