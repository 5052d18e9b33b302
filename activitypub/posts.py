"""Posts we write (announcements, members' replies): plain text made into the HTML Mastodon
writes, and the ``Note`` that carries it.

The text a member types is plain text: every character is escaped, then paragraphs, line
breaks, links, ``#hashtags`` and ``@name@host`` mentions are marked up exactly as Mastodon marks
its own posts up (``h-card`` mentions, ``rel="tag"`` hashtags), so Mastodon and GoToSocial show
them as theirs, and each mention and hashtag has its ``tag`` entry (which is what makes a
mention notify, and a hashtag followable). The ``Note`` has no ``name`` (GoToSocial would show it
as a content warning) and a ``summary`` only when the author gave a content warning.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from activitypub.activities import Envelope
from activitypub.jsonld import AS2
from activitypub.urls import PUBLIC
from activitypub.wire import iso

NOTE_CONTEXT: list[Any] = [AS2, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}]
"""As Mastodon's: ``Hashtag`` is not in the ActivityStreams context itself."""
MAX_TEXT = 5000
"""Characters a post may hold (Mastodon's default is 500; announcements run longer)."""
MAX_TAG = 100
LANGUAGES = ("fr", "en")
"""What a post may be written in (its ``contentMap`` key)."""

_URL = r"(?P<url>https?://[^\s<>\"']+)"
_MENTION = (
    r"(?<![\w@/.])@(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]*)"
    r"@(?P<host>(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]{1,5})?)"
)
_HASHTAG = r"(?<![\w#&/])#(?P<tag>\w*[^\W\d_]\w*)"
TOKENS = re.compile("|".join((_URL, _MENTION, _HASHTAG)))
MENTION = re.compile(_MENTION)
_TRAILING = ".,;:!?'\""


