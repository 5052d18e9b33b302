"""HTTP Signatures as the Fediverse checks them: draft-cavage-12 and RFC 9421.

Pure functions only (bytes and headers in, a result or an exception out), so the inbox, the
fetcher and the tests can share one implementation without a database or network. Policy follows
Mastodon and GoToSocial, because a signature they would reject is one our peers would reject too:
the (request-target) is always signed, a body is bound by a signed digest, and freshness comes from
a signed Date or ``created`` within a clock window. Every failure raises ``SignatureInvalid`` with a
detail for the log; the public message stays generic.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeAlias

import http_sfv
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from models.errors import KeyMismatch, Malformed, SignatureInvalid

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}
# One cavage parameter: name="quoted value" or a bare number (created=1402170695).
_CAVAGE_PARAM = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([0-9]+(?:\.[0-9]+)?))\s*'
)
_RFC9421_ALGS = ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519")

PublicKey: TypeAlias = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """Return (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM): the forms actors publish."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode("ascii"), public.decode("ascii")


def digest_header(body: bytes) -> str:
    """The legacy ``Digest`` value Mastodon signs and checks on every POST."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value that RFC 9421 signatures cover instead."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def http_date(now: datetime | None = None) -> str:
    """RFC 7231 IMF-fixdate, locale-independent (a naive datetime is taken as UTC)."""
    return format_datetime(_utc(now or datetime.now(UTC)), usegmt=True)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _split_target(url: str, error: type[Exception]) -> tuple[str, str, str, str | None]:
    """Split an absolute URL into (scheme, authority, path, query or None), normalised.

    The authority is lowercase and omits the scheme's default port, as RFC 9421 @authority and
    the Host header that Mastodon signs both expect.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise error(f"unusable URL: {url!r}") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise error(f"not an absolute http(s) URL: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    query = parts.query if parts.query or url.endswith("?") else None
    return scheme, authority, parts.path or "/", query


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign an outgoing request the way Mastodon does and return every header to send.

    Host, Date and (with a body) Digest are always recomputed from ``url``, ``now`` and ``body``
    so the signed values cannot drift from what goes on the wire. Raises ``Malformed`` for a URL
    or key we cannot use (both come from stored or remote data, not from the caller's code).
    """
    key = _load_private_key(private_key_pem)
    _, authority, path, query = _split_target(url, Malformed)
    replaced = {"host", "date", "digest", "signature"}
    out = {name: value for name, value in headers.items() if name.lower() not in replaced}
    out["Host"] = authority
    out["Date"] = http_date(now)
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = digest_header(body)
        covered.append("digest")
    target = path + (f"?{query}" if query is not None else "")
    values = {
        "(request-target)": f"{method.lower()} {target}",
        "host": out["Host"],
        "date": out["Date"],
        "digest": out.get("Digest", ""),
    }
    signing_string = "\n".join(f"{name}: {values[name]}" for name in covered)
    raw = key.sign(signing_string.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return out


@dataclass(frozen=True)
class ParsedSignature:
    """A signature and the exact bytes it claims to sign, before any key is consulted."""

    scheme: str  # "cavage" or "rfc9421"
    key_id: str
    algorithm: str | None  # as declared
    covered: tuple[str, ...]  # covered components/headers, lowercase, as declared
    signature: bytes
    signing_base: bytes  # the exact bytes that were signed, reconstructed from the request
    created: datetime | None
    expires: datetime | None


def _field(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, trimmed; repeated fields (when the mapping keeps them) joined by ", "."""
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        values = [str(v).strip() for v in getlist(name)]
        return ", ".join(values) if values else None
    value = headers.get(name)
    return None if value is None else value.strip()


def parse_signature(method: str, target_uri: str, headers: Mapping[str, str]) -> ParsedSignature:
    """Parse whichever signature the request carries; RFC 9421 wins over cavage when both exist."""
    if _field(headers, "signature-input") is not None:
        return _parse_rfc9421(method, target_uri, headers)
    value = _field(headers, "signature")
    if value is None:
        auth = _field(headers, "authorization") or ""
        if auth[:10].lower() == "signature ":
            value = auth[10:].strip()
    if not value:
        raise SignatureInvalid("no signature on the request")
    return _parse_cavage(method, target_uri, headers, value)


def _parse_cavage(
    method: str, target_uri: str, headers: Mapping[str, str], value: str
) -> ParsedSignature:
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _CAVAGE_PARAM.match(value, pos)
        if match is None:
            raise SignatureInvalid(f"unparseable Signature header at offset {pos}")
        name = match.group(1).lower()
        if name in params:
            raise SignatureInvalid(f"duplicate Signature parameter: {name}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
        if pos < len(value):
            if value[pos] != ",":
                raise SignatureInvalid(f"unparseable Signature header at offset {pos}")
            pos += 1
    key_id, sig_b64 = params.get("keyid"), params.get("signature")
    if not key_id or not sig_b64:
        raise SignatureInvalid("Signature header lacks keyId or signature")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except ValueError as exc:
        raise SignatureInvalid("signature is not valid base64") from exc
    algorithm = params.get("algorithm")
    # Mastodon's default when "headers" is absent; the draft's "(created)" default is unused.
    covered = tuple(params.get("headers", "date").lower().split())
    if not covered:
        raise SignatureInvalid("Signature covers no headers")
    _, _, path, query = _split_target(target_uri, SignatureInvalid)
    target = path + (f"?{query}" if query is not None else "")
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"{name}: {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            # draft-cavage-12 §2.3 allows these only with hs2019; Mastodon enforces that too.
            if (algorithm or "hs2019").lower() != "hs2019":
                raise SignatureInvalid(f"{name} is not allowed with algorithm {algorithm}")
            param = params.get(name[1:-1])
            if param is None:
                raise SignatureInvalid(f"{name} is covered but its parameter is missing")
            lines.append(f"{name}: {param}")
        elif name.startswith("("):
            raise SignatureInvalid(f"unsupported pseudo-header: {name}")
        else:
            field = _field(headers, name)
            if field is None:
                raise SignatureInvalid(f"missing signed header: {name}")
            lines.append(f"{name}: {field}")
    text = "\n".join(lines)
    try:  # ASGI decodes header bytes as latin-1; re-encoding restores the bytes on the wire.
        base = text.encode("latin-1")
    except UnicodeEncodeError:
        base = text.encode("utf-8")
    return ParsedSignature(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        covered=covered,
        signature=signature,
        signing_base=base,
        created=_timestamp(params.get("created"), "created"),
        expires=_timestamp(params.get("expires"), "expires"),
    )


def _timestamp(value: str | int | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureInvalid(f"unusable {name} timestamp: {value!r}") from exc


def _sf_dictionary(headers: Mapping[str, str], name: str) -> http_sfv.Dictionary:
    raw = _field(headers, name)
    if raw is None:
        raise SignatureInvalid(f"missing {name} header")
    parsed = http_sfv.Dictionary()
    try:
        parsed.parse(raw.encode("ascii"))
    except ValueError as exc:
        raise SignatureInvalid(f"{name} is not a structured-field dictionary") from exc
    return parsed


def _parse_rfc9421(method: str, target_uri: str, headers: Mapping[str, str]) -> ParsedSignature:
    inputs = _sf_dictionary(headers, "signature-input")
    signatures = _sf_dictionary(headers, "signature")
    if not inputs:
        raise SignatureInvalid("Signature-Input is empty")
    label = next(iter(inputs))
    members = inputs[label]
    sig_item = signatures.get(label)
    if not isinstance(members, http_sfv.InnerList):
        raise SignatureInvalid(f"Signature-Input {label} is not an inner list")
    if not isinstance(sig_item, http_sfv.Item) or not isinstance(sig_item.value, bytes):
        raise SignatureInvalid(f"no byte-sequence Signature for label {label}")
    params = members.params
    key_id, alg = params.get("keyid"), params.get("alg")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureInvalid("Signature-Input lacks keyid")
    if alg is not None and not isinstance(alg, str):
        raise SignatureInvalid("alg parameter is not a string")
    stamps: dict[str, datetime | None] = {}
    for name in ("created", "expires"):
        stamp = params.get(name)
        if stamp is not None and type(stamp) is not int:
            raise SignatureInvalid(f"{name} parameter is not an integer")
        stamps[name] = _timestamp(stamp, name)

    scheme, authority, path, query = _split_target(target_uri, SignatureInvalid)
    derived = {
        "@method": method,
        "@target-uri": f"{scheme}://{authority}{path}" + (f"?{query}" if query is not None else ""),
        "@authority": authority,
        "@scheme": scheme,
        "@request-target": path + (f"?{query}" if query is not None else ""),
        "@path": path,
        "@query": f"?{query or ''}",
    }
    lines: list[str] = []
    covered: list[str] = []
    for item in members:
        name = item.value
        if not isinstance(name, str) or name != name.lower():
            raise SignatureInvalid(f"bad component identifier: {item}")
        ident = name + str(item.params)
        if ident in covered:
            raise SignatureInvalid(f"component covered twice: {ident}")
        if name == "@query-param":
            value = _query_param(query, item.params.get("name"))
        elif item.params:
            raise SignatureInvalid(f"unsupported component parameters: {ident}")
        elif name.startswith("@"):
            if name not in derived:
                raise SignatureInvalid(f"unsupported derived component: {name}")
            value = derived[name]
        else:
            field = _field(headers, name)
            if field is None:
                raise SignatureInvalid(f"missing signed header: {name}")
            value = field
        if "\n" in value or "\r" in value:
            raise SignatureInvalid(f"newline in component value: {ident}")
        covered.append(ident)
        lines.append(f"{item}: {value}")
    lines.append(f'"@signature-params": {members}')
    try:
        base = "\n".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:
        raise SignatureInvalid("non-ASCII character in signature base") from exc
    return ParsedSignature(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=alg,
        covered=tuple(covered),
        signature=sig_item.value,
        signing_base=base,
        created=stamps["created"],
        expires=stamps["expires"],
    )


def _query_param(query: str | None, name: object) -> str:
    """RFC 9421 §2.2.8: the single value of a named query parameter, re-encoded."""
    if not isinstance(name, str):
        raise SignatureInvalid("@query-param lacks a name parameter")
    wanted = urllib.parse.unquote_plus(name)
    pairs = urllib.parse.parse_qsl(query or "", keep_blank_values=True)
    values = [v for k, v in pairs if k == wanted]
    if len(values) != 1:
        # §2.2.8: a missing or repeated parameter must not be signed individually.
        raise SignatureInvalid(f"query parameter {wanted!r} occurs {len(values)} times")
    return urllib.parse.quote(values[0], safe="*").replace("~", "%7E")


def verify_signature(
    parsed: ParsedSignature,
    public_key_pem: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    now: datetime,
    max_skew_seconds: int = 3600,
) -> None:
    """Raise ``SignatureInvalid`` unless coverage, freshness, body digest and crypto all pass.

    The cheap policy checks run first so the log says *why* a peer's request was refused, not
    merely that the RSA check failed.
    """
    cover = set(parsed.covered)
    if parsed.scheme == "cavage":
        # Without the target a signature could be replayed against another path (Mastodon).
        if "(request-target)" not in cover:
            raise SignatureInvalid("missing signed header: (request-target)")
        if body is None and "host" not in cover:
            raise SignatureInvalid("missing signed header: host")
        if "date" not in cover and "(created)" not in cover:
            raise SignatureInvalid("missing signed header: date")
        if body is not None and "digest" not in cover:
            raise SignatureInvalid("missing signed header: digest")
    else:
        if "@method" not in cover:
            raise SignatureInvalid("missing signed component: @method")
        if not cover & {"@target-uri", "@path", "@request-target"}:
            raise SignatureInvalid("missing signed component: @target-uri or @path")
        if parsed.created is None and "date" not in cover:
            raise SignatureInvalid("signature has neither created nor a signed date")
        if body is not None and "content-digest" not in cover:
            raise SignatureInvalid("missing signed component: content-digest")

    now = _utc(now)
    skew = timedelta(seconds=max_skew_seconds)
    if "date" in cover:
        date_value = _field(headers, "date") or ""
        try:
            date = _utc(parsedate_to_datetime(date_value))
        except (TypeError, ValueError) as exc:
            raise SignatureInvalid(f"unparseable date header: {date_value!r}") from exc
        if abs(now - date) > skew:
            raise SignatureInvalid("date outside clock window")
    if parsed.created is not None and abs(now - parsed.created) > skew:
        raise SignatureInvalid("created outside clock window")
    if parsed.expires is not None and parsed.expires < now:
        raise SignatureInvalid("signature expired")

    if body is not None:
        if parsed.scheme == "cavage":
            _check_digest_header(_field(headers, "digest") or "", body)
        else:
            _check_content_digest(headers, body)

    key = _load_public_key(public_key_pem)
    for alg in _candidate_algorithms(parsed, key):
        if _crypto_ok(alg, key, parsed.signature, parsed.signing_base):
            return
    raise KeyMismatch("signature does not verify with the actor's key")


def _check_digest_header(value: str, body: bytes) -> None:
    """Every SHA-256/SHA-512 member of a legacy ``Digest`` must match; unknown ones are skipped."""
    checked = 0
    for member in value.split(","):
        alg, sep, encoded = member.strip().partition("=")
        if not sep:
            raise SignatureInvalid("malformed digest header")
        hasher = _DIGESTS.get(alg.strip().lower())
        if hasher is None:
            continue
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise SignatureInvalid("digest value is not valid base64") from exc
        if not hmac.compare_digest(expected, hasher(body).digest()):
            raise SignatureInvalid("digest mismatch")
        checked += 1
    if not checked:
        raise SignatureInvalid("digest header has no SHA-256 or SHA-512 value")


def _check_content_digest(headers: Mapping[str, str], body: bytes) -> None:
    """Every sha-256/sha-512 member of ``Content-Digest`` must match; unknown ones are skipped."""
    checked = 0
    for alg, member in _sf_dictionary(headers, "content-digest").items():
        hasher = _DIGESTS.get(alg)
        if hasher is None:
            continue
        if not isinstance(member, http_sfv.Item) or not isinstance(member.value, bytes):
            raise SignatureInvalid(f"content-digest {alg} is not a byte sequence")
        if not hmac.compare_digest(member.value, hasher(body).digest()):
            raise SignatureInvalid("content-digest mismatch")
        checked += 1
    if not checked:
        raise SignatureInvalid("content-digest has no sha-256 or sha-512 value")


@functools.lru_cache(maxsize=256)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Our own keys, parsed once: loading a PEM validates the RSA key, ~60 ms of CPU each time."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise Malformed("unusable private key PEM") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Malformed("signing key is not an RSA key")
    return key


@functools.lru_cache(maxsize=1024)
def _load_public_key(pem: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureInvalid("unusable public key PEM") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureInvalid(f"unsupported public key type: {type(key).__name__}")
    return key


def _candidate_algorithms(parsed: ParsedSignature, key: PublicKey) -> tuple[str, ...]:
    """Map the declared algorithm (or, if absent/hs2019, the key type) to RFC 9421 names."""
    is_rsa = isinstance(key, rsa.RSAPublicKey)
    declared = parsed.algorithm.lower() if parsed.algorithm else None
    if parsed.scheme == "cavage":
        if declared == "rsa-sha256":
            chosen: tuple[str, ...] = ("rsa-v1_5-sha256",)
        elif declared in (None, "hs2019"):
            # hs2019 hides the algorithm; the Fediverse uses PKCS#1 v1.5 for RSA keys.
            chosen = ("rsa-v1_5-sha256",) if is_rsa else ("ed25519",)
        else:
            raise SignatureInvalid(f"unsupported algorithm: {parsed.algorithm}")
    elif declared is None:
        chosen = ("rsa-v1_5-sha256", "rsa-pss-sha512") if is_rsa else ("ed25519",)
    elif declared in _RFC9421_ALGS:
        chosen = (declared,)
    else:
        raise SignatureInvalid(f"unsupported algorithm: {parsed.algorithm}")
    if chosen[0].startswith("rsa") != is_rsa:
        raise SignatureInvalid(f"algorithm {parsed.algorithm} does not match the key type")
    return chosen


def _crypto_ok(alg: str, key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif alg == "rsa-pss-sha512":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            key.verify(signature, data, pss, hashes.SHA512())
        else:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
