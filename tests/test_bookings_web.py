"""The booking pages, through the app in-process: asking on an offer's page (ours and our copy
of a remote one), each refusal shown on its form with the values kept, my bookings, the
requests on my offers with the navigation's count, a booking's page with each action and its
conversation, private details only once accepted, and French."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from babel.messages.pofile import read_po
from starlette.applications import Starlette

from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from activitypub.urls import path_for
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.offers import create_offer, store_remote_offer
from instance.forms.booking import ASK_BUTTONS, FIELD_LABELS, PRIVATE_LABELS, QUANTITY_LABELS
from instance.forms.labels import BOOKING_STATE_LABELS, PROGRESS_LABELS
from instance.routes.bookings_web import DONE
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.bookings import Booking
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples
from tests.rig.canned import keypair, offline, remote_actor
from tests.rig.web_clients import browser
from tests.test_web import csrf_of, field_error, set_password

ROOT = Path(__file__).resolve().parent.parent
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
CONTACT = "06 12 34 56 78"
MEETING = "Devant la gare Part-Dieu"
BOOKING_PATH = re.compile(r"^/bookings/[0-9a-f-]{36}$")


async def _offer(fed: Federation, author: LocalActor, body: dict[str, Any]) -> Offer:
    return await create_offer(fed, author, body)


def page_of(offer: Offer) -> str:
    return f"/offers/{offer.local_uuid}"


async def ask(client: httpx.AsyncClient, offer: Offer, **values: str) -> httpx.Response:
    page = await client.get(page_of(offer) if offer.local_uuid else "/search")
    data = {"csrf_token": csrf_of(page.text), "offer": offer.ap_id, **values}
    return await client.post("/bookings/new", data=data)


async def act(client: httpx.AsyncClient, path: str, action: str, **values: str) -> httpx.Response:
    page = await client.get(path)
    data = {"csrf_token": csrf_of(page.text), **values}
    return await client.post(f"{path}/{action}", data=data)


def text_of(html: str, element_id: str) -> str | None:
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', html, re.S)
    return found.group(1).strip() if found else None


def state_of(html: str) -> str | None:
    return text_of(html, "booking-state")


def pending_count(html: str) -> str | None:
    return text_of(html, "pending-count")


# --- the offer's page -------------------------------------------------------------------------


async def test_the_form_or_why_not(
    fed: Federation,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    r = await anonymous.get(page_of(ride))
    assert r.status_code == 200 and 'id="ask-form"' not in r.text
    assert 'id="ask-login"' in r.text and "/login?next=/offers/" in r.text
    r = await as_alice.get(page_of(ride))
    assert 'id="ask-form"' not in r.text
    assert text_of(r.text, "ask-why") == "You cannot book your own offer"
    assert 'href="/my/requests"' in r.text
    r = await as_bob.get(page_of(ride))
    assert 'id="ask-form"' in r.text and 'id="b-quantity"' in r.text and 'max="3"' in r.text
    assert "Book seats" in r.text and 'type="date"' not in r.text
    assert r.headers["cache-control"] == "private, no-store"

    job = await _offer(fed, alice, samples.delivery_job())
    r = await as_bob.get(page_of(job))
    assert 'id="ask-form"' in r.text and 'name="quantity"' not in r.text
    assert "Offer to take this job" in r.text
    stay = await _offer(fed, alice, samples.stay())
    r = await as_bob.get(page_of(stay))
    assert 'id="b-starts_at"' in r.text and 'id="b-ends_at"' in r.text and 'max="2"' in r.text

    for status, said in (
        (OfferStatus.CLOSED, "This offer is closed"),
        (OfferStatus.FULL, "This offer is full"),
        (OfferStatus.CANCELLED, "This offer is cancelled"),
    ):
        await Offer.filter(id=ride.id).update(status=status)
        r = await as_bob.get(page_of(ride))
        assert 'id="ask-form"' not in r.text and text_of(r.text, "ask-why") == said, status
        r = await anonymous.get(page_of(ride))
        assert text_of(r.text, "ask-why") == said and 'id="ask-login"' not in r.text
    await Offer.filter(id=ride.id).update(
        status=OfferStatus.OPEN, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    r = await as_bob.get(page_of(ride))
    assert text_of(r.text, "ask-why") == "This offer is expired"


async def test_asking_for_a_ride_and_the_refusals(
    fed: Federation, alice: LocalActor, as_bob: httpx.AsyncClient
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    r = await ask(as_bob, ride, quantity="5", message="Cinq places ?")
    assert r.status_code == 409
    assert field_error(r.text, "quantity") == "Only 3 place(s) left"
    assert 'value="5"' in r.text and ">Cinq places ?</textarea>" in r.text
    r = await ask(as_bob, ride, quantity="deux", message="Deux")
    assert r.status_code == 422 and field_error(r.text, "quantity") == "must be a whole number"
    r = await ask(as_bob, ride, quantity="0")
    assert r.status_code == 422 and field_error(r.text, "quantity") == "must be at least 1"
    r = await ask(as_bob, ride, quantity="2", message="x" * 5001)
    assert r.status_code == 422 and field_error(r.text, "message") == "at most 5000 characters"
    assert await Booking.all().count() == 0

    r = await ask(as_bob, ride, quantity="2", message="Deux places pour Grenoble ?")
    assert r.status_code == 303 and BOOKING_PATH.match(r.headers["location"])
    path = r.headers["location"]
    page = await as_bob.get(path)
    assert "Your request was sent" in page.text
    assert state_of(page.text) == "Waiting for an answer"
    assert text_of(page.text, "booking-message") == "Deux places pour Grenoble ?"
    assert 'id="private"' not in page.text and 'id="cancel-form"' in page.text
    assert "Withdraw the request" in page.text and 'class="accept-form"' not in page.text

    # asked already: the offer's page says so and links to the request
    r = await as_bob.get(page_of(ride))
    assert 'id="ask-form"' not in r.text
    assert text_of(r.text, "ask-why") == "You already asked for this offer"
    assert f'href="{path}"' in r.text
    r = await ask(as_bob, ride, quantity="1")
    assert r.status_code == 409 and "You already asked for this offer" in r.text

    mine = await as_bob.get("/my/bookings")
    assert mine.status_code == 200 and mine.text.count('class="booking"') == 1
    assert f'href="{path}"' in mine.text and "Waiting for an answer" in mine.text
    assert "Seats: 2" in mine.text


async def test_the_count_the_requests_page_and_accepting_with_details(
    fed: Federation,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    other = await _offer(fed, alice, samples.ride(title="Lyon → Annecy"))
    assert pending_count((await as_alice.get("/my/offers")).text) is None
    path = (await ask(as_bob, ride, quantity="2", message="Bonjour")).headers["location"]
    assert (await ask(as_bob, other, quantity="1")).status_code == 303
    assert pending_count((await as_alice.get("/my/offers")).text) == "2"
    assert pending_count((await as_alice.get(page_of(ride))).text) == "2"
    assert pending_count((await as_bob.get("/my/bookings")).text) is None
    assert 'id="nav-requests"' not in (await anonymous.get("/search")).text

    requests = await as_alice.get("/my/requests")
    assert requests.status_code == 200 and requests.text.count('class="request"') == 2
    assert "Bonjour" in requests.text and "Asked by" in requests.text
    uuid = path.rsplit("/", 1)[1]
    token = csrf_of(requests.text)
    r = await as_alice.post(
        f"{path}/accept",
        data={
            "csrf_token": token,
            "meeting_point": MEETING,
            "contact": CONTACT,
            "instructions": "",
            "next": "/my/requests",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/my/requests"
    requests = await as_alice.get("/my/requests")
    assert "You accepted the request." in requests.text
    assert pending_count(requests.text) == "1"
    assert requests.text.count('class="request"') == 1 and f"request-{uuid}" not in requests.text
    assert 'id="answered-requests"' in requests.text and "Accepted" in requests.text

    page = await as_bob.get(path)
    assert state_of(page.text) == "Accepted"
    assert text_of(page.text, "private-contact") == CONTACT
    assert text_of(page.text, "private-meeting_point") == MEETING
    assert "Shared with you alone" in page.text
    seen = await as_alice.get(path)
    assert text_of(seen.text, "private-contact") == CONTACT and "What you shared" in seen.text
    assert 'id="cancel-form"' in seen.text and "Cancel the booking" in seen.text
    offer_page = await as_bob.get(page_of(ride))
    assert "1 / 3" in offer_page.text

    # a second answer is refused on the page, nothing changed
    r = await act(as_alice, path, "decline", reason="Trop tard")
    assert r.status_code == 409
    assert "This booking is accepted: it no longer awaits an answer" in r.text
    assert state_of(r.text) == "Accepted"
    # only the author answers
    r = await act(as_bob, path, "accept")
    assert r.status_code == 403 and "Only the offer&#39;s author can answer a request" in r.text


async def test_declining_with_a_reason(
    fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    path = (await ask(as_bob, ride, quantity="1")).headers["location"]
    page = await as_alice.get(path)
    assert 'class="accept-form"' in page.text and 'class="decline-form"' in page.text
    assert 'id="cancel-form"' not in page.text  # the author declines rather than cancels
    r = await act(as_alice, path, "accept", meeting_point="Gare", contact="0" * 501)
    assert r.status_code == 422 and state_of(r.text) == "Waiting for an answer"
    assert text_of(r.text, "error-accept") == "<p>Contact: at most 500 characters"
    assert 'value="Gare"' in r.text and "<details open>" in r.text  # kept, and shown
    r = await act(as_alice, path, "decline", reason="Voiture pleine")
    assert r.status_code == 303 and r.headers["location"] == path
    page = await as_bob.get(path)
    assert state_of(page.text) == "Declined"
    assert text_of(page.text, "booking-reason") == "Voiture pleine"
    assert 'id="actions"' not in page.text and 'id="private"' not in page.text
    assert 'id="ask-form"' in (await as_bob.get(page_of(ride))).text  # may ask again


async def test_an_offer_that_accepts_at_once(
    fed: Federation, alice: LocalActor, as_bob: httpx.AsyncClient
) -> None:
    ride = await _offer(
        fed, alice, samples.ride(ride={**samples.ride()["ride"], "auto_accept": True})
    )
    r = await ask(as_bob, ride, quantity="3")
    assert r.status_code == 303
    page = await as_bob.get(r.headers["location"])
    assert "Your booking is confirmed." in page.text and state_of(page.text) == "Accepted"
    meeting = f"Lyon, {samples.RIDE_MEETING_ADDRESS}"  # the ride's starting point
    assert text_of(page.text, "private-meeting_point") == meeting
    r = await as_bob.get(page_of(ride))
    assert text_of(r.text, "ask-why") == "This offer is full"


async def test_the_conversation_and_cancelling(
    fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    path = (await ask(as_bob, ride, quantity="2")).headers["location"]
    assert "No message yet." in (await as_bob.get(path)).text
    r = await act(as_bob, path, "messages", content="À quelle heure ?")
    assert r.status_code == 303 and r.headers["location"] == f"{path}#conversation"
    r = await act(as_alice, path, "messages", content="<b>8 h</b> pile")
    assert r.status_code == 303
    page = await as_bob.get(path)
    contents = re.findall(r'<span class="content">([^<]*)</span>', page.text)
    assert contents == ["À quelle heure ?", "&lt;b&gt;8 h&lt;/b&gt; pile"]
    assert '<li class="message mine"><strong>You</strong>' in page.text
    assert "<strong>Alice</strong>" in page.text
    r = await act(as_bob, path, "messages", content="   ")
    assert r.status_code == 422 and "Message: required" in r.text
    r = await act(as_bob, path, "messages", content="y" * 5001)
    assert r.status_code == 422 and "Message: at most 5000 characters" in r.text
    assert "y" * 5001 in r.text  # kept in the form

    await act(as_alice, path, "accept", contact=CONTACT)
    assert "1 / 3" in (await as_bob.get(page_of(ride))).text
    r = await act(as_bob, path, "cancel", reason="Grippé")
    assert r.status_code == 303
    page = await as_alice.get(path)
    assert state_of(page.text) == "Cancelled" and text_of(page.text, "booking-reason") == "Grippé"
    assert 'id="private"' not in page.text and CONTACT not in page.text
    assert 'id="actions"' not in page.text
    assert "3 / 3" in (await as_bob.get(page_of(ride))).text
    r = await act(as_bob, path, "cancel")
    assert r.status_code == 409 and "This booking is cancelled" in r.text
    r = await act(as_bob, path, "rate", stars="5")
    assert r.status_code == 404


async def test_completion_after_the_date(
    fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    path = (await ask(as_bob, ride, quantity="1")).headers["location"]
    await act(as_alice, path, "accept")
    page = await as_bob.get(path)
    assert 'id="complete-form"' not in page.text and 'id="complete-later"' in page.text
    r = await act(as_bob, path, "complete", outcome="done")
    assert r.status_code == 409
    assert re.search(r"This can be said only once it has taken place \(from \w{3} \d", r.text)
    past = datetime.now(UTC) - timedelta(hours=1)
    await Booking.filter(local_uuid=path.rsplit("/", 1)[1]).update(happens_at=past)
    page = await as_alice.get(path)
    assert 'id="complete-form"' in page.text and "It didn&#39;t happen" in page.text
    r = await act(as_alice, path, "complete", outcome="not_happened", note="Absent")
    assert r.status_code == 303
    page = await as_bob.get(path)
    assert state_of(page.text) == "Didn&#39;t happen"
    assert text_of(page.text, "booking-reason") == "Absent"
    assert 'id="complete-form"' not in page.text
    assert "rating" not in page.text.lower() and "stars" not in page.text.lower()


async def test_a_stay_asked_by_dates_its_address_only_once_accepted(
    fed: Federation,
    app: Starlette,
    coop: LocalActor,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
) -> None:
    stay = await _offer(fed, alice, samples.stay())
    start = stay.starts_at.date()
    nights = {
        "starts_at": str(start + timedelta(days=1)),
        "ends_at": str(start + timedelta(days=3)),
    }
    r = await ask(as_bob, stay, quantity="2", starts_at="demain", ends_at=nights["ends_at"])
    assert r.status_code == 422
    assert field_error(r.text, "starts_at") == (
        "must be a date (YYYY-MM-DD) or a date and time (ISO 8601)"
    )
    assert f'value="{nights["ends_at"]}"' in r.text
    r = await ask(as_bob, stay, quantity="2")
    assert r.status_code == 422
    assert field_error(r.text, "starts_at") == "A stay needs an arrival and a departure"
    far = str(start + timedelta(days=30))
    r = await ask(as_bob, stay, quantity="1", starts_at=nights["starts_at"], ends_at=far)
    assert r.status_code == 422
    assert re.search(r"The stay must fall between \w{3} \d+ \w+ \d{4}, \d\d:00 and", r.text)
    r = await ask(as_bob, stay, quantity="3", **nights)
    assert r.status_code == 422 and field_error(r.text, "quantity") == "At most 2 guest(s)"

    r = await ask(as_bob, stay, quantity="2", message="Deux nuits", **nights)
    assert r.status_code == 303
    path = r.headers["location"]
    page = await as_bob.get(path)
    assert samples.EXACT_ADDRESS not in page.text and 'id="private"' not in page.text
    assert "Guests: 2" in page.text
    booking = await Booking.get(local_uuid=path.rsplit("/", 1)[1])
    assert booking.starts_at is not None and booking.ends_at is not None
    assert (booking.ends_at.date() - booking.starts_at.date()).days == 2
    assert booking.starts_at.astimezone(stay.starts_at.tzinfo).hour == stay.starts_at.hour
    await act(as_alice, path, "accept")
    page = await as_bob.get(path)
    assert text_of(page.text, "private-address") == samples.EXACT_ADDRESS
    assert 'id="private-position"' in page.text
    # the same nights for someone else: refused on the form, the values kept
    await set_password(await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=coop))
    async with browser(app, "carol") as carol:
        r = await ask(carol, stay, quantity="1", **nights)
        assert r.status_code == 409
        assert field_error(r.text, "starts_at") == "These nights are already booked"
        assert f'value="{nights["starts_at"]}"' in r.text
    r = await ask(as_alice, stay, quantity="1", **nights)
    assert r.status_code == 403 and "You cannot book your own offer" in r.text


async def test_a_day_out_of_range_once_in_utc_is_refused_on_the_form(
    fed: Federation, alice: LocalActor, as_bob: httpx.AsyncClient
) -> None:
    """Check-in at 03:00 in Auckland: 1 January of year 1 is still in year 0 in UTC."""
    stay = await _offer(fed, alice, samples.stay(timezone="Pacific/Auckland"))
    r = await ask(as_bob, stay, quantity="1", starts_at="0001-01-01", ends_at="0001-01-03")
    assert r.status_code == 422
    assert field_error(r.text, "starts_at") == (
        "must be a date (YYYY-MM-DD) or a date and time (ISO 8601)"
    )


async def test_a_delivery_job_page_with_its_progress(
    fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient
) -> None:
    job = await _offer(fed, alice, samples.delivery_job())
    r = await ask(as_bob, job, message="Vélo-cargo dispo")
    assert r.status_code == 303
    path = r.headers["location"]
    page = await as_bob.get(path)
    assert "12 rue Sully" not in page.text and "Waiting to be assigned." in page.text
    assert "The whole job" in page.text and 'id="progress-form"' not in page.text

    await act(as_alice, path, "accept", contact=CONTACT)
    page = await as_bob.get(path)
    assert (
        text_of(page.text, "private-pickup_address") == "Épicerie La Cagette, 12 rue Sully, Nantes"
    )
    assert "3 rue de la Convention" in page.text
    assert re.search(
        r'id="holder">Held by <a href="https://coop.test/u/bob"[^>]*>Bob</a> '
        r'<span class="muted">\(you\)',
        page.text,
    )
    assert 'id="progress-form"' in page.text and 'value="picked_up"' in page.text
    assert 'id="cancel-form"' in page.text
    seen = await as_alice.get(path)
    assert 'id="progress-form"' not in seen.text
    assert re.search(
        r'id="holder">Held by <a href="https://coop.test/u/bob"[^>]*>Bob</a></p>', seen.text
    )

    r = await act(as_bob, path, "progress", progress="delivered")
    assert r.status_code == 409
    assert "A job goes picked up, then delivered or failed: delivered cannot come now" in r.text
    r = await act(as_alice, path, "progress", progress="picked_up")
    assert r.status_code == 403 and "Only the courier&#39;s side reports progress" in r.text
    r = await act(as_bob, path, "progress", progress="picked_up", note="Colis récupéré")
    assert r.status_code == 303
    seen = await as_alice.get(path)
    assert "Picked up ✓" in seen.text and text_of(seen.text, "progress-note") == "Colis récupéré"
    assert 'id="cancel-form"' not in seen.text  # picked up: it ends delivered or failed
    page = await as_bob.get(path)
    assert 'value="delivered"' in page.text and 'value="failed"' in page.text
    r = await act(as_bob, path, "progress", progress="delivered", note="Déposé")
    assert r.status_code == 303
    seen = await as_alice.get(path)
    assert state_of(seen.text) == "Done" and "Delivered ✓" in seen.text
    assert "Delivered" in (await as_alice.get(page_of(job))).text


async def test_a_booking_is_seen_by_its_two_parties_only(
    fed: Federation,
    app: Starlette,
    alice: LocalActor,
    coop: LocalActor,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    ride = await _offer(fed, alice, samples.ride())
    path = (await ask(as_bob, ride, quantity="1")).headers["location"]
    await set_password(await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=coop))
    async with browser(app, "carol") as carol:
        r = await carol.get(path)
        assert r.status_code == 404 and "No such booking" in r.text
        token = csrf_of((await carol.get("/my/bookings")).text)
        r = await carol.post(f"{path}/cancel", data={"csrf_token": token})
        assert r.status_code == 404
    r = await anonymous.get(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    r = await anonymous.get(path, headers={"Accept": "application/activity+json"})
    assert r.status_code == 404 and r.json()["error"] == "No such booking"
    r = await as_bob.get("/bookings/not-a-uuid")
    assert r.status_code == 404
    r = await as_bob.post(f"{path}/cancel", data={"reason": "sans jeton"})
    assert r.status_code == 403 and (await Booking.get()).state == "requested"
    uuid = path.rsplit("/", 1)[1]
    r = await as_bob.get(f"/agreements/{uuid}")
    assert r.status_code == 303 and r.headers["location"] == path
    for listing in ("/my/bookings", "/my/requests"):
        r = await anonymous.get(listing)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_french(
    fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient
) -> None:
    """Bob chooses French with the switch (``?lang=fr``, then a cookie); Alice's browser asks
    for it (``Accept-Language``)."""
    as_alice.headers.update(FR)
    ride = await _offer(fed, alice, samples.ride())
    r = await as_bob.get(f"{page_of(ride)}?lang=fr")
    assert r.headers["content-language"] == "fr"
    assert "Réserver des places" in r.text and "Message à l’auteur·e" in r.text
    assert "Mes réservations" in r.text and "Demandes" in r.text
    r = await ask(as_bob, ride, quantity="4")
    assert r.status_code == 409 and field_error(r.text, "quantity") == "Il ne reste que 3 place(s)"
    path = (await ask(as_bob, ride, quantity="2")).headers["location"]
    page = await as_bob.get(path)
    assert state_of(page.text) == "En attente de réponse"
    assert "Votre demande a été envoyée" in page.text and "Retirer la demande" in page.text
    nav = await as_alice.get("/my/requests")
    assert "Demandes sur mes offres" in nav.text and pending_count(nav.text) == "1"
    assert "Accepter" in nav.text and "Refuser" in nav.text
    await act(as_alice, path, "decline", reason="Complet")
    r = await act(as_alice, path, "accept")
    assert r.status_code == 409
    assert "Cette réservation est refusée : elle n’attend plus de réponse" in r.text
    mine = await as_bob.get("/my/bookings")
    assert "Refusée" in mine.text and "Places: 2" in mine.text
    r = await as_bob.get(page_of(ride))  # declined: may ask again
    assert 'id="ask-form"' in r.text and r.headers["content-language"] == "fr"
    r = await as_alice.get(page_of(ride))
    assert text_of(r.text, "ask-why") == "Vous ne pouvez pas réserver votre propre offre"


async def test_a_remote_offer_is_asked_for_from_our_copy(
    fed: Federation, as_bob: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await offline(fed)
    author, _ = await remote_actor("zoe", "peer.example", key=keypair("a"))
    fields = offer_fields(parse_offer(samples.ride()), local=False)
    now = datetime.now(UTC)
    copy = Offer(
        ap_id="https://peer.example/offers/1",
        author_uri=author.ap_id,
        author_name="Zoé",
        instance_domain="peer.example",
        status="open",
        published_at=now,
        updated_at=now,
        **fields,
    )
    doc = offer_to_as(copy, followers=f"{author.ap_id}/followers", url=copy.ap_id)
    offer = await store_remote_offer(doc, author.ap_id)
    assert offer is not None
    here = path_for("new_booking", query={"offer": offer.ap_id})

    search = await as_bob.get("/search")
    assert f'href="{here}"' in search.text
    r = await anonymous.get(here)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/bookings/new")
    page = await as_bob.get(here)
    assert page.status_code == 200 and 'id="ask-form"' in page.text
    assert "Its page on peer.example" in page.text
    r = await as_bob.get("/bookings/new?offer=https://peer.example/offers/unknown")
    assert r.status_code == 404

    r = await as_bob.post(
        "/bookings/new",
        data={"csrf_token": csrf_of(page.text), "offer": offer.ap_id, "quantity": "9"},
    )
    assert r.status_code == 409 and field_error(r.text, "quantity") == "Only 3 place(s) left"
    r = await as_bob.post(
        "/bookings/new",
        data={
            "csrf_token": csrf_of(page.text),
            "offer": offer.ap_id,
            "quantity": "2",
            "message": "Salut Zoé",
        },
    )
    assert r.status_code == 303
    path = r.headers["location"]
    booking = await Booking.get(local_uuid=path.rsplit("/", 1)[1])
    assert (booking.state, booking.author_uri, booking.quantity) == (
        "requested",
        author.ap_id,
        2,
    )
    sent = await Activity.filter(type="Offer").values_list("payload", flat=True)
    assert [a["to"] for a in sent] == [[author.ap_id]]  # type: ignore[index]
    page = await as_bob.get(path)
    assert state_of(page.text) == "Waiting for an answer" and "Zoé" in page.text
    assert 'class="accept-form"' not in page.text  # only Zoé answers, from her instance


def test_every_string_of_the_booking_pages_is_in_the_catalogue() -> None:
    """Each text of the booking pages and their module has its French entry."""
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    known = {m.id for m in catalog if m.id and m.string}
    used: set[str] = set()
    for name in (
        "booking_ask",
        "booking_list",
        "booking_macros",
        "booking_page",
        "booking_requests",
        "base",
        "offer",
    ):
        source = (ROOT / "templates" / f"{name}.html").read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        used |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", source))
    used |= set(DONE.values()) | set(ASK_BUTTONS.values()) | set(FIELD_LABELS.values())
    used |= set(QUANTITY_LABELS.values()) | set(BOOKING_STATE_LABELS.values())
    used |= set(PROGRESS_LABELS.values()) | {label for _, label in PRIVATE_LABELS}
    assert sorted(used - known) == []
