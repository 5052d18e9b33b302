"""HTTP Signatures as the Fediverse checks them: draft-cavage-12 and RFC 9421.

Pure functions only (bytes and headers in, a result or an exception out), so the inbox, the
fetcher and the tests can share one implementation without a database or network. Policy follows
Mastodon and GoToSocial, because a signature they would reject is one our peers would reject too:
the (request-target) is always signed, a body is bound by a signed digest, and freshness comes from
a signed Date or ``created`` within a clock window. Every failure raises ``SignatureInvalid`` with a
detail for the log; the public message stays generic. Reading the signature out of the request
is `federation/signature_parsing.py`; signing, digests and the cryptographic check are here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeAlias

import http_sfv
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.signature_parsing import (
    ParsedSignature,
    header_field,
    sf_dictionary,
    split_target,
)
from models.errors import KeyMismatch, Malformed, SignatureInvalid

_DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}
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


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
    digest: str | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> dict[str, str]:
    """Sign an outgoing request the way Mastodon does and return every header to send.

    Host, Date and (with a body) Digest are always recomputed from ``url``, ``now`` and ``body``
    so the signed values cannot drift from what goes on the wire; only the digest may be given
    (``digest_header(body)``, computed once for a body sent to many inboxes). The key is parsed
    once per PEM (``load_private_key``), or given already parsed as ``key``. Raises
    ``Malformed`` for a URL or key we cannot use (both come from stored or remote data, not from
    the caller's code).
    """
    key = key or load_private_key(private_key_pem)
    _, authority, path, query = split_target(url, Malformed)
    replaced = {"host", "date", "digest", "signature"}
    out = {name: value for name, value in headers.items() if name.lower() not in replaced}
    out["Host"] = authority
    out["Date"] = http_date(now)
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = digest or digest_header(body)
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
        date_value = header_field(headers, "date") or ""
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
            _check_digest_header(header_field(headers, "digest") or "", body)
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
    for alg, member in sf_dictionary(headers, "content-digest").items():
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
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
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
