"""Where outgoing connections go: the host name is resolved once, checked, and that address used.

Checking a name and then letting the HTTP client resolve it again to connect leaves a gap: a DNS
answer that changes in between (rebinding) would reach an address that was never checked. So the
check lives in the connection itself: an httpcore network backend resolves the name, refuses it
when any address is not public (unless the policy allows it), and opens the TCP connection to the
checked address. TLS is then started by httpcore with the host *name* (SNI and certificate
verification), and the request's ``Host`` header keeps the name too: only the socket is pinned.
A pooled connection is reused only for the same scheme, host and port, so it stays pinned.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from federation.asyncio_network import AsyncioBackend
from models.errors import RemoteUnavailable, UnsafeAddress

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host name and port to the addresses to try, in order (IP address strings)."""
AddressPolicy = Callable[[str], bool]
"""Whether an outgoing connection may go to this IP address."""


def is_public_ip(address: str) -> bool:
    """Global unicast only: no loopback, private, link-local, reserved or multicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def any_address(address: str) -> bool:
    """The policy of ``allow_private_addresses`` (tests, local networks)."""
    return True


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer (``getaddrinfo``), each address once, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address it has just checked, never to a second resolution's answer."""

    def __init__(
        self,
        allowed: AddressPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allowed = allowed
        self.resolver = resolver
        self.inner = inner or AsyncioBackend()

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` once; every address must pass the policy (a name with one private
        address among public ones is refused: which one a client picks is not ours to say)."""
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:  # socket.gaierror among them
            raise RemoteUnavailable(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise RemoteUnavailable(f"cannot resolve {host}: no address")
        for address in addresses:
            if not self.allowed(address):
                raise UnsafeAddress(f"{host} resolves to non-public address {address}")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open the connection to the first checked address that answers (in the resolver's
        order, one after the other), with the name used for nothing else."""
        try:
            async with asyncio.timeout(timeout):
                *others, last = await self.checked_addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host}: timeout") from exc
        for address in others:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the next address, as a client trying each in turn does
        return await self.inner.connect_tcp(last, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddress(f"unix socket {path}: outgoing requests use TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its request and error mapping), over a pool that connects through
    a ``PinnedBackend``. No proxy is read from the environment: a proxy would resolve the name
    itself, out of our check."""

    def __init__(
        self,
        backend: PinnedBackend,
        *,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        # httpx builds its pool without a way to pass a network backend: the same pool again,
        # with ours. A test connects through it (tests/test_pinned_addresses.py), so an httpx
        # that stops reading ``_pool`` fails there, not in production.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
