"""The member's web pages: log in, CSRF, post / edit / close / delete offers, search, French."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from federation.context import Federation
from federation.services import offers as service
from federation.services.accounts import create_actor
from instance.passwords import hash_password
from models.actors import ActorKind, LocalActor
from models.offers import Offer, OfferKind, OfferStatus
from tests import offer_samples as samples
from tests.rig import pages
from tests.rig.instances import Instance
from tests.rig.pages import csrf_of

PASSWORD = pages.PASSWORD
HTML = {"Accept": "text/html"}


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def ride_form(**extra: str) -> dict[str, Any]:
    return {
        "kind": "ride",
        "purpose": "offer",
        "title": "Lyon → Grenoble, places libres",
        "description": "Départ place Bellecour",
        "language": "fr",
        "origin_name": "Lyon",
        "origin_latitude": "45.7578",
        "origin_longitude": "4.8320",
        "destination_name": "Grenoble",
        "destination_latitude": "45.1885",
        "destination_longitude": "5.7245",
        "via_name": "Voiron",
        "via_latitude": "45.3640",
        "via_longitude": "5.5890",
        "departure": f"{day(3)}T08:00",
        "timezone": "Europe/Paris",
        "flexibility_minutes": "15",
        "weekdays": ["mon", "thu"],
        "schedule_time": "08:00",
        "seats_total": "3",
        "seats_available": "",
        "price": "7,50",
        "currency": "EUR",
        **extra,
    }


def delivery_form(**extra: str) -> dict[str, Any]:
    return {
        "kind": "delivery_job",
        "purpose": "request",
        "title": "Panier de légumes à livrer",
        "language": "fr",
        "pickup_name": "Épicerie La Cagette",
        "pickup_address": "12 rue Sully, Nantes",
        "pickup_latitude": "47.2184",
        "pickup_longitude": "-1.5536",
        "pickup_after": f"{day(2)}T10:00",
        "pickup_before": f"{day(2)}T11:00",
        "dropoff_name": "Chantenay",
        "dropoff_address": "3 rue de la Convention, Nantes",
        "dropoff_latitude": "47.2010",
        "dropoff_longitude": "-1.5950",
        "starts_at": f"{day(2)}T10:00",
        "ends_at": f"{day(2)}T12:00",
        "timezone": "Europe/Paris",
        "package_type": "crate",
        "package_quantity": "2",
        "weight_kg": "12.5",
        "vehicle": "cargo_bike",
        "price": "9",
        "currency": "EUR",
        **extra,
    }


def stay_form(**extra: str) -> dict[str, Any]:
    return {
        "kind": "stay",
        "purpose": "offer",
        "title": "Chambre d'amis dans la Drôme",
        "language": "fr",
        "location_name": "Die",
        "location_address": samples.EXACT_ADDRESS,
        "location_latitude": "44.7537",
        "location_longitude": "5.3706",
        "starts_at": f"{day(5)}T14:00",
        "ends_at": f"{day(12)}T11:00",
        "timezone": "Europe/Paris",
        "max_guests": "2",
        "max_nights": "3",
        "conditions_text": "Chat à la maison",
        "step_free": "on",
        "price": "0",
        "currency": "EUR",
        **extra,
    }


FORMS = {"ride": ride_form, "delivery_job": delivery_form, "stay": stay_form}


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="error-{re.escape(name)}">([^<]*)</span>', html)
    return found.group(1) if found else None


async def set_password(actor: LocalActor) -> LocalActor:
    actor.password_hash = hash_password(PASSWORD)
    await actor.save()
    return actor


async def log_in(client: httpx.AsyncClient, username: str = "alice") -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD},
    )
    assert r.status_code == 303, r.text
    return csrf_of((await client.get("/my/offers")).text)


@pytest.fixture
async def alice(member: LocalActor) -> LocalActor:
    return await set_password(member)


@pytest.fixture
async def web(client: httpx.AsyncClient, alice: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    """The in-process client, logged in as alice."""
    client.headers.update(HTML)
    await log_in(client)
    yield client


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    token = csrf_of((await client.get("/my/offers")).text)
    return await client.post(url, data={"csrf_token": token, **data})


# --- logging in -----------------------------------------------------------------------------


async def test_login_page_has_form_and_language_switch(client: httpx.AsyncClient) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'type="password"' in r.text
    assert 'hreflang="fr"' in r.text and "lang=fr" in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie  # https
    r = await client.get("/login?lang=fr")
    assert "Se connecter" in r.text and "Mot de passe" in r.text
    assert any(c.startswith("lang=fr;") for c in r.headers.get_list("set-cookie"))


async def test_login_ok_then_logout(client: httpx.AsyncClient, alice: LocalActor) -> None:
    page = await client.get("/login?next=/offers/new")
    r = await client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "alice",
            "password": PASSWORD,
            "next": "/offers/new",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/offers/new"
    mine = await client.get("/my/offers")
    assert mine.status_code == 200 and "Log out" in mine.text and "(alice)" in mine.text
    r = await client.post("/logout", data={"csrf_token": csrf_of(mine.text)})
    assert r.status_code == 303
    r = await client.get("/my/offers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong horse battery"), ("nobody", PASSWORD), ("velos", PASSWORD), ("", "")],
)
async def test_login_refused(
    client: httpx.AsyncClient, alice: LocalActor, coop: LocalActor, username: str, password: str
) -> None:
    await set_password(coop)  # a coop is not a member: it cannot log in
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
    )
    assert r.status_code == 401
    assert "Wrong username or password." in r.text
    assert f'value="{username}"' in r.text  # kept
    assert (await client.get("/my/offers")).status_code == 303  # still logged out


async def test_login_never_redirects_off_site(client: httpx.AsyncClient, alice: LocalActor) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page = await client.get("/login")
        r = await client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "alice",
                "password": PASSWORD,
                "next": target,
            },
        )
        assert r.headers["location"] == "/my/offers"


async def test_home_links_to_the_pages(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers=HTML)
    for link in ('href="/search"', 'href="/offers/new"', 'href="/login"', 'hreflang="fr"'):
        assert link in r.text


async def test_pages_need_login(client: httpx.AsyncClient) -> None:
    for path in ("/offers/new?kind=ride", "/my/offers"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/")


# --- CSRF -----------------------------------------------------------------------------------


async def test_csrf_refused(web: httpx.AsyncClient, alice: LocalActor, fed: Federation) -> None:
    r = await web.post("/offers/new", data=ride_form())
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "reload the page" in r.text
    r = await web.post("/offers/new", data={**ride_form(), "csrf_token": "x" * 43})
    assert r.status_code == 403
    assert await Offer.all().count() == 0
    # without a token, the other forms are refused too
    offer = await service.create_offer(fed, alice, samples.ride())
    for action in ("edit", "close", "cancel", "delete"):
        r = await web.post(f"/offers/{offer.local_uuid}/{action}", data={"csrf_token": "no"})
        assert r.status_code == 403, action
    await offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN
    assert (await web.post("/logout", data={})).status_code == 403
    # whatever the client accepts, the refusal is a page
    r = await web.post(
        "/login",
        data={"username": "alice", "password": PASSWORD},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 403 and "<html" in r.text


# --- posting, editing, closing, deleting -----------------------------------------------------


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
async def test_post_each_kind(web: httpx.AsyncClient, kind: str) -> None:
    form = await web.get(f"/offers/new?kind={kind}")
    assert form.status_code == 200
    assert 'name="title"' in form.text and "Europe/Paris" in form.text
    r = await post_form(web, "/offers/new", FORMS[kind]())
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/offers/[0-9a-f-]{36}", location)
    offer = await Offer.get(local_uuid=location.rsplit("/", 1)[1])
    assert offer.kind == OfferKind(kind)
    assert offer.title == FORMS[kind]()["title"]
    page = await web.get(location)
    assert page.status_code == 200 and escape(offer.title) in page.text
    assert "/edit" in page.text and "/close" in page.text  # the author's buttons
    if kind == "ride":
        # 08:00 in Paris, in summer or winter
        assert offer.starts_at.astimezone(UTC).hour in (6, 7)
        assert (offer.quantity_total, offer.quantity_available) == (3, 3)
        assert offer.price_cents == 750
        assert offer.details["waypoints"][0]["name"] == "Voiron"
        assert offer.details["schedule"] == {"weekdays": ["mon", "thu"], "time": "08:00"}
        assert (offer.place_name, offer.dest_name) == ("Lyon", "Grenoble")
        assert "Voiron" in page.text and "08:00" in page.text
    elif kind == "delivery_job":
        assert offer.details["packages"] == [{"type": "crate", "quantity": 2}]
        assert offer.details["weight_grams"] == 12500
        assert offer.details["vehicle"] == "cargo_bike"
        assert offer.details["pickup"]["address"] == "12 rue Sully, Nantes"
        assert "Cargo bike" in page.text
    else:
        assert offer.private["address"] == samples.EXACT_ADDRESS
        assert offer.details["conditions"]["step_free"] is True
        assert offer.details["conditions"]["pets"] is False
        assert offer.price_cents == 0 and offer.quantity_total == 2
        assert samples.EXACT_ADDRESS not in page.text
        assert "free" in page.text


async def test_kind_chooser(web: httpx.AsyncClient) -> None:
    r = await web.get("/offers/new")
    assert r.status_code == 200
    for kind in ("ride", "delivery_job", "stay"):
        assert f"/offers/new?kind={kind}" in r.text
    r = await web.get("/offers/new?kind=boat")
    assert r.status_code == 400 and "/offers/new?kind=ride" in r.text


async def test_edit_prefilled_and_saved(web: httpx.AsyncClient) -> None:
    r = await post_form(web, "/offers/new", ride_form())
    path = r.headers["location"]
    form = await web.get(f"{path}/edit")
    assert form.status_code == 200
    for value in ('value="Lyon"', 'value="45.7578"', 'value="3"', 'value="7.50"', 'value="15"'):
        assert value in form.text
    assert f'value="{day(3)}T08:00"' in form.text  # back in the offer's time zone
    assert 'value="thu" checked' in form.text
    r = await web.post(
        f"{path}/edit",
        data={
            **ride_form(seats_total="4", seats_available="2", title="Lyon → Grenoble (2 places)"),
            "csrf_token": csrf_of(form.text),
            "departure": f"{day(4)}T09:30",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == path
    offer = await Offer.get(local_uuid=path.rsplit("/", 1)[1])
    assert (offer.quantity_total, offer.quantity_available) == (4, 2)
    assert offer.title == "Lyon → Grenoble (2 places)"
    assert offer.starts_at.astimezone(UTC).strftime("%Y-%m-%d") == day(4)
    # a bad edit changes nothing
    r = await post_form(web, f"{path}/edit", ride_form(seats_total="-2"))
    assert r.status_code == 422 and field_error(r.text, "seats_total")
    await offer.refresh_from_db()
    assert offer.quantity_total == 4


async def test_edit_keeps_what_the_form_does_not_show(
    web: httpx.AsyncClient, alice: LocalActor, fed: Federation
) -> None:
    data = samples.delivery_job()
    data["delivery"]["packages"].append({"type": "bag", "quantity": 1})
    offer = await service.create_offer(fed, alice, data)
    form = await web.get(f"/offers/{offer.local_uuid}/edit")
    page = form.text
    assert 'value="crate"' in page and 'value="12"' in page
    inputs = r'<input type="[^"]+" id="f-[^"]+" name="([^"]+)" value="([^"]*)"'
    fields = {m.group(1): m.group(2) for m in re.finditer(inputs, page)}
    fields.update(kind="delivery_job", purpose="request", timezone="Europe/Paris", vehicle="van")
    r = await post_form(web, f"/offers/{offer.local_uuid}/edit", fields)
    assert r.status_code == 303, r.text
    await offer.refresh_from_db()
    assert offer.details["packages"] == [
        {"type": "crate", "quantity": 2},
        {"type": "bag", "quantity": 1},
    ]
    assert offer.details["vehicle"] == "van"
    assert offer.details["pickup"]["address"] == "12 rue Sully, Nantes"


async def test_edit_stay_keeps_its_fuzzed_position(web: httpx.AsyncClient) -> None:
    path = (await post_form(web, "/offers/new", stay_form())).headers["location"]
    offer = await Offer.get(local_uuid=path.rsplit("/", 1)[1])
    form = await web.get(f"{path}/edit")
    assert f'value="{escape(samples.EXACT_ADDRESS)}"' in form.text  # the author sees it
    assert 'value="44.7537"' in form.text  # the exact position, not the published one
    r = await post_form(web, f"{path}/edit", stay_form(title="Chambre au calme", max_guests="3"))
    assert r.status_code == 303
    edited = await Offer.get(id=offer.id)
    assert (edited.latitude, edited.longitude) == (offer.latitude, offer.longitude)
    assert edited.quantity_total == 3 and edited.private == offer.private


async def test_close_cancel_delete(web: httpx.AsyncClient) -> None:
    paths = [
        (await post_form(web, "/offers/new", build())).headers["location"]
        for build in (ride_form, stay_form)
    ]
    r = await post_form(web, f"{paths[0]}/close", {})
    assert r.status_code == 303 and r.headers["location"] == paths[0]
    offer = await Offer.get(local_uuid=paths[0].rsplit("/", 1)[1])
    assert offer.status == OfferStatus.CLOSED
    page = await web.get(paths[0])
    assert "Closed" in page.text and f"{paths[0]}/close" not in page.text
    r = await post_form(web, f"{paths[0]}/cancel", {})
    assert r.status_code == 400 and "already" in r.text  # closed stays closed
    r = await post_form(web, f"{paths[1]}/cancel", {})
    assert r.status_code == 303
    mine = await web.get("/my/offers")
    assert "Closed" in mine.text and "Cancelled" in mine.text
    assert f"{paths[0]}/edit" in mine.text and f"{paths[1]}/edit" in mine.text
    # delete asks first (a page, no JavaScript), then deletes
    confirm = await web.get(f"{paths[1]}/delete")
    assert confirm.status_code == 200 and "Delete for good" in confirm.text
    r = await web.post(f"{paths[1]}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert r.status_code == 303 and r.headers["location"] == "/my/offers"
    assert await Offer.filter(local_uuid=paths[1].rsplit("/", 1)[1]).count() == 0
    assert (await web.get(paths[1])).status_code == 410  # a deleted offer's page: Gone
    assert await Offer.all().count() == 1


async def test_non_author_cannot_touch(
    client: httpx.AsyncClient, alice: LocalActor, coop: LocalActor, fed: Federation
) -> None:
    offer = await service.create_offer(fed, alice, samples.ride())
    await set_password(await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop))
    client.headers.update(HTML)
    await log_in(client, "bob")
    path = f"/offers/{offer.local_uuid}"
    page = await client.get(path)
    assert page.status_code == 200 and f"{path}/edit" not in page.text
    assert (await client.get(f"{path}/edit")).status_code == 404
    assert (await client.get(f"{path}/delete")).status_code == 404
    for action in ("edit", "close", "cancel", "delete"):
        r = await post_form(client, f"{path}/{action}", ride_form(title="Hijacked"))
        assert r.status_code == 404, action
        assert "No such offer" in r.text
    await offer.refresh_from_db()
    assert offer.title == samples.ride()["title"] and offer.status == OfferStatus.OPEN


BAD_INPUT = [
    ("ride", {"title": ""}, "title", "required"),
    ("stay", {"ends_at": f"{day(4)}T10:00"}, "ends_at", "must not be before the start"),
    ("ride", {"seats_total": "-2"}, "seats_total", "must be between 1 and 100"),
    ("delivery_job", {"pickup_latitude": "123"}, "pickup_latitude", "must be between -90 and 90"),
    ("stay", {"location_latitude": "123"}, "location_latitude", "must be between -90 and 90"),
    ("ride", {"price": "-3"}, "price", "must not be negative"),
    ("delivery_job", {"weight_kg": "lots"}, "weight_kg", "must be a number such as 12.5"),
    ("delivery_job", {"vehicle": "rocket"}, "vehicle", "must be one of: bike, cargo_bike, van"),
    ("stay", {"max_guests": ""}, "max_guests", "required"),
    ("ride", {"price": "7.555"}, "price", "too many decimals (e.g. 7.50)"),
    ("ride", {"seats_available": "5"}, "seats_available", "cannot exceed the seats offered"),
    ("ride", {"schedule_time": ""}, "schedule_time", "required"),
    ("ride", {"via_latitude": "91"}, "via_latitude", "must be between -90 and 90"),
    (
        "delivery_job",
        {"pickup_before": f"{day(2)}T09:00"},
        "pickup_before",
        "must not be before &#39;after&#39;",
    ),
    ("delivery_job", {"package_quantity": "0"}, "package_quantity", "must be between 1 and 1000"),
]


@pytest.mark.parametrize(("kind", "change", "field", "message"), BAD_INPUT)
async def test_bad_input_is_shown_and_nothing_stored(
    web: httpx.AsyncClient, kind: str, change: dict[str, str], field: str, message: str
) -> None:
    data = FORMS[kind](**change)
    r = await post_form(web, "/offers/new", data)
    assert r.status_code == 422
    assert field_error(r.text, field) == message
    assert "The offer was not saved" in r.text
    # the values typed are kept
    assert f'value="{escape(data["title"])}"' in r.text
    assert 'value="Europe/Paris" selected' in r.text
    assert await Offer.all().count() == 0


async def test_several_bad_fields_at_once(web: httpx.AsyncClient) -> None:
    data = ride_form(title="", origin_latitude="123", seats_total="-1", departure="")
    r = await post_form(web, "/offers/new", data)
    assert r.status_code == 422
    assert field_error(r.text, "title") == "required"
    assert field_error(r.text, "origin_latitude") == "must be between -90 and 90"
    assert field_error(r.text, "seats_total") == "must be between 1 and 100"
    assert field_error(r.text, "departure") == "required"
    assert 'value="Grenoble"' in r.text and 'value="thu" checked' in r.text
    assert await Offer.all().count() == 0


async def test_unknown_kind(web: httpx.AsyncClient) -> None:
    r = await post_form(web, "/offers/new", ride_form(kind="boat"))
    assert r.status_code == 422
    assert "Kind of offer: must be one of: ride, delivery_job, stay" in r.text
    assert "/offers/new?kind=ride" in r.text  # the chooser
    assert await Offer.all().count() == 0


# --- search and my offers -----------------------------------------------------------------------


async def received_request() -> Offer:
    """Zoé's request for a ride, received from another instance (search pages list it)."""
    now = datetime.now(UTC)
    return await Offer.create(
        ap_id="https://other.example/offers/1",
        author_uri="https://other.example/u/zoe",
        author_name="Zoé",
        instance_domain="other.example",
        kind=OfferKind.RIDE,
        purpose="request",
        title="Cherche trajet Villeurbanne → Chambéry",
        place_name="Villeurbanne",
        latitude=45.7719,
        longitude=4.8902,
        starts_at=now + timedelta(days=6),
        quantity_total=1,
        quantity_available=1,
        published_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=7),
    )


