"""Uploaded images on the wire: where each is served, and how a document points at it.

The files themselves are checked, re-encoded and stored by ``instance/media``; here is only what
other servers read: an actor's ``icon`` and ``image`` (Mastodon's avatar and header) and a
post's ``attachment``, each a link to ``/media/<uuid>.<ext>`` on this instance.
"""

from __future__ import annotations

from typing import Any

from activitypub.urls import Urls
from models.media import Media


def media_url(urls: Urls, media: Media) -> str:
    """The absolute URL a stored image is served at (it never changes: a new upload is a new
    file, so peers may cache it for ever)."""
    return urls.media(media.filename)


def image_to_as(urls: Urls, media: Media) -> dict[str, Any]:
    """An actor's ``icon`` or ``image``, as Mastodon sends and reads them."""
    return {"type": "Image", "mediaType": media.media_type, "url": media_url(urls, media)}


def document_to_as(urls: Urls, media: Media) -> dict[str, Any]:
    """A post's picture in its ``attachment`` list, as Mastodon sends one (``name`` is the alt
    text, shown to screen readers and on hover)."""
    doc: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.media_type,
        "url": media_url(urls, media),
        "name": media.description or None,
        "width": media.width,
        "height": media.height,
    }
    return doc
