"""Tests for federation.signatures: round trips, independent signers, published vectors, refusals.

Independent evidence matters more than round trips here: a signer and verifier that share a bug
agree with each other and with nobody else. So besides our own round trip we verify signatures
made by the ``http_message_signatures`` package, hand-built GoToSocial-style cavage headers, the
draft-cavage-12 appendix C vector and the RFC 9421 appendix B.2.6 Ed25519 vector.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from federation.signature_parsing import ParsedSignature, parse_signature
from federation.signatures import (
    content_digest_header,
    digest_header,
    generate_rsa_keypair,
    http_date,
    sign_request,
    verify_signature,
)
from models.errors import SignatureInvalid

PRIVATE_PEM, PUBLIC_PEM = generate_rsa_keypair(2048)
OTHER_PRIVATE_PEM, OTHER_PUBLIC_PEM = generate_rsa_keypair(2048)
NOW = datetime(2026, 11, 22, 14, 31, 16, tzinfo=UTC)
INBOX = "https://remote.example/users/bob/inbox"
KEY_ID = "https://local.example/users/alice#main-key"
BODY = b'{"type": "Follow", "actor": "https://local.example/users/alice"}'


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _check(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    public_pem: str = PUBLIC_PEM,
    now: datetime = NOW,
) -> ParsedSignature:
    """Parse and verify as the inbox will, returning the parsed signature."""
    parsed = parse_signature(method, url, _lower(headers))
    verify_signature(parsed, public_pem, headers=_lower(headers), body=body, now=now)
    return parsed


def _post(body: bytes = BODY, url: str = INBOX, now: datetime = NOW) -> dict[str, str]:
    return sign_request(
        "POST",
        url,
        {"Content-Type": "application/activity+json"},
        body,
        KEY_ID,
        PRIVATE_PEM,
        now=now,
    )


def _cavage(
    method: str,
    url: str,
    values: dict[str, str],
    covered: list[str],
    *,
    private_pem: str = PRIVATE_PEM,
    algorithm: str = "hs2019",
    extra: dict[str, int] | None = None,
) -> dict[str, str]:
    """Hand-build a cavage signature (independently of the module) the way GoToSocial does."""
    extra = extra or {}
    split = url.split("/", 3)
    target = "/" + (split[3] if len(split) > 3 else "")
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"{name}: {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {extra[name[1:-1]]}")
        else:
            lines.append(f"{name}: {values[name]}")
    data = "\n".join(lines).encode()
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.sign(data)
    else:
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    params = "".join(f"{k}={v}," for k, v in extra.items())
    signature = (
        f'keyId="{KEY_ID}",algorithm="{algorithm}",{params}headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(raw).decode()}"'
    )
    return {**values, "signature": signature}


def _base_values(body: bytes | None = BODY, when: datetime = NOW) -> dict[str, str]:
    values = {"host": "remote.example", "date": http_date(when)}
    if body is not None:
        values["digest"] = digest_header(body)
    return values


# --- helpers and vectors ------------------------------------------------------------------------


def test_digest_vectors() -> None:
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert content_digest_header(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    # RFC 9530 §B.1 / draft-cavage appendix C body.
    hello = b'{"hello": "world"}'
    assert digest_header(hello) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert content_digest_header(hello) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_http_date_format() -> None:
    assert http_date(NOW) == "Sun, 22 Nov 2026 14:31:16 GMT"
    assert http_date(datetime(2026, 11, 22, 14, 31, 16)) == "Sun, 22 Nov 2026 14:31:16 GMT"


def test_keypair_pem_forms() -> None:
    assert PRIVATE_PEM.startswith("-----BEGIN PRIVATE KEY-----")
    assert PUBLIC_PEM.startswith("-----BEGIN PUBLIC KEY-----")


def test_sign_request_headers_like_mastodon() -> None:
    headers = sign_request(
        "POST",
        "https://remote.example:8443/inbox?x=1",
        {"host": "stale"},
        BODY,
        KEY_ID,
        PRIVATE_PEM,
        now=NOW,
    )
    assert headers["Host"] == "remote.example:8443"
    assert "host" not in headers
    assert headers["Date"] == "Sun, 22 Nov 2026 14:31:16 GMT"
    assert headers["Digest"] == digest_header(BODY)
    assert headers["Signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",'
        'signature="'
    )
    parsed = _check("POST", "https://remote.example:8443/inbox?x=1", headers, BODY)
    assert parsed.signing_base.startswith(b"(request-target): post /inbox?x=1\nhost: remote")
    get = sign_request("GET", "https://remote.example:443/users/bob", {}, None, KEY_ID, PRIVATE_PEM)
    assert get["Host"] == "remote.example"
    assert 'headers="(request-target) host date"' in get["Signature"]
    assert "Digest" not in get


def test_draft_cavage_appendix_c3_vector() -> None:
    """draft-cavage-12 C.3 "All Headers Test", signed with the draft's 1024-bit test key."""
    public_pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3\n"
        "6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6\n"
        "Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw\n"
        "oYi+1hqp1fIekaxsyQIDAQAB\n"
        "-----END PUBLIC KEY-----\n"
    )
    headers = {
        "host": "example.com",
        "date": "Sun, 05 Jan 2014 21:31:40 GMT",
        "content-type": "application/json",
        "digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "content-length": "18",
        "authorization": 'Signature keyId="Test",algorithm="rsa-sha256",headers="(request-target)'
        ' host date content-type digest content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iF'
        "IrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHo"
        'BTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="',
    }
    when = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
    url = "http://example.com/foo?param=value&pet=dog"
    parsed = _check("POST", url, headers, b'{"hello": "world"}', public_pem, when)
    assert parsed.key_id == "Test"
    assert parsed.algorithm == "rsa-sha256"
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        _check("POST", url, headers, b'{"hello": "world!"}', public_pem, when)