async def test_search_page(web: httpx.AsyncClient, alice: LocalActor, fed: Federation) -> None:
    for build in FORMS.values():
        assert (await post_form(web, "/offers/new", build())).status_code == 303
    await received_request()
    r = await web.get("/search")
    assert r.status_code == 200 and r.text.count('class="result"') == 4
    # by place name (known from offers), within 25 km
    r = await web.get("/search?place=Lyon")
    assert r.status_code == 200
    assert "Lyon → Grenoble, places libres" in r.text
    assert "Cherche trajet" in r.text and "other.example" in r.text  # remote, with its instance
    assert "Chambre d" not in r.text and "Panier" not in r.text
    # by coordinates and radius
    r = await web.get("/search?lat=47.21&lon=-1.55&radius_km=10")
    assert "Panier de légumes" in r.text and r.text.count('class="result"') == 1
    # by date: only what happens on that day, a day of the stay (days 5 to 12) when neither
    # the received request (day 6) nor the regular ride (Mondays and Thursdays) runs
    quiet = next(
        n
        for n in (5, 8, 9, 10, 11)
        if datetime.strptime(day(n), "%Y-%m-%d").weekday() not in (0, 3)
    )
    r = await web.get(f"/search?from={day(quiet)}&to={day(quiet)}")
    assert "Chambre d" in r.text and r.text.count('class="result"') == 1
    r = await web.get(f"/search?from={day(2)}&to={day(3)}&kind=ride")
    assert "Lyon → Grenoble" in r.text and r.text.count('class="result"') == 1
    # sorted by time
    r = await web.get("/search")
    titles = re.findall(r'<li class="result">\s*<a href="[^"]+"><strong>([^<]+)<', r.text)
    assert len(titles) == 4
    assert titles[0].startswith("Panier") and titles[-1].startswith("Cherche")
    # min seats, text, values kept in the form
    r = await web.get("/search?min_quantity=3&q=grenoble")
    assert r.text.count('class="result"') == 1 and 'value="grenoble"' in r.text
    # bad parameters: the page, with the message
    for query, message in (
        ("lat=abc&lon=4", "Latitude: must be a number"),
        ("lat=45", "Longitude: required"),
        ("place=Xyzzyville", "Place name: no place of that name is known"),
        (f"from={day(5)}&to={day(1)}", "Until: must not be before the start"),
        ("kind=boat", "Kind of offer: must be one of: ride, delivery_job, stay"),
        ("radius_km=0&lat=45&lon=4", "Radius (km): must be more than 0"),
        ("min_quantity=²", "Seats or guests, at least: must be a whole number"),
        ("offset=99999999999999999999", "offset: must be at most 999999999"),
        ("offset=10001", "offset: must be at most 10000"),
    ):
        r = await web.get(f"/search?{query}")
        assert r.status_code == 400, query
        assert message in r.text, query
        assert 'id="search-form"' in r.text


async def test_my_offers_lists_only_mine(
    web: httpx.AsyncClient, coop: LocalActor, fed: Federation
) -> None:
    bob = await create_actor(ActorKind.MEMBER, "bob", coop=coop)
    await service.create_offer(fed, bob, samples.stay(title="Offre de Bob"))
    await post_form(web, "/offers/new", ride_form())
    r = await web.get("/my/offers")
    assert r.status_code == 200
    assert "Lyon → Grenoble" in r.text and "Offre de Bob" not in r.text
    assert "Open" in r.text and "/edit" in r.text


async def test_french_pages(web: httpx.AsyncClient) -> None:
    fr = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    r = await web.get("/offers/new?kind=stay", headers=fr)
    assert r.headers["content-language"] == "fr"
    for text in ("Disponible à partir du", "Adresse exacte", "Personnes au plus", "Publier"):
        assert text in r.text
    r = await web.post(
        "/offers/new",
        data={**stay_form(title="", max_guests="0"), "csrf_token": csrf_of(r.text)},
        headers=fr,
    )
    assert r.status_code == 422
    assert "L’offre n’a pas été enregistrée" in r.text
    assert field_error(r.text, "title") == "obligatoire"
    assert field_error(r.text, "max_guests") == "doit être entre 1 et 100"
    token = csrf_of(r.text)
    page = await web.post("/offers/new", data={**ride_form(), "csrf_token": token}, headers=fr)
    path = page.headers["location"]
    for action in ("close", "cancel"):
        r = await web.post(f"{path}/{action}", data={"csrf_token": token}, headers=fr)
    assert r.status_code == 400 and "Cette offre est déjà : close" in r.text
    r = await web.get("/search?lat=95&lon=4", headers=fr)
    assert r.status_code == 400 and "Latitude : doit être entre -90 et 90" in r.text
    r = await web.get("/login", headers=fr)
    assert "Se connecter" in r.text and 'hreflang="en"' in r.text


