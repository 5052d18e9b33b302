"""Another server's NodeInfo (FEP-0151), as a directory reads it when checking a candidate.

NodeInfo comes from every kind of software, so these views are lenient where the directory only
shows what it reads (a version that is a number becomes text; a ``software`` that is not an
object is empty) and never fail on a field they do not need: only the document's shape counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from activitypub.wire import View

NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
MAX_KINDS = 10


def _text(limit: int) -> Callable[[Any], str]:
    def loose(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return ""
        return str(value)[:limit]

    return loose


def _object(value: Any) -> Any:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[Any]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(limit: int | None = None) -> Callable[[Any], list[str]]:
    def keep(value: Any) -> list[str]:
        items = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        return items[:limit] if limit is not None else items

    return keep


class Link(View):
    rel: Annotated[str, BeforeValidator(_text(500))] = ""
    href: Annotated[str, BeforeValidator(_text(500))] = ""


class NodeInfoLinks(View):
    """``/.well-known/nodeinfo``: where each schema's document is, and the instance actor."""

    links: Annotated[list[Link], BeforeValidator(_objects)] = Field(default_factory=list)

    def href(self, rel: str) -> str | None:
        """The last link with that ``rel`` (as a dict built from the list would keep)."""
        found = [link.href for link in self.links if link.rel == rel]
        return found[-1] if found and found[-1] else None


class Software(View):
    name: Annotated[str, BeforeValidator(_text(100))] = ""
    version: Annotated[str, BeforeValidator(_text(100))] = ""


class Metadata(View):
    nodeName: Annotated[str, BeforeValidator(_text(200))] = ""
    nodeDescription: Annotated[str, BeforeValidator(_text(2000))] = ""
    offerKinds: Annotated[list[str], BeforeValidator(_strings(MAX_KINDS))] = Field(
        default_factory=list
    )


class NodeInfo(View):
    """A NodeInfo 2.x document: what software, which protocols, whether registrations are open,
    and coopub's own metadata (the node's name and description, the kinds of offers)."""

    software: Annotated[Software, BeforeValidator(_object)] = Software()
    protocols: Annotated[list[str], BeforeValidator(_strings())] = Field(default_factory=list)
    openRegistrations: Annotated[bool, BeforeValidator(bool)] = False
    metadata: Annotated[Metadata, BeforeValidator(_object)] = Metadata()
