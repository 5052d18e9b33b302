"""A member's data export (issue 13, point 4): the ZIP from the settings page (a CSRF-checked
POST, never cached) and from ``coopub member export`` (a real process on the test database).

Alice has offers, a post, an avatar, a booking on her ride (accepted, with messages both ways)
and one she made on Bob's offer, follows both ways and a saved search; Bob and Carla have data
of their own (a booking between them with its messages, an offer) that must stay out of her
archive. Every JSON file must expand as JSON-LD with the bundled contexts, offline (pyld with
``activitypub.jsonld``'s loader, which never fetches), and no byte of the archive may hold a
private key or a password hash.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage
from pyld import jsonld
from starlette.applications import Starlette

from activitypub.bookings_input import BookingAsk
from activitypub.jsonld import _loader
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings import request_booking
from federation.services.bookings_decide import accept_booking
from federation.services.bookings_messages import post_message
from federation.services.export import collect
from federation.services.offers import create_offer
from federation.services.posting import Draft, announce
from instance.app import create_app
from instance.config import MediaSettings, parse_config
from instance.media import store_image
from instance.routes.export import BUILDING
from models.actors import ActorKind, LocalActor
from models.alerts import SavedSearch
from models.errors import Gone
from models.follows import Follow, FollowState
from models.media import MediaPurpose
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.web_clients import browser
from tests.test_cli import run
from tests.test_web import csrf_of, set_password

BASE = f"https://{TEST_DOMAIN}"
FILES = (
    "actor.json",
    "outbox.json",
    "bookings.json",
    "following.json",
    "followers.json",
    "likes.json",
    "alerts.json",
    "summary.html",
    "README.txt",
)
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
ALICE_ASKS = "Bonjour Bob, je voudrais une place"
ALICE_WRITES = "Rendez-vous devant la gare à 8 h"
BOB_ANSWERS = "Parfait, à demain"
CARLA_WRITES = "Message privé entre Carla et Bob"
BOB_ONLY_OFFER = "Trajet de Bob vers Die"
POST_TEXT = "Nouvel atelier vélo samedi à Lyon"


def _media(tmp_path: Path) -> MediaSettings:
    return MediaSettings(directory=str(tmp_path / "media"))


@pytest.fixture
async def app(fed: Federation, database_url: str, tmp_path: Path) -> Starlette:
    """The app, its uploads under the test's own directory."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "media": {"directory": str(tmp_path / "media")},
        }
    )
    return create_app(config, run_worker=False, fed=fed)


def png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (60, 60), (31, 111, 74)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class World:
    alice: LocalActor
    bob: LocalActor
    carla: LocalActor
    avatar_file: str


