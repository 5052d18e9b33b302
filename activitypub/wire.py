"""What every wire view shares: the contexts, the time format, checked field types, base classes.

A view is a frozen pydantic model: it validates when it is built, so a document we send is
well-formed by construction and a document we read either yields a view or raises ``Malformed``
(microblog.pub's ``RemoteObject`` refuses to construct the same way). Field names are the wire
names (``openRegistrations``), so a view reads like the JSON it stands for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from activitypub.urls import PUBLIC_ALIASES
from models.errors import Malformed

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
ACTOR_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]
"""The ``@context`` of our actor documents (Mastodon's extensions included: ``featured``, and
the profile fields as schema.org ``PropertyValue``s, mapped as Mastodon maps them)."""
MAX_URL = 500
"""Longest URL we store or send (the database columns hold 500 characters)."""


def iso(moment: datetime) -> str:
    """The timestamp format of every document we send: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host, as every id and link we keep must be."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "https://[oops": an unclosed IPv6 bracket
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)


def host_or_none(value: str) -> str | None:
    """The authority (host[:port]) of a URL, lowercased; None when it has none or is unparseable."""
    try:
        return urlsplit(value).netloc.lower() or None
    except ValueError:
        return None


def _http_url(value: str) -> str:
    if len(value) > MAX_URL or not is_http_url(value):
        raise ValueError("not an http(s) URL of at most 500 characters")
    return value


def _audience(value: str) -> str:
    return value if value in PUBLIC_ALIASES else _http_url(value)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def prose(limit: int) -> Callable[[Any], str]:
    """Free text: None is empty, a string is cut at ``limit``, anything else is refused."""

    def check(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("not text")
        return value[:limit]

    return check


def none_is(default: Any) -> Callable[[Any], Any]:
    """A JSON ``null`` stands for the field's default (as a missing key does)."""
    return lambda value: default if value is None else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Audience = Annotated[str, AfterValidator(_audience)]
"""An addressee: an actor or collection URL, or the public collection under any of its names."""
Finite = Annotated[float, AfterValidator(_finite)]
Flag = Annotated[bool, BeforeValidator(none_is(False))]


UNREADABLE = (RecursionError, OverflowError, ValueError, TypeError)
"""What reading a hostile document can raise beyond our checks: too deep for a recursive
library (pyld, nh3), a number past what a float or a date holds, a value of the wrong type."""


@contextmanager
def reading(what: str) -> Iterator[None]:
    """The parsing boundary of a document from elsewhere: whatever it cannot be read as is
    ``Malformed`` (one log line, never retried: ``federation/outcome.py``), not a traceback."""
    try:
        yield
    except Malformed:
        raise
    except UNREADABLE as exc:
        raise Malformed(f"{what} unreadable: {type(exc).__name__}: {str(exc)[:200]}") from exc


class View(BaseModel):
    """Base of every view: frozen, strict (``"45"`` is not a number), unknown keys ignored."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    @classmethod
    def parse(cls, raw: Any) -> Self:
        """The view of a document read from elsewhere; ``Malformed`` says what is wrong."""
        with reading(cls.__name__):
            try:
                return cls.model_validate(raw)
            except ValidationError as exc:
                raise Malformed(f"{cls.__name__}: {describe(exc)}") from exc


def describe(exc: ValidationError, limit: int = 3) -> str:
    """``location.latitude: less_than_equal; country: string_pattern_mismatch`` (for logs)."""
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or '(document)'}: {error['type']}"
        for error in exc.errors()[:limit]
    ]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
