"""Ordered collections on the wire: the ones we serve (outbox, followers, following) and the
pages of a remote one we read (a followed actor's outbox, for backfill)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from activitypub.apobject import APObject
from activitypub.wire import AS2_CONTEXT, HttpUrl, View

# --- served ---------------------------------------------------------------------------------


class OrderedCollection(View):
    id: HttpUrl
    totalItems: Annotated[int, Field(ge=0)]
    first: HttpUrl | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": AS2_CONTEXT,
            "id": self.id,
            "type": "OrderedCollection",
            "totalItems": self.totalItems,
        }
        if self.first:
            doc["first"] = self.first
        return doc


class OrderedCollectionPage(View):
    id: HttpUrl
    partOf: HttpUrl
    orderedItems: list[Any]
    next: HttpUrl | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": AS2_CONTEXT,
            "id": self.id,
            "type": "OrderedCollectionPage",
            "partOf": self.partOf,
            "orderedItems": self.orderedItems,
        }
        if self.next:
            doc["next"] = self.next
        return doc


def ordered_collection(collection_id: str, total: int, first: str | None) -> dict[str, Any]:
    return OrderedCollection(id=collection_id, totalItems=total, first=first).to_json()


def ordered_collection_page(
    page_id: str, collection_id: str, items: list[Any], next_page: str | None
) -> dict[str, Any]:
    page = OrderedCollectionPage(
        id=page_id, partOf=collection_id, orderedItems=items, next=next_page
    )
    return page.to_json()


# --- read -----------------------------------------------------------------------------------

PageRef = str | dict[str, Any]
"""The next page: a link (fetched, on the collection's own host only) or the page itself."""


def _ref(value: Any) -> PageRef | None:
    """Anything else than a link or an object ends the walk, as the end of the pages does."""
    return value if isinstance(value, str | dict) and value else None


class RemotePage(View):
    """One page of a remote collection: its items (``orderedItems``, or ``items`` for an
    unordered one) and where the next page is."""

    items: list[Any]
    next: PageRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw  # refused by the model: a page is an object
        items = raw.get("orderedItems") or raw.get("items") or []
        return {"items": items, "next": _ref(raw.get("next"))}

    @property
    def activities(self) -> list[APObject]:
        """The items that are embedded objects (references are not followed)."""
        return [APObject(item) for item in self.items if isinstance(item, dict)]


class RemoteCollection(View):
    """A remote collection's head: where its first page is (None when it has none)."""

    first: PageRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, raw: Any) -> Any:
        return {"first": _ref(raw.get("first"))} if isinstance(raw, dict) else raw
