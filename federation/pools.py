"""One pinned connection pool per remote host, so a fan-out reuses connections host by host.

A single pool shared by every host keeps few idle connections (a fan-out to a thousand hosts
reopens one per request) and scans all its connections for each request it places. Here each
(scheme, host, port) gets its own small pool (``PinnedTransport``: resolved once, checked, the
checked address connected to; one TLS context shared by all), sized to ``per_host_concurrency``
and kept alive between requests. Pools idle for longer than the keep-alive are closed, and at
most ``max_hosts`` are kept, so open sockets stay bounded whatever the number of hosts.

Deliveries (``post``) go to the host's httpcore pool directly: the same connections, pinning and
HTTP/1.1 implementation as every other request, without the client layers (URL merging, cookies,
redirects, a second response object) that cost a fan-out a fifth of its CPU.
"""

from __future__ import annotations

import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpcore
import httpx

from federation.addresses import PinnedBackend, PinnedTransport
from models.errors import RemoteUnavailable

KEEPALIVE_SECONDS = 5.0
"""How long an idle connection (and an idle host's pool) is kept for the next request."""
KEEPALIVE_PER_HOST = 2
"""Idle connections kept per host: a fan-out usually sends a host one request (its shared
inbox); ``max_hosts`` times this bounds the idle sockets."""
SWEEP_EVERY = 1.0
"""How often, at most, pools idle for longer than the keep-alive are looked for."""

HostKey = tuple[bytes, bytes, int | None]


@dataclass
class _Pool:
    transport: PinnedTransport
    busy: int = 0
    """Requests sent through it whose response is not closed yet."""
    used_at: float = field(default_factory=time.monotonic)


class _Released(httpx.AsyncByteStream):
    """The response body; closing it releases its pool for eviction."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: _Pool) -> None:
        self._stream, self._pool, self._open = stream, pool, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._pool.busy -= 1
            self._pool.used_at = time.monotonic()
        await self._stream.aclose()


class HostPools(httpx.AsyncBaseTransport):
    """An httpx transport routing each request to the pool of its host (see the module)."""

    def __init__(
        self,
        backend: PinnedBackend,
        *,
        per_host: int,
        max_hosts: int = 256,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.backend = backend
        self.max_hosts = max_hosts
        self.limits = httpx.Limits(
            max_connections=per_host,
            max_keepalive_connections=min(per_host, KEEPALIVE_PER_HOST),
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        # Loading the CA bundle takes milliseconds and memory: once, not once per host.
        self.ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._pools: OrderedDict[HostKey, _Pool] = OrderedDict()
        self._swept_at = time.monotonic()
        self.opened = 0
        """Pools created so far (a host whose pool was closed counts again)."""

    def pool_count(self) -> int:
        return len(self._pools)

    async def post(
        self,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        seconds: float,
        max_bytes: int,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """POST ``body`` to ``url`` through its host's pool; returns the status, the headers and
        at most ``max_bytes`` of the answer (the rest is never read, the connection closed).
        ``seconds`` bounds each phase (connect, write, each read) as the client's timeout does.
        Transport failures raise ``RemoteUnavailable`` (status 408 for a timeout)."""
        pool = await self._pool_for((url.raw_scheme, url.raw_host, url.port))
        request = httpcore.Request(
            b"POST",
            httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=headers,
            content=body,
            extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), seconds)},
        )
        try:
            response = await pool.transport._pool.handle_async_request(request)
            try:
                chunks, size = [], 0
                async for chunk in response.aiter_stream():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        break
            finally:
                await response.aclose()
        except httpcore.TimeoutException as exc:
            raise RemoteUnavailable(f"POST {url}: timeout", status=408) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise RemoteUnavailable(f"POST {url}: {exc!r}") from exc
        finally:
            pool.busy -= 1
            pool.used_at = time.monotonic()
        return response.status, response.headers, b"".join(chunks)[:max_bytes]

    async def _pool_for(self, key: HostKey) -> _Pool:
        """The host's pool (made if needed), counted busy until the caller releases it.

        Nothing is awaited between looking the pool up and adding it, so concurrent requests
        to a new host share one pool; pools made room for are closed afterwards."""
        pool = self._pools.get(key)
        closing: list[_Pool] = []
        if pool is None:
            closing = self._make_room()
            transport = PinnedTransport(self.backend, limits=self.limits, verify=self.ssl_context)
            pool = self._pools[key] = _Pool(transport)
            self.opened += 1
        else:
            self._pools.move_to_end(key)
        pool.busy += 1
        pool.used_at = time.monotonic()
        try:
            for old in closing:
                await old.transport.aclose()
        except BaseException:
            pool.busy -= 1
            raise
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = await self._pool_for(key)
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.busy -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, pool)
        return response

    def _make_room(self) -> list[_Pool]:
        """Take out the pools idle past the keep-alive (looked for at most once a second), then
        the least recently used idle ones beyond ``max_hosts``; returns them, to be closed. A
        busy pool is never taken out."""
        now = time.monotonic()
        expired = now - KEEPALIVE_SECONDS
        sweep = now - self._swept_at >= SWEEP_EVERY
        if sweep:
            self._swept_at = now
        if not sweep and len(self._pools) < self.max_hosts:
            return []
        doomed: list[HostKey] = []
        for key, pool in self._pools.items():
            if pool.busy:
                continue
            crowded = len(self._pools) - len(doomed) >= self.max_hosts
            if crowded or (sweep and pool.used_at < expired):
                doomed.append(key)
            elif not sweep:
                break  # in LRU order: the rest are more recent
        return [self._pools.pop(key) for key in doomed]

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
