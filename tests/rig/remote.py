"""A real "remote server" on loopback: canned documents, scripted inboxes, recorded requests.

GoToSocial's ``testrig/transportcontroller.go`` answers outgoing requests from canned data and
records what was sent; this does the same over real HTTP, so the code under test runs its real
client, signer and address checks. The server is uvicorn in the test's own event loop, listening
on a socket bound to ``127.0.0.1:0`` (no port race).

    async def test_x(remote: RemoteServer) -> None:
        remote.serve_json("/users/zoe", doc)
        remote.script_inbox("/inbox", [(500, {}), (429, {"Retry-After": "120"})])  # then 202
        ...
        remote.verify_last_signature(actor.public_key_pem)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from federation.signature_parsing import ParsedSignature, parse_signature
from federation.signatures import verify_signature

AS2 = "application/activity+json"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``delay`` (seconds) is waited before answering (timeouts, overlap)."""

    status: int = 202
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    url: str
    """The absolute URL as received (``http://127.0.0.1:PORT/path?query``)."""
    headers: Headers
    """Case-insensitive, repeated fields kept, as an inbox sees them."""
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


def _reply(item: Reply | tuple[Any, ...] | int) -> Reply:
    if isinstance(item, Reply):
        return item
    if isinstance(item, int):
        return Reply(item)
    status, *rest = item
    headers = rest[0] if rest else {}
    body = rest[1] if len(rest) > 1 else b""
    if isinstance(body, str):
        body = body.encode()
    return Reply(status, dict(headers), body)


class RemoteServer:
    """A programmable peer. Use the ``remote`` fixture, or ``async with RemoteServer() as r``."""

    def __init__(self, *, default_inbox_status: int = 202, delay: float = 0.0) -> None:
        self.default_inbox_status = default_inbox_status
        self.delay = delay
        """Seconds every answer waits (unless scripted otherwise), to make requests overlap."""
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._documents: dict[str, tuple[int, bytes, str]] = {}
        self._scripts: dict[str, deque[Reply]] = {}
        self._streams: dict[str, tuple[bytes, int, str, bool]] = {}
        self.streamed: dict[str, int] = {}
        """Chunks sent so far for each path served with ``serve_stream``."""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # --- addresses ----------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the authority, as signed in ``Host`` and kept as a delivery host."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- programming ----------------------------------------------------------------------

    def serve_json(self, path: str, doc: Any, content_type: str = AS2, *, status: int = 200) -> str:
        """Answer GETs of ``path`` with ``doc``; replaces what was served there. Returns the URL."""
        self._documents[path] = (status, json.dumps(doc).encode(), content_type)
        return self.url(path)

    def serve_stream(
        self, path: str, chunk: bytes, count: int, *, content_type: str = AS2, length: bool = False
    ) -> str:
        """Answer GETs of ``path`` with ``count`` copies of ``chunk``, streamed; how many were
        actually sent is in ``streamed[path]`` (a client that stops reading stops the stream).
        With ``length``, the total size is announced in Content-Length."""
        self._streams[path] = (chunk, count, content_type, length)
        self.streamed[path] = 0
        return self.url(path)

    def forget(self, path: str) -> None:
        """Stop serving ``path`` (GETs then get 404)."""
        self._documents.pop(path, None)

    def script_inbox(self, path: str, responses: Iterable[Reply | tuple[Any, ...] | int]) -> str:
        """Answer the next POSTs to ``path`` with these (status, headers[, body]) in order.

        Once the script is used up, POSTs get ``default_inbox_status`` again. Returns the URL.
        """
        self._scripts.setdefault(path, deque()).extend(_reply(r) for r in responses)
        return self.url(path)

    # --- inspecting -----------------------------------------------------------------------

    def requests_to(
        self, path: str | None = None, method: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (path is None or r.path == path) and (method is None or r.method == method)
        ]

    @property
    def posts(self) -> list[RecordedRequest]:
        return self.requests_to(method="POST")

    @property
    def gets(self) -> list[RecordedRequest]:
        return self.requests_to(method="GET")

    def verify(
        self, request: RecordedRequest, public_key_pem: str, *, max_skew_seconds: int = 300
    ) -> ParsedSignature:
        """Check ``request``'s signature (and, with a body, its Digest) as an inbox would.

        Raises ``SignatureInvalid``; returns the parsed signature for further assertions.
        """
        parsed = parse_signature(request.method, request.url, request.headers)
        verify_signature(
            parsed,
            public_key_pem,
            headers=request.headers,
            body=request.body if request.method == "POST" else None,
            now=datetime.now(UTC),
            max_skew_seconds=max_skew_seconds,
        )
        return parsed

    def verify_last_signature(
        self, public_key_pem: str, *, method: str | None = None, path: str | None = None
    ) -> ParsedSignature:
        """Verify the last recorded request (optionally of that method / to that path)."""
        matching = self.requests_to(path, method)
        assert matching, f"no {method or ''} request to {path or 'any path'} was received"
        return self.verify(matching[-1], public_key_pem)

    # --- the server -------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        if request.method == "GET" and path in self._streams:
            return self._stream(request, path)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if request.method == "POST":
                script = self._scripts.get(path)
                reply = script.popleft() if script else Reply(self.default_inbox_status)
            elif request.method in ("GET", "HEAD") and path in self._documents:
                status, doc, content_type = self._documents[path]
                reply = Reply(status, {"Content-Type": content_type}, doc)
            else:
                reply = Reply(404, {"Content-Type": "application/json"}, b'{"error":"not found"}')
            self.requests.append(
                RecordedRequest(
                    request.method, path, str(request.url), request.headers, body, reply.status
                )
            )
            delay = reply.delay or self.delay
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.in_flight -= 1
        headers = dict(reply.headers)
        media_type = headers.pop("Content-Type", headers.pop("content-type", None))
        return Response(reply.body, reply.status, headers=headers, media_type=media_type)

    def _stream(self, request: Request, path: str) -> Response:
        chunk, count, content_type, length = self._streams[path]
        self.requests.append(
            RecordedRequest(request.method, path, str(request.url), request.headers, b"", 200)
        )

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(count):
                self.streamed[path] += 1
                yield chunk

        headers = {"Content-Length": str(len(chunk) * count)} if length else {}
        return StreamingResponse(chunks(), headers=headers, media_type=content_type)

    async def start(self) -> RemoteServer:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=METHODS)])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started:
                return self
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("remote server exited before starting")
            await asyncio.sleep(0.01)
        raise RuntimeError("remote server did not start within 5 s")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None

    async def __aenter__(self) -> RemoteServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@contextlib.contextmanager
def closed_port() -> Any:
    """A loopback port bound but never listening: connecting to it is refused, reliably."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
