"""The booking activities we send, each built through its view (so valid by construction).

The services say who tells whom what about which booking; the shape on the wire is decided
here and in ``activitypub/bookings.py``. Every activity is addressed to one actor.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3

from activitypub.bookings import (
    PRIMARY,
    PROPOSAL,
    RECIPROCAL,
    AcceptActivity,
    Agreement,
    AgreementStatus,
    Amount,
    Commitment,
    Mention,
    MessageActivity,
    PrivateDetails,
    PrivateNote,
    Quantity,
    Reciprocal,
    RejectActivity,
    RequestActivity,
    StatusActivity,
    UndoActivity,
)


@dataclass(frozen=True)
class Terms:
    """What is agreed: how many units of which offer, the nights of a stay, the price."""

    offer_id: str
    quantity: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    price: str | None = None
    """The total asked in return, in currency units ("14", "7.5"), when the offer has a price."""
    currency: str | None = None
    """The currency's IRI (Wikidata) or code."""


def agreement(
    terms: Terms,
    *,
    agreement_id: str | None = None,
    message: str | None = None,
    details: PrivateDetails | None = None,
    final: bool = True,
) -> Agreement:
    """The agreement on ``terms``; a ``final`` one (accepted) names its commitments too."""
    named = agreement_id if final else None
    commitment = Commitment(
        id=named + PRIMARY if named else None,
        satisfies=terms.offer_id + PRIMARY,
        resourceQuantity=Quantity(hasNumericalValue=terms.quantity),
    )
    reciprocal = None
    if terms.price is not None:
        reciprocal = Reciprocal(
            id=named + RECIPROCAL if named else None,
            satisfies=terms.offer_id + RECIPROCAL,
            resourceConformsTo=terms.currency,
            resourceQuantity=Amount(hasNumericalValue=terms.price),
        )
    return Agreement(
        id=agreement_id,
        stipulates=commitment,
        stipulatesReciprocal=reciprocal,
        startTime=terms.starts_at,
        endTime=terms.ends_at,
        content=message or None,
        privateDetails=details,
    )


def request_offer(
    activity_id: str, booker: str, author: str, terms: Terms, message: str, published: datetime
) -> dict[str, Any]:
    """The request, ``Offer{Agreement}``; the proposal is named ``<Offer id>#agreement``."""
    proposal = agreement(terms, agreement_id=activity_id + PROPOSAL, message=message, final=False)
    return RequestActivity(
        id=activity_id, actor=booker, to=[author], object=proposal, published=published
    ).to_json()


def accept_request(
    activity_id: str,
    author: str,
    booker: str,
    request_id: str,
    terms: Terms,
    *,
    agreement_id: str,
    details: PrivateDetails | None,
    published: datetime,
) -> dict[str, Any]:
    """The finalized agreement, with the private details: addressed to the booker alone."""
    result = agreement(terms, agreement_id=agreement_id, details=details)
    return AcceptActivity(
        id=activity_id,
        actor=author,
        to=[booker],
        object=request_id,
        result=result,
        published=published,
    ).to_json()


def reject(
    activity_id: str, actor: str, recipient: str, object_id: str, reason: str, published: datetime
) -> dict[str, Any]:
    """A request declined or refused (``object``: the Offer), or an agreement cancelled by its
    author (``object``: the agreement)."""
    return RejectActivity(
        id=activity_id,
        actor=actor,
        to=[recipient],
        object=object_id,
        content=reason or None,
        published=published,
    ).to_json()


def undo_request(
    activity_id: str, booker: str, author: str, request_id: str, reason: str, published: datetime
) -> dict[str, Any]:
    return UndoActivity(
        id=activity_id,
        actor=booker,
        to=[author],
        object=request_id,
        content=reason or None,
        published=published,
    ).to_json()


def status_update(
    activity_id: str,
    actor: str,
    recipient: str,
    agreement_id: str,
    status: AgreementStatus,
    note: str,
    published: datetime,
) -> dict[str, Any]:
    """``Update{Agreement{id, status, content: note}}``; ``agreement_id`` is on the sender's host
    (the author's agreement, or the booker's ``<Offer id>#agreement``)."""
    changed = Agreement(id=agreement_id, status=status, content=note or None)
    return StatusActivity(
        id=activity_id, actor=actor, to=[recipient], object=changed, published=published
    ).to_json()


def as_html(text: str) -> str:
    """Plain text as HTML paragraphs (what Mastodon and others show)."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(b.strip()).replace(chr(10), '<br>')}</p>" for b in blocks)


def plain_text(content: str, limit: int) -> str:
    """Remote HTML reduced to its text (never rendered as HTML here)."""
    spaced = content.replace("<br>", "\n").replace("<br/>", "\n").replace("</p><p>", "\n\n")
    return html.unescape(nh3.clean(spaced, tags=set())).strip()[:limit]


@dataclass(frozen=True)
class NoteTo:
    """Where a message goes: the recipient, the conversation it belongs to, and for a
    Mastodon user, the post it answers and the mention that makes it a direct message."""

    recipient: str
    context: str | None = None
    in_reply_to: str | None = None
    mention: str | None = None
    """The recipient's handle (``@bob@host``): then the note starts with the mention, as
    Mastodon writes it (``@<span>bob</span>`` linked, in the first paragraph)."""


def message(
    activity_id: str, note_id: str, actor: str, to: NoteTo, text: str, published: datetime
) -> dict[str, Any]:
    """``Create`` of a private ``Note`` to one party (FEP-7888 ``context``)."""
    content = as_html(text)
    tags: list[Mention] = []
    if to.mention:
        user = html.escape(to.mention.lstrip("@").split("@")[0])
        link = f'<a href="{html.escape(to.recipient)}" class="u-url mention">@<span>{user}</span>'
        card = f'<p><span class="h-card" translate="no">{link}</a></span>'
        content = card + (f" {content[3:]}" if content else "</p>")
        tags = [Mention(href=to.recipient, name=to.mention)]
    note = PrivateNote(
        id=note_id,
        attributedTo=actor,
        to=[to.recipient],
        context=to.context,
        inReplyTo=to.in_reply_to,
        content=content,
        published=published,
        tag=tags,
    )
    return MessageActivity(
        id=activity_id, actor=actor, to=[to.recipient], object=note, published=published
    ).to_json()
