"""Notes from the Fediverse: a remote ``Note`` (or ``Question``, ``Article``, ``Page``) read into
what a ``models.posts.Post`` keeps, as Mastodon reads it (``StatusParser``).

A note is read through a view, at the ``reading`` boundary: an id or an author that is not an
http(s) URL, or text that is not text, is ``Malformed``; the optional parts Mastodon tolerates
(a bad link, an odd attachment, an unknown date) are dropped rather than refused. Its HTML is
never kept as received: ``sanitise`` keeps what Mastodon keeps (paragraphs, line breaks, links,
emphasis, lists, quotes, code), links only to http(s) URLs and marked ``nofollow``. Attachments
are links (``url``, ``media_type``, ``description``), never fetched. ``Article`` and ``Page``
are shown as Mastodon shows them: the title, the summary and a link, not the body.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import nh3
from pydantic import BeforeValidator, Field

from activitypub.apobject import all_ids, first_id, types_of
from activitypub.bookings_dm import without_mentions
from activitypub.offer_from_as import is_offer_document
from activitypub.urls import PUBLIC_ALIASES
from activitypub.wire import MAX_URL, HttpUrl, View, is_http_url, prose, reading
from models.posts import Visibility

NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page"})
CONVERTED_TYPES = frozenset({"Article", "Page"})
"""Shown as a title, a summary and a link (Mastodon's ``converted_object_type?``)."""
MAX_HTML = 50_000
"""Characters of HTML read from a note (a Mastodon post holds 500 characters of text)."""
MAX_ATTACHMENTS = 8
MAX_CHOICES = 20
TAGS = frozenset(
    {
        "p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s",
        "ul", "ol", "li", "blockquote", "code", "pre",
    }
)  # fmt: skip
"""What Mastodon keeps of a remote post's HTML (``Sanitize::Config::MASTODON_STRICT``)."""
LINK_REL = "nofollow noopener noreferrer"


Link = dict[str, str]
"""An attachment as kept: ``{"url", "media_type", "description"}``."""


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    """A link to an http(s) URL stays; a relative one would point at this site, and any other
    scheme (``javascript:``, ``data:``) is no link at all."""
    if attribute == "href" and not (is_http_url(value) and len(value) <= MAX_URL):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    attributes={"a": {"href"}},
    url_schemes={"http", "https"},
    link_rel=LINK_REL,
    clean_content_tags={"script", "style"},
    strip_comments=True,
    attribute_filter=_absolute_links_only,
)


def sanitise(content: str) -> str:
    """Remote HTML as it may be shown on our pages (``|safe``)."""
    with reading("HTML"):  # html5ever and nh3 recurse: a hostile nesting is Malformed
        return _CLEANER.clean(content[:MAX_HTML]).strip()