def test_rfc9421_b26_ed25519_vector() -> None:
    public_pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
        "-----END PUBLIC KEY-----\n"
    )
    headers = {
        "host": "example.com",
        "date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "content-type": "application/json",
        "content-length": "18",
        "signature-input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type"'
        ' "content-length");created=1618884473;keyid="test-key-ed25519"',
        "signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0"
        "w6vuQv5lIp5WPpBKRCw==:",
    }
    when = datetime(2021, 4, 20, 2, 7, 55, tzinfo=UTC)
    # The vector signs no content-digest, so verify it as a body-less request.
    parsed = _check(
        "POST", "http://example.com/foo?param=Value&Pet=dog", headers, None, public_pem, when
    )
    assert parsed.scheme == "rfc9421"
    assert parsed.algorithm is None
    assert parsed.created == datetime(2021, 4, 20, 2, 7, 53, tzinfo=UTC)


def test_rfc9421_b22_signature_base_is_byte_exact() -> None:
    sha512 = base64.b64encode(hashlib.sha512(b'{"hello": "world"}').digest()).decode()
    digest = f"sha-512=:{sha512}:"
    assert sha512.startswith("WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX")
    headers = {
        "host": "example.com",
        "content-digest": digest,
        "signature-input": 'sig-b22=("@authority" "content-digest" "@query-param";name="Pet")'
        ';created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
        "signature": "sig-b22=:AAAA:",
    }
    parsed = parse_signature("POST", "http://example.com/foo?param=Value&Pet=dog", headers)
    assert (
        parsed.signing_base
        == (
            '"@authority": example.com\n'
            f'"content-digest": {digest}\n'
            '"@query-param";name="Pet": dog\n'
            '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet")'
            ';created=1618884473;keyid="test-key-rsa-pss";tag="header-example"'
        ).encode()
    )
    assert parsed.covered == ("@authority", "content-digest", '@query-param;name="Pet"')


# --- round trips ---------------------------------------------------------------------------------


