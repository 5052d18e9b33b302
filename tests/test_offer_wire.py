"""What goes on the wire for each kind of offer, pinned; and what comes back in."""

from __future__ import annotations

import html
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import (
    as_to_offer_fields,
    distance_km,
    fuzz_location,
    offer_to_as,
    offer_url,
)
from activitypub.urls import PUBLIC, host_of
from federation.context import Federation
from federation.services.offers import create_offer
from models.activities import Activity
from models.actors import LocalActor
from models.errors import Malformed
from models.offers import Offer
from tests import offer_samples as samples

EXPECTED = Path(__file__).parent / "expected"
AUTHOR = "https://velos.example/u/alice"
FIXED = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def _sample_offer(kind: str) -> Offer:
    data = {"ride": samples.ride, "delivery_job": samples.delivery_job, "stay": samples.stay}[
        kind
    ]()
    # fixed times so the pinned JSON does not move
    data["starts_at"] = "2026-12-01T08:00:00+01:00"
    data["ends_at"] = "2026-12-08T11:00:00+01:00" if kind != "ride" else None
    data["expires_at"] = "2026-12-08T12:00:00+01:00"
    if kind == "delivery_job":
        data["delivery"]["pickup"]["after"] = "2026-12-01T08:00:00+01:00"
        data["delivery"]["pickup"]["before"] = "2026-12-01T09:00:00+01:00"
    fields = offer_fields(parse_offer(data))
    if kind == "stay":
        fields["latitude"], fields["longitude"] = 44.756, 5.368  # the stored fuzzed position
    return Offer(
        ap_id=f"https://velos.example/offers/{kind}",
        local_uuid=kind,
        author_uri=AUTHOR,
        author_name="Alice",
        instance_domain="velos.example",
        status="open",
        published_at=FIXED,
        updated_at=FIXED,
        **fields,
    )


def _as(kind: str) -> dict[str, Any]:
    return offer_to_as(
        _sample_offer(kind),
        followers=f"{AUTHOR}/followers",
        url=f"https://velos.example/offers/{kind}",
        coop_uri="https://velos.example/c/velos",
    )


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
def test_published_json_is_pinned(kind: str) -> None:
    """The exact document; a change here is a change of the wire format: update
    tests/expected/ deliberately and say so in FEDERATION.md."""
    expected = json.loads((EXPECTED / f"offer_{kind}.json").read_text())
    assert _as(kind) == expected


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
def test_round_trip_through_the_wire(kind: str) -> None:
    offer = _sample_offer(kind)
    back = as_to_offer_fields(json.loads(json.dumps(_as(kind))), AUTHOR)
    for name in (
        "kind",
        "purpose",
        "title",
        "description",
        "language",
        "starts_at",
        "ends_at",
        "timezone",
        "price_cents",
        "currency",
        "quantity_total",
        "quantity_available",
        "place_name",
        "latitude",
        "longitude",
        "dest_name",
        "dest_latitude",
        "dest_longitude",
        "expires_at",
    ):
        assert back[name] == getattr(offer, name), name

    def drop_none(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if v is not None}

    expected = drop_none(offer.details)
    if kind == "delivery_job":  # the street addresses go to the assigned courier alone
        for end in ("pickup", "dropoff"):
            expected[end] = {k: v for k, v in expected[end].items() if k != "address"}
    if kind == "ride":  # the meeting point goes to the confirmed passengers alone
        expected["origin"] = {k: v for k, v in expected["origin"].items() if k != "address"}
    assert drop_none(back["details"]) == expected


async def test_what_mastodon_needs_to_render_it(fed: Federation, member: LocalActor) -> None:
    for build in (samples.ride, samples.delivery_job, samples.stay):
        offer = await create_offer(fed, member, build())
        create = await Activity.get(type="Create", object_uri=offer.ap_id)
        note = create.payload["object"]
        assert note["type"] == "Note" and "name" not in note and "summary" not in note
        assert note["content"].startswith("<p>") and html.escape(offer.title) in note["content"]
        assert note["attributedTo"] == create.payload["actor"] == fed.urls.actor(member)
        assert host_of(note["id"]) == host_of(create.payload["actor"])
        assert PUBLIC in note["to"] and PUBLIC in create.payload["to"]
        assert samples.EXACT_ADDRESS not in json.dumps(create.payload)
        assert "rue Sully" not in json.dumps(create.payload)  # a job's pickup address
        assert samples.RIDE_MEETING_ADDRESS not in json.dumps(create.payload)


