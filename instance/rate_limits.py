"""Rate limits on the inbox and the API, and the client address they key on.

- Inbox: per remote host, charged once the signature is verified (the signer's host), so a
  forged request can never spend another server's allowance. Requests refused before that
  (bad signature, bad body) are charged to the client address in a smaller ``refused`` bucket;
  an address past it is answered 429 before any work (no key fetched, nothing parsed).
- API: per token (its digest), or per client address for calls without one; a call refused
  401 (unknown or revoked token) also spends the address's ``refused`` bucket, and an address
  past it is answered 429 on the API as on the inbox.
- Logins: ``instance/login_limits.py`` (in the database).

Buckets are in memory, per process (``instance/token_bucket.py``). Answers are 429 with
``Retry-After``, JSON or HTML as ``instance/errors.py`` renders every refusal.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activitypub.urls import PATHS, match_path
from instance.config import LimitSettings
from instance.errors import on_coopub_error
from instance.login_limits import LoginLimits
from instance.token_bucket import Clock, TokenBuckets
from models.errors import RateLimited

API_ROUTES = tuple(name for name in PATHS if name.startswith("api_"))


def client_address(scope: Scope) -> str:
    """The client's address as the server reports it: the peer's, or the one a trusted reverse
    proxy forwarded (``coopub serve`` runs uvicorn with ``proxy_headers``: X-Forwarded-For is
    believed only from ``FORWARDED_ALLOW_IPS``, 127.0.0.1 by default, never from anyone).
    An IPv6 address counts as its /64, what one subscriber usually gets."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def bearer_digest(headers: Headers) -> str | None:
    """A digest of the bearer token, if any (buckets never hold the token itself)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode()).hexdigest()


@dataclass
class RateLimits:
    """The limits of one web process (``app.state.limits``)."""

    inbox: TokenBuckets
    refused: TokenBuckets
    api: TokenBuckets
    login: LoginLimits

    @classmethod
    def from_settings(cls, settings: LimitSettings, clock: Clock = time.monotonic) -> RateLimits:
        return cls(
            inbox=TokenBuckets(settings.inbox_per_minute, settings.inbox_burst, clock=clock),
            refused=TokenBuckets(settings.refused_per_minute, settings.refused_burst, clock=clock),
            api=TokenBuckets(settings.api_per_minute, settings.api_burst, clock=clock),
            login=LoginLimits(settings),
        )

    def set_clock(self, clock: Clock) -> None:
        for buckets in (self.inbox, self.refused, self.api):
            buckets.clock = clock

    def before_verifying(self, address: str) -> None:
        """Refuse an address that sent too many requests refused as unverifiable."""
        wait = self.refused.wait(address)
        if wait:
            raise RateLimited(f"{address}: too many refused requests", retry_after=wait)

    def refused_from(self, address: str) -> None:
        self.refused.spend(address)

    def inbox_from(self, host: str) -> None:
        """One verified activity from ``host``; 429 past its allowance."""
        wait = self.inbox.take(host)
        if wait:
            raise RateLimited(f"inbox: too many activities from {host}", retry_after=wait)


class ApiRateLimit:
    """Pure ASGI middleware on the API's paths: a bucket per token (or per address)."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or all(match_path(n, path) is None for n in API_ROUTES):
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        digest = bearer_digest(Headers(scope=scope))
        key = f"token:{digest}" if digest else f"address:{address}"
        wait = self.limits.refused.wait(address) or self.limits.api.take(key)
        if wait:
            exc = RateLimited(f"API: too many requests from {key[:20]}", retry_after=wait)
            response = await on_coopub_error(Request(scope), exc)
            await response(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401:
            self.limits.refused_from(address)