class Audience(StrEnum):
    """Who a post is for, as Mastodon names it (``models.posts.Visibility`` has the same
    values)."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"
    DIRECT = "direct"


@dataclass(frozen=True)
class Mentioned:
    """An account named in a post: its actor id (the ``Mention`` tag's ``href``), the page
    the link opens, and its handle ``name@host``."""

    actor_uri: str
    profile_url: str
    username: str
    handle: str


@dataclass(frozen=True)
class Rendered:
    html: str
    tags: list[dict[str, str]]
    mentioned: list[Mentioned]


def handles_in(text: str) -> list[str]:
    """The ``name@host`` handles a text mentions, lowercased, each once, in order."""
    return list(dict.fromkeys(f"{m['user']}@{m['host']}".lower() for m in MENTION.finditer(text)))


def _trim_url(url: str) -> tuple[str, str]:
    """A URL without the punctuation that ends the sentence around it (and without a closing
    parenthesis it does not open): ``(see https://x.org/a).`` links ``https://x.org/a``."""
    rest = ""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url, rest = url[:-1], url[-1] + rest
    return url, rest


def _link(url: str) -> str:
    href = html.escape(url)
    return f'<a href="{href}" target="_blank" rel="nofollow noopener noreferrer">{href}</a>'


def _mention(who: Mentioned) -> str:
    href, name = html.escape(who.profile_url), html.escape(who.username)
    return (
        f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
        f"@<span>{name}</span></a></span>"
    )


def _hashtag(name: str, href: str) -> str:
    return (
        f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
        f"#<span>{html.escape(name)}</span></a>"
    )


class _Marker:
    """Marks one text up, collecting the tags of what it linked."""

    def __init__(self, mentions: Mapping[str, Mentioned], tag_href: Callable[[str], str]) -> None:
        self.mentions = mentions
        self.tag_href = tag_href
        self.mentioned: dict[str, Mentioned] = {}
        self.hashtags: dict[str, dict[str, str]] = {}

    def line(self, text: str) -> str:
        out, start = [], 0
        for match in TOKENS.finditer(text):
            out.append(html.escape(text[start : match.start()]))
            out.append(self._token(match))
            start = match.end()
        out.append(html.escape(text[start:]))
        return "".join(out)

    def _token(self, match: re.Match[str]) -> str:
        if match["url"]:
            url, rest = _trim_url(match["url"])
            return _link(url) + html.escape(rest)
        if match["user"]:
            who = self.mentions.get(f"{match['user']}@{match['host']}".lower())
            if who is None:  # not resolved: stays text
                return html.escape(match[0])
            self.mentioned.setdefault(who.actor_uri, who)
            return _mention(who)
        name = match["tag"][:MAX_TAG]
        href = self.tag_href(name.lower())
        self.hashtags.setdefault(
            name.lower(), {"type": "Hashtag", "href": href, "name": f"#{name}"}
        )
        return _hashtag(name, href) + html.escape(match["tag"][MAX_TAG:])


def render_text(
    text: str, mentions: Mapping[str, Mentioned], tag_href: Callable[[str], str]
) -> Rendered:
    """Plain text as safe HTML: paragraphs at blank lines, ``<br>`` at line ends, links,
    hashtags and the ``mentions`` resolved (by lowercased ``name@host``); the others stay text.
    """
    marker = _Marker(mentions, tag_href)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n+", lines) if p.strip()]
    body = "".join(
        "<p>" + "<br>".join(marker.line(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    mention_tags = [
        {"type": "Mention", "href": m.actor_uri, "name": f"@{m.handle}"}
        for m in marker.mentioned.values()
    ]
    return Rendered(
        body, mention_tags + list(marker.hashtags.values()), [*marker.mentioned.values()]
    )


def addressing(
    audience: Audience, followers: str, named: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``to`` and ``cc`` as Mastodon sets them for each audience: public (to Public), unlisted
    (Public in cc), followers only, direct (only the accounts named)."""
    named = list(dict.fromkeys(named))
    if audience == Audience.PUBLIC:
        return [PUBLIC], [followers, *named]
    if audience == Audience.UNLISTED:
        return [followers], [PUBLIC, *named]
    if audience == Audience.FOLLOWERS:
        return [followers], named
    return named, []


def note_document(
    *,
    note_id: str,
    author_uri: str,
    content: str,
    language: str,
    published: datetime,
    to: list[str],
    cc: list[str],
    tags: list[dict[str, str]],
    attachments: Iterable[dict[str, Any]] = (),
    in_reply_to: str | None = None,
    replies: str | None = None,
    summary: str = "",
) -> dict[str, Any]:
    """The ``Note`` of a post (``attachments``: its pictures, ``activitypub.media``'s
    ``document_to_as``). Pinned by tests/expected/post_announcement.json."""
    doc: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": note_id,
        "type": "Note",
        "attributedTo": author_uri,
        **({"inReplyTo": in_reply_to} if in_reply_to is not None else {}),
        "content": content,
        "contentMap": {language: content},
        "published": iso(published),
        "url": note_id,
        "to": to,
        "cc": cc,
        "sensitive": bool(summary),
        "tag": tags,
        "attachment": list(attachments),
    }
    if replies is not None:  # its public replies' collection (Mastodon reads a thread there)
        doc["replies"] = replies
    if summary:
        doc["summary"] = summary
    return doc


def create_note(activity_id: str, note: dict[str, Any]) -> dict[str, Any]:
    """``Create`` of a note, addressed as the note is (its ``@context`` moves up)."""
    obj = {k: v for k, v in note.items() if k != "@context"}
    return Envelope.model_validate(
        {
            "context": note["@context"],
            "id": activity_id,
            "type": "Create",
            "actor": note["attributedTo"],
            "object": obj,
            "to": note["to"],
            "cc": note["cc"],
            "published": datetime.fromisoformat(note["published"]),
        }
    ).to_json()


def note_tombstone(note_id: str, deleted: datetime | None) -> dict[str, Any]:
    """What a deleted post's URL answers (with 410 Gone)."""
    doc: dict[str, Any] = {
        "@context": AS2,
        "id": note_id,
        "type": "Tombstone",
        "formerType": "Note",
    }
    if deleted is not None:
        doc["deleted"] = iso(deleted)
    return doc


def with_leading_mention(text: str, handle: str) -> str:
    """The text of a reply, beginning with ``@name@host`` of the account answered (as Mastodon
    starts every reply), unless the member already wrote it."""
    if handle.lower() in handles_in(text):
        return text
    return f"@{handle} {text.lstrip()}"
