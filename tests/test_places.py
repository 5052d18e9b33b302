"""Places by name: the offline gazetteer, the offer form's confirmation step (no script), the
API's places given by name, search by any known place, and an external geocoder (Photon,
Nominatim, the BAN) answering over real HTTP on loopback in its own format."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import time
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from babel.messages.pofile import read_po

from activitypub.offers import distance_km
from federation.context import Federation
from federation.services import offers as service
from federation.services import places
from federation.services.geocoder import GeocoderSettings, geocode, lookup
from federation.services.places import DATA, find_places, gazetteer
from instance.app import create_app, settle
from instance.auth import create_token
from instance.config import ConfigError, parse_config
from instance.forms.layout import PLACE_HELP
from models.actors import LocalActor
from models.offers import Offer
from tests import offer_samples as samples
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig.remote import RemoteServer
from tests.test_web import (
    HTML,
    csrf_of,
    delivery_form,
    field_error,
    log_in,
    ride_form,
    set_password,
    stay_form,
)

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = FIXTURES / "geocoder-answers"
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
UNKNOWN = "Xyzzyville"
GRENOBLE = (45.1787, 5.7148)  # the gazetteer's Grenoble (GeoNames)
LYON = (45.7491, 4.8479)


def answer(name: str) -> Any:
    return json.loads((ANSWERS / name).read_text(encoding="utf-8"))


def near(lat: float | None, lon: float | None, place: tuple[float, float], km: float = 0.1) -> bool:
    assert lat is not None and lon is not None
    return distance_km(lat, lon, *place) < km


# --- the gazetteer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("Grenoble", "Grenoble (38)"),
        ("grenoble", "Grenoble (38)"),
        ("GRENOBLE ", "Grenoble (38)"),
        ("Saint-Étienne", "Saint-Étienne (42)"),
        ("saint etienne", "Saint-Étienne (42)"),
        ("St-Etienne", "Saint-Étienne (42)"),
        ("38000", "Grenoble (38)"),
        ("69003", "Lyon (69)"),
        ("Sainte-Foy-lès-Lyon", "Sainte-Foy-lès-Lyon (69)"),
        ("ste foy les lyon", "Sainte-Foy-lès-Lyon (69)"),
        ("Saint-Denis (93)", "Saint-Denis (93)"),
        ("Saint-Denis 974", "Saint-Denis (974)"),
        ("Paris, FR", "Paris (75)"),
        ("Genève", "Geneva, CH"),
        ("Londres", "London, GB"),
    ],
)
async def test_a_name_or_a_postcode_finds_its_place(typed: str, label: str) -> None:
    found = await find_places(typed)
    assert found.unique is not None, [p.label for p in found.places]
    assert found.unique.label == label


async def test_what_the_places_carry() -> None:
    [grenoble] = (await find_places("Grenoble")).places
    assert near(grenoble.latitude, grenoble.longitude, GRENOBLE)
    assert (grenoble.country, grenoble.area) == ("FR", "38")
    assert grenoble.postcodes == ("38000", "38100") and grenoble.population > 150_000
    assert not grenoble.approximate and grenoble.source == "gazetteer"
    # a village GeoNames does not list takes its post office town's position, flagged
    village = [p for p in (await find_places("Évry")).places if p.area == "89"]
    assert village and village[0].approximate


async def test_a_prefix_lists_the_most_populous_first() -> None:
    found = await find_places("greno")
    assert found.places[0].label == "Grenoble (38)" and found.exact == 0
    many = await find_places("saint-e")
    populations = [p.population for p in many.places]
    assert len(many.places) == 8 and populations == sorted(populations, reverse=True)
    assert many.unique is None


async def test_an_unknown_name_finds_nothing() -> None:
    for typed in (UNKNOWN, "", "   ", "zz", "99999"):
        found = await find_places(typed)
        assert found.places == [] and found.unique is None, typed


async def test_a_shared_name_is_ambiguous_and_a_longer_one_partial() -> None:
    paris = await find_places("Paris")
    assert [p.label for p in paris.places[:2]] == ["Paris (75)", "Paris, US"]
    assert paris.exact == 2 and paris.unique is None
    station = await find_places("Lyon Part-Dieu")
    assert station.partial and [p.label for p in station.places] == ["Lyon (69)"]
    assert station.unique is None  # found for "Lyon" only: the member must say


def test_the_data_file_is_compact_and_complete() -> None:
    assert DATA.stat().st_size < 2_000_000
    places = gazetteer().places
    french = [p for p in places if p.country == "FR"]
    assert len(french) > 34_000 and len(places) - len(french) > 30_000
    assert {p.area for p in french} >= {"01", "2A", "2B", "75", "971", "974", "976"}
    assert all(-90 <= p.latitude <= 90 and -180 <= p.longitude <= 180 for p in places)


# --- the offer form: names, a confirmation step, the offer ------------------------------------


class Form(HTMLParser):
    """What a browser sends for the page's offer form: every input, the checked radio buttons
    and checkboxes only, the selected options; and every radio button offered."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self.inputs: dict[str, dict[str, str]] = {}
        self.radios: dict[str, list[str]] = {}
        self._form = False
        self._select = ""
        self._textarea = ""
        self.feed(html)

    def _add(self, name: str, value: str) -> None:
        if name == "weekdays":
            self.data.setdefault(name, []).append(value)
        else:
            self.data[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "/offers/" in a.get("action", ""):
            self._form = True
        name = a.get("name", "")
        if not self._form or not (name or tag == "option"):
            return
        if tag == "input":
            self.inputs.setdefault(name, a)
            kind = a.get("type", "text")
            if kind == "radio":
                self.radios.setdefault(name, []).append(a.get("value", ""))
            if kind not in ("radio", "checkbox") or "checked" in a:
                self._add(name, a.get("value", ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = False
        elif tag == "textarea":
            self._textarea = ""

    def choices(self, prefix: str) -> list[str]:
        return self.radios.get(f"{prefix}_choice", [])


def names_only(form: dict[str, Any], *prefixes: str) -> dict[str, Any]:
    """The form with these places given by name alone."""
    return {**form, **{f"{p}_{c}": "" for p in prefixes for c in ("latitude", "longitude")}}


@pytest.fixture
async def web(client: httpx.AsyncClient, member: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    yield client


async def send(web: httpx.AsyncClient, url: str, data: dict[str, Any], **kw: Any) -> httpx.Response:
    token = csrf_of((await web.get("/my/offers")).text)
    return await web.post(url, data={**data, "csrf_token": token}, **kw)


async def test_names_only_bring_a_confirmation_step(web: httpx.AsyncClient) -> None:
    form = names_only(
        ride_form(origin_name="Lyon Part-Dieu", destination_name="38000"), "origin", "destination"
    )
    r = await send(web, "/offers/new", form)
    assert r.status_code == 200, r.text
    assert await Offer.all().count() == 0  # nothing published before the member confirms
    assert "Check the places found for the names you typed" in r.text
    assert "Which place do you mean?" in r.text  # 38000
    assert "No place has this whole name. Places named like its first words:" in r.text
    page = Form(r.text)
    assert page.choices("destination") == [f"{GRENOBLE[0]},{GRENOBLE[1]},Grenoble"]
    assert page.choices("origin") == [f"{LYON[0]},{LYON[1]},Lyon"]
    assert page.data["origin_latitude"] == str(LYON[0])  # filled in, still editable
    assert page.inputs["origin_latitude"]["type"] == "number"
    assert "required" not in page.inputs["origin_latitude"]
    assert page.data["origin_from_name"] == "Lyon Part-Dieu"  # hidden
    assert "Grenoble (38)" in r.text and "38000, 38100" in r.text
    assert page.data["via_latitude"] == "45.3640"  # typed coordinates are left alone
    assert "via_choice" not in page.data


async def test_the_confirmation_step_speaks_french(web: httpx.AsyncClient) -> None:
    form = names_only(ride_form(destination_name="Évry"), "destination")
    r = await send(web, "/offers/new", form, headers=FR)
    assert r.status_code == 200 and r.headers["content-language"] == "fr"
    assert "Vérifiez les lieux trouvés pour les noms saisis" in r.text
    assert "De quel lieu s’agit-il ?" in r.text
    assert "Évry-Courcouronnes (91)" in r.text and "position approximative" in r.text
    r = await send(
        web, "/offers/new", names_only(ride_form(origin_name=UNKNOWN), "origin"), headers=FR
    )
    assert r.status_code == 422
    assert field_error(r.text, "origin_name") == (
        "aucun lieu de ce nom n’est connu : donnez la latitude et la longitude"
    )


async def test_post_a_ride_typing_only_place_names(web: httpx.AsyncClient) -> None:
    typed = ride_form(origin_name="lyon", destination_name="38000", via_name="Voiron")
    r = await send(web, "/offers/new", names_only(typed, "origin", "destination", "via"))
    assert r.status_code == 200, r.text
    confirmed = await web.post("/offers/new", data=Form(r.text).data)  # as the page stands
    assert confirmed.status_code == 303, confirmed.text
    offer = await Offer.get(local_uuid=confirmed.headers["location"].rsplit("/", 1)[1])
    assert (offer.place_name, offer.dest_name) == ("Lyon", "Grenoble")  # as found
    assert near(offer.latitude, offer.longitude, LYON)
    assert near(offer.dest_latitude, offer.dest_longitude, GRENOBLE)
    [via] = offer.details["waypoints"]
    assert via["name"] == "Voiron" and near(via["latitude"], via["longitude"], (45.3647, 5.5856))
    page = await web.get(confirmed.headers["location"])
    assert "Lyon" in page.text and "Grenoble" in page.text


@pytest.mark.parametrize("kind", ["delivery_job", "stay"])
async def test_every_place_field_takes_a_name(web: httpx.AsyncClient, kind: str) -> None:
    if kind == "stay":
        prefixes, form = ("location",), stay_form(location_name="Die")
    else:
        prefixes = ("pickup", "dropoff")
        form = delivery_form(pickup_name="Nantes", dropoff_name="Rezé")
    r = await send(web, "/offers/new", names_only(form, *prefixes))
    assert r.status_code == 200, r.text
    page = Form(r.text)
    assert all(page.data[f"{prefix}_choice"] for prefix in prefixes)
    confirmed = await web.post("/offers/new", data=page.data)
    assert confirmed.status_code == 303, confirmed.text
    offer = await Offer.get(local_uuid=confirmed.headers["location"].rsplit("/", 1)[1])
    if kind == "stay":  # published 100 to 500 m off the place found
        assert near(offer.latitude, offer.longitude, (44.7536, 5.3703), km=0.7)
        assert offer.private["address"] == form["location_address"]
    else:
        assert (offer.place_name, offer.dest_name) == ("Nantes", "Rezé")
        assert near(offer.latitude, offer.longitude, (47.2172, -1.5534), km=1)


async def test_the_member_chooses_or_types_over(web: httpx.AsyncClient) -> None:
    form = names_only(ride_form(destination_name="Saint-Denis"), "destination")
    r = await send(web, "/offers/new", form)
    page = Form(r.text)
    ninety_three = [c for c in page.choices("destination") if "48.93" in c]
    assert len(page.choices("destination")) >= 2 and ninety_three
    data = {**page.data, "destination_choice": ninety_three[0]}
    data |= {"origin_latitude": "45.7600", "origin_longitude": "4.8600"}  # typed by hand
    confirmed = await web.post("/offers/new", data=data)
    assert confirmed.status_code == 303, confirmed.text
    offer = await Offer.get(local_uuid=confirmed.headers["location"].rsplit("/", 1)[1])
    assert near(offer.dest_latitude, offer.dest_longitude, (48.9356, 2.3539))
    assert offer.dest_name == "Saint-Denis"
    assert (offer.latitude, offer.longitude) == (45.76, 4.86)
    # coordinates typed over the ones the page filled in are the member's
    r = await send(web, "/offers/new", names_only(ride_form(), "destination"))
    data = {**Form(r.text).data, "destination_latitude": "45.2", "destination_longitude": "5.7"}
    confirmed = await web.post("/offers/new", data=data)
    offer = await Offer.get(local_uuid=confirmed.headers["location"].rsplit("/", 1)[1])
    assert (offer.dest_latitude, offer.dest_longitude) == (45.2, 5.7)


async def test_an_unknown_name_is_shown_at_its_field(web: httpx.AsyncClient) -> None:
    form = names_only(ride_form(origin_name=UNKNOWN, title=""), "origin")
    r = await send(web, "/offers/new", form)
    assert r.status_code == 422
    message = "no place of that name is known: give latitude and longitude"
    assert field_error(r.text, "origin_name") == message
    assert field_error(r.text, "origin_latitude") is None  # not also "required"
    assert field_error(r.text, "title") == "required"  # the other problems too
    assert await Offer.all().count() == 0


async def test_editing_a_name_looks_it_up_again(web: httpx.AsyncClient) -> None:
    created = await send(web, "/offers/new", ride_form())
    path = created.headers["location"]
    edit = Form((await web.get(f"{path}/edit")).text)
    assert edit.data["destination_from_name"] == "Grenoble"  # hidden: found for that name
    r = await web.post(f"{path}/edit", data={**edit.data, "destination_name": "Chambéry"})
    assert r.status_code == 200 and "Which place do you mean?" in r.text
    assert "Chambéry (73)" in r.text
    saved = await web.post(f"{path}/edit", data=Form(r.text).data)
    assert saved.status_code == 303 and saved.headers["location"] == path
    offer = await Offer.get(local_uuid=path.rsplit("/", 1)[1])
    assert offer.dest_name == "Chambéry"
    assert near(offer.dest_latitude, offer.dest_longitude, (45.5646, 5.9178), km=1)
    # an edit that changes no place goes straight through
    edit = Form((await web.get(f"{path}/edit")).text)
    r = await web.post(f"{path}/edit", data={**edit.data, "title": "Lyon → Chambéry"})
    assert r.status_code == 303


# --- the API ----------------------------------------------------------------------------------


async def test_api_places_by_name(client: httpx.AsyncClient, member: LocalActor) -> None:
    auth = {"Authorization": f"Bearer {await create_token(member)}"}
    body = samples.ride()
    body["ride"]["origin"] = {"name": "lyon", "address": samples.RIDE_MEETING_ADDRESS}
    body["ride"]["destination"] = {"name": "38000"}
    body["ride"]["waypoints"] = [{"name": "Voiron"}]
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 201, r.text
    ride = r.json()["ride"]
    origin, destination = ride["origin"], ride["destination"]
    assert origin["name"] == "Lyon" and near(origin["latitude"], origin["longitude"], LYON)
    assert origin["address"] == samples.RIDE_MEETING_ADDRESS
    assert destination["name"] == "Grenoble"
    assert near(destination["latitude"], destination["longitude"], GRENOBLE)
    assert ride["waypoints"][0]["name"] == "Voiron"
    # a name shared by several places, and an unknown one: 422, the candidates to choose from
    body["ride"]["origin"] = {"name": "Paris"}
    body["ride"]["destination"] = {"name": UNKNOWN}
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 422
    problems = {p["field"]: p for p in r.json()["errors"]}
    assert problems["ride.destination.name"]["code"] == "unknown_place"
    ambiguous = problems["ride.origin.name"]
    assert ambiguous["code"] == "ambiguous_place"
    labels = [c["label"] for c in ambiguous["candidates"]]
    assert labels[:2] == ["Paris (75)", "Paris, US"]
    assert {"name", "latitude", "longitude", "postcodes"} <= set(ambiguous["candidates"][0])
    body["ride"]["origin"] = {"name": "Paris (75)"}
    body["ride"]["destination"] = {"name": "Lyon", "latitude": 45.7, "longitude": 4.8}
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 201 and r.json()["ride"]["destination"]["latitude"] == 45.7


# --- search -----------------------------------------------------------------------------------


async def test_search_by_a_place_no_offer_mentions(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    await service.create_offer(fed, member, samples.ride())  # Lyon → Grenoble, via Voiron
    await service.create_offer(fed, member, samples.stay())  # Die
    assert await Offer.filter(place_name="Échirolles").count() == 0
    r = await client.get("/search?place=Échirolles&radius_km=10", headers=HTML)
    assert r.status_code == 200 and r.text.count('class="result"') == 1
    assert "Lyon → Grenoble" in r.text
    found = (await client.get("/api/v1/offers?place=26150&radius_km=5")).json()
    assert [o["kind"] for o in found["items"]] == ["stay"]
    found = (await client.get("/api/v1/offers?place=saint etienne&radius_km=30")).json()
    assert found["items"] == []  # known, and nothing near
    unknown = await client.get(f"/api/v1/offers?place={UNKNOWN}")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "unknown_place"
    r = await client.get(f"/search?place={UNKNOWN}", headers={**HTML, **FR})
    assert "aucun lieu de ce nom n’est connu" in r.text


async def test_a_name_only_offers_use_is_still_found(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    ride = samples.ride()
    ride["ride"]["origin"]["name"] = "Parking du Zénith Xyz"
    await service.create_offer(fed, member, ride)
    found = (await client.get("/api/v1/offers?place=Parking du Zénith Xyz&radius_km=1")).json()
    assert len(found["items"]) == 1


# --- an external geocoder, over real HTTP on loopback -------------------------------------------


def _query(remote: RemoteServer, path: str) -> dict[str, list[str]]:
    [request] = remote.requests_to(path)
    return parse_qs(urlsplit(request.url).query)


async def test_photon(remote: RemoteServer) -> None:
    remote.serve_json("/api", answer("photon-lyon-part-dieu.json"), "application/json")
    settings = GeocoderSettings(provider="photon", url=remote.base_url)
    places = await geocode(settings, "Lyon Part-Dieu", user_agent="coopub-test", language="fr")
    assert [p.name for p in places] == ["Lyon Part-Dieu", "Westfield La Part-Dieu"]
    station = places[0]
    assert (station.latitude, station.longitude) == (45.760616, 4.85933)
    assert (station.country, station.postcodes, station.source) == ("FR", ("69003",), "photon")
    assert "Place Charles Béraudier" in station.detail
    query = _query(remote, "/api")
    assert query["q"] == ["Lyon Part-Dieu"] and query["lang"] == ["fr"] and query["limit"] == ["5"]
    assert remote.requests_to("/api")[0].headers["user-agent"] == "coopub-test"


async def test_nominatim(remote: RemoteServer) -> None:
    remote.serve_json("/search", answer("nominatim-gare-de-grenoble.json"), "application/json")
    settings = GeocoderSettings(
        provider="nominatim", url=remote.base_url, user_agent="coopub tests (admin@coop.test)"
    )
    [station] = await geocode(settings, "Gare de Grenoble", user_agent="ignored")
    assert station.name == "Gare de Grenoble" and station.country == "FR"
    assert station.postcodes == ("38000",) and station.source == "nominatim"
    assert near(station.latitude, station.longitude, (45.1914, 5.7146))
    query = _query(remote, "/search")
    assert query["format"] == ["json"] and query["addressdetails"] == ["1"]
    headers = remote.requests_to("/search")[0].headers
    assert headers["user-agent"] == "coopub tests (admin@coop.test)"


async def test_ban(remote: RemoteServer) -> None:
    remote.serve_json("/search", answer("ban-place-bellecour.json"), "application/json")
    settings = GeocoderSettings(provider="ban", url=remote.base_url + "/")
    [square] = await geocode(settings, "Place Bellecour Lyon", user_agent="coopub-test")
    assert (square.name, square.area, square.country) == ("Place Bellecour", "69", "FR")
    assert square.label == "Place Bellecour (69)" and square.detail == "Place Bellecour 69002 Lyon"
    assert _query(remote, "/search")["q"] == ["Place Bellecour Lyon"]


async def test_a_failing_geocoder_leaves_the_gazetteer(remote: RemoteServer) -> None:
    settings = GeocoderSettings(provider="photon", url=remote.base_url, timeout_seconds=0.5)
    remote.serve_json("/api", {"error": "down"}, "application/json", status=500)
    assert await geocode(settings, "Grenoble", user_agent="t") == []
    remote.serve_json("/api", {"features": [{"geometry": {}}]}, "application/json")
    assert await geocode(settings, "Grenoble", user_agent="t") == []  # malformed
    remote.serve_json("/api", [1, 2], "application/json")
    assert await geocode(settings, "Grenoble", user_agent="t") == []
    found = await lookup("Grenoble", settings, user_agent="t")
    assert found.unique is not None and found.unique.label == "Grenoble (38)"
    async with RemoteServer(delay=3.0) as slow:
        slow.serve_json("/api", answer("photon-lyon-part-dieu.json"), "application/json")
        late = GeocoderSettings(provider="photon", url=slow.base_url, timeout_seconds=0.5)
        started = time.monotonic()
        found = await lookup("Lyon Part-Dieu", late, user_agent="t")
        assert time.monotonic() - started < 2.5
    assert [p.label for p in found.places] == ["Lyon (69)"]  # the gazetteer's answer
    assert await geocode(GeocoderSettings(), "Grenoble", user_agent="t") == []  # off


@contextlib.asynccontextmanager
async def app_with_geocoder(
    fed: Federation, database_url: str, geocoder: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "geocoder": geocoder,
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{TEST_DOMAIN}", headers=HTML
    ) as c:
        yield c


async def test_the_form_offers_what_the_geocoder_finds(
    fed: Federation, database_url: str, member: LocalActor, remote: RemoteServer
) -> None:
    remote.serve_json("/api", answer("photon-lyon-part-dieu.json"), "application/json")
    await set_password(member)
    geocoder = {"provider": "photon", "url": remote.base_url}
    async with app_with_geocoder(fed, database_url, geocoder) as web:
        await log_in(web)
        form = names_only(ride_form(origin_name="Lyon Part-Dieu"), "origin")
        r = await send(web, "/offers/new", form, headers=FR)
        assert r.status_code == 200, r.text
        page = Form(r.text)
        choices = page.choices("origin")
        assert choices[0] == "45.760616,4.85933,Lyon Part-Dieu"  # the station first
        assert f"{LYON[0]},{LYON[1]},Lyon" in choices  # and the gazetteer's town
        assert "Place Charles Béraudier" in r.text
        assert _query(remote, "/api")["lang"] == ["fr"]
        confirmed = await web.post("/offers/new", data=page.data)
        assert confirmed.status_code == 303, confirmed.text
    offer = await Offer.get(local_uuid=confirmed.headers["location"].rsplit("/", 1)[1])
    assert offer.place_name == "Lyon Part-Dieu"
    assert (offer.latitude, offer.longitude) == (45.760616, 4.85933)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"provider": "google"}, "[geocoder] provider"),
        ({"provider": "photon", "url": "ftp://photon.example"}, "[geocoder] url"),
        ({"timeout_seconds": 0}, "[geocoder] timeout_seconds"),
    ],
)
def test_geocoder_settings_are_checked(setting: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_config({"instance": {"domain": TEST_DOMAIN, "secret_key": "s"}, "geocoder": setting})


def test_every_string_of_the_place_pages_is_in_the_catalogue() -> None:
    """The form's confirmation step, its help and the search field, in French."""
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="fr") if m.id and m.string}
    used = {PLACE_HELP}
    for name in ("offer_form", "_area_fields"):
        source = (ROOT / "templates" / f"{name}.html").read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        used |= set(re.findall(r'help="([^"]+)"', source))
    assert sorted(used - known) == []


async def test_settle_reads_the_gazetteer_then_hides_it_from_the_collector() -> None:
    """The web process's start-up (``instance.app.settle``): the gazetteer read, then every
    object alive frozen, so that a full collection no longer walks its 250,000 objects."""
    gc.unfreeze()
    try:
        await settle()
        assert places._loaded is not None
        assert gc.get_freeze_count() > 200_000  # none before: the gazetteer's among them
    finally:
        gc.unfreeze()
