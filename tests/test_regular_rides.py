"""Regular rides (issue 12, point 5): a ride on given weekdays stays open until its last day
(or three months), is found by a search on any day it runs and not on the others, and its post
says "every Monday and Thursday at 07:30" in English and French. Through the services, the
API's parser and the web form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from activitypub.offer_errors import InvalidOffer, OfferError
from activitypub.offer_input import parse_offer
from activitypub.offer_schedule import DEFAULT_DAYS, MAX_DAYS
from activitypub.offer_text import offer_content_html
from federation.context import Federation
from federation.services.offers import create_offer
from federation.services.search import parse_search, search_offers
from models.actors import LocalActor
from models.offers import Offer
from tests import offer_samples as samples
from tests.test_web import HTML, field_error, log_in, post_form, ride_form, set_password

PARIS = ZoneInfo("Europe/Paris")


def next_monday(after_days: int = 3) -> date:
    day = datetime.now(UTC).date() + timedelta(days=after_days)
    return day + timedelta(days=(0 - day.weekday()) % 7)


def regular(first: date, until: date | None = None, **extra: Any) -> dict[str, Any]:
    """A ride leaving ``first`` at 07:30 in Paris, then every Monday and Thursday."""
    body = samples.ride(starts_at=f"{first.isoformat()}T07:30", **extra)
    schedule: dict[str, Any] = {"weekdays": ["mon", "thu"], "time": "07:30"}
    if until is not None:
        schedule["until"] = until.isoformat()
    body["ride"]["schedule"] = schedule
    return body


async def found(query: dict[str, str]) -> list[Offer]:
    return await search_offers(parse_search(query))


async def test_a_regular_ride_stays_open_until_its_last_day(
    fed: Federation, member: LocalActor
) -> None:
    monday = next_monday()
    start = datetime(monday.year, monday.month, monday.day, 7, 30, tzinfo=PARIS)
    last = monday + timedelta(days=59)
    offer = await create_offer(fed, member, regular(monday, last))
    # the end of its last day, in the offer's time zone
    assert offer.expires_at == datetime.combine(
        last + timedelta(days=1), datetime.min.time(), tzinfo=PARIS
    )
    assert offer.details["schedule"]["until"] == last.isoformat()
    # without a last day: three months
    offer = await create_offer(fed, member, regular(monday))
    assert offer.expires_at == start + timedelta(days=DEFAULT_DAYS)
    assert "until" not in offer.details["schedule"]
    # an expiry given wins
    given = start + timedelta(days=10)
    offer = await create_offer(fed, member, regular(monday, expires_at=given.isoformat()))
    assert offer.expires_at == given
    # a one-off ride is unchanged: 6 hours after its departure
    body = samples.ride(starts_at=start.isoformat())
    del body["ride"]["schedule"]
    offer = await create_offer(fed, member, body)
    assert offer.expires_at == start + timedelta(hours=6)


def test_the_last_day_is_bounded_and_a_date() -> None:
    monday = next_monday()

    def problems(until: str) -> list[OfferError]:
        body = regular(monday)
        body["ride"]["schedule"]["until"] = until
        with pytest.raises(InvalidOffer) as caught:
            parse_offer(body)  # strict, as the API
        return caught.value.problems

    field = "ride.schedule.until"
    assert problems((monday - timedelta(days=1)).isoformat()) == [
        OfferError(field, "before_start", {})
    ]
    assert problems((monday + timedelta(days=MAX_DAYS + 1)).isoformat()) == [
        OfferError(field, "too_late", {"days": MAX_DAYS})
    ]
    assert problems("next summer") == [OfferError(field, "not_a_day", {})]
    assert problems(f"{monday.isoformat()}T10:00") == [OfferError(field, "not_a_day", {})]
    ok = regular(monday, monday + timedelta(days=MAX_DAYS))
    assert parse_offer(ok).ride.schedule.until == monday + timedelta(days=MAX_DAYS)  # type: ignore[union-attr]


async def test_found_by_a_search_on_any_of_its_days(fed: Federation, member: LocalActor) -> None:
    monday = next_monday()
    ride = await create_offer(fed, member, regular(monday, monday + timedelta(weeks=8)))
    one_off = samples.ride(starts_at=f"{monday.isoformat()}T09:00")
    del one_off["ride"]["schedule"]
    once = await create_offer(fed, member, one_off)

    def on(day: date, **more: str) -> dict[str, str]:
        return {"from": day.isoformat(), "to": day.isoformat(), **more}

    thursday = monday + timedelta(weeks=3, days=3)
    assert [o.id for o in await found(on(monday))] == [ride.id, once.id]
    assert [o.id for o in await found(on(thursday))] == [ride.id]
    assert [o.id for o in await found(on(thursday - timedelta(days=2)))] == []  # a Tuesday
    # with the other filters: near Grenoble, rides, seats
    near = on(thursday, kind="ride", place="Grenoble", radius_km="10", min_seats="2")
    assert [o.id for o in await found(near)] == [ride.id]
    assert await found(on(thursday, place="Nantes")) == []
    # a week's window holds a Thursday; after its last day, nothing
    week = {"from": (thursday - timedelta(days=5)).isoformat(), "to": thursday.isoformat()}
    assert [o.id for o in await found(week)] == [ride.id]
    assert await found(on(monday + timedelta(weeks=9))) == []
    # only a start or only an end
    assert [o.id for o in await found({"from": thursday.isoformat()})] == [ride.id]
    assert {o.id for o in await found({"to": thursday.isoformat()})} == {ride.id, once.id}


async def test_its_post_says_every_monday_and_thursday(fed: Federation, member: LocalActor) -> None:
    first = date(2030, 6, 3)  # a Monday
    offer = await create_offer(fed, member, regular(first, date(2030, 7, 31)))
    url = "https://coop.test/offers/x"
    assert "Every Monday and Thursday at 07:30, until July 31, 2030<br>" in (
        offer_content_html(offer, url, "en")
    )
    assert "Chaque lundi et jeudi à 07:30, jusqu’au 31 juillet 2030<br>" in (
        offer_content_html(offer, url, "fr")
    )
    body = regular(first)
    body["ride"]["schedule"]["weekdays"] = ["fri", "mon", "wed"]  # said in the week's order
    offer = await create_offer(fed, member, body)
    assert "<br>Every Monday, Wednesday, and Friday at 07:30<br>" in offer_content_html(
        offer, url, "en"
    )
    assert "<br>Chaque lundi, mercredi et vendredi à 07:30<br>" in offer_content_html(
        offer, url, "fr"
    )


@pytest.fixture
async def web(client: httpx.AsyncClient, member: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    yield client


async def test_the_form_takes_the_last_day(web: httpx.AsyncClient) -> None:
    form = await web.get("/offers/new?kind=ride")
    assert 'type="date" id="f-schedule_until" name="schedule_until"' in form.text
    departure = ride_form()["departure"][:10]
    last = (date.fromisoformat(departure) + timedelta(days=30)).isoformat()
    r = await post_form(web, "/offers/new", ride_form(schedule_until=last))
    assert r.status_code == 303, r.text
    offer = await Offer.get(local_uuid=r.headers["location"].rsplit("/", 1)[1])
    assert offer.details["schedule"]["until"] == last
    assert offer.expires_at.astimezone(PARIS).date() == date.fromisoformat(last) + timedelta(1)
    edit = await web.get(f"/offers/{offer.local_uuid}/edit")
    assert f'name="schedule_until" value="{last}"' in edit.text
    too_late = (date.fromisoformat(departure) + timedelta(days=400)).isoformat()
    r = await post_form(web, "/offers/new", ride_form(schedule_until=too_late))
    assert r.status_code == 422
    assert field_error(r.text, "schedule_until") == "at most 366 days after the start"
