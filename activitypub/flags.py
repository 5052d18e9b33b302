"""Reports between servers: the ``Flag`` activity, as Mastodon and GoToSocial send and read it.

What they send (Mastodon's ``ActivityPub::FlagSerializer``, GoToSocial's ``ReportToASFlag``):
the reporting server's *instance actor* as ``actor`` (never the member who reported: a reporter
named to the reported account's server could become a target), ``object`` the reported
account's id followed by the ids of the reported statuses, ``content`` the comment as plain
text. It is delivered as is, not wrapped in a ``Create``, to the account's (shared) inbox.

What they accept: ``object`` a list of ids or a single id (GoToSocial), an ``id`` that may be
missing (older Mastodon). We read the same, and refuse what a report cannot be made of.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import nh3

from activitypub.apobject import APObject, first_id
from activitypub.wire import AS2_CONTEXT, MAX_URL, is_http_url, reading
from models.errors import Malformed

MAX_COMMENT = 5000
"""Longest comment kept from another server (Mastodon truncates incoming ones at 5,000)."""
MAX_OBJECTS = 100
"""More reported ids than this is not a report a moderator could read: refused."""


@dataclass(frozen=True)
class FlagView:
    """An incoming ``Flag`` as a report is made of it."""

    id: str | None
    actor: str
    object_ids: list[str]
    """In their order: usually the account first, then its statuses."""
    comment: str


def flag_to_as(
    flag_id: str, instance_actor_id: str, account_id: str, object_ids: list[str], comment: str
) -> dict[str, Any]:
    """The ``Flag`` we forward: from our instance actor, about ``account_id`` and, after it,
    the reported offers or posts (Mastodon's order), the comment as ``content``."""
    ids = [account_id, *(i for i in object_ids if i != account_id)]
    for ident in (flag_id, instance_actor_id, *ids):
        if len(ident) > MAX_URL or not is_http_url(ident):
            raise Malformed(f"Flag with a bad id {ident[:100]!r}")
    return {
        "@context": AS2_CONTEXT,
        "id": flag_id,
        "type": "Flag",
        "actor": instance_actor_id,
        "content": comment[:MAX_COMMENT],
        "object": ids,
    }


def _plain(content: str) -> str:
    """The comment as plain text: most servers send text, some (Misskey forks) HTML."""
    if "<" not in content and "&" not in content:
        return content.strip()
    with reading("Flag content"):
        spaced = content.replace("<br>", "\n").replace("</p><p>", "\n\n")
        return html.unescape(nh3.clean(spaced[: MAX_COMMENT * 4], tags=set())).strip()


def read_flag(act: APObject) -> FlagView:
    """The report a ``Flag`` makes; ``Malformed`` when it names nothing, names something that
    is not an http(s) id, or names too much."""
    if not act.is_a("Flag"):
        raise Malformed(f"not a Flag: {act.type}")
    actor = act.actor_id
    if actor is None:
        raise Malformed("Flag without an actor")
    raw = act.raw.get("object")
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > MAX_OBJECTS:
        raise Malformed(f"Flag naming {len(items)} objects")
    ids: list[str] = []
    for item in items:
        ident = first_id(item)
        if ident is None or not is_http_url(ident):
            raise Malformed("Flag object is not an http(s) id")
        if ident not in ids:
            ids.append(ident)
    if not ids:
        raise Malformed("Flag without an object")
    content = act.raw.get("content")
    if content is not None and not isinstance(content, str):
        raise Malformed("Flag content is not text")
    comment = _plain(content or "")[:MAX_COMMENT]
    return FlagView(id=act.id, actor=actor, object_ids=ids, comment=comment)