def test_mitra_style_proposal_is_accepted() -> None:
    """Typed ``Proposal`` with the FEP-0837 context by URL and our terms under a prefix."""
    doc = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/valueflows/ont/vf",
            {"cp": "https://w3id.org/coopub/ns#"},
        ],
        "type": "Proposal",
        "id": "https://mitra.example/objects/1",
        "attributedTo": "https://mitra.example/users/zoe",
        "name": "Lit d'appoint à Die",
        "content": "<p>Pour deux <b>nuits</b></p>",
        "purpose": "offer",
        "cp:kind": "Stay",
        "cp:maxGuests": 1,
        "startTime": "2026-12-01T14:00:00Z",
        "endTime": "2026-12-03T11:00:00Z",
        "location": {"type": "Place", "name": "Die", "latitude": 44.75, "longitude": 5.37},
        "publishes": {
            "type": "Intent",
            "id": "https://mitra.example/objects/1#primary",
            "action": "use",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
        },
        "to": "https://www.w3.org/ns/activitystreams#Public",
    }
    fields = as_to_offer_fields(doc, "https://mitra.example/users/zoe")
    assert (fields["kind"], fields["purpose"], fields["quantity_total"]) == ("stay", "offer", 1)
    assert fields["description"] == "Pour deux nuits"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kind": "Boat"}, "kind"),
        ({"purpose": "gift"}, "purpose"),
        ({"attributedTo": "https://velos.example/u/mallory"}, "attributedTo"),
        ({"id": "https://elsewhere.example/offers/1"}, "host"),
        ({"to": [], "cc": []}, "public"),
        ({"startTime": None}, "startTime"),
        (
            {"origin": {"type": "Place", "name": "X", "latitude": 123, "longitude": 0}},
            r"ride\.origin\.latitude: must be between -90 and 90",
        ),
        ({"publishes": None}, "publishes"),
        ({"type": "Article"}, "Note"),
        ({"endTime": "2020-01-01T00:00:00Z"}, "ends_at: must not be before the start"),
        # a remote offer is held to the limits of a local one
        ({"seatsTotal": 101}, r"ride\.seats_total: must be between 1 and 100"),
        ({"flexibilityMinutes": 5000}, r"ride\.flexibility_minutes: must be between 0"),
        ({"regularWeekdays": ["someday"]}, r"ride\.schedule\.weekdays\.0: must be one of"),
        ({"priceCents": -5}, "price_cents: must not be negative"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
    ],
)
def test_invalid_incoming_offers_are_refused(change: dict[str, Any], reason: str) -> None:
    doc = {**_as("ride"), **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(Malformed, match=reason):
        as_to_offer_fields(doc, AUTHOR)


def test_fuzzing_moves_100_to_500_metres() -> None:
    rng = random.Random(7)
    for _ in range(200):
        lat, lon = fuzz_location(44.7537, 5.3706, rng)
        assert 0.03 <= distance_km(44.7537, 5.3706, lat, lon) <= 0.58
        assert (lat, lon) == (round(lat, 3), round(lon, 3))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://velos.example/@alice/offer-1", "https://velos.example/@alice/offer-1"),
        ("javascript:alert(1)", "https://velos.example/offers/ride"),
        ("https://phishing.example/offer", "https://velos.example/offers/ride"),
        (None, "https://velos.example/offers/ride"),
    ],
)
def test_remote_offer_links_stay_on_their_origin(url: str | None, shown: str) -> None:
    offer = _sample_offer("ride")
    offer.local_uuid = None
    offer.document = {"url": url} if url else {}
    assert offer_url(offer) == shown
