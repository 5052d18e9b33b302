"""Outgoing connections go to the address that was checked, under the name that was asked for.

Each test runs real loopback servers (plain HTTP, or TLS with a certificate made here) and a
scripted resolver standing for DNS, whose answer changes between calls as a rebinding attacker's
would. 127.0.0.1 plays a public address and 127.0.0.2 a private one (the policy is passed in), so
that both can be listened on without the internet; with the real policy both are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federation.addresses import PinnedBackend, PinnedTransport, is_public_ip
from federation.http import FederationHttp
from federation.settings import FederationSettings
from models.errors import RemoteUnavailable, UnsafeAddress

PUBLIC, PRIVATE = "127.0.0.1", "127.0.0.2"
LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)


def pretend_public(address: str) -> bool:
    """The test's address policy: only ``PUBLIC`` may be connected to."""
    return address == PUBLIC


class Dns:
    """A resolver answering from a script: ``answers[name]`` is used up one answer per call, the
    last one repeating. Every question is recorded."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        script = self.answers.get(host)
        if not script:
            raise OSError(f"no such host {host}")
        return script.pop(0) if len(script) > 1 else script[0]


class Peer:
    """A loopback HTTP/1.1 server (keep-alive, optionally TLS) that records each request's
    ``Host`` and the TLS server name, and answers with its own name or a redirect."""

    def __init__(self, name: str, address: str, tls: ssl.SSLContext | None = None) -> None:
        self.name, self.address, self.tls = name, address, tls
        self.requests: list[tuple[str, str]] = []
        """(target, Host header) of each request."""
        self.server_names: list[str | None] = []
        self.redirects: dict[str, str] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> Peer:
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self._server = await asyncio.start_server(self._serve, self.address, port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._connections:
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                target = head[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head[1:] if line)
                }
                if length := int(headers.get("content-length", "0")):
                    await reader.readexactly(length)
                self.requests.append((target, headers.get("host", "")))
                if target in self.redirects:
                    status, extra, body = (
                        "302 Found",
                        f"Location: {self.redirects[target]}\r\n",
                        b"",
                    )
                else:
                    status, extra = "200 OK", "Content-Type: application/activity+json\r\n"
                    body = json.dumps({"server": self.name}).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def peers(tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[Peer, Peer]]:
    """The "public" and the "private" server, on the same port of two loopback addresses (so a
    rebinding answer alone decides where a URL leads)."""
    for _ in range(20):
        public = await Peer("public", PUBLIC, tls).start()
        private = Peer("private", PRIVATE)
        try:
            await private.start(public.port)
        except OSError:  # that port is taken on 127.0.0.2: another pair
            await public.stop()
            continue
        try:
            yield public, private
        finally:
            await public.stop()
            await private.stop()
        return
    raise RuntimeError("no free port on both loopback addresses")


def client(backend: PinnedBackend, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=PinnedTransport(backend, limits=LIMITS, verify=verify))


async def test_a_rebinding_answer_never_reaches_the_private_address() -> None:
    async with peers() as (public, private):
        dns = Dns({"rebind.test": [[PUBLIC], [PRIVATE]]})
        async with client(PinnedBackend(pretend_public, dns)) as http:
            url = f"http://rebind.test:{public.port}/doc"
            first = await http.get(url)
            again = await http.get(url)  # the same (pinned) connection: not resolved again
        assert first.json() == again.json() == {"server": "public"}
        assert dns.asked == ["rebind.test"]
        assert public.requests == [("/doc", f"rebind.test:{public.port}")] * 2  # Host: the name

        # A new connection resolves again: the answer is now private, and refused.
        async with client(PinnedBackend(pretend_public, dns)) as http:
            with pytest.raises(UnsafeAddress, match=r"non-public address 127\.0\.0\.2"):
                await http.get(url)
        assert dns.asked == ["rebind.test"] * 2
        assert private.requests == []


async def test_the_checked_address_is_the_one_connected_to() -> None:
    """With the old check-then-connect, the first answer was checked and the second one used.
    Here there is one question per connection: whatever DNS says next does not matter."""
    async with peers() as (public, private):
        dns = Dns({"flip.test": [[PUBLIC], [PRIVATE], [PRIVATE]]})
        http = FederationHttp(
            FederationSettings(), "https://coop.test", PinnedBackend(pretend_public, dns)
        )
        try:
            final, doc = await http.get_json(f"http://flip.test:{public.port}/a", signer=None)
        finally:
            await http.aclose()
        assert doc == {"server": "public"} and final.endswith("/a")
        assert dns.asked == ["flip.test"]
        assert private.requests == []


async def test_every_redirect_is_checked_again() -> None:
    async with peers() as (public, private):
        dns = Dns({"public.test": [[PUBLIC]], "internal.test": [[PRIVATE]]})
        public.redirects["/doc"] = f"http://internal.test:{public.port}/secret"
        http = FederationHttp(
            FederationSettings(), "https://coop.test", PinnedBackend(pretend_public, dns)
        )
        try:
            with pytest.raises(UnsafeAddress, match=r"internal\.test resolves to non-public"):
                await http.get_json(f"http://public.test:{public.port}/doc", signer=None)
        finally:
            await http.aclose()
        assert public.requests == [("/doc", f"public.test:{public.port}")]
        assert private.requests == []
        assert dns.asked == ["public.test", "internal.test"]


@pytest.mark.parametrize(
    "answer",
    [[PUBLIC], ["10.0.0.7"], ["93.184.216.34", "192.168.1.1"], ["::1"], ["::ffff:127.0.0.1"]],
)
async def test_the_real_policy_refuses_before_connecting(answer: list[str]) -> None:
    """A name with any non-public address is refused without a connection (one private address
    among public ones too: which one would be used is not ours to choose)."""
    async with peers() as (public, _private):
        dns = Dns({"peer.test": [answer]})
        settings = FederationSettings(allow_private_addresses=False)
        http = FederationHttp(settings, "https://coop.test", PinnedBackend(is_public_ip, dns))
        try:
            with pytest.raises(UnsafeAddress, match="resolves to non-public address"):
                await http.get_json(f"http://peer.test:{public.port}/doc", signer=None)
        finally:
            await http.aclose()
        assert public.requests == []


async def test_a_name_that_does_not_resolve_is_unavailable() -> None:
    http = FederationHttp(
        FederationSettings(), "https://coop.test", PinnedBackend(is_public_ip, Dns({}))
    )
    try:
        with pytest.raises(RemoteUnavailable, match=r"cannot resolve nowhere\.test"):
            await http.get_json("https://nowhere.test/doc", signer=None)
    finally:
        await http.aclose()


async def test_the_next_checked_address_is_tried_when_one_refuses() -> None:
    async with peers() as (public, _private):
        # Nothing listens on 127.0.0.3: refused, then the next checked address is used.
        dns = Dns({"two.test": [["127.0.0.3", PUBLIC]]})
        async with client(PinnedBackend(lambda a: a in (PUBLIC, "127.0.0.3"), dns)) as http:
            answer = await http.get(f"http://two.test:{public.port}/")
        assert answer.json() == {"server": "public"}


# --- TLS: the socket is pinned, the name still decides the certificate ------------------------


def _certificate(
    subject: str,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _certificates(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a certificate for ``pinned.test`` signed by it: (server context, client context
    trusting that CA only)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coopub test CA")])
    ca = _certificate("coopub test CA", ca_name, ca_key, ca_key, ca=True)
    leaf = _certificate("pinned.test", ca_name, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "leaf.pem", directory / "key.pem")
    trusting = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, trusting


async def test_tls_verifies_the_certificate_against_the_host_name(tmp_path: Path) -> None:
    server_tls, trusting = _certificates(tmp_path)
    async with peers(server_tls) as (public, _private):
        dns = Dns({"pinned.test": [[PUBLIC]], "other.test": [[PUBLIC]]})
        async with client(PinnedBackend(pretend_public, dns), verify=trusting) as http:
            answer = await http.get(f"https://pinned.test:{public.port}/doc")
            assert answer.json() == {"server": "public"}
            # Same address, another name: the certificate does not match it, so no request.
            with pytest.raises(httpx.ConnectError, match=r"[Hh]ostname mismatch"):
                await http.get(f"https://other.test:{public.port}/doc")
        assert public.server_names == ["pinned.test", "other.test"]  # SNI: the name, not the IP
        assert public.requests == [("/doc", f"pinned.test:{public.port}")]
