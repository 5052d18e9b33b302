"""A typed view over incoming ActivityStreams JSON.

A property may arrive as a string, an object with an ``id``, or a list of either; that is handled
here once so the rest of the code reads attributes.
"""

from __future__ import annotations

from typing import Any

from activitypub.urls import PUBLIC_ALIASES
from activitypub.wire import MAX_URL
from models.errors import Malformed


def _reference(value: Any) -> str | None:
    """The id a single reference names: ``"x"`` or ``{"id": "x"}`` (any length)."""
    ident = (value.get("id") or value.get("href")) if isinstance(value, dict) else value
    return ident if isinstance(ident, str) and ident else None


def first_id(value: Any) -> str | None:
    """The id of a reference: ``"x"``, ``{"id": "x"}`` or the first of a list of those.

    An id longer than ``MAX_URL`` is read as absent: no column holds it, so it names nothing we
    keep or could look up (the inbox refuses such activities at once, ``oversized_ids``)."""
    if isinstance(value, list):
        for item in value:
            found = first_id(item)
            if found:
                return found
        return None
    ident = _reference(value)
    return ident if ident is not None and len(ident) <= MAX_URL else None


def oversized_ids(raw: dict[str, Any], keys: tuple[str, ...] = ("id", "actor", "object")) -> bool:
    """Whether a reference under ``keys`` (or the embedded object's ``id``) is longer than
    ``MAX_URL``: refused at the edge rather than stored to be dropped later."""
    embedded = raw.get("object")
    values = [raw.get(k) for k in keys]
    if isinstance(embedded, dict):
        values.append(embedded.get("id"))
    refs = [r for v in values for r in (v if isinstance(v, list) else [v])]
    return any(len(ident or "") > MAX_URL for ident in map(_reference, refs))


def all_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i for i in (first_id(item) for item in items if item is not None) if i]


def types_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


class APObject:
    """Wraps one AS2 object or activity; ``raw`` is kept verbatim for storage."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise Malformed("activity is not a JSON object", "Expected a JSON object")
        self.raw: dict[str, Any] = raw

    @property
    def id(self) -> str | None:
        ident = self.raw.get("id")
        return ident if isinstance(ident, str) and 0 < len(ident) <= MAX_URL else None

    @property
    def types(self) -> list[str]:
        return types_of(self.raw.get("type"))

    @property
    def type(self) -> str:
        types = self.types
        return types[0] if types else ""

    def is_a(self, *names: str) -> bool:
        return any(t in names for t in self.types)

    @property
    def actor_id(self) -> str | None:
        return first_id(self.raw.get("actor"))

    @property
    def object_id(self) -> str | None:
        return first_id(self.raw.get("object"))

    @property
    def object(self) -> APObject | None:
        """The embedded object, when it is embedded rather than referenced."""
        obj = self.raw.get("object")
        if isinstance(obj, list):
            obj = obj[0] if obj else None
        return APObject(obj) if isinstance(obj, dict) else None

    def object_document(self) -> dict[str, Any] | None:
        """The embedded object as a document of its own: under the activity's ``@context``
        when it has none (JSON-LD scopes the outer context over embedded nodes)."""
        obj = self.object
        if obj is None:
            return None
        if "@context" in obj.raw or "@context" not in self.raw:
            return obj.raw
        return {"@context": self.raw["@context"], **obj.raw}

    @property
    def owner_id(self) -> str | None:
        """Who a key document belongs to: its ``owner`` (or its ``controller``, Multikey)."""
        return first_id(self.raw.get("owner")) or first_id(self.raw.get("controller"))

    @property
    def audience(self) -> list[str]:
        return [*all_ids(self.raw.get("to")), *all_ids(self.raw.get("cc"))]

    @property
    def is_public(self) -> bool:
        """Addressed to the public collection (under any of its names)."""
        return bool(PUBLIC_ALIASES.intersection(self.audience))

    def get_str(self, key: str) -> str | None:
        value = self.raw.get(key)
        return value if isinstance(value, str) else None
