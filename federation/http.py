"""The outbound HTTP client: every request signed, every target address checked.

Private, loopback and link-local targets are refused unless ``allow_private_addresses`` (tests,
local networks). Redirects are followed by hand so each hop is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from activitypub.urls import Urls
from federation.settings import FederationSettings
from federation.signatures import sign_request
from models.errors import Malformed, NotFound, RemoteUnavailable, UnsafeAddress

log = logging.getLogger(__name__)

VERSION = version("coopub")
AS2_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AS2_TYPES = ("application/activity+json", "application/ld+json", "application/json")
MAX_RESPONSE_BYTES = 2_000_000
"""Largest document we fetch; the body is streamed and the download stops beyond it."""
MAX_ANSWER_BYTES = 64 * 1024
"""What is kept of the answer to a POST (only its start is logged)."""
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key_pem: str


REDIRECTS = frozenset({301, 302, 303, 307, 308})
UNFRAMED = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


def _is_public_ip(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class FederationHttp:
    """One per process. Holds the connection pool, the policy and the User-Agent."""

    def __init__(self, settings: FederationSettings, base_url: str) -> None:
        self.settings = settings
        self.user_agent = f"coopub/{VERSION} (+{Urls(base_url).url('home')})"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.request_timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": self.user_agent},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check_target(self, url: str) -> None:
        """Refuse URLs that are not http(s) or that resolve to a non-public address."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise Malformed(f"not an http(s) URL: {url!r}", "Invalid URL")
        if self.settings.allow_private_addresses:
            return
        host = parts.hostname
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host,
                parts.port or (443 if parts.scheme == "https" else 80),
                type=socket.SOCK_STREAM,
            )
        except socket.gaierror as exc:
            raise RemoteUnavailable(f"cannot resolve {host}: {exc}") from exc
        for info in infos:
            address = str(info[4][0])
            if not _is_public_ip(address):
                raise UnsafeAddress(f"{host} resolves to non-public address {address}")

    async def request(
        self,
        method: str,
        url: str,
        *,
        signer: Signer | None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
        truncate: bool = False,
    ) -> httpx.Response:
        """Send one request (following up to three checked redirects for GET). The answer's
        body is streamed and read up to ``max_bytes``: beyond, it is cut (``truncate``) or the
        request fails with ``Malformed``, and the rest is never downloaded."""
        for _ in range(MAX_REDIRECTS + 1):
            await self.check_target(url)
            all_headers = {"User-Agent": self.user_agent, **(headers or {})}
            if signer is not None:
                all_headers = sign_request(
                    method, url, all_headers, body, signer.key_id, signer.private_key_pem
                )
            request = self._client.build_request(method, url, content=body, headers=all_headers)
            try:
                response = await self._client.send(request, stream=True)
                try:
                    redirect = response.headers.get("location")
                    if method == "GET" and response.status_code in REDIRECTS and redirect:
                        url = urljoin(url, redirect)
                        continue
                    content = await _read_limited(response, max_bytes, truncate=truncate)
                finally:
                    await response.aclose()
            except httpx.TimeoutException as exc:
                raise RemoteUnavailable(f"{method} {url}: timeout", status=408) from exc
            except httpx.HTTPError as exc:
                raise RemoteUnavailable(f"{method} {url}: {exc!r}") from exc
            # The body is decoded already: its encoding and length headers no longer apply.
            kept = [(k, v) for k, v in response.headers.raw if k.lower() not in UNFRAMED]
            return httpx.Response(
                response.status_code, headers=kept, content=content, request=request
            )
        raise RemoteUnavailable(f"too many redirects for {url}")

    async def get_json(
        self, url: str, *, signer: Signer | None, accept: str = AS2_ACCEPT
    ) -> tuple[str, Any]:
        """GET a JSON document; returns (final URL, parsed body). 404/410 raise NotFound."""
        response = await self.request("GET", url, signer=signer, headers={"Accept": accept})
        if response.status_code in (404, 410):
            raise NotFound(f"GET {url}: {response.status_code}")
        if response.status_code >= 400:
            raise RemoteUnavailable(
                f"GET {url}: HTTP {response.status_code}", status=response.status_code
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (*AS2_TYPES, "application/jrd+json", "application/xrd+xml"):
            raise Malformed(f"GET {url}: unexpected content type {content_type!r}")
        try:
            return str(response.url), json.loads(response.content)
        except ValueError as exc:
            raise Malformed(f"GET {url}: invalid JSON") from exc

    async def get_text(
        self, url: str, *, signer: Signer | None, accept: str = "text/plain"
    ) -> bytes:
        """GET a small non-JSON document (ChatonsInfos properties); 404/410 raise NotFound."""
        response = await self.request("GET", url, signer=signer, headers={"Accept": accept})
        if response.status_code in (404, 410):
            raise NotFound(f"GET {url}: {response.status_code}")
        if response.status_code >= 400:
            raise RemoteUnavailable(
                f"GET {url}: HTTP {response.status_code}", status=response.status_code
            )
        return response.content

    async def post_activity(self, inbox: str, body: bytes, *, signer: Signer) -> httpx.Response:
        return await self.request(
            "POST",
            inbox,
            signer=signer,
            body=body,
            headers={"Content-Type": "application/activity+json", "Accept": AS2_ACCEPT},
            max_bytes=MAX_ANSWER_BYTES,
            truncate=True,
        )


async def _read_limited(response: httpx.Response, limit: int, *, truncate: bool) -> bytes:
    """The body, read chunk by chunk and never beyond ``limit`` bytes (plus one chunk)."""
    declared = response.headers.get("content-length", "")
    if not truncate and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise Malformed(f"{response.request.url}: response of {declared} bytes is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise Malformed(f"{response.request.url}: response over {limit} bytes, not read")
    return b"".join(chunks)[:limit]
