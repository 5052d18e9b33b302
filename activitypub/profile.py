"""A local actor's profile on the wire: the bio as HTML, the profile fields as Mastodon's
``PropertyValue`` attachments, and the ``featured`` collection of pinned objects.

Bios and field values are typed as plain text by members; the HTML sent (and shown on our own
pages) is built here from escaped text only, so nothing a member types becomes markup. Links
are made of ``http(s)`` URLs alone, with the ``rel`` Mastodon puts on its own.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from activitypub.wire import AS2_CONTEXT, is_http_url

URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
LINK_VALUE = re.compile(r"https://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
"""Punctuation after a URL in a sentence ends the sentence, not the URL."""
BIO_REL = "nofollow noopener noreferrer"
FIELD_REL = "me nofollow noopener noreferrer"
"""``me``: the page is the member's own, as Mastodon marks profile links (its verification
looks for a link back)."""


def _link(url: str, rel: str) -> str:
    shown = url.removeprefix("https://")
    return f'<a href="{escape(url)}" rel="{rel}" target="_blank">{escape(shown)}</a>'


def _linkify(text: str, rel: str) -> str:
    """Escaped ``text`` with its http(s) URLs as links."""
    out: list[str] = []
    start = 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        if not is_http_url(url):
            continue
        out.append(escape(text[start : match.start()]))
        out.append(_link(url, rel))
        start = end
    out.append(escape(text[start:]))
    return "".join(out)


def bio_html(text: str) -> str:
    """A plain-text bio as HTML: a paragraph per blank-line-separated block, ``<br>`` for the
    other line breaks, URLs as links; empty for an empty bio."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "".join(
        "<p>" + "<br>".join(_linkify(line, BIO_REL) for line in block.split("\n")) + "</p>"
        for block in blocks
    )


def field_value_html(value: str) -> str:
    """A profile field's value: an https URL alone becomes a link (Mastodon shows it as one,
    and GoToSocial too), anything else is escaped text."""
    value = value.strip()
    if LINK_VALUE.fullmatch(value) and is_http_url(value):
        return _link(value, FIELD_REL)
    return escape(value)


def property_values(fields: list[dict[str, str]] | None) -> list[dict[str, Any]]:
    """The actor's ``attachment``: one ``PropertyValue`` per profile field, in order."""
    return [
        {
            "type": "PropertyValue",
            "name": field.get("name", ""),
            "value": field_value_html(field.get("value", "")),
        }
        for field in fields or []
        if isinstance(field, dict)
    ]


def featured_collection(collection_id: str, items: list[str]) -> dict[str, Any]:
    """The ``featured`` collection: every pinned object's id, most recently pinned first, in
    one page (Mastodon and GoToSocial read ``orderedItems`` and fetch each id)."""
    return {
        "@context": AS2_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }
