"""The dispatch board on one instance: which jobs a coop sees (local and received, open, claimed,
assigned, in progress, lately finished), whose claims it sees, the order (time window, then
id), the filters (area, vehicle) and pages, a refused filter; the page (assigning from it, a
remote job claimed from here, in French too) and the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po

from activitypub.bookings_errors import BookingForbidden
from activitypub.bookings_input import BookingAsk
from activitypub.urls import path_for
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings import request_booking
from federation.services.bookings_lifecycle import report_progress
from federation.services.dispatch import (
    BoardStatus,
    assign,
    dispatch_board,
    parse_dispatch,
)
from federation.services.offers import create_offer
from federation.services.search import InvalidSearch
from instance.auth import create_token
from instance.routes.dispatch import BOARD_STATUS_LABELS, CLAIM_LABELS
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.bookings import Booking, BookingState, Progress
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples
from tests.rig import peers
from tests.rig.canned import remote_actor
from tests.rig.peers import remote_offer
from tests.test_web import HTML, csrf_of, log_in, set_password

ROOT = Path(__file__).resolve().parent.parent
NANTES = {
    "name": "Épicerie La Cagette",
    "address": "12 rue Sully, Nantes",
    "latitude": 47.2184,
    "longitude": -1.5536,
}
CHANTENAY = {
    "name": "Chantenay",
    "address": "3 rue de la Convention, Nantes",
    "latitude": 47.2010,
    "longitude": -1.5950,
}
LYON = {
    "name": "Croix-Rousse",
    "address": "5 place Joannès Ambre",
    "latitude": 45.7745,
    "longitude": 4.8320,
}
GUILLOTIERE = {"name": "Guillotière", "latitude": 45.7540, "longitude": 4.8430}
ADDRESSES = ("12 rue Sully", "3 rue de la Convention", "5 place Joannès Ambre")


def _at(days: int, hour: int) -> datetime:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment + timedelta(days=days)


def job(
    title: str,
    day: int,
    hour: int,
    vehicle: str | None,
    pickup: dict[str, Any] = NANTES,
    dropoff: dict[str, Any] = CHANTENAY,
) -> dict[str, Any]:
    body = samples.delivery_job(
        title=title,
        starts_at=_at(day, hour).isoformat(),
        ends_at=_at(day, hour + 2).isoformat(),
    )
    body["delivery"].update(pickup=dict(pickup), dropoff=dict(dropoff), vehicle=vehicle)
    return body


sent = peers.sent
"""Every request recorded offline (tests/rig/peers.py), for each test."""


class Cast:
    """Velos (alice posts jobs, bob rides), Roues (carol rides, dave posts), Zoé elsewhere."""

    def __init__(self, velos: LocalActor, alice: LocalActor) -> None:
        self.velos, self.alice = velos, alice

    async def setup(self) -> Cast:
        self.bob = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=self.velos)
        self.roues = await create_actor(ActorKind.COOP, "roues", name="Roues")
        self.carol = await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=self.roues)
        self.dave = await create_actor(ActorKind.MEMBER, "dave", name="Dave", coop=self.roues)
        for person in (self.alice, self.bob, self.carol, self.dave):
            await set_password(person)
        self.zoe, _ = await remote_actor("zoe", "remote.example")
        return self


@pytest.fixture
async def cast(coop: LocalActor, member: LocalActor) -> Cast:
    return await Cast(coop, member).setup()


@pytest.fixture
async def jobs(fed: Federation, cast: Cast) -> dict[str, Offer]:
    """Four jobs on the board, and what is not on it."""
    found = {
        "veg": await create_offer(fed, cast.alice, job("Légumes", 2, 10, "cargo_bike")),
        "bread": await create_offer(fed, cast.alice, job("Pain", 1, 9, "bike")),
        "sofa": await create_offer(fed, cast.dave, job("Canapé", 3, 8, "van", LYON, GUILLOTIERE)),
        # the same time window as "veg": after it, by id
        "books": await remote_offer(cast.zoe, job("Livres", 2, 10, "bike")),
    }
    await create_offer(fed, cast.alice, samples.ride())
    availability = job("Coursière dispo", 1, 8, "bike")
    availability["purpose"] = "offer"
    await create_offer(fed, cast.bob, availability)
    closed = await create_offer(fed, cast.alice, job("Fermée", 1, 8, None))
    await Offer.filter(id=closed.id).update(status=OfferStatus.CLOSED)
    return found


def titles(board: Any) -> list[str]:
    return [j.offer.title for j in board.jobs]


async def board_of(coop: LocalActor, **query: str) -> Any:
    return await dispatch_board(coop, parse_dispatch(query))


# --- the service ------------------------------------------------------------------------------


async def test_every_job_by_time_window_then_id(cast: Cast, jobs: dict[str, Offer]) -> None:
    for coop in (cast.velos, cast.roues):  # the same jobs on every coop's board
        board = await board_of(coop)
        assert titles(board) == ["Pain", "Légumes", "Livres", "Canapé"]
        assert [j.status for j in board.jobs] == [BoardStatus.OPEN] * 4
    assert jobs["veg"].starts_at == jobs["books"].starts_at
    assert jobs["veg"].id < jobs["books"].id
    velos = await board_of(cast.velos)
    assert [j.ours for j in velos.jobs] == [True, True, False, False]
    assert [j.offer.is_local for j in velos.jobs] == [True, True, False, True]


async def test_which_finished_and_stale_jobs_stay(
    fed: Federation, cast: Cast, jobs: dict[str, Offer]
) -> None:
    now = datetime.now(UTC)
    old = {"starts_at": now - timedelta(days=3), "ends_at": now - timedelta(days=3)}
    recent = {"starts_at": now - timedelta(hours=5), "ends_at": now - timedelta(hours=3)}
    await Offer.filter(id=jobs["bread"].id).update(status=OfferStatus.DELIVERED, **old)
    await Offer.filter(id=jobs["veg"].id).update(status=OfferStatus.FAILED, **recent)
    await Offer.filter(id=jobs["sofa"].id).update(status=OfferStatus.ASSIGNED, **old)
    await Offer.filter(id=jobs["books"].id).update(expires_at=now - timedelta(minutes=1))
    board = await board_of(cast.velos)
    # the job still in someone's hands stays whatever its date; a failure stays for a day
    assert titles(board) == ["Canapé", "Légumes"]
    assert [j.status for j in board.jobs] == [BoardStatus.ASSIGNED, BoardStatus.FAILED]


async def test_claims_and_holders_each_coop_sees(
    fed: Federation, cast: Cast, jobs: dict[str, Offer]
) -> None:
    bobs = await request_booking(fed, cast.bob, jobs["veg"], BookingAsk(message="Je prends"))
    carols = await request_booking(fed, cast.carol, jobs["veg"], BookingAsk())
    await request_booking(fed, cast.carol, jobs["sofa"], BookingAsk())
    on_remote = await request_booking(fed, cast.bob, jobs["books"], BookingAsk())
    assert on_remote.state == BookingState.REQUESTED  # asked of Zoé's instance

    velos = {j.offer.title: j for j in (await board_of(cast.velos)).jobs}
    veg = velos["Légumes"]
    assert veg.status == BoardStatus.CLAIMED and veg.holder is None
    assert [c.booker_name for c in veg.claims] == ["Bob", "Carol"]  # our job: every claim
    assert velos["Livres"].status == BoardStatus.CLAIMED  # our courier's claim, remote job
    assert [c.id for c in velos["Livres"].claims] == [on_remote.id]
    assert velos["Canapé"].claims == [] and velos["Canapé"].status == BoardStatus.OPEN
    assert [veg.may_assign(c, cast.alice) for c in veg.claims] == [True, True]
    assert not any(veg.may_assign(c, cast.bob) for c in veg.claims)

    roues = {j.offer.title: j for j in (await board_of(cast.roues)).jobs}
    assert [c.booker_name for c in roues["Légumes"].claims] == ["Carol"]  # its courier's
    assert [c.booker_name for c in roues["Canapé"].claims] == ["Carol"]
    assert roues["Livres"].claims == [] and roues["Livres"].status == BoardStatus.OPEN

    # only the author assigns; then the job is held, the other claim declined
    with pytest.raises(BookingForbidden):
        await assign(fed, cast.bob, bobs.local_uuid)
    await assign(fed, cast.alice, bobs.local_uuid)
    velos = {j.offer.title: j for j in (await board_of(cast.velos)).jobs}
    veg = velos["Légumes"]
    assert veg.status == BoardStatus.ASSIGNED
    assert veg.holder is not None and veg.holder.id == bobs.id
    assert [(c.booker_name, c.state) for c in veg.claims] == [
        ("Bob", BookingState.ACCEPTED),
        ("Carol", BookingState.DECLINED),
    ]
    assert not any(veg.may_assign(c, cast.alice) for c in veg.claims)
    roues = {j.offer.title: j for j in (await board_of(cast.roues)).jobs}
    assert roues["Légumes"].status == BoardStatus.ASSIGNED
    assert roues["Légumes"].holder is None  # Bob is not theirs, nor the job
    assert [c.state for c in roues["Légumes"].claims] == [BookingState.DECLINED]
    assert (await Booking.get(id=carols.id)).state == BookingState.DECLINED

    await report_progress(fed, cast.bob, await Booking.get(id=bobs.id), Progress.PICKED_UP)
    veg = next(j for j in (await board_of(cast.velos)).jobs if j.offer.title == "Légumes")
    assert veg.status == BoardStatus.PICKED_UP
    assert veg.holder is not None and veg.holder.progress == Progress.PICKED_UP


async def test_our_couriers_report_ahead_of_the_remote_copy(
    fed: Federation, cast: Cast, jobs: dict[str, Offer]
) -> None:
    """Bob holds Zoé's job: his report shows before her instance's Update reaches our copy."""
    claim = await request_booking(fed, cast.bob, jobs["books"], BookingAsk())
    await Booking.filter(id=claim.id).update(
        state=BookingState.ACCEPTED, progress=Progress.PICKED_UP
    )
    books = next(j for j in (await board_of(cast.velos)).jobs if j.offer.title == "Livres")
    assert books.offer.status == OfferStatus.OPEN
    assert books.status == BoardStatus.PICKED_UP and books.holder is not None


async def test_filters_and_pages(cast: Cast, jobs: dict[str, Offer]) -> None:
    assert titles(await board_of(cast.velos, vehicle="bike")) == ["Pain", "Livres"]
    assert titles(await board_of(cast.velos, vehicle="van")) == ["Canapé"]
    lyon = await board_of(cast.velos, lat="45.76", lon="4.84", radius_km="5")
    assert titles(lyon) == ["Canapé"]
    by_name = await board_of(cast.velos, place="Épicerie La Cagette", radius_km="10")
    assert titles(by_name) == ["Pain", "Légumes", "Livres"]
    nantes_bikes = await board_of(cast.velos, place="Chantenay", radius_km="10", vehicle="bike")
    assert titles(nantes_bikes) == ["Pain", "Livres"]
    assert titles(await board_of(cast.velos, limit="2")) == ["Pain", "Légumes"]
    assert titles(await board_of(cast.velos, limit="2", offset="2")) == ["Livres", "Canapé"]
    assert titles(await board_of(cast.velos, limit="1", offset="1", vehicle="bike")) == ["Livres"]
    assert titles(await board_of(cast.velos, vehicle="bike", offset="2")) == []


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"vehicle": "rocket"}, "vehicle", "not_a_choice"),
        ({"lat": "95", "lon": "4"}, "lat", "too_large"),
        ({"lat": "45"}, "lon", "required"),
        ({"radius_km": "0", "lat": "45", "lon": "4"}, "radius_km", "not_positive"),
        ({"limit": "-1"}, "limit", "not_an_integer"),
    ],
)
def test_a_bad_filter_is_refused(query: dict[str, str], field: str, code: str) -> None:
    with pytest.raises(InvalidSearch) as refused:
        parse_dispatch(query)
    assert (refused.value.problem.field, refused.value.problem.code) == (field, code)


async def test_an_unknown_place_is_refused(cast: Cast, jobs: dict[str, Offer]) -> None:
    with pytest.raises(InvalidSearch) as refused:
        await board_of(cast.velos, place="Xyzzyville")  # Atlantis (ZA) is in the gazetteer
    assert refused.value.problem.code == "unknown_place"


# --- the page ---------------------------------------------------------------------------------


def job_titles(html: str) -> list[str]:
    return re.findall(r'<li class="job"[^>]*>\s*<a href="[^"]+"><strong>([^<]+)<', html)


def assign_forms(html: str) -> list[str]:
    return re.findall(r'name="claim" value="([^"]+)"', html)


async def test_the_page_assigns_from_the_board(
    client: httpx.AsyncClient, fed: Federation, cast: Cast, jobs: dict[str, Offer]
) -> None:
    client.headers.update(HTML)
    r = await client.get("/coops/velos/dispatch")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/coops/velos/dispatch"
    bobs = await request_booking(fed, cast.bob, jobs["veg"], BookingAsk())
    carols = await request_booking(fed, cast.carol, jobs["veg"], BookingAsk())

    await log_in(client, "bob")
    r = await client.get("/dispatch")
    assert r.status_code == 303 and r.headers["location"] == "/coops/velos/dispatch"
    page = await client.get("/coops/velos/dispatch")
    assert page.status_code == 200
    assert job_titles(page.text) == ["Pain", "Légumes", "Livres", "Canapé"]
    assert 'href="/dispatch"' in page.text  # the navigation's link
    assert assign_forms(page.text) == []  # not his job
    assert (await client.get("/coops/roues/dispatch")).status_code == 404

    await log_in(client, "alice")
    page = await client.get("/coops/velos/dispatch?vehicle=cargo_bike")
    assert job_titles(page.text) == ["Légumes"]
    assert 'data-status="claimed"' in page.text
    assert assign_forms(page.text) == [bobs.local_uuid, carols.local_uuid]
    back = "/coops/velos/dispatch?vehicle=cargo_bike"
    form = {"csrf_token": csrf_of(page.text), "claim": bobs.local_uuid, "next": back}
    refused = await client.post("/coops/velos/dispatch/assign", data={**form, "csrf_token": "x"})
    assert refused.status_code == 403
    assert (await Booking.get(id=bobs.id)).state == BookingState.REQUESTED
    r = await client.post(
        "/coops/velos/dispatch/assign", data={**form, "contact": "06 11 22 33 44"}
    )
    assert r.status_code == 303 and r.headers["location"] == back
    page = await client.get(back)
    assert "The job is assigned to Bob." in page.text
    assert 'data-status="assigned"' in page.text and "Held by" in page.text
    assert assign_forms(page.text) == []
    held = await Booking.get(id=bobs.id)
    assert held.state == BookingState.ACCEPTED
    assert held.private["contact"] == "06 11 22 33 44"
    assert held.private["pickup_address"].endswith("12 rue Sully, Nantes")
    # a second assignment is refused, with its reason, and changes nothing
    r = await client.post("/coops/velos/dispatch/assign", data={**form, "claim": carols.local_uuid})
    assert r.status_code == 409 and "it no longer awaits an answer" in r.text
    assert (await Booking.get(id=carols.id)).state == BookingState.DECLINED
    for text in ADDRESSES:  # the board never shows an exact address
        assert text not in page.text

    await log_in(client, "dave")  # another coop, not the author: no such claim for him
    token = csrf_of((await client.get("/coops/roues/dispatch")).text)
    r = await client.post(
        "/coops/roues/dispatch/assign", data={"csrf_token": token, "claim": carols.local_uuid}
    )
    assert r.status_code == 404


def ask_here(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" class="ask-here">', html)


async def test_a_remote_job_is_claimed_from_here(
    client: httpx.AsyncClient, cast: Cast, jobs: dict[str, Offer]
) -> None:
    """A job received from another instance links to its origin's page and to our copy's page,
    where a courier here offers to take it: the claim goes to the author's instance alone."""
    client.headers.update(HTML)
    books = jobs["books"]
    here = path_for("new_booking", query={"offer": books.ap_id})
    origin = f'<a href="{books.ap_id}" rel="nofollow" class="origin">'
    await log_in(client, "bob")
    page = await client.get("/coops/velos/dispatch")
    assert ask_here(page.text) == [here]  # the remote job only: ours are claimed on their page
    assert page.text.count('class="origin"') == 1
    assert f"{origin}Its page on remote.example</a>" in page.text

    form = await client.get(here)
    assert form.status_code == 200 and 'id="ask-form"' in form.text
    assert "Offer to take this job" in form.text
    data = {"csrf_token": csrf_of(form.text), "offer": books.ap_id, "message": "Je passe à 10 h"}
    r = await client.post("/bookings/new", data=data)
    assert r.status_code == 303, r.text
    claim = await Booking.get(local_uuid=r.headers["location"].rsplit("/", 1)[1])
    assert (claim.state, claim.offer_id, claim.author_uri) == (
        BookingState.REQUESTED,
        books.id,
        cast.zoe.ap_id,
    )
    offers = await Activity.filter(type="Offer").values_list("payload", flat=True)
    assert [a["to"] for a in offers] == [[cast.zoe.ap_id]]  # type: ignore[index]

    page = await client.get("/coops/velos/dispatch")
    item = re.search(
        rf'<li class="job" data-job="{re.escape(books.ap_id)}" data-status="(\w+)">(.*?)</li>',
        page.text,
        re.S,
    )
    assert item is not None and item.group(1) == "claimed"
    assert re.findall(
        r'<tr class="claim" data-state="(\w+)">\s*<td>([^<]+)</td>', item.group(2)
    ) == [("requested", "Bob (our coop)")]
    assert ask_here(page.text) == [here]  # still open: a colleague may claim it too
    fr = await client.get("/coops/velos/dispatch", headers={"Accept-Language": "fr"})
    assert f"{origin}Sa page sur remote.example</a>" in fr.text
    assert "Proposer de la faire d’ici</a>" in fr.text

    # once Zoé's instance says the job is assigned, nobody claims it from here any more
    await Offer.filter(id=books.id).update(status=OfferStatus.ASSIGNED)
    page = await client.get("/coops/velos/dispatch")
    assert ask_here(page.text) == [] and origin in page.text


