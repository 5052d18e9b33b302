"""Offers on the wire: the entry points, for the services and the search.

The work is done beside this module: ``offer_to_as`` (a stored offer → its AS2 ``Note``),
``offer_from_as`` (an incoming ``Note``/``Proposal`` → a remote offer's fields, through the
offer description), ``offer_geo`` (distances, and the fuzzing of a stay's position).
"""

from __future__ import annotations

from activitypub.offer_from_as import (
    as_to_offer_fields,
    is_offer_document,
    offer_url,
    served_offer,
)
from activitypub.offer_geo import distance_km, fuzz_location
from activitypub.offer_to_as import offer_content_html, offer_to_as

__all__ = [
    "as_to_offer_fields",
    "distance_km",
    "fuzz_location",
    "is_offer_document",
    "offer_content_html",
    "offer_to_as",
    "offer_url",
    "served_offer",
]
