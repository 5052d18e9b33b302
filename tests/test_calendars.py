"""Calendars, through the app in-process, each answer parsed back with icalendar: an offer's
``.ics`` per kind (a regular ride's weekly rule, a stay's approximate place only), times in the
offer's time zone, a booking's ``.ics`` for its two parties only (a stay's exact address once
accepted), the member's secret calendar URL (no session, only confirmed bookings, revocable),
and the 404 and 410 answers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Event
from starlette.applications import Starlette

from activitypub.offer_schema import Schedule
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.offers import create_offer, delete_offer, set_status
from instance.calendars import first_on_schedule
from instance.feed_tokens import member_for_feed, new_feed_token
from models.actors import ActorKind, LocalActor
from models.bookings import Booking
from models.feed_tokens import FeedPurpose, FeedToken
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.web_clients import browser
from tests.test_bookings_web import act, ask, page_of
from tests.test_web import csrf_of, set_password

PARIS = ZoneInfo("Europe/Paris")
ICS = "text/calendar; charset=utf-8"


def parsed(r: httpx.Response) -> Calendar:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ICS
    assert re.fullmatch(r'attachment; filename="[\w.-]+\.ics"', r.headers["content-disposition"])
    calendar = Calendar.from_ical(r.content)
    assert str(calendar["version"]) == "2.0" and "coopub" in str(calendar["prodid"])
    return calendar


def only_event(r: httpx.Response) -> Event:
    [event] = parsed(r).events
    assert event.get("dtstamp") is not None
    return event


def zone_of(event: Event, name: str = "dtstart") -> str | None:
    return event[name].params.get("TZID")


def geo(event: Event) -> tuple[float, float]:
    return event["geo"].latitude, event["geo"].longitude


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def next_weekday(weekday: int, after_days: int = 3) -> date:
    """The first ``weekday`` (0 is Monday) at least ``after_days`` from today."""
    day = datetime.now(UTC).date() + timedelta(days=after_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def next_month_day(month: int) -> date:
    """The 15th of ``month``, at least a week ahead (this year's or next year's)."""
    today = datetime.now(UTC).date()
    candidate = date(today.year, month, 15)
    return candidate if candidate > today + timedelta(days=7) else date(today.year + 1, month, 15)


def ride(starts: datetime, **extra: Any) -> dict[str, Any]:
    body = samples.ride(starts_at=starts.isoformat(), **extra)
    body["ride"]["schedule"] = None
    return body


async def offer_ics(client: httpx.AsyncClient, offer: Offer, **headers: str) -> httpx.Response:
    return await client.get(f"/offers/{offer.local_uuid}.ics", headers=headers)


# --- offers -----------------------------------------------------------------------------------


async def test_a_regular_ride_repeats_weekly_until_its_end(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    monday = next_weekday(0)
    first, end = local(monday, 7, 30), local(monday + timedelta(days=28), 23, 59)
    body = samples.ride(
        starts_at=first.isoformat(),
        ends_at=local(monday, 9).isoformat(),
        expires_at=end.isoformat(),
    )
    body["ride"]["schedule"] = {"weekdays": ["thu", "mon"], "time": "07:30"}
    offer = await create_offer(fed, alice, body)

    r = await offer_ics(anonymous, offer)
    assert r.headers["cache-control"] == "public, max-age=300"
    assert (
        r.headers["content-disposition"] == f'attachment; filename="offer-{offer.local_uuid}.ics"'
    )
    calendar = parsed(r)
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    [event] = calendar.events
    assert str(event["uid"]) == offer.ap_id == str(event["url"])
    assert str(event["summary"]) == "Lyon → Grenoble en covoiturage"
    assert zone_of(event) == "Europe/Paris" and zone_of(event, "dtend") == "Europe/Paris"
    assert event.decoded("dtstart") == first and event.decoded("dtend") == local(monday, 9)
    assert f"DTSTART;TZID=Europe/Paris:{monday:%Y%m%d}T073000" in r.text
    rule = event["rrule"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "TH"]
    assert rule["UNTIL"] == [end.astimezone(UTC)]
    assert "RRULE:FREQ=WEEKLY;UNTIL=" in r.text and "Z;BYDAY=MO,TH" in r.text
    assert "rdate" not in event  # the first departure is on the schedule
    assert str(event["location"]) == "Lyon" and geo(event) == (45.7578, 4.832)
    assert str(event["status"]) == "CONFIRMED"
    description = str(event["description"])
    assert "Lyon → Voiron → Grenoble" in description and "Départ place Bellecour" in description
    assert "<" not in description and "#" not in description  # plain text, no hashtags
    assert offer.ap_id in description
    assert samples.RIDE_MEETING_ADDRESS not in r.text  # for confirmed passengers only

    page = await anonymous.get(page_of(offer))
    assert f'href="/offers/{offer.local_uuid}.ics"' in page.text
    assert "Add to calendar (.ics)" in page.text
    english = only_event(await offer_ics(anonymous, offer, **{"Accept-Language": "en"}))
    assert "Route: Lyon → Voiron → Grenoble" in str(english["description"])


async def test_a_ride_leaving_off_its_schedule_keeps_that_first_departure(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    saturday = next_weekday(5)
    leaving = local(saturday, 9)
    body = samples.ride(
        starts_at=leaving.isoformat(),
        expires_at=local(saturday + timedelta(days=20), 12).isoformat(),
    )
    body["ride"]["schedule"] = {"weekdays": ["mon"], "time": "07:30"}
    offer = await create_offer(fed, alice, body)
    event = only_event(await offer_ics(anonymous, offer))
    monday = saturday + timedelta(days=2)
    assert event.decoded("dtstart") == local(monday, 7, 30)
    assert event["rrule"]["BYDAY"] == ["MO"]
    [extra] = event["rdate"].dts
    assert extra.dt == leaving and event["rdate"].params["TZID"] == "Europe/Paris"
    # a schedule that would start after the offer's end adds nothing: the one departure
    short = samples.ride(
        starts_at=leaving.isoformat(), expires_at=(leaving + timedelta(hours=6)).isoformat()
    )
    short["ride"]["schedule"] = {"weekdays": ["mon"], "time": "07:30"}
    event = only_event(await offer_ics(anonymous, await create_offer(fed, alice, short)))
    assert event.decoded("dtstart") == leaving and "rrule" not in event and "rdate" not in event


def test_the_first_departure_on_a_schedule_keeps_its_wall_clock_time() -> None:
    schedule = Schedule(weekdays=["sun"], time="07:30")
    before_change = datetime(2026, 10, 24, 12, tzinfo=PARIS)  # summer time ends on the 25th
    assert first_on_schedule(before_change, schedule, PARIS) == datetime(
        2026, 10, 25, 7, 30, tzinfo=PARIS
    )
    same_day_later = datetime(2026, 10, 25, 8, tzinfo=PARIS)
    assert first_on_schedule(same_day_later, schedule, PARIS).day == 1  # 1 November


async def test_a_delivery_job(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    offer = await create_offer(fed, alice, samples.delivery_job())
    r = await offer_ics(anonymous, offer)
    event = only_event(r)
    assert str(event["uid"]) == offer.ap_id
    assert str(event["summary"]) == "Panier de légumes à livrer"
    assert event.decoded("dtstart") == offer.starts_at and event.decoded("dtend") == offer.ends_at
    assert zone_of(event) == "Europe/Paris"
    assert str(event["location"]) == "Épicerie La Cagette"
    assert geo(event) == (47.2184, -1.5536)
    assert "rrule" not in event and str(event["status"]) == "CONFIRMED"
    assert "12 rue Sully" not in r.text and "rue de la Convention" not in r.text


async def test_a_stay_shows_only_its_approximate_place(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    offer = await create_offer(fed, alice, samples.stay())
    r = await offer_ics(anonymous, offer)
    event = only_event(r)
    assert str(event["location"]) == "Die"
    assert geo(event) == (offer.latitude, offer.longitude) != (44.7537, 5.3706)
    assert samples.EXACT_ADDRESS not in r.text and "impasse" not in r.text
    assert "44.7537" not in r.text and "5.3706" not in r.text
    assert event.decoded("dtstart") == offer.starts_at and event.decoded("dtend") == offer.ends_at


async def test_times_are_written_in_the_offers_time_zone(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    """07:30 in Paris is 06:30 UTC in winter and 05:30 UTC in summer: the event says 07:30
    with its TZID, and reads back as that same instant."""
    for month, utc_hour in ((1, 6), (7, 5)):
        day = next_month_day(month)
        offer = await create_offer(fed, alice, ride(local(day, 7, 30)))
        r = await offer_ics(anonymous, offer)
        assert f"DTSTART;TZID=Europe/Paris:{day:%Y%m%d}T073000" in r.text
        event = only_event(r)
        start = event.decoded("dtstart")
        assert start.astimezone(UTC) == datetime(
            day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC
        )
        [tz] = Calendar.from_ical(r.content).walk("VTIMEZONE")
        assert tz["tzid"] == "Europe/Paris"
    # a naive local time in the form's zone, and an offer kept in UTC
    day = next_month_day(1)
    offer = await create_offer(
        fed, alice, ride(local(day, 7, 30), timezone="UTC") | {"starts_at": f"{day}T07:30:00"}
    )
    r = await offer_ics(anonymous, offer)
    assert f"DTSTART:{day:%Y%m%d}T073000Z" in r.text and "VTIMEZONE" not in r.text
    naive = ride(local(day, 7, 30)) | {"starts_at": f"{day}T07:30:00"}
    r = await offer_ics(anonymous, await create_offer(fed, alice, naive))
    assert f"DTSTART;TZID=Europe/Paris:{day:%Y%m%d}T073000" in r.text


async def test_a_cancelled_offer_says_so_a_deleted_one_is_gone(
    fed: Federation, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    offer = await create_offer(fed, alice, samples.delivery_job())
    await set_status(fed, alice, offer, OfferStatus.CANCELLED)
    assert str(only_event(await offer_ics(anonymous, offer))["status"]) == "CANCELLED"
    await delete_offer(fed, alice, offer)
    gone = await offer_ics(anonymous, offer)
    assert gone.status_code == 410 and "This offer has been deleted." in gone.text
    json = await anonymous.get(f"/offers/{offer.local_uuid}.ics", headers={"Accept": "*/*"})
    assert json.status_code == 410 and json.json()["status"] == 410
    for path in (
        "/offers/00000000-0000-4000-8000-000000000000.ics",
        "/offers/not-an-id.ics",
        "/offers/.ics",
    ):
        assert (await anonymous.get(path)).status_code == 404, path


# --- bookings ---------------------------------------------------------------------------------


async def _stay_booked(
    fed: Federation, alice: LocalActor, as_bob: httpx.AsyncClient
) -> tuple[Offer, str]:
    stay = await create_offer(fed, alice, samples.stay())
    start = stay.starts_at.date()
    nights = {
        "starts_at": str(start + timedelta(days=1)),
        "ends_at": str(start + timedelta(days=3)),
    }
    r = await ask(as_bob, stay, quantity="2", **nights)
    assert r.status_code == 303, r.text
    return stay, r.headers["location"]


async def test_a_stay_booking_has_its_exact_address_once_accepted(
    app: Starlette,
    fed: Federation,
    coop: LocalActor,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    stay, path = await _stay_booked(fed, alice, as_bob)
    booking = await Booking.get(local_uuid=path.rsplit("/", 1)[1])
    page = await as_bob.get(path)
    assert f'href="{path}.ics"' in page.text

    r = await as_bob.get(f"{path}.ics")
    assert r.headers["cache-control"] == "private, no-store"
    event = only_event(r)
    assert str(event["status"]) == "TENTATIVE"
    assert samples.EXACT_ADDRESS not in r.text and str(event["location"]) == "Die"
    assert geo(event) == (stay.latitude, stay.longitude)

    await act(as_alice, path, "accept", contact="06 12 34 56 78")
    for client in (as_bob, as_alice):  # the guest, and the host
        r = await client.get(f"{path}.ics", headers={"Accept-Language": "en"})
        event = only_event(r)
        assert str(event["uid"]) == booking.ap_id
        assert str(event["url"]) == f"https://{TEST_DOMAIN}{path}"
        assert str(event["summary"]) == stay.title and str(event["status"]) == "CONFIRMED"
        assert str(event["location"]) == samples.EXACT_ADDRESS
        assert geo(event) == (44.7537, 5.3706)
        assert event.decoded("dtstart") == booking.starts_at
        assert event.decoded("dtend") == booking.ends_at and zone_of(event) == "Europe/Paris"
        description = str(event["description"])
        assert f"Exact address: {samples.EXACT_ADDRESS}" in description
        assert "Contact: 06 12 34 56 78" in description and "Status: Accepted" in description

    french = await as_bob.get(f"{path}.ics", headers={"Accept-Language": "fr"})
    assert f"Adresse exacte: {samples.EXACT_ADDRESS}" in str(only_event(french)["description"])

    # anyone else: as for the page, no such booking; without a session, the login
    await set_password(await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=coop))
    async with browser(app, "carol") as carol:
        r = await carol.get(f"{path}.ics")
        assert r.status_code == 404 and samples.EXACT_ADDRESS not in r.text
        assert (await carol.get(path)).status_code == 404
    r = await anonymous.get(f"{path}.ics")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert (
        await as_bob.get("/bookings/00000000-0000-4000-8000-000000000000.ics")
    ).status_code == 404


# --- the member's calendar ---------------------------------------------------------------------


async def _new_calendar_url(client: httpx.AsyncClient) -> str:
    page = await client.get("/settings")
    assert page.status_code == 200 and 'id="calendar"' in page.text
    r = await client.post("/settings/calendar/new", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    found = re.search(r'id="calendar-url-value">([^<]+)<', r.text)
    assert found, r.text
    webcal = found.group(1).replace("https://", "webcal://", 1)
    assert f'<a href="{webcal}" id="calendar-subscribe">' in r.text
    return found.group(1)


async def _feed(client: httpx.AsyncClient, url: str) -> list[Event]:
    r = await client.get(url)
    calendar = parsed(r)
    assert r.headers["cache-control"] == "private, max-age=300"
    assert str(calendar["x-wr-calname"]) == "Mes réservations · Test coop"  # the site's language
    assert str(calendar["name"]) == str(calendar["x-wr-calname"])
    return list(calendar.events)


async def test_the_secret_calendar_url(
    fed: Federation,
    alice: LocalActor,
    bob: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    ride_offer = await create_offer(fed, alice, samples.ride())
    job = await create_offer(fed, alice, samples.delivery_job())
    await _stay_booked(fed, alice, as_bob)  # asked, never answered: not in the calendar
    r = await ask(as_bob, ride_offer, quantity="1")
    accepted = r.headers["location"]
    await act(as_alice, accepted, "accept", meeting_point="Devant la gare")
    r = await ask(as_bob, job)
    cancelled = r.headers["location"]
    await act(as_alice, cancelled, "accept")
    await act(as_bob, cancelled, "cancel", reason="Empêché")

    url = await _new_calendar_url(as_bob)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert url == f"https://{TEST_DOMAIN}/calendar/{token}.ics" and len(token) >= 43
    stored = await FeedToken.get(member_id=bob.id)
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert stored.purpose == FeedPurpose.CALENDAR and stored.last_used_at is None

    english = await anonymous.get(url, headers={"Accept-Language": "en"})
    assert str(parsed(english)["x-wr-calname"]) == "My bookings · Test coop"
    events = await _feed(anonymous, url)  # no session: the URL is the credential
    booked = await Booking.get(local_uuid=accepted.rsplit("/", 1)[1])
    assert [str(e["uid"]) for e in events] == [booked.ap_id]
    [event] = events
    assert str(event["location"]) == "Devant la gare" and str(event["status"]) == "CONFIRMED"
    assert event.decoded("dtstart") == booked.happens_at and zone_of(event) == "Europe/Paris"
    assert (await FeedToken.get(member_id=bob.id)).last_used_at is not None
    page = await as_bob.get("/settings/calendar")
    assert "You have a calendar URL" in page.text and token not in page.text

    alices = await _new_calendar_url(as_alice)  # her side: the same booking, as its author
    assert [str(e["uid"]) for e in await _feed(anonymous, alices)] == [booked.ap_id]

    # cancelled: it leaves the calendar
    await act(as_bob, accepted, "cancel", reason="Malade")
    assert await _feed(anonymous, url) == []

    # a new URL ends the old one; revoking ends the new one
    newer = await _new_calendar_url(as_bob)
    assert newer != url and (await anonymous.get(url)).status_code == 404
    assert (await anonymous.get(newer)).status_code == 200
    page = await as_bob.get("/settings/calendar")
    r = await as_bob.post("/settings/calendar/revoke", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/settings/calendar"
    page = await as_bob.get("/settings/calendar")
    assert "The calendar URL was revoked" in page.text and "You have no calendar URL." in page.text
    assert (await anonymous.get(newer)).status_code == 404
    assert (await anonymous.get(alices)).status_code == 200  # hers is hers
    assert (await anonymous.get("/calendar/nothing.ics")).status_code == 404


async def test_calendar_tokens_are_checked(
    fed: Federation,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    alerts = await new_feed_token(alice, FeedPurpose.ALERTS)  # another purpose's URL
    assert (await anonymous.get(f"/calendar/{alerts}.ics")).status_code == 404
    assert await member_for_feed(alerts, FeedPurpose.ALERTS) is not None
    calendar = await new_feed_token(alice, FeedPurpose.CALENDAR)
    assert (await anonymous.get(f"/calendar/{calendar}.ics")).status_code == 200
    assert await member_for_feed(alerts, FeedPurpose.ALERTS) is not None  # one per purpose
    alice.disabled = True
    await alice.save()
    assert (await anonymous.get(f"/calendar/{calendar}.ics")).status_code == 404


async def test_the_calendar_settings_need_a_member_and_the_csrf_token(
    alice: LocalActor, as_alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    r = await anonymous.get("/settings/calendar")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await as_alice.post("/settings/calendar/new", data={"csrf_token": "forged"})
    assert r.status_code == 403 and await FeedToken.filter(member_id=alice.id).count() == 0
    page = await as_alice.get("/settings/calendar")
    assert "You have no calendar URL." in page.text and 'id="revoke-calendar-form"' not in page.text
    r = await as_alice.post("/settings/calendar/revoke", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert "You have no calendar URL." in (await as_alice.get("/settings/calendar")).text


async def test_french(fed: Federation, alice: LocalActor, as_alice: httpx.AsyncClient) -> None:
    fr = {"Accept-Language": "fr"}
    page = await as_alice.get("/settings", headers=fr)
    assert '<h2 id="calendar-title">Agenda</h2>' in page.text
    assert "Mon adresse d’agenda est-elle utilisée ?" in page.text
    page = await as_alice.get("/settings/calendar", headers=fr)
    r = await as_alice.post(
        "/settings/calendar/new", data={"csrf_token": csrf_of(page.text)}, headers=fr
    )
    assert "Copiez-la maintenant dans votre logiciel d’agenda" in r.text
    assert "Vous avez une adresse d’agenda, créée le" in r.text and "Pas encore lue." in r.text
    offer = await create_offer(fed, alice, samples.delivery_job())
    page = await as_alice.get(page_of(offer), headers=fr)
    assert "Ajouter à l’agenda (.ics)" in page.text
    await delete_offer(fed, alice, offer)
    gone = await as_alice.get(f"/offers/{offer.local_uuid}.ics", headers=fr)
    assert gone.status_code == 410 and "Cette offre a été supprimée." in gone.text, gone.text