def excerpt(content: str, limit: int = 200) -> str:
    """A note's words as plain text, without the mentions its app put first (a notification
    quotes them)."""
    spaced = content.replace("<br>", "\n").replace("</p><p>", "\n")
    with reading("HTML"):
        text = html.unescape(nh3.clean(spaced[:MAX_HTML], tags=set()))
    words = " ".join(without_mentions(text).split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


# --- lenient parts: what Mastodon drops rather than refuses ---------------------------------


def _url(value: Any) -> str | None:
    return (
        value if isinstance(value, str) and len(value) <= MAX_URL and is_http_url(value) else None
    )


def _optional_ref(value: Any) -> str | None:
    return _url(first_id(value))


def _html_url(value: Any) -> str | None:
    """``url``: a string, a ``Link`` or a list of them (the ``text/html`` one first)."""
    links = value if isinstance(value, list) else [value]
    pages = [v for v in links if isinstance(v, dict) and v.get("mediaType") == "text/html"]
    for link in [*pages, *links]:
        found = _url(link.get("href") if isinstance(link, dict) else link)
        if found:
            return found
    return None


def _addressees(value: Any) -> list[str]:
    return [i for i in all_ids(value) if i in PUBLIC_ALIASES or _url(i)]


def _mentions(value: Any) -> list[str]:
    tags = value if isinstance(value, list) else [value]
    found = [
        _optional_ref(tag.get("href"))
        for tag in tags
        if isinstance(tag, dict) and "Mention" in types_of(tag.get("type"))
    ]
    return list(dict.fromkeys(f for f in found if f))


def _text_of(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _attachments(value: Any) -> list[Link]:
    items = value if isinstance(value, list) else [value]
    found: list[Link] = []
    for item in items:
        if not isinstance(item, dict) or len(found) >= MAX_ATTACHMENTS:
            continue
        url = _html_url(item.get("url")) or _url(item.get("href"))
        if url:
            media_type = _text_of(item.get("mediaType"), 100)
            found.append({"url": url, "media_type": media_type, "description": _name(item)})
    return found


def _name(item: dict[str, Any]) -> str:
    return " ".join(_text_of(item.get("name") or item.get("summary"), 1500).split())


def _choices(value: Any) -> list[str]:
    items = value if isinstance(value, list) else []
    names = [_name(item) for item in items[:MAX_CHOICES] if isinstance(item, dict)]
    return [n for n in names if n]


def _language_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k[:16]: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _lenient(parse: Any) -> Any:
    return BeforeValidator(parse)


class NoteView(View):
    """A remote note as read: the ids strict, the rest as Mastodon tolerates it."""

    id: HttpUrl
    type: Annotated[list[str], _lenient(types_of)]
    attributedTo: Annotated[HttpUrl, _lenient(first_id)]
    content: Annotated[str, _lenient(prose(MAX_HTML))] = ""
    contentMap: Annotated[dict[str, str], _lenient(_language_map)] = Field(default_factory=dict)
    summary: Annotated[str, _lenient(prose(500))] = ""
    name: Annotated[str, _lenient(prose(500))] = ""
    url: Annotated[str | None, _lenient(_html_url)] = None
    inReplyTo: Annotated[str | None, _lenient(_optional_ref)] = None
    to: Annotated[list[str], _lenient(_addressees)] = Field(default_factory=list)
    cc: Annotated[list[str], _lenient(_addressees)] = Field(default_factory=list)
    tag: Annotated[list[str], _lenient(_mentions)] = Field(default_factory=list)
    attachment: Annotated[list[Link], _lenient(_attachments)] = Field(default_factory=list)
    oneOf: Annotated[list[str], _lenient(_choices)] = Field(default_factory=list)
    anyOf: Annotated[list[str], _lenient(_choices)] = Field(default_factory=list)
    published: Annotated[datetime | None, _lenient(_moment)] = None
    updated: Annotated[datetime | None, _lenient(_moment)] = None


@dataclass(frozen=True)
class RemoteNote:
    """What a ``Post`` keeps of a remote note (content sanitised)."""

    ap_id: str
    author_uri: str
    summary: str
    content: str
    language: str
    url: str
    in_reply_to: str | None
    attachments: list[Link]
    visibility: Visibility
    mentions: list[str]
    addressees: list[str]
    """``to`` and ``cc``, the public collection aside."""
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Addressing:
    """Who a note is for and whom it mentions, read leniently before the note itself (to
    decide whether it concerns anyone here)."""

    to: list[str]
    cc: list[str]
    mentions: list[str]

    @property
    def addressees(self) -> list[str]:
        """``to`` and ``cc``, the public collection aside."""
        return [u for u in dict.fromkeys((*self.to, *self.cc)) if u not in PUBLIC_ALIASES]

    def visibility(self, followers: str | None) -> Visibility:
        return visibility_of(self.to, self.cc, followers)


def addressing_of(raw: dict[str, Any], activity: dict[str, Any] | None = None) -> Addressing:
    """A note's addressing (its activity's when the note says nothing) and its ``Mention``
    tags."""
    outer = activity or {}
    to = _addressees(raw["to"] if "to" in raw else outer.get("to"))
    cc = _addressees(raw["cc"] if "cc" in raw else outer.get("cc"))
    return Addressing(to, cc, _mentions(raw.get("tag")))


def is_note_document(raw: Any) -> bool:
    """Cheap test before reading: a note-like object that is not one of our offers."""
    return (
        isinstance(raw, dict)
        and bool(NOTE_TYPES.intersection(types_of(raw.get("type"))))
        and not is_offer_document(raw)
    )


def visibility_of(to: list[str], cc: list[str], followers: str | None) -> Visibility:
    """Mastodon's rule: Public in ``to`` is public, in ``cc`` unlisted; the author's followers
    collection is followers-only; anything else is a direct message."""
    if PUBLIC_ALIASES.intersection(to):
        return Visibility.PUBLIC
    if PUBLIC_ALIASES.intersection(cc):
        return Visibility.UNLISTED
    if followers and followers in (*to, *cc):
        return Visibility.FOLLOWERS
    return Visibility.DIRECT


def _body(view: NoteView) -> str:
    """The HTML shown: the content (a poll's choices listed), or, for an article or a page,
    its title, summary and link, as Mastodon shows those."""
    if CONVERTED_TYPES.intersection(view.type):
        link = view.url or view.id
        parts = [f"<strong>{html.escape(view.name)}</strong>" if view.name else ""]
        parts += [
            html.escape(view.summary),
            f'<a href="{html.escape(link)}">{html.escape(link)}</a>',
        ]
        return "".join(f"<p>{p}</p>" for p in parts if p)
    content = view.content or next(iter(view.contentMap.values()), "")
    choices = view.oneOf or view.anyOf
    if choices:
        content += "<ul>" + "".join(f"<li>{html.escape(c)}</li>" for c in choices) + "</ul>"
    return content


def read_note(
    raw: dict[str, Any], *, activity: dict[str, Any] | None = None, followers: str | None
) -> RemoteNote:
    """The note ``raw`` (addressed as its ``activity`` when it says nothing itself), or
    ``Malformed``; ``followers``: its author's followers collection."""
    view = NoteView.parse(raw)
    outer = activity or {}
    to = view.to if "to" in raw else _addressees(outer.get("to"))
    cc = view.cc if "cc" in raw else _addressees(outer.get("cc"))
    converted = bool(CONVERTED_TYPES.intersection(view.type))
    published = view.published or datetime.now(UTC)
    language = next(iter(view.contentMap), "")
    return RemoteNote(
        ap_id=view.id,
        author_uri=view.attributedTo,
        summary="" if converted else " ".join(view.summary.split()),
        content=sanitise(_body(view)),
        language=language if language.replace("-", "").isalnum() else "",
        url=view.url or view.id,
        in_reply_to=view.inReplyTo,
        attachments=view.attachment,
        visibility=visibility_of(to, cc, followers),
        mentions=view.tag,
        addressees=[a for a in (*to, *cc) if a not in PUBLIC_ALIASES],
        published=published,
        updated=max(view.updated or published, published),
    )
