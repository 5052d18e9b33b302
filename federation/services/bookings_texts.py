"""What a direct message says to someone who booked from Mastodon or GoToSocial: that the
request reached the author, the answer or the refusal (with its reason), a cancellation, a
status, in the offer's language (French or English: the language of the post they answered).
Plain text; the private details appear only in the acceptance, addressed to that person alone.
"""

from __future__ import annotations

from typing import Any

from models.bookings import Booking
from models.offers import OfferKind

TEXTS = {
    "en": {
        "requested": "Your request for “{title}” ({quantity}) has reached {author}, who will "
        "answer here.",
        "accepted": "Your request for “{title}” is accepted ({quantity}).",
        "reply": "Reply to this message to write to {author}.",
        "job": "the job",
        "declined": "Your request for “{title}” is declined.",
        "expired": "Your request for “{title}” expired without an answer.",
        "cancelled": "The booking of “{title}” is cancelled.",
        "done": "The booking of “{title}” is marked as done.",
        "not_happened": "The booking of “{title}” is marked as not having happened.",
        "picked_up": "“{title}”: picked up.",
        "delivered": "“{title}”: delivered.",
        "failed": "“{title}”: the delivery failed.",
        "reason": "Reason: {reason}",
        "meeting_point": "Meeting point: {value}",
        "contact": "Contact: {value}",
        "address": "Address: {value}",
        "pickup_address": "Pick up at: {value}",
        "dropoff_address": "Drop off at: {value}",
        "instructions": "{value}",
    },
    "fr": {
        "requested": "Votre demande pour « {title} » ({quantity}) est transmise à {author}, qui "
        "vous répondra ici.",
        "accepted": "Votre demande pour « {title} » est acceptée ({quantity}).",
        "reply": "Répondez à ce message pour écrire à {author}.",
        "job": "la course",
        "declined": "Votre demande pour « {title} » est refusée.",
        "expired": "Votre demande pour « {title} » a expiré sans réponse.",
        "cancelled": "La réservation de « {title} » est annulée.",
        "done": "La réservation de « {title} » est marquée comme faite.",
        "not_happened": "La réservation de « {title} » est marquée comme n’ayant pas eu lieu.",
        "picked_up": "« {title} » : récupéré.",
        "delivered": "« {title} » : livré.",
        "failed": "« {title} » : la livraison a échoué.",
        "reason": "Motif : {reason}",
        "meeting_point": "Point de rendez-vous : {value}",
        "contact": "Contact : {value}",
        "address": "Adresse : {value}",
        "pickup_address": "À récupérer : {value}",
        "dropoff_address": "À livrer : {value}",
        "instructions": "{value}",
    },
}
DETAILS = ("meeting_point", "contact", "address", "pickup_address", "dropoff_address")
UNITS = {
    "en": {OfferKind.RIDE.value: "{n} seat(s)", OfferKind.STAY.value: "{n} guest(s)"},
    "fr": {OfferKind.RIDE.value: "{n} place(s)", OfferKind.STAY.value: "{n} personne(s)"},
}
"""What is asked, by kind; a delivery job is taken whole ("job" below)."""
REFUSED = {
    "en": {
        "refused": "Your request for “{title}” cannot be taken: {reason}",
        "offer_not_open": "the offer is {status}.",
        "full": "it is full.",
        "not_enough": "only {available} seat(s) left.",
        "offer_started": "it has already started.",
        "already_assigned": "the job is already assigned.",
        "too_many_guests": "at most {max} guest(s).",
        "dates_required": "a stay is booked with its arrival and departure dates, which a "
        "direct message does not carry.",
    },
    "fr": {
        "refused": "Votre demande pour « {title} » ne peut pas être prise : {reason}",
        "offer_not_open": "l’offre est {status}.",
        "full": "c’est complet.",
        "not_enough": "il ne reste que {available} place(s).",
        "offer_started": "elle a déjà commencé.",
        "already_assigned": "la course est déjà attribuée.",
        "too_many_guests": "{max} personne(s) au plus.",
        "dates_required": "un séjour se réserve avec ses dates d’arrivée et de départ, qu’un "
        "message direct ne donne pas.",
    },
}
OFFER_STATUS = {
    "en": {"delivered": "over", "failed": "over"},
    "fr": {
        "closed": "fermée",
        "cancelled": "annulée",
        "expired": "expirée",
        "full": "complète",
        "delivered": "terminée",
        "failed": "terminée",
    },
}


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language[:2], TEXTS["en"])


def quantity_text(kind: str, quantity: int, language: str) -> str:
    """ "2 seat(s)", "3 personne(s)", "the job"."""
    lang = language[:2] if language[:2] in UNITS else "en"
    return UNITS[lang].get(OfferKind(kind).value, TEXTS[lang]["job"]).format(n=quantity)


def dm_text(booking: Booking, event: str, language: str, note: str = "") -> str:
    """The message for ``event`` (a booking state, a progress); paragraphs separated by a
    blank line."""
    t = _texts(language)
    values = {
        "title": booking.title,
        "quantity": quantity_text(booking.kind, booking.quantity, language),
        "author": booking.author_name,
    }
    lines = [t.get(event, event).format(**values)]
    if event == "accepted":
        lines += [
            t[key].format(value=booking.private[key])
            for key in (*DETAILS, "instructions")
            if booking.private.get(key)
        ]
    if note:
        lines.append(t["reason"].format(reason=note) if event != "accepted" else note)
    if event == "accepted":
        lines.append(t["reply"].format(**values))
    return "\n\n".join(lines)


def refusal_text(title: str, code: str, params: dict[str, Any], fallback: str, lang: str) -> str:
    """Why a request by direct message is not taken (nothing was stored); ``fallback`` (the
    code's English text) for a code with no wording here."""
    t = REFUSED.get(lang[:2], REFUSED["en"])
    values = {k: str(v) for k, v in params.items()}
    if code == "offer_not_open":
        status = values.get("status", "")
        values["status"] = OFFER_STATUS.get(lang[:2], {}).get(status, status)
    if code == "not_enough" and values.get("available") == "0":
        code = "full"
    reason = t[code].format(**values) if code in t else fallback
    return t["refused"].format(title=title, reason=reason)