async def holdings(fed: Federation, alice: LocalActor, bob: LocalActor, tmp_path: Path) -> World:
    """Alice's data, and Bob's and Carla's, which are not hers."""
    coop = await LocalActor.get(username="velos")
    carla = await create_actor(ActorKind.MEMBER, "carla", name="Carla", coop=coop)
    avatar = await store_image(
        png(), owner=alice, purpose=MediaPurpose.AVATAR, settings=_media(tmp_path)
    )
    alice.avatar_uuid = avatar.uuid
    await alice.save(update_fields=["avatar_uuid"])

    ride = await create_offer(fed, alice, samples.ride())
    await create_offer(fed, alice, samples.delivery_job())
    await announce(fed, alice, Draft(POST_TEXT, "fr"))
    booking = await request_booking(fed, bob, ride, BookingAsk(quantity=1, message="Une place ?"))
    booking = await accept_booking(fed, alice, booking)
    await post_message(fed, alice, booking, ALICE_WRITES)
    await post_message(fed, bob, booking, BOB_ANSWERS)

    bobs_ride = await create_offer(fed, bob, samples.ride(title="Trajet de Bob"))
    await request_booking(fed, alice, bobs_ride, BookingAsk(quantity=1, message=ALICE_ASKS))
    bobs_other = await create_offer(fed, bob, samples.ride(title=BOB_ONLY_OFFER))
    carlas = await request_booking(fed, carla, bobs_other, BookingAsk(quantity=1))
    await post_message(fed, carla, carlas, CARLA_WRITES)

    uri = fed.urls.actor
    for follower, target, state in (
        (uri(bob), uri(alice), FollowState.ACCEPTED),
        (uri(alice), "https://remote.example/users/zoe", FollowState.ACCEPTED),
        (uri(alice), "https://remote.example/users/yann", FollowState.PENDING),
        (uri(carla), uri(bob), FollowState.ACCEPTED),
    ):
        await Follow.create(
            ap_id=f"{follower}#follows/{target.rsplit('/', 1)[1]}",
            follower_uri=follower,
            target_uri=target,
            state=state,
        )
    await SavedSearch.create(
        member=alice, name="Vers Grenoble", place="Lyon", latitude=45.76, longitude=4.84,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    await SavedSearch.create(member=bob, name="Recherche de Bob", created_at=datetime.now(UTC))
    return World(alice, bob, carla, avatar.filename)


def opened(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def expanded(doc: dict[str, Any]) -> list[Any]:
    """The document as JSON-LD, with the bundled contexts only (nothing fetched)."""
    result: list[Any] = jsonld.expand(doc, {"documentLoader": _loader})
    return result


AS = "https://www.w3.org/ns/activitystreams#"
VF = "https://w3id.org/valueflows/ont/vf#"
COOPUB = "https://w3id.org/coopub/ns#"


def check_archive(files: dict[str, bytes], world: World) -> dict[str, Any]:
    """What every archive of Alice's must be; the parsed documents."""
    assert set(FILES) <= set(files), sorted(files)
    assert f"media/{world.avatar_file}" in files and files[f"media/{world.avatar_file}"][:4] == (
        b"\x89PNG"
    )
    docs = {name: json.loads(files[name]) for name in FILES if name.endswith(".json")}
    for name, doc in docs.items():
        assert "@context" in doc, name
        assert expanded(doc), name
    everything = b"".join(files.values())
    for someone in (world.alice, world.bob, world.carla):
        assert someone.private_key_pem.encode() not in everything
        body = "".join(someone.private_key_pem.splitlines()[1:-1])
        assert body[100:160].encode() not in everything  # no piece of it, however wrapped
    assert world.alice.password_hash and world.bob.password_hash
    assert world.alice.password_hash.encode() not in everything
    assert world.bob.password_hash.encode() not in everything
    for foreign in (CARLA_WRITES, BOB_ONLY_OFFER, "Recherche de Bob", "/u/carla"):
        assert foreign.encode() not in everything, foreign
    return docs


def check_documents(docs: dict[str, Any]) -> None:
    actor = docs["actor.json"]
    assert actor["id"] == f"{BASE}/u/alice" and actor["type"] == "Person"
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"] and "icon" in actor
    outbox = docs["outbox.json"]
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 3
    assert {a["type"] for a in outbox["orderedItems"]} == {"Create"}
    objects = [a["object"] for a in outbox["orderedItems"]]
    assert all(o["attributedTo"] == f"{BASE}/u/alice" for o in objects)
    assert any(POST_TEXT in o["content"] for o in objects)
    creates = expanded(outbox)[0][AS + "items"][0]["@list"]
    assert [c["@type"] for c in creates] == [[AS + "Create"]] * 3
    terms = {k for c in creates for k in c[AS + "object"][0]}
    assert any(k.startswith((VF, COOPUB)) for k in terms), terms  # the offers' own terms

    bookings = docs["bookings.json"]["orderedItems"]
    assert sorted(b["role"] for b in bookings) == ["author", "booker"]
    received = next(b for b in bookings if b["role"] == "author")
    assert received["status"] == "accepted" and received["booker"]["id"] == f"{BASE}/u/bob"
    assert [m["content"] for m in received["messages"]] == [
        f"<p>{ALICE_WRITES}</p>",
        f"<p>{BOB_ANSWERS}</p>",
    ]
    assert received["privateDetails"]  # shown on the booking's page once accepted
    made = next(b for b in bookings if b["role"] == "booker")
    assert made["status"] == "requested" and made["content"] == ALICE_ASKS
    assert "privateDetails" not in made
    [agreement, _] = expanded(docs["bookings.json"])[0][AS + "items"][0]["@list"]
    assert VF + "stipulates" in agreement and COOPUB + "messages" in agreement
    assert COOPUB + "role" in agreement and COOPUB + "booker" in agreement

    following = docs["following.json"]["orderedItems"]
    assert {(f["object"], f["status"]) for f in following} == {
        ("https://remote.example/users/zoe", "accepted"),
        ("https://remote.example/users/yann", "pending"),
    }
    assert [f["actor"] for f in docs["followers.json"]["orderedItems"]] == [f"{BASE}/u/bob"]
    assert docs["likes.json"]["totalItems"] == 0
    [search] = docs["alerts.json"]["orderedItems"]
    assert search["name"] == "Vers Grenoble" and search["location"]["name"] == "Lyon"


# --- the web ----------------------------------------------------------------------------------


async def _download(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    page = await client.get("/settings", headers=headers)
    assert page.status_code == 200 and 'id="export-button"' in page.text
    return await client.post(
        "/settings/export", data={"csrf_token": csrf_of(page.text)}, headers=headers
    )


async def test_the_settings_page_downloads_the_archive(
    fed: Federation,
    app: Starlette,
    alice: LocalActor,
    bob: LocalActor,
    as_alice: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    world = await holdings(fed, alice, await set_password(bob), tmp_path)
    r = await _download(as_alice)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "no-store" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith('attachment; filename="coopub-alice-')
    files = opened(r.content)
    check_documents(check_archive(files, world))
    summary = files["summary.html"].decode()
    assert '<html lang="en">' in summary and "Your data" in summary
    assert "Lyon → Grenoble" in summary and "<link" not in summary and "<script" not in summary
    assert "Members cannot block" in files["README.txt"].decode()

    r = await _download(as_alice, **FR)
    files = opened(r.content)
    summary = files["summary.html"].decode()
    assert '<html lang="fr">' in summary and "Vos données" in summary
    assert "Your data" not in summary
    assert "Vos données" in files["README.txt"].decode()

    BUILDING.add(alice.id)  # her first click's archive still being built: not a second one
    try:
        r = await _download(as_alice)
    finally:
        BUILDING.discard(alice.id)
    assert r.status_code == 409 and "already being prepared" in r.text
    assert (await _download(as_alice)).status_code == 200


async def test_logged_out_or_deleted_gets_no_archive(
    fed: Federation, app: Starlette, alice: LocalActor, anonymous: httpx.AsyncClient
) -> None:
    r = await anonymous.post("/settings/export", data={})
    assert r.status_code == 403 and "zip" not in r.headers["content-type"]
    page = await anonymous.get("/login")
    r = await anonymous.post("/settings/export", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert (await anonymous.get("/settings/export")).status_code in (404, 405)  # POST only

    async with browser(app, "alice") as client:
        page = await client.get("/settings")
        alice.deleted_at = datetime.now(UTC)
        await alice.save(update_fields=["deleted_at"])
        r = await client.post("/settings/export", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and "zip" not in r.headers.get("content-type", "")
    with pytest.raises(Gone):
        await collect(fed, alice)


# --- the command line -------------------------------------------------------------------------


def _config(directory: Path, database_url: str, media: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "instance.toml").write_text(
        f'[instance]\ndomain = "{TEST_DOMAIN}"\nsecret_key = "test"\n\n'
        f'[database]\nurl = "{database_url}"\n\n[media]\ndirectory = "{media}"\n'
    )


async def test_member_export_on_the_command_line(
    fed: Federation,
    alice: LocalActor,
    bob: LocalActor,
    database_url: str,
    tmp_path: Path,
) -> None:
    world = await holdings(fed, alice, await set_password(bob), tmp_path)
    site = tmp_path / "site"
    _config(site, database_url, tmp_path / "media")

    out = await run("member", "export", "alice", "--output", "fr.zip", "--lang", "fr", cwd=site)
    assert out.code == 0, out.err
    assert out.out.startswith("wrote fr.zip")
    assert os.stat(site / "fr.zip").st_mode & 0o077 == 0  # the admin's alone
    files = opened((site / "fr.zip").read_bytes())
    check_documents(check_archive(files, world))
    assert '<html lang="fr">' in files["summary.html"].decode()

    again = await run("member", "export", "alice", "--output", "fr.zip", cwd=site)
    assert again.code == 1 and "exists" in again.line

    out = await run("member", "export", "@alice", cwd=site)
    assert out.code == 0, out.err
    [written] = site.glob("coopub-alice-*.zip")
    assert '<html lang="en">' in opened(written.read_bytes())["summary.html"].decode()

    await LocalActor.filter(id=alice.id).update(deleted_at=datetime.now(UTC))
    gone = await run("member", "export", "alice", "--output", "gone.zip", cwd=site)
    assert gone.code == 1 and "deleted" in gone.line and not (site / "gone.zip").exists()