async def test_the_page_refuses_a_bad_filter_in_french(
    client: httpx.AsyncClient, cast: Cast, jobs: dict[str, Offer]
) -> None:
    client.headers.update(HTML)
    await log_in(client, "carol")
    fr = {"Accept-Language": "fr"}
    page = await client.get("/coops/roues/dispatch", headers=fr)
    assert page.status_code == 200 and "Tableau de dispatch" in page.text
    assert "Filtrer le tableau" in page.text and "Publiée par" in page.text
    r = await client.get("/coops/roues/dispatch?vehicle=rocket", headers=fr)
    assert r.status_code == 400
    assert "Véhicule nécessaire : doit être l’un de : bike, cargo_bike, van" in r.text
    assert 'id="dispatch-form"' in r.text and job_titles(r.text) == []
    r = await client.get("/coops/roues/dispatch?vehicle=rocket")
    assert (
        r.status_code == 400 and "Vehicle needed: must be one of: bike, cargo_bike, van" in r.text
    )


def test_every_string_of_the_board_is_in_the_catalogue() -> None:
    """Each text of the board's page and of its module has its French entry."""
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="fr") if m.id and m.string}
    source = (ROOT / "templates" / "dispatch.html").read_text()
    used = set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
    used |= set(BOARD_STATUS_LABELS.values()) | set(CLAIM_LABELS.values())
    used |= {"The job is assigned to %(courier)s."}
    assert len(used) > 30 and sorted(used - known) == []