# --- over real HTTP -----------------------------------------------------------------------------


async def test_over_http(tmp_path: Path) -> None:
    """A real `coopub serve` over plain http: the cookie is not Secure, and a member created with
    the CLI logs in, posts a ride and finds it."""
    instance = await Instance.create("web", tmp_path)
    try:
        await instance.coop("velos")
        await instance.member("alice", "velos")
        async with httpx.AsyncClient(base_url=instance.base_url, headers=HTML) as http:
            page = await http.get("/login")
            cookie = page.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
            r = await http.post(
                "/login",
                data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD},
            )
            assert r.status_code == 303
            r = await post_form(http, "/offers/new", ride_form())
            assert r.status_code == 303, r.text
            page = await http.get(r.headers["location"])
            assert page.status_code == 200 and "Lyon → Grenoble" in page.text
            found = await http.get("/search", params={"place": "Grenoble", "from": day(3)})
            assert "Lyon → Grenoble" in found.text
            # another client without the session cookie cannot post with a stolen token
            async with httpx.AsyncClient(base_url=instance.base_url) as other:
                r = await other.post(
                    "/offers/new", data={**ride_form(), "csrf_token": csrf_of(page.text)}
                )
                assert r.status_code == 403
        assert await instance.query("SELECT COUNT(*) FROM offer") == [(1,)]
    finally:
        await instance.stop()