def test_post_round_trip() -> None:
    parsed = _check("POST", INBOX, _post(), BODY)
    assert parsed.scheme == "cavage"
    assert parsed.key_id == KEY_ID
    assert parsed.covered == ("(request-target)", "host", "date", "digest")


def test_get_round_trip() -> None:
    url = "https://remote.example/users/bob?page=2"
    headers = sign_request(
        "GET", url, {"Accept": "application/activity+json"}, None, KEY_ID, PRIVATE_PEM, now=NOW
    )
    assert headers["Accept"] == "application/activity+json"
    assert _check("GET", url, headers, None).covered == ("(request-target)", "host", "date")


@pytest.mark.parametrize("skew", [timedelta(minutes=59), timedelta(minutes=-59)])
def test_accepts_59_minutes_of_skew(skew: timedelta) -> None:
    _check("POST", INBOX, _post(now=NOW + skew), BODY)


# --- independent signers -------------------------------------------------------------------------


@dataclass
class _Request:
    """The minimal request shape http_message_signatures resolves components from."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def _hms_sign(
    algorithm: type[algorithms.HTTPSignatureAlgorithm],
    private_pem: bytes,
    *,
    include_alg: bool = True,
) -> dict[str, str]:
    request = _Request("POST", INBOX, {"Host": "remote.example", "Content-Type": "text/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: private_pem}),
    )
    signer.sign(
        request,
        key_id=KEY_ID,
        created=NOW,
        include_alg=include_alg,
        body=BODY,
        covered_component_ids=("@method", "@authority", "@target-uri", "content-digest"),
    )
    return request.headers


def test_rfc9421_rsa_v1_5_from_http_message_signatures() -> None:
    headers = _hms_sign(algorithms.RSA_V1_5_SHA256, PRIVATE_PEM.encode())
    parsed = _check("POST", INBOX, headers, BODY)
    assert parsed.algorithm == "rsa-v1_5-sha256"
    assert parsed.covered == ("@method", "@authority", "@target-uri", "content-digest")
    assert parsed.created == NOW
    with pytest.raises(SignatureInvalid, match="content-digest mismatch"):
        _check("POST", INBOX, headers, BODY + b" ")
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _check("POST", INBOX, headers, BODY, OTHER_PUBLIC_PEM)


def test_rfc9421_pss_without_alg_is_inferred() -> None:
    headers = _hms_sign(algorithms.RSA_PSS_SHA512, PRIVATE_PEM.encode(), include_alg=False)
    assert _check("POST", INBOX, headers, BODY).algorithm is None


def test_rfc9421_ed25519_from_http_message_signatures() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    headers = _hms_sign(algorithms.ED25519, private_pem)
    assert _check("POST", INBOX, headers, BODY, public_pem).algorithm == "ed25519"
    with pytest.raises(SignatureInvalid, match="does not match the key type"):
        _check("POST", INBOX, headers, BODY, PUBLIC_PEM)


def test_gotosocial_style_hs2019_with_created_and_expires() -> None:
    created = int(NOW.timestamp()) - 5
    covered = ["(request-target)", "(created)", "(expires)", "host", "date", "digest"]
    headers = _cavage(
        "POST", INBOX, _base_values(), covered, extra={"created": created, "expires": created + 120}
    )
    parsed = _check("POST", INBOX, headers, BODY)
    assert parsed.algorithm == "hs2019"
    assert parsed.signing_base.startswith(
        f"(request-target): post /users/bob/inbox\n(created): {created}\n".encode()
    )
    with pytest.raises(SignatureInvalid, match="signature expired"):
        _check("POST", INBOX, headers, BODY, now=NOW + timedelta(minutes=3))


def test_gotosocial_plain_hs2019_and_ed25519_key() -> None:
    covered = ["(request-target)", "host", "date", "digest"]
    _check("POST", INBOX, _cavage("POST", INBOX, _base_values(), covered), BODY)
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    headers = _cavage("POST", INBOX, _base_values(), covered, private_pem=private_pem)
    _check("POST", INBOX, headers, BODY, public_pem)


# --- refusals ------------------------------------------------------------------------------------


def test_rejects_wrong_key() -> None:
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _check("POST", INBOX, _post(), BODY, OTHER_PUBLIC_PEM)


def test_rejects_changed_body() -> None:
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        _check("POST", INBOX, _post(), BODY.replace(b"Follow", b"Block"))


def test_rejects_changed_path() -> None:
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _check("POST", "https://remote.example/users/carol/inbox", _post(), BODY)


@pytest.mark.parametrize("skew", [timedelta(hours=-2), timedelta(hours=2)])
def test_rejects_date_two_hours_off(skew: timedelta) -> None:
    with pytest.raises(SignatureInvalid, match="date outside clock window"):
        _check("POST", INBOX, _post(now=NOW + skew), BODY)


def test_rejects_post_without_signed_digest() -> None:
    headers = _cavage("POST", INBOX, _base_values(), ["(request-target)", "host", "date"])
    with pytest.raises(SignatureInvalid, match="missing signed header: digest"):
        _check("POST", INBOX, headers, BODY)


def test_rejects_get_without_signed_host() -> None:
    url = "https://remote.example/users/bob"
    headers = _cavage("GET", url, _base_values(None), ["(request-target)", "date"])
    with pytest.raises(SignatureInvalid, match="missing signed header: host"):
        _check("GET", url, headers, None)


def test_rejects_signed_header_absent_from_request() -> None:
    headers = _post()
    del headers["Digest"]
    with pytest.raises(SignatureInvalid, match="missing signed header: digest"):
        _check("POST", INBOX, headers, BODY)


def test_rejects_validly_signed_but_wrong_digest() -> None:
    values = {**_base_values(), "digest": digest_header(b"something else")}
    headers = _cavage("POST", INBOX, values, ["(request-target)", "host", "date", "digest"])
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        _check("POST", INBOX, headers, BODY)


def test_rejects_rfc9421_stale_created() -> None:
    request = _Request("GET", INBOX, {"Host": "remote.example"})
    resolver = MappingKeyResolver(public_keys={}, private_keys={KEY_ID: PRIVATE_PEM.encode()})
    rsa_v1_5 = algorithms.RSA_V1_5_SHA256
    signer = HTTPMessageSigner(signature_algorithm=rsa_v1_5, key_resolver=resolver)
    signer.sign(request, key_id=KEY_ID, created=NOW - timedelta(hours=2))
    with pytest.raises(SignatureInvalid, match="created outside clock window"):
        _check("GET", INBOX, request.headers, None)


def test_rejects_rfc9421_without_created_or_date() -> None:
    headers = {
        "host": "remote.example",
        "signature-input": f'sig1=("@method" "@target-uri");keyid="{KEY_ID}"',
        "signature": "sig1=:AAAA:",
    }
    with pytest.raises(SignatureInvalid, match="neither created nor a signed date"):
        _check("GET", INBOX, headers, None)


def test_rejects_unsigned_request() -> None:
    with pytest.raises(SignatureInvalid, match="no signature"):
        parse_signature("POST", INBOX, {"host": "remote.example", "date": http_date(NOW)})


@pytest.mark.parametrize(
    "value",
    ["garbage", 'keyId="k",signature="!!notbase64!!"', 'keyId="k",,', 'headers="date"'],
)
def test_rejects_garbage_signature_header(value: str) -> None:
    with pytest.raises(SignatureInvalid):
        parse_signature("POST", INBOX, {**_lower(_post()), "signature": value})


def test_rejects_garbage_rfc9421_headers() -> None:
    headers = {**_lower(_post()), "signature-input": "sig1=(", "signature": "sig1=:AAAA:"}
    with pytest.raises(SignatureInvalid, match="structured-field"):
        parse_signature("POST", INBOX, headers)
