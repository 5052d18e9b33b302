"""What a direct message says to someone who booked from Mastodon or GoToSocial: that the
request reached the author, the answer or the refusal (with its reason), a cancellation, a
status, in the offer's language (the language of the post they answered). Plain text; the
private details appear only in the acceptance, addressed to that person alone.

The words are English msgids translated through the catalogue, in the context of what is sent
to the Fediverse (``POST``, ``activitypub/catalogue.py``), whatever language the reader's pages
use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from activitypub.catalogue import POST, SUPPORTED, translations
from models.bookings import Booking
from models.i18n import pN_
from models.offers import OfferKind

TEXTS = {
    "requested": pN_(
        "post",
        "Your request for “{title}” ({quantity}) has reached {author}, who will answer here.",
    ),
    "accepted": pN_("post", "Your request for “{title}” is accepted ({quantity})."),
    "reply": pN_("post", "Reply to this message to write to {author}."),
    "job": pN_("post", "the job"),
    "declined": pN_("post", "Your request for “{title}” is declined."),
    "expired": pN_("post", "Your request for “{title}” expired without an answer."),
    "cancelled": pN_("post", "The booking of “{title}” is cancelled."),
    "done": pN_("post", "The booking of “{title}” is marked as done."),
    "not_happened": pN_("post", "The booking of “{title}” is marked as not having happened."),
    "picked_up": pN_("post", "“{title}”: picked up."),
    "delivered": pN_("post", "“{title}”: delivered."),
    "failed": pN_("post", "“{title}”: the delivery failed."),
    "reason": pN_("post", "Reason: {reason}"),
    "meeting_point": pN_("post", "Meeting point: {value}"),
    "contact": pN_("post", "Contact: {value}"),
    "address": pN_("post", "Address: {value}"),
    "pickup_address": pN_("post", "Pick up at: {value}"),
    "dropoff_address": pN_("post", "Drop off at: {value}"),
}
DETAILS = ("meeting_point", "contact", "address", "pickup_address", "dropoff_address")
UNITS = {
    OfferKind.RIDE.value: pN_("post", "{n} seat(s)"),
    OfferKind.STAY.value: pN_("post", "{n} guest(s)"),
}
"""What is asked, by kind; a delivery job is taken whole ("job" above)."""
REFUSED = {
    "refused": pN_("post", "Your request for “{title}” cannot be taken: {reason}"),
    "offer_not_open": pN_("post", "the offer is {status}."),
    "full": pN_("post", "it is full."),
    "not_enough": pN_("post", "only {available} seat(s) left."),
    "offer_started": pN_("post", "it has already started."),
    "already_assigned": pN_("post", "the job is already assigned."),
    "too_many_guests": pN_("post", "at most {max} guest(s)."),
    "dates_required": pN_(
        "post",
        "a stay is booked with its arrival and departure dates, which a direct message does "
        "not carry.",
    ),
}
OFFER_STATUS = {
    "closed": pN_("post", "closed"),
    "cancelled": pN_("post", "cancelled"),
    "expired": pN_("post", "expired"),
    "full": pN_("post", "full"),
    "delivered": pN_("post", "over"),
    "failed": pN_("post", "over"),
}
"""An offer's status as the refusal's sentence says it ("the offer is closed")."""


def _language(language: str) -> str:
    return language[:2] if language[:2] in SUPPORTED else "en"


def _word(table: Mapping[str, str], key: str, language: str) -> str:
    """``table[key]`` in ``language``; a key the table lacks is said as it is."""
    text = table.get(key)
    return str(translations(_language(language)).pgettext(POST, text)) if text else key


def quantity_text(kind: str, quantity: int, language: str) -> str:
    """ "2 seat(s)", "3 personne(s)", "the job"."""
    unit = UNITS.get(OfferKind(kind).value)
    if unit is None:
        return _word(TEXTS, "job", language)
    return _word(UNITS, OfferKind(kind).value, language).format(n=quantity)


def dm_text(booking: Booking, event: str, language: str, note: str = "") -> str:
    """The message for ``event`` (a booking state, a progress); paragraphs separated by a
    blank line."""
    values = {
        "title": booking.title,
        "quantity": quantity_text(booking.kind, booking.quantity, language),
        "author": booking.author_name,
    }
    lines = [_word(TEXTS, event, language).format(**values)]
    if event == "accepted":
        lines += [
            _word(TEXTS, key, language).format(value=booking.private[key])
            for key in DETAILS
            if booking.private.get(key)
        ]
        if booking.private.get("instructions"):
            lines.append(booking.private["instructions"])
    if note:
        reason = _word(TEXTS, "reason", language).format(reason=note)
        lines.append(reason if event != "accepted" else note)
    if event == "accepted":
        lines.append(_word(TEXTS, "reply", language).format(**values))
    return "\n\n".join(lines)


def refusal_text(title: str, code: str, params: dict[str, Any], fallback: str, lang: str) -> str:
    """Why a request by direct message is not taken (nothing was stored); ``fallback`` (the
    code's English text) for a code with no wording here."""
    values = {k: str(v) for k, v in params.items()}
    if code == "offer_not_open":
        status = values.get("status", "")
        values["status"] = _word(OFFER_STATUS, status, lang)
    if code == "not_enough" and values.get("available") == "0":
        code = "full"
    reason = _word(REFUSED, code, lang).format(**values) if code in REFUSED else fallback
    return _word(REFUSED, "refused", lang).format(title=title, reason=reason)
