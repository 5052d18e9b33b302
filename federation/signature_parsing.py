"""Reading an incoming request's signature (draft-cavage-12 or RFC 9421) into the exact bytes
it claims to sign, before any key is consulted: `federation/signatures.py` then verifies them.
Pure: headers in, a ``ParsedSignature`` or ``SignatureInvalid`` out.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import http_sfv

from models.errors import SignatureInvalid

_DEFAULT_PORTS = {"http": 80, "https": 443}


# One cavage parameter: name="quoted value" or a bare number (created=1402170695).
_CAVAGE_PARAM = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([0-9]+(?:\.[0-9]+)?))\s*'
)


def split_target(url: str, error: type[Exception]) -> tuple[str, str, str, str | None]:
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


def header_field(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, trimmed; repeated fields (when the mapping keeps them) joined by ", "."""
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        values = [str(v).strip() for v in getlist(name)]
        return ", ".join(values) if values else None
    value = headers.get(name)
    return None if value is None else value.strip()


def parse_signature(method: str, target_uri: str, headers: Mapping[str, str]) -> ParsedSignature:
    """Parse whichever signature the request carries; RFC 9421 wins over cavage when both exist."""
    if header_field(headers, "signature-input") is not None:
        return _parse_rfc9421(method, target_uri, headers)
    value = header_field(headers, "signature")
    if value is None:
        auth = header_field(headers, "authorization") or ""
        if auth[:10].lower() == "signature ":
            value = auth[10:].strip()
    if not value:
        raise SignatureInvalid("no signature on the request")
    return _parse_cavage(method, target_uri, headers, value)


def _cavage_params(value: str) -> dict[str, str]:
    """``name="value", name=123, …`` as a dict; duplicates and junk are refused."""
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
    return params


def _cavage_line(
    name: str, params: dict[str, str], method: str, target: str, headers: Mapping[str, str]
) -> str:
    """One line of the cavage signing string for a covered header or pseudo-header."""
    if name == "(request-target)":
        return f"{name}: {method.lower()} {target}"
    if name in ("(created)", "(expires)"):
        # draft-cavage-12 §2.3 allows these only with hs2019; Mastodon enforces that too.
        algorithm = params.get("algorithm")
        if (algorithm or "hs2019").lower() != "hs2019":
            raise SignatureInvalid(f"{name} is not allowed with algorithm {algorithm}")
        param = params.get(name[1:-1])
        if param is None:
            raise SignatureInvalid(f"{name} is covered but its parameter is missing")
        return f"{name}: {param}"
    if name.startswith("("):
        raise SignatureInvalid(f"unsupported pseudo-header: {name}")
    field = header_field(headers, name)
    if field is None:
        raise SignatureInvalid(f"missing signed header: {name}")
    return f"{name}: {field}"


def _parse_cavage(
    method: str, target_uri: str, headers: Mapping[str, str], value: str
) -> ParsedSignature:
    params = _cavage_params(value)
    key_id, sig_b64 = params.get("keyid"), params.get("signature")
    if not key_id or not sig_b64:
        raise SignatureInvalid("Signature header lacks keyId or signature")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except ValueError as exc:
        raise SignatureInvalid("signature is not valid base64") from exc
    # Mastodon's default when "headers" is absent; the draft's "(created)" default is unused.
    covered = tuple(params.get("headers", "date").lower().split())
    if not covered:
        raise SignatureInvalid("Signature covers no headers")
    _, _, path, query = split_target(target_uri, SignatureInvalid)
    target = path + (f"?{query}" if query is not None else "")
    text = "\n".join(_cavage_line(name, params, method, target, headers) for name in covered)
    try:  # ASGI decodes header bytes as latin-1; re-encoding restores the bytes on the wire.
        base = text.encode("latin-1")
    except UnicodeEncodeError:
        base = text.encode("utf-8")
    return ParsedSignature(
        scheme="cavage",
        key_id=key_id,
        algorithm=params.get("algorithm"),
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


def sf_dictionary(headers: Mapping[str, str], name: str) -> http_sfv.Dictionary:
    raw = header_field(headers, name)
    if raw is None:
        raise SignatureInvalid(f"missing {name} header")
    parsed = http_sfv.Dictionary()
    try:
        parsed.parse(raw.encode("ascii"))
    except ValueError as exc:
        raise SignatureInvalid(f"{name} is not a structured-field dictionary") from exc
    return parsed


def _derived_components(target_uri: str, method: str) -> tuple[dict[str, str], str | None]:
    """RFC 9421 §2.2 derived components of this request, and its query (None if absent)."""
    scheme, authority, path, query = split_target(target_uri, SignatureInvalid)
    with_query = path + (f"?{query}" if query is not None else "")
    derived = {
        "@method": method,
        "@target-uri": f"{scheme}://{authority}{with_query}",
        "@authority": authority,
        "@scheme": scheme,
        "@request-target": with_query,
        "@path": path,
        "@query": f"?{query or ''}",
    }
    return derived, query


def _component(
    item: http_sfv.Item, derived: dict[str, str], query: str | None, headers: Mapping[str, str]
) -> tuple[str, str]:
    """A covered component's identifier (name and parameters) and its value."""
    name = item.value
    if not isinstance(name, str) or name != name.lower():
        raise SignatureInvalid(f"bad component identifier: {item}")
    ident = name + str(item.params)
    if name == "@query-param":
        value = _query_param(query, item.params.get("name"))
    elif item.params:
        raise SignatureInvalid(f"unsupported component parameters: {ident}")
    elif name.startswith("@"):
        if name not in derived:
            raise SignatureInvalid(f"unsupported derived component: {name}")
        value = derived[name]
    else:
        field = header_field(headers, name)
        if field is None:
            raise SignatureInvalid(f"missing signed header: {name}")
        value = field
    if "\n" in value or "\r" in value:
        raise SignatureInvalid(f"newline in component value: {ident}")
    return ident, value


def _rfc9421_label(
    headers: Mapping[str, str],
) -> tuple[http_sfv.InnerList, bytes]:
    """The first signature's covered components and its value (the signature bytes)."""
    inputs = sf_dictionary(headers, "signature-input")
    signatures = sf_dictionary(headers, "signature")
    if not inputs:
        raise SignatureInvalid("Signature-Input is empty")
    label = next(iter(inputs))
    members = inputs[label]
    sig_item = signatures.get(label)
    if not isinstance(members, http_sfv.InnerList):
        raise SignatureInvalid(f"Signature-Input {label} is not an inner list")
    if not isinstance(sig_item, http_sfv.Item) or not isinstance(sig_item.value, bytes):
        raise SignatureInvalid(f"no byte-sequence Signature for label {label}")
    return members, sig_item.value


def _parse_rfc9421(method: str, target_uri: str, headers: Mapping[str, str]) -> ParsedSignature:
    members, signature = _rfc9421_label(headers)
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
    derived, query = _derived_components(target_uri, method)
    lines: list[str] = []
    covered: list[str] = []
    for item in members:
        ident, value = _component(item, derived, query, headers)
        if ident in covered:
            raise SignatureInvalid(f"component covered twice: {ident}")
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
        signature=signature,
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
