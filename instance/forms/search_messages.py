"""The search service's messages on the search page, in the page's language.

Transitional: ``federation/services/search.py`` still raises English sentences naming a query
parameter (``lat must be between -90 and 90``), so these four shapes are recognised here and
the parameter shown by its label. Once the search raises coded errors (an ``OfferError`` with
``field="lat"``), ``messages.translate`` covers it and this module goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Search parameters named in the search service's messages, as the search page labels them.
PARAM_LABELS = {
    "lat": "Latitude",
    "lon": "Longitude",
    "radius_km": "Radius (km)",
    "from": "From",
    "to": "Until",
    "min_seats": "Seats or guests, at least",
    "min_guests": "Seats or guests, at least",
    "min_quantity": "Seats or guests, at least",
}
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\S+) must be a number$"), "{0} must be a number"),
    (re.compile(r"^(\S+) must be a whole number$"), "{0} must be a whole number"),
    (re.compile(r"^(\S+) must be between (\S+) and (\S+)$"), "{0} must be between {1} and {2}"),
    (
        re.compile(r"^(\S+) must be a date \(YYYY-MM-DD\) or ISO 8601$"),
        "{0} must be a date (YYYY-MM-DD) or ISO 8601",
    ),
)


def translate_search_message(message: str, gettext: Callable[[str], str]) -> str | None:
    """The message translated, or None when it is not one of the search's shapes."""
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            words = [gettext(PARAM_LABELS[g]) if g in PARAM_LABELS else g for g in match.groups()]
            return gettext(template).format(*words)
    return None
