"""httpcore's network layer on asyncio streams (``federation/asyncio_network.py``): bytes both
ways, the end of a connection, idle connections the peer closed, and httpcore's own errors for
timeouts and refusals (the pool and the delivery code tell them apart)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpcore
import pytest

from federation.asyncio_network import AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def echo_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"echo:" + await reader.read(100))
    await writer.drain()
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client closes


async def test_bytes_both_ways_then_the_end() -> None:
    async with serving(echo_once) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"ping", timeout=5)
        received = b""
        while chunk := await stream.read(1024, timeout=5):
            received += chunk
        assert received == b"echo:ping"
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("unknown") is None
        await stream.aclose()


async def test_an_idle_connection_the_peer_closed_is_readable() -> None:
    """What the pool asks of an idle kept-alive connection before reusing it."""
    closing = asyncio.Event()

    async def close_when_told(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await closing.wait()
        writer.close()

    async with serving(close_when_told) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("is_readable") is False
        closing.set()
        for _ in range(100):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        await stream.aclose()


async def test_a_read_that_waits_too_long_is_a_read_timeout() -> None:
    async with serving(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(10, timeout=0.05)
        await stream.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
    with pytest.raises(httpcore.ConnectError, match="TCP only"):
        await AsyncioBackend().connect_unix_socket("/tmp/x.sock")


async def test_a_tls_handshake_nobody_answers_is_a_connect_timeout() -> None:
    async with serving(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        context = ssl.create_default_context()
        with pytest.raises(httpcore.ConnectTimeout):
            await stream.start_tls(context, server_hostname="coop.test", timeout=0.1)


async def test_socket_options_are_set() -> None:
    async with serving(silent) as port:
        option = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        stream = await AsyncioBackend().connect_tcp(
            "127.0.0.1", port, timeout=5, socket_options=[option]
        )
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        await stream.aclose()