# --- the JSON API -----------------------------------------------------------------------------


async def test_the_api_shows_the_board_of_ones_coop(
    client: httpx.AsyncClient, fed: Federation, cast: Cast, jobs: dict[str, Offer]
) -> None:
    alice = {"Authorization": f"Bearer {await create_token(cast.alice)}"}
    carol = {"Authorization": f"Bearer {await create_token(cast.carol)}"}
    bobs = await request_booking(fed, cast.bob, jobs["veg"], BookingAsk())
    await request_booking(fed, cast.carol, jobs["veg"], BookingAsk())

    r = await client.get("/api/v1/dispatch", headers=alice)
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["coop"] == {"id": "https://coop.test/c/velos", "name": "Vélos"}
    assert (board["count"], board["offset"], board["limit"]) == (4, 0, 50)
    assert [j["title"] for j in board["items"]] == ["Pain", "Légumes", "Livres", "Canapé"]
    veg = board["items"][1]
    assert (veg["status"], veg["offer_status"], veg["vehicle"]) == (
        "claimed",
        "open",
        "cargo_bike",
    )
    assert veg["pickup"] == {
        "name": "Épicerie La Cagette",
        "latitude": 47.2184,
        "longitude": -1.5536,
    }
    assert [(c["courier"]["name"], c["ours"], c["may_assign"]) for c in veg["claims"]] == [
        ("Bob", True, True),
        ("Carol", False, True),
    ]
    assert veg["claims"][0]["id"] == bobs.local_uuid  # to accept with /api/v1/bookings/{id}
    assert board["items"][2]["local"] is False and board["items"][2]["instance"] == "remote.example"
    for text in ADDRESSES:
        assert text not in r.text

    r = await client.post(f"/api/v1/bookings/{bobs.local_uuid}/accept", headers=alice)
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/dispatch?vehicle=cargo_bike", headers=carol)
    [veg] = r.json()["items"]
    assert veg["status"] == "assigned" and veg["holder"] is None
    assert [(c["courier"]["name"], c["state"]) for c in veg["claims"]] == [("Carol", "declined")]
    r = await client.get("/api/v1/dispatch?vehicle=cargo_bike", headers=alice)
    [veg] = r.json()["items"]
    assert veg["holder"]["courier"] == {"id": "https://coop.test/u/bob", "name": "Bob"}
    assert veg["holder"]["ours"] is True
    dave = {"Authorization": f"Bearer {await create_token(cast.dave)}"}
    r = await client.get("/api/v1/dispatch?vehicle=cargo_bike", headers=dave)
    [veg] = r.json()["items"]
    assert veg["claims"][0]["courier"]["name"] == "Carol"
    assert veg["claims"][0]["id"] is None  # Dave is no party to Carol's claim

    r = await client.get("/api/v1/dispatch?vehicle=rocket&lat=45", headers=alice)
    assert r.status_code == 400
    problem = r.json()["errors"][0]
    assert (problem["field"], problem["code"]) == ("lon", "required")
    r = await client.get("/api/v1/dispatch?vehicle=rocket", headers=alice)
    assert r.status_code == 400
    problem = r.json()["errors"][0]
    assert (problem["field"], problem["code"]) == ("vehicle", "not_a_choice")
    assert problem["choices"] == ["bike", "cargo_bike", "van"]
    assert (await client.get("/api/v1/dispatch")).status_code == 401


async def test_the_openapi_document_lists_the_board(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    get = doc["paths"]["/api/v1/dispatch"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert set(params) == {"place", "lat", "lon", "radius_km", "vehicle", "limit", "offset"}
    assert params["vehicle"]["schema"]["enum"] == ["bike", "cargo_bike", "van"]
    schema = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/DispatchBoard"}
    job = doc["components"]["schemas"]["DispatchJob"]["properties"]
    assert {"status", "claims", "holder", "pickup", "vehicle"} <= set(job)
    assert "400" in get["responses"]
