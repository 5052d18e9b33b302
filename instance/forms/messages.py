"""Refusals in the page's language: error codes through the catalogue, never English parsed.

An ``OfferError`` is shown with its code's template (the catalogue's msgid, see
``activitypub.offer_errors``) and its parameters; a kind or a status is shown by its translated
name. Any other refusal carries a fixed ``public_message``, itself a msgid.
"""

from __future__ import annotations

from collections.abc import Callable

from activitypub.offer_errors import OfferError
from instance.forms.labels import (
    BOOKING_STATE_WORDS,
    KIND_LABELS,
    PROGRESS_LABELS,
    SEARCH_LABELS,
    STATUS_LABELS,
)
from models.errors import CoopubError

Gettext = Callable[[str], str]
NAMED = {
    "kind": KIND_LABELS,
    "status": STATUS_LABELS,
    "state": BOOKING_STATE_WORDS,
    "progress": PROGRESS_LABELS,
}


def translate(problem: OfferError, gettext: Gettext, **shown: str) -> str:
    """The problem in the page's language (``shown``: parameters already put in words, such
    as dates in the reader's time zone)."""
    names = {
        key: gettext(NAMED[key][value]).lower()
        for key, value in problem.params.items()
        if key in NAMED and value in NAMED[key]
    }
    return problem.message(gettext, **{**names, **shown})


def translate_message(message: str, gettext: Gettext) -> str:
    """A fixed message (a ``public_message``) in the page's language."""
    return gettext(message)


def search_refusal(problem: OfferError, gettext: Gettext) -> str:
    """A refused search parameter, named by its label on the search page."""
    label = SEARCH_LABELS.get(problem.field)
    field = gettext(label) if label else problem.field
    return gettext("%(field)s: %(problem)s") % {
        "field": field,
        "problem": translate(problem, gettext),
    }


def refusal_text(exc: CoopubError, gettext: Gettext) -> str:
    """What a refusal says, in the page's language: by its code when it has one."""
    problem = getattr(exc, "problem", None)
    if isinstance(problem, OfferError):
        return translate(problem, gettext)
    return translate_message(exc.public_message, gettext)
