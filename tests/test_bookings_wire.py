"""Booking activities on the wire: what FEDERATION.md shows is what the views read; what must
be refused is; every refusal code speaks French; an offer's text says its status."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.bookings import (
    AcceptActivity,
    BookingActivity,
    MessageActivity,
    RejectActivity,
    RequestActivity,
    StatusActivity,
    UndoActivity,
    booking_context,
    read_activity,
)
from activitypub.bookings_errors import TEMPLATES
from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_content_html
from instance.i18n import translations
from models.errors import Malformed
from models.offers import Offer
from tests import offer_samples as samples

ROOT = Path(__file__).resolve().parent.parent
VIEWS: dict[str, type[BookingActivity]] = {
    "Offer": RequestActivity,
    "Accept": AcceptActivity,
    "Reject": RejectActivity,
    "Undo": UndoActivity,
    "Update": StatusActivity,
    "Create": MessageActivity,
}


def documented() -> list[dict[str, Any]]:
    """The JSON examples of FEDERATION.md's Booking section, with their full context."""
    text = (ROOT / "FEDERATION.md").read_text()
    section = text.split("## Booking (", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```json\n(.*?)```", section, re.S):
        doc = json.loads(block)
        if doc.get("@context") == "…":
            doc["@context"] = booking_context()
        found.append(doc)
    return found


def test_every_documented_activity_reads_back() -> None:
    docs = documented()
    assert sorted({d["type"] for d in docs}) == sorted(VIEWS)
    assert len(docs) == 10
    for doc in docs:
        view = read_activity(doc, VIEWS[doc["type"]], followers=None)
        assert view.id == doc["id"]


def _request() -> dict[str, Any]:
    [doc] = [d for d in documented() if d["type"] == "Offer"]
    return doc


def _changed(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("to", ["https://www.w3.org/ns/activitystreams#Public"]),
        ("object.stipulates", None),
        ("object.stipulates.resourceQuantity.hasNumericalValue", "two"),
        ("object.stipulates.resourceQuantity.hasNumericalValue", "0"),
        ("object.stipulates.resourceQuantity.hasUnit", "kg"),
        ("object.stipulates.satisfies", "https://velos.example/offers/1#reciprocal"),
        ("object.endTime", "2026-12-01T07:00:00Z"),
        ("object.startTime", "not a date"),
        ("object.startTime", "9999-12-31T23:59:59-14:00"),  # out of range once in UTC
        ("object.type", "Note"),
    ],
)
def test_a_malformed_request_is_refused(path: str, value: Any) -> None:
    doc = _request()
    if path == "object.endTime":
        doc["object"]["startTime"] = "2026-12-02T07:00:00Z"
    with pytest.raises(Malformed):
        read_activity(_changed(doc, path, value), RequestActivity, followers=None)


def test_answers_and_status_are_on_their_sender_host() -> None:
    [accept] = [d for d in documented() if d["type"] == "Accept"]
    moved = _changed(accept, "result.id", "https://elsewhere.example/agreements/1")
    with pytest.raises(Malformed):
        read_activity(moved, AcceptActivity, followers=None)
    with pytest.raises(Malformed):
        read_activity(_changed(accept, "result.id", None), AcceptActivity, followers=None)
    status = next(d for d in documented() if d["type"] == "Update")
    with pytest.raises(Malformed):
        read_activity(
            _changed(status, "object.id", "https://roues.example/x"), StatusActivity, followers=None
        )
    with pytest.raises(Malformed):
        read_activity(_changed(status, "object.status", "rated"), StatusActivity, followers=None)
    note = next(d for d in documented() if d["type"] == "Create")
    public = _changed(note, "object.to", ["https://www.w3.org/ns/activitystreams#Public"])
    with pytest.raises(Malformed):
        read_activity(public, MessageActivity, followers=None)


def test_a_booking_activity_to_the_sender_s_followers_is_refused() -> None:
    followers = "https://roues.example/u/bob/followers"
    request = _request()
    read_activity(request, RequestActivity, followers=followers)
    with pytest.raises(Malformed):
        read_activity({**request, "cc": [followers]}, RequestActivity, followers=followers)
    note = next(d for d in documented() if d["type"] == "Create")
    read_activity(note, MessageActivity, followers=followers)
    with pytest.raises(Malformed):
        read_activity(
            _changed(note, "object.cc", [followers]), MessageActivity, followers=followers
        )


def test_every_booking_code_speaks_french() -> None:
    french = translations("fr")
    for code, msgid in TEMPLATES.items():
        translated = french.gettext(msgid)
        assert translated != msgid, code
        placeholders = sorted(re.findall(r"%\((\w+)\)s", msgid))
        assert sorted(re.findall(r"%\((\w+)\)s", translated)) == placeholders, code


def _offer(build: Any, **columns: Any) -> Offer:
    now = datetime.now(UTC)
    return Offer(
        ap_id="https://velos.example/offers/x",
        local_uuid="x",
        author_uri="https://velos.example/u/alice",
        instance_domain="velos.example",
        status=columns.pop("status", "open"),
        published_at=now,
        updated_at=now,
        **{**offer_fields(parse_offer(build())), **columns},
    )


@pytest.mark.parametrize(
    ("build", "columns", "french", "english"),
    [
        (samples.ride, {}, "3 place(s) disponible(s)", "3 seat(s) available"),
        (samples.ride, {"quantity_available": 1}, "plus que 1 place(s)", "1 seat(s) left"),
        (samples.ride, {"quantity_available": 0, "status": "full"}, "Complet", "Full"),
        (samples.ride, {"status": "cancelled"}, "Annulée", "Cancelled"),
        (samples.delivery_job, {"status": "assigned"}, "Attribuée", "Assigned to a courier"),
        (samples.delivery_job, {"status": "delivered"}, "Livrée", "Delivered"),
        (samples.stay, {"status": "closed"}, "Fermée", "Closed"),
    ],
)
def test_an_offer_says_its_status_and_what_is_left(
    build: Any, columns: dict[str, Any], french: str, english: str
) -> None:
    offer = _offer(build, **columns)
    assert french in offer_content_html(offer, offer.ap_id)
    offer.language = "en"
    assert english in offer_content_html(offer, offer.ap_id)
    if columns.get("status") in ("full", "cancelled"):
        assert "seat(s) available" not in offer_content_html(offer, offer.ap_id)
