"""A direct message from Mastodon or GoToSocial, read as a request or as a message.

Such a message is the person's own words: their app puts mentions of the people it is addressed
to at its start (``@alice Bonjour``) and knows nothing of quantities. What is kept is the text
after those mentions; the quantity is read from it when it is plainly there ("2", "2 places",
"deux places", "3 seats"), else the request is for one.
"""

from __future__ import annotations

import re

from activitypub.bookings import PrivateNote
from activitypub.bookings_build import plain_text

NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "seven": 7,
    "eight": 8,
}
UNITS = (
    "places?|seats?|personnes?|pers|persons?|people|guests?|passagers?|passengers?|voyageurs?"
    "|adultes?|adults?"
)
_COUNTED = re.compile(
    rf"(?<![\w.,])(\d{{1,3}}|{'|'.join(NUMBER_WORDS)})\s*(?:{UNITS})(?!\w)", re.IGNORECASE
)
_BARE = re.compile(r"^\s*(\d{1,3})\s*[?!.]*\s*$")
_LEADING_MENTIONS = re.compile(r"^(?:\s*@[\w.\-]+(?:@[\w.\-:\[\]]+)?)+(?:\s+|$)")


def quantity_in(text: str) -> int | None:
    """The quantity a message asks for, when it says one: the whole message is a number, or a
    number of places, seats, people…; None otherwise (or for zero)."""
    found = _BARE.match(text) or _COUNTED.search(text)
    if found is None:
        return None
    word = found.group(1).lower()
    value = int(word) if word.isascii() and word.isdigit() else NUMBER_WORDS[word]
    return value or None


def without_mentions(text: str) -> str:
    """The text after the mentions it starts with (``@alice@velos.example 2 places`` → ``2
    places``)."""
    return _LEADING_MENTIONS.sub("", text, count=1).strip()


def message_text(note: PrivateNote, limit: int) -> str:
    """A note's words as plain text; a note that mentions someone loses its leading mentions,
    which its app added and which say nothing to the reader."""
    text = plain_text(note.content, limit * 2)
    return (without_mentions(text) if note.tag else text)[:limit]
