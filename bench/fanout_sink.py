"""The loopback sink of bench/fanout.py: one listening port per remote host, in its own process.

Every POST is answered 202 at once and kept (host, target, headers, body, arrival time); when the
bench asks for the figures, every kept request's signature is checked as Mastodon checks it
(draft-cavage ``rsa-sha256`` over (request-target), host, date and digest, the ``Digest`` against
the body, the date within the clock window, the key id the actor's) against the actor's public
key, and the counts per host go back. Checking after the run, not while answering, keeps the
sink's own CPU off the two cores the workers are measured on; no request goes unchecked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import uvicorn

from federation.signature_parsing import parse_signature
from federation.signatures import verify_signature
from models.errors import CoopubError

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class SinkReport:
    """What the sink saw, sent back to the bench over the pipe."""

    posts: Counter[int] = field(default_factory=Counter)
    """POSTs per listening port (one port per remote host)."""
    bad: list[str] = field(default_factory=list)
    """Why each refused signature was refused (empty when all verified)."""
    first_at: float = 0.0
    last_at: float = 0.0
    """``time.time()`` of the first and last POST."""


@dataclass
class _Kept:
    port: int
    target: str
    headers: dict[str, str]
    body: bytes
    at: float


class Sink:
    def __init__(self) -> None:
        self.kept: list[_Kept] = []

    async def app(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        status = 405
        if scope["method"] == "POST":
            headers: dict[str, str] = {}
            for name, value in scope["headers"]:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            port = int(scope["server"][1])
            self.kept.append(_Kept(port, target, headers, b"".join(chunks), time.time()))
            status = 202
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def report(self, public_key_pem: str, key_id: str, clock_skew: int) -> SinkReport:
        out = SinkReport()
        for kept in self.kept:
            out.posts[kept.port] += 1
            host = kept.headers.get("host", "")
            try:
                parsed = parse_signature("POST", f"http://{host}{kept.target}", kept.headers)
                if parsed.key_id != key_id:
                    raise ValueError(f"key id {parsed.key_id!r}, not {key_id!r}")
                if parsed.scheme != "cavage" or (parsed.algorithm or "").lower() != "rsa-sha256":
                    raise ValueError(f"not a cavage rsa-sha256 signature: {parsed.algorithm}")
                if host != f"127.0.0.1:{kept.port}":
                    raise ValueError(f"Host {host!r} is not the host connected to")
                verify_signature(
                    parsed,
                    public_key_pem,
                    headers=kept.headers,
                    body=kept.body,
                    now=datetime.fromtimestamp(kept.at, UTC),
                    max_skew_seconds=clock_skew,
                )
            except (CoopubError, ValueError) as exc:
                out.bad.append(f"{host}{kept.target}: {exc}")
        if self.kept:
            out.first_at = min(k.at for k in self.kept)
            out.last_at = max(k.at for k in self.kept)
        return out


def _listen(count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    return sockets


async def _serve(hosts: int, conn: Connection) -> None:
    sink = Sink()
    sockets = _listen(hosts)
    config = uvicorn.Config(
        sink.app,
        interface="asgi3",
        http="httptools",
        log_level="error",
        lifespan="off",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    conn.send([s.getsockname()[1] for s in sockets])
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command is None:
            break
        public_key_pem, key_id, clock_skew = command
        conn.send(sink.report(public_key_pem, key_id, clock_skew))
    server.should_exit = True
    await task


def run_sink(hosts: int, conn: Connection) -> None:
    """The sink process: send the ports, then answer each report request until told None."""
    import uvloop

    uvloop.run(_serve(hosts, conn))
