"""Atom 1.0 feeds (RFC 4287), written with the standard library's ElementTree: every text and
attribute is escaped by the serializer, never pasted into markup, and characters XML 1.0 cannot
hold (control characters in a remote offer's title) are dropped first.

Two feeds use it: a member's alerts (the offers matching their saved searches, at a secret URL)
and a coop's public feed (its members' open offers and its public announcements). An offer's
entry carries what its public post says, as plain text; an announcement's, its sanitised HTML
(``type="html"``: escaped once more by the serializer, as Atom wants).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from activitypub.offer_from_as import offer_url
from instance.calendars import offer_description
from models.offers import Offer, OfferKind
from models.posts import Post

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TAG = re.compile(r"<[^>]*>")
TITLE_CHARS = 120


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    published: datetime | None = None
    author: str = ""
    summary: str = ""
    html: str = ""
    """Sanitised HTML content (an announcement); else ``summary`` is the plain text."""
    categories: tuple[str, ...] = ()
    related: str | None = None
    """The page on the offer's own instance, when ``link`` is a page here."""


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    self_url: str
    updated: datetime
    language: str
    alternate: str | None = None
    subtitle: str = ""
    author: str = ""
    entries: list[Entry] = field(default_factory=list)


def clean(text: str) -> str:
    """``text`` without the characters an XML 1.0 document may not contain."""
    return _NOT_XML.sub("", text)


def moment(value: datetime) -> str:
    """RFC 3339, in UTC: ``2026-12-03T18:00:00Z``."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})
    if text is not None:
        child.text = clean(text)
    return child


def _entry(parent: ET.Element, entry: Entry) -> None:
    node = _add(parent, "entry")
    _add(node, "id", entry.id)
    _add(node, "title", entry.title or "…", type="text")
    _add(node, "link", rel="alternate", type="text/html", href=entry.link)
    if entry.related:
        _add(node, "link", rel="related", type="text/html", href=entry.related)
    _add(node, "updated", moment(entry.updated))
    if entry.published is not None:
        _add(node, "published", moment(entry.published))
    if entry.author:
        _add(_add(node, "author"), "name", entry.author)
    for term in entry.categories:
        _add(node, "category", term=term)
    if entry.html:
        _add(node, "content", entry.html, type="html")
    elif entry.summary:
        _add(node, "content", entry.summary, type="text")


def atom_bytes(feed: Feed) -> bytes:
    """The feed as an Atom document, UTF-8, with its XML declaration."""
    root = ET.Element("feed", {"xmlns": ATOM, XML_LANG: feed.language})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title, type="text")
    if feed.subtitle:
        _add(root, "subtitle", feed.subtitle, type="text")
    _add(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    if feed.alternate:
        _add(root, "link", rel="alternate", type="text/html", href=feed.alternate)
    _add(root, "updated", moment(feed.updated))
    _add(_add(root, "author"), "name", feed.author or feed.title)
    _add(root, "generator", "coopub")
    for entry in feed.entries:
        _entry(root, entry)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def latest(entries: Iterable[Entry], default: datetime) -> datetime:
    return max((e.updated for e in entries), default=default)


# --- what an entry says ------------------------------------------------------------------------


def offer_entry(offer: Offer, link: str, lang: str, updated: datetime | None = None) -> Entry:
    """An offer as its public post tells it, in ``lang``; ``link`` is where to read it (its
    page here; for a copy received, the page here that shows it and asks for it)."""
    origin = offer_url(offer)
    return Entry(
        id=offer.ap_id,
        title=offer.title,
        link=link,
        related=origin if origin != link else None,
        updated=max(updated or offer.updated_at, offer.updated_at),
        published=offer.published_at,
        author=offer.author_name,
        summary=offer_description(offer, origin, lang),
        categories=(OfferKind(offer.kind).value,),
    )


def post_title(post: Post) -> str:
    """An announcement's title: its content warning, else the start of its text."""
    text = post.summary or " ".join(_TAG.sub(" ", post.content).split())
    text = html.unescape(text)
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def post_entry(post: Post, link: str, content: str) -> Entry:
    """An announcement; ``content`` its HTML as the pages show it (sanitised)."""
    return Entry(
        id=post.ap_id,
        title=post_title(post),
        link=link,
        updated=post.updated_at,
        published=post.published_at,
        author=post.author_name,
        html=content,
    )
