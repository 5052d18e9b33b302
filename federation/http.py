"""The outbound HTTP client: every request signed, every target address checked.

Private, loopback and link-local targets are refused unless ``allow_private_addresses`` (tests,
local networks), and the connection goes to the address that was checked
(``federation/addresses.py``). Redirects are followed by hand so each hop is checked again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.json_body import load_json
from activitypub.urls import Urls
from federation.addresses import PinnedBackend, any_address, is_public_ip
from federation.pools import HostPools
from federation.settings import FederationSettings
from federation.signatures import digest_header, load_private_key, sign_request
from models.errors import Malformed, NotFound, RemoteUnavailable

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

    @functools.cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key object, parsed once per signer (and once per PEM: ``load_private_key``)."""
        return load_private_key(self.private_key_pem)


@dataclass(frozen=True)
class Payload:
    """A POST body with its ``Digest``: an activity's bytes are the same for every inbox it goes
    to, so both are computed once per activity (``Payload.of``), only the signature per request."""

    content: bytes
    digest: str

    @classmethod
    def of(cls, content: bytes) -> Payload:
        return cls(content, digest_header(content))


Guard = Callable[[str], Awaitable[None]]
"""Called with every URL about to be requested (each redirect hop too); raises to refuse it
(``federation.blocks.refuse_outgoing``: no request to a suspended domain)."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
UNFRAMED = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


class FederationHttp:
    """One per process. Holds the connection pools (one per host, kept alive), the policy and
    the User-Agent."""

    def __init__(
        self,
        settings: FederationSettings,
        base_url: str,
        backend: PinnedBackend | None = None,
        guard: Guard | None = None,
    ) -> None:
        """``backend`` resolves, checks and connects; by default the system resolver and the
        policy of ``allow_private_addresses``. ``guard`` may refuse a URL before anything is
        sent (domain blocks)."""
        self.settings = settings
        self.guard = guard
        self.user_agent = f"coopub/{VERSION} (+{Urls(base_url).url('home')})"
        if backend is None:
            backend = PinnedBackend(
                any_address if settings.allow_private_addresses else is_public_ip
            )
        # Two connections beyond the deliveries' share, so a fetch is not queued behind them.
        self.pools = HostPools(backend, per_host=settings.per_host_concurrency + 2)
        self._client = httpx.AsyncClient(
            transport=self.pools,
            timeout=httpx.Timeout(settings.request_timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": self.user_agent},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @staticmethod
    def check_target(url: str) -> None:
        """Refuse URLs that are not http(s). Where the name leads is checked when connecting
        (``PinnedBackend``: resolved once, the checked address is the one connected to)."""
        try:
            parts = urlsplit(url)
            usable = parts.scheme in ("https", "http") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises on a port that is not a number ("b:abc")
        except ValueError:  # "http://[": an unclosed IPv6 bracket; a port that is no number
            usable = False
        if not usable:
            raise Malformed(f"not an http(s) URL: {url[:200]!r}", "Invalid URL")

    async def request(
        self,
        method: str,
        url: str,
        *,
        signer: Signer | None,
        body: bytes | Payload | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
        truncate: bool = False,
    ) -> httpx.Response:
        """Send one request (following up to three checked redirects for GET). The answer's
        body is streamed and read up to ``max_bytes``: beyond, it is cut (``truncate``) or the
        request fails with ``Malformed``, and the rest is never downloaded."""
        digest = body.digest if isinstance(body, Payload) else None
        content = body.content if isinstance(body, Payload) else body
        for _ in range(MAX_REDIRECTS + 1):
            self.check_target(url)
            if self.guard is not None:
                await self.guard(url)
            all_headers = {"User-Agent": self.user_agent, **(headers or {})}
            if signer is not None:
                all_headers = sign_request(
                    method,
                    url,
                    all_headers,
                    content,
                    signer.key_id,
                    signer.private_key_pem,
                    digest=digest,
                    key=signer.private_key,
                )
            request = self._client.build_request(method, url, content=content, headers=all_headers)
            try:
                response = await self._client.send(request, stream=True)
                try:
                    redirect = response.headers.get("location")
                    if method == "GET" and response.status_code in REDIRECTS and redirect:
                        url = urljoin(url, redirect)
                        continue
                    answer = await _read_limited(response, max_bytes, truncate=truncate)
                finally:
                    await response.aclose()
            except httpx.TimeoutException as exc:
                raise RemoteUnavailable(f"{method} {url}: timeout", status=408) from exc
            except httpx.HTTPError as exc:
                raise RemoteUnavailable(f"{method} {url}: {exc!r}") from exc
            # The body is decoded already: its encoding and length headers no longer apply.
            kept = [(k, v) for k, v in response.headers.raw if k.lower() not in UNFRAMED]
            return httpx.Response(
                response.status_code, headers=kept, content=answer, request=request
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
            return str(response.url), load_json(response.content)  # depth, Unicode, numbers
        except Malformed as exc:
            raise Malformed(f"GET {url}: {exc}") from exc

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

    async def post_activity(
        self, inbox: str, body: bytes | Payload, *, signer: Signer
    ) -> httpx.Response:
        """Deliver a signed activity; the answer is kept up to ``MAX_ANSWER_BYTES``. No redirect
        is followed. The request goes straight to the host's pool (``HostPools.post``): one
        delivery is a fan-out's unit of work, and the client's layers cost a fifth of it."""
        payload = body if isinstance(body, Payload) else Payload.of(body)
        self.check_target(inbox)
        if self.guard is not None:
            await self.guard(inbox)
        url = httpx.URL(inbox)
        headers = sign_request(
            "POST",
            inbox,
            {
                "User-Agent": self.user_agent,
                "Content-Type": "application/activity+json",
                "Accept": AS2_ACCEPT,
                "Content-Length": str(len(payload.content)),
            },
            payload.content,
            signer.key_id,
            signer.private_key_pem,
            digest=payload.digest,
            key=signer.private_key,
        )
        status, raw, answer = await self.pools.post(
            url,
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            payload.content,
            seconds=self.settings.request_timeout_seconds,
            max_bytes=MAX_ANSWER_BYTES,
        )
        kept = [(k, v) for k, v in raw if k.lower() not in UNFRAMED]
        return httpx.Response(status, headers=kept, content=answer)


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
