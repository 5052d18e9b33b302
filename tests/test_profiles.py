"""Profiles: the settings form (bio, fields, avatar, header; a coop's, by its admins), the actor
document Mastodon and GoToSocial read (icon, image, PropertyValue fields, featured), the
``Update`` its followers receive, pinned offers, and the actor pages, in English and French."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from pyld import jsonld

from activitypub.jsonld import _loader
from activitypub.urls import PUBLIC
from federation.actors import save_actor_document
from federation.context import Federation
from federation.delivery import deliver_due
from federation.services import offers as offer_service
from federation.services import pins
from federation.services.accounts import create_actor, update_profile
from federation.services.profiles import ProfileRefused, check_profile
from instance.app import create_app
from instance.config import MediaSettings, parse_config
from instance.media import store_image
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.follows import Follow, FollowState
from models.media import Media, MediaPurpose
from models.offers import Offer, OfferStatus
from models.posts import Post, PostKind, Visibility
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import document_at, keypair
from tests.rig.remote import RemoteServer
from tests.test_media import SECRET, image_bytes, photo_with_gps
from tests.test_settings_admin import flash_of, log_in, new_member
from tests.test_web import csrf_of

ROOT = Path(__file__).resolve().parent.parent
BASE = f"https://{TEST_DOMAIN}"
AS2 = {"Accept": "application/activity+json"}
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
SITE = "https://velos.example/tarifs?x=1&y=2"
SITE_LINK = (
    '<a href="https://velos.example/tarifs?x=1&amp;y=2" rel="me nofollow noopener noreferrer"'
    ' target="_blank">velos.example/tarifs?x=1&amp;y=2</a>'
)


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def client(
    fed: Federation, database_url: str, media_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """conftest's client, with the media directory under ``tmp_path``."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "media": {"directory": str(media_dir), "max_upload_bytes": 300_000},
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


@pytest.fixture
async def alice(coop: LocalActor) -> LocalActor:
    return await new_member(coop, "alice")


@pytest.fixture
async def as_alice(client: httpx.AsyncClient, alice: LocalActor) -> httpx.AsyncClient:
    await log_in(client, "alice")
    return client


async def follower_at(server: RemoteServer, actor: LocalActor, fed: Federation) -> RemoteActor:
    doc = document_at(server.url("/users/zoe"), public_pem=keypair("a").public_pem)
    server.serve_json("/users/zoe", doc)
    follower = await save_actor_document(doc)
    await Follow.create(
        ap_id=f"{follower.ap_id}#follow",
        follower_uri=follower.ap_id,
        target_uri=fed.urls.actor(actor),
        remote_follower=follower,
        local_target=actor,
        state=FollowState.ACCEPTED,
    )
    return follower


async def deliver_all(fed: Federation) -> None:
    while await deliver_due(fed):
        pass


async def post_profile(
    client: httpx.AsyncClient,
    username: str,
    fields: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The settings form as a browser sends it: multipart, the file inputs always there."""
    token = csrf_of((await client.get("/settings")).text)
    sent = {"avatar": ("", b"", "application/octet-stream")}
    sent |= {"header": ("", b"", "application/octet-stream")}
    sent |= files or {}
    return await client.post(
        f"/settings/profile/{username}",
        data={"csrf_token": token, **fields},
        files=sent,
        headers=headers,
    )


PROFILE = {
    "display_name": "Alice Martin",
    "bio": "Vélos & cargos <3\n\nhttps://velos.example/alice et le reste.",
    "field_name_0": "Site",
    "field_value_0": SITE,
    "field_name_1": "Zone",
    "field_value_1": "Lyon <Croix-Rousse> & Villeurbanne",
    "field_name_2": "",
    "field_value_2": "",
}


def file_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def media_url_of(doc: dict[str, Any], key: str) -> str:
    url: str = doc[key]["url"]
    assert re.fullmatch(rf"{BASE}/media/[0-9a-f-]{{36}}\.(png|jpg|webp)", url), url
    return url


# --- the settings form, the actor document and the Update -----------------------------------


async def test_profile_saved_from_settings_reaches_the_document_and_the_followers(
    as_alice: httpx.AsyncClient,
    alice: LocalActor,
    fed: Federation,
    remote: RemoteServer,
    media_dir: Path,
) -> None:
    page = await as_alice.get("/settings")
    assert page.status_code == 200 and 'id="profile-alice"' in page.text
    assert 'enctype="multipart/form-data"' in page.text and "Your coop" not in page.text
    await follower_at(remote, alice, fed)
    files = {
        "avatar": ("me.jpg", photo_with_gps((600, 500)), "image/jpeg"),
        "header": ("header.png", image_bytes((900, 600)), "image/png"),
    }
    r = await post_profile(as_alice, "alice", PROFILE, files)
    assert r.status_code == 303 and r.headers["location"] == "/settings#profile-alice"
    page = await as_alice.get(r.headers["location"])
    assert flash_of(page.text) == "The profile was saved; its followers are told."
    assert 'value="Alice Martin"' in page.text and 'class="avatar"' in page.text

    doc = (await as_alice.get("/u/alice", headers=AS2)).json()
    assert doc["name"] == "Alice Martin"
    assert doc["summary"] == (
        "<p>Vélos &amp; cargos &lt;3</p><p>"
        '<a href="https://velos.example/alice" rel="nofollow noopener noreferrer"'
        ' target="_blank">velos.example/alice</a> et le reste.</p>'
    )
    assert doc["icon"]["type"] == "Image" and doc["icon"]["mediaType"] == "image/jpeg"
    assert doc["image"]["type"] == "Image" and doc["image"]["mediaType"] == "image/png"
    assert doc["attachment"] == [
        {"type": "PropertyValue", "name": "Site", "value": SITE_LINK},
        {
            "type": "PropertyValue",
            "name": "Zone",
            "value": "Lyon &lt;Croix-Rousse&gt; &amp; Villeurbanne",
        },
    ]
    assert doc["featured"] == f"{BASE}/u/alice/featured"
    # the avatar is served, square, without the photo's GPS position or camera
    avatar = await as_alice.get(media_url_of(doc, "icon").removeprefix(BASE))
    assert avatar.status_code == 200 and avatar.headers["content-type"] == "image/jpeg"
    assert SECRET.encode() not in avatar.content and b"Exif" not in avatar.content
    header = await as_alice.get(media_url_of(doc, "image").removeprefix(BASE))
    assert header.status_code == 200

    await deliver_all(fed)
    [sent] = [p.json() for p in remote.posts]
    assert sent["type"] == "Update" and sent["actor"] == f"{BASE}/u/alice"
    assert sent["to"] == [PUBLIC] and sent["cc"] == [f"{BASE}/u/alice/followers"]
    assert {k: sent["object"][k] for k in ("icon", "image", "attachment", "summary", "name")} == {
        k: doc[k] for k in ("icon", "image", "attachment", "summary", "name")
    }

    # removing the avatar: gone from the document, the file deleted, followers told again
    old = media_url_of(doc, "icon").rsplit("/", 1)[1]
    r = await post_profile(as_alice, "alice", {**PROFILE, "remove_avatar": "1"})
    assert r.status_code == 303
    doc = (await as_alice.get("/u/alice", headers=AS2)).json()
    assert "icon" not in doc and "image" in doc
    assert not (media_dir / old).exists() and await Media.filter(filename=old).count() == 0
    assert (await as_alice.get(f"/media/{old}")).status_code == 404
    await deliver_all(fed)
    assert [p.json()["type"] for p in remote.posts] == ["Update", "Update"]


async def test_a_new_avatar_replaces_the_old_file(
    as_alice: httpx.AsyncClient, alice: LocalActor, media_dir: Path
) -> None:
    for color in ((200, 0, 0), (0, 0, 200)):
        avatar = ("a.png", image_bytes((50, 50), color=color), "image/png")
        assert (
            await post_profile(as_alice, "alice", PROFILE, {"avatar": avatar})
        ).status_code == 303
    [media] = await Media.all()
    assert media.purpose == MediaPurpose.AVATAR and media.width == media.height == 400
    assert file_names(media_dir) == [media.filename]
    await alice.refresh_from_db()
    assert alice.avatar_uuid == media.uuid


@pytest.mark.parametrize(
    ("files", "status", "english", "french"),
    [
        (
            {"avatar": ("avatar.png", b"just some text\n", "image/png")},
            400,
            "This file is not a PNG, JPEG, WebP or GIF image.",
            "Ce fichier n’est pas une image PNG, JPEG, WebP ou GIF.",
        ),
        (
            {"header": ("big.png", b"\x89PNG" + b"0" * 300_001, "image/png")},
            413,
            "This image file is too large: send a smaller one.",
            "Ce fichier d’image est trop lourd : envoyez-en un plus petit.",
        ),
    ],
    ids=["text-file", "too-big"],
)
async def test_a_refused_upload_shows_the_form_again_with_the_reason(
    as_alice: httpx.AsyncClient,
    alice: LocalActor,
    files: dict[str, tuple[str, bytes, str]],
    status: int,
    english: str,
    french: str,
) -> None:
    good = {"avatar": ("ok.png", image_bytes(), "image/png")}
    for headers, text in ((None, english), (FR, french)):
        r = await post_profile(as_alice, "alice", PROFILE, {**good, **files}, headers=headers)
        assert r.status_code == status and text in r.text
        assert 'value="Alice Martin"' in r.text  # what was typed is kept
    assert await Media.all().count() == 0  # the good avatar sent with it was not kept
    await alice.refresh_from_db()
    assert (alice.name, alice.avatar_uuid) == ("Alice", None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"display_name": "x" * 101}, "The display name is too long."),
        ({"bio": "b" * 1001}, "The bio is too long."),
        ({"field_name_3": "", "field_value_3": "orphan"}, "Each profile field needs a name."),
        ({"field_value_0": "v" * 256}, "A profile field is too long."),
    ],
)
async def test_a_refused_profile_changes_nothing(
    as_alice: httpx.AsyncClient, alice: LocalActor, change: dict[str, str], message: str
) -> None:
    r = await post_profile(as_alice, "alice", {**PROFILE, **change})
    assert r.status_code == 400 and message in r.text
    await alice.refresh_from_db()
    assert alice.name == "Alice" and alice.profile_fields is None
    assert await Activity.filter(type="Update").count() == 0


def test_profile_checks() -> None:
    assert check_profile("A", "", [("Site", " https://a.example "), ("", "")]) == [
        {"name": "Site", "value": "https://a.example"}
    ]
    with pytest.raises(ProfileRefused):
        check_profile("A", "", [("n", "v")] * 5)


async def test_the_form_needs_its_csrf_token_and_a_login(
    as_alice: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    r = await as_alice.post(
        "/settings/profile/alice",
        data={"display_name": "Mallory", "csrf_token": "x" * 43},
        files={"avatar": ("a.png", image_bytes(), "image/png")},
    )
    assert r.status_code == 403
    r = await as_alice.post("/settings/profile/alice", data={"display_name": "Mallory"})
    assert r.status_code == 403
    await as_alice.post("/logout", data={"csrf_token": csrf_of((await as_alice.get("/")).text)})
    r = await client.post(
        "/settings/profile/alice",
        data={"csrf_token": csrf_of((await client.get("/login")).text), **PROFILE},
        files={"avatar": ("a.png", image_bytes(), "image/png")},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert await Media.all().count() == 0


async def test_a_coop_profile_is_edited_by_its_admins_only(
    client: httpx.AsyncClient, coop: LocalActor, fed: Federation, remote: RemoteServer
) -> None:
    await new_member(coop, "camille", admin=True)
    await new_member(coop, "bob")
    other = await fed_coop("roues")
    await new_member(other, "rita", admin=True)  # an admin, of another coop
    await follower_at(remote, coop, fed)

    await log_in(client, "bob")
    page = await client.get("/settings")
    assert "Your coop" not in page.text and 'id="profile-velos"' not in page.text
    assert (await post_profile(client, "velos", PROFILE)).status_code == 404

    await log_in(client, "rita")
    assert (await post_profile(client, "velos", PROFILE)).status_code == 404

    await log_in(client, "camille")
    page = await client.get("/settings?lang=fr")
    assert "Le profil de votre coop" in page.text and 'id="profile-velos"' in page.text
    fields = {**PROFILE, "display_name": "Vélos du Rhône", "field_name_0": "Zone desservie"}
    logo = {"avatar": ("logo.webp", image_bytes((300, 200), "WEBP"), "image/webp")}
    r = await post_profile(client, "velos", fields, logo)
    assert r.status_code == 303 and r.headers["location"] == "/settings#profile-velos"
    doc = (await client.get("/c/velos", headers=AS2)).json()
    assert doc["name"] == "Vélos du Rhône" and doc["icon"]["mediaType"] == "image/webp"
    assert doc["attachment"][0]["name"] == "Zone desservie"
    await deliver_all(fed)
    [sent] = [p.json() for p in remote.posts]
    assert sent["type"] == "Update" and sent["object"]["id"] == f"{BASE}/c/velos"
    camille = await LocalActor.get(username="camille")
    assert camille.name == "Camille"  # her own profile untouched


async def fed_coop(name: str) -> LocalActor:
    return await create_actor(ActorKind.COOP, name, name=name.title())


async def test_a_cli_update_keeps_the_images(
    fed: Federation, alice: LocalActor, tmp_path: Path
) -> None:
    settings = MediaSettings(directory=str(tmp_path / "m"))
    avatar = await store_image(
        image_bytes(), owner=alice, purpose=MediaPurpose.AVATAR, description="", settings=settings
    )
    alice.avatar_uuid = avatar.uuid
    await alice.save()
    activity = await update_profile(fed, alice, summary="Nouvelle bio")
    assert activity.payload["object"]["icon"]["url"].endswith(avatar.filename)
    assert activity.payload["object"]["summary"] == "<p>Nouvelle bio</p>"


# --- the actor document ----------------------------------------------------------------------


async def test_actor_document_fields_expand_as_mastodon_reads_them(
    client: httpx.AsyncClient, alice: LocalActor
) -> None:
    alice.profile_fields = [{"name": "Site", "value": SITE}]
    await alice.save()
    doc = (await client.get("/u/alice", headers=AS2)).json()
    assert "icon" not in doc and "image" not in doc and doc["summary"] == ""
    [expanded] = jsonld.expand(doc, {"documentLoader": _loader})
    [field] = expanded["https://www.w3.org/ns/activitystreams#attachment"]
    assert field["@type"] == ["http://schema.org#PropertyValue"]
    assert field["http://schema.org#value"] == [{"@value": SITE_LINK}]
    featured = expanded["http://joinmastodon.org/ns#featured"]
    assert featured == [{"@id": f"{BASE}/u/alice/featured"}]


@pytest.mark.parametrize(
    ("value", "html"),
    [
        (
            "https://a.example/",
            '<a href="https://a.example/" rel="me nofollow noopener noreferrer"'
            ' target="_blank">a.example/</a>',
        ),
        ("http://a.example/", "http://a.example/"),  # only https becomes a link
        ("javascript:alert(1)", "javascript:alert(1)"),
        ('https://a.example/"><script>', "https://a.example/&quot;&gt;&lt;script&gt;"),
        ("voir https://a.example", "voir https://a.example"),
    ],
)
async def test_field_values(
    client: httpx.AsyncClient, alice: LocalActor, value: str, html: str
) -> None:
    alice.profile_fields = [{"name": "n", "value": value}]
    await alice.save()
    doc = (await client.get("/u/alice", headers=AS2)).json()
    assert doc["attachment"] == [{"type": "PropertyValue", "name": "n", "value": html}]


# --- pinned offers: featured -----------------------------------------------------------------


async def featured_of(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    r = await client.get(f"{path}/featured", headers=AS2)
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/activity+json"
    )
    doc: dict[str, Any] = r.json()
    return doc


async def test_featured_is_empty_then_lists_pinned_offers_and_posts(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, coop: LocalActor
) -> None:
    empty = await featured_of(client, "/u/alice")
    assert empty == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE}/u/alice/featured",
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }
    assert (await featured_of(client, "/c/velos"))["orderedItems"] == []
    assert (await featured_of(client, "/actor"))["totalItems"] == 0
    first = await offer_service.create_offer(fed, alice, samples.ride())
    second = await offer_service.create_offer(fed, alice, samples.stay())
    await offer_service.create_offer(fed, alice, samples.ride(title="Pas épinglée"))
    await pins.pin_offer(fed, alice, first)
    await pins.pin_offer(fed, alice, second)
    doc = await featured_of(client, "/u/alice")
    assert doc["orderedItems"] == [second.ap_id, first.ap_id] and doc["totalItems"] == 2

    now = datetime.now(UTC)

    async def post(name: str, visibility: Visibility, pinned: datetime | None) -> Post:
        return await Post.create(
            ap_id=f"{BASE}/posts/{name}",
            author=alice,
            author_uri=fed.urls.actor(alice),
            kind=PostKind.ANNOUNCEMENT,
            visibility=visibility,
            content=f"<p>{name}</p>",
            published_at=now,
            updated_at=now,
            pinned_at=pinned,
        )

    news = await post("news", Visibility.PUBLIC, now + timedelta(minutes=1))
    await post("private", Visibility.DIRECT, now + timedelta(minutes=2))
    await post("unpinned", Visibility.PUBLIC, None)
    doc = await featured_of(client, "/u/alice")
    assert doc["orderedItems"] == [news.ap_id, second.ap_id, first.ap_id]
    await pins.unpin_offer(fed, alice, second)
    assert (await featured_of(client, "/u/alice"))["orderedItems"] == [news.ap_id, first.ap_id]


async def test_pin_and_unpin_from_my_offers(
    as_alice: httpx.AsyncClient, fed: Federation, alice: LocalActor, remote: RemoteServer
) -> None:
    await follower_at(remote, alice, fed)
    offers = [
        await offer_service.create_offer(fed, alice, samples.ride(title=f"Trajet {i}"))
        for i in range(7)
    ]
    await deliver_all(fed)
    remote.requests.clear()
    page = await as_alice.get("/my/offers")
    token = csrf_of(page.text)
    assert page.text.count("Pin to my profile") == 7
    for offer in offers[:5]:
        r = await as_alice.post(f"/offers/{offer.local_uuid}/pin", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/my/offers"
    page = await as_alice.get("/my/offers")
    assert flash_of(page.text) == "The offer is pinned to your profile."
    assert page.text.count(">Unpin<") == 5 and page.text.count('class="pinned"') == 5
    r = await as_alice.post(
        f"/offers/{offers[5].local_uuid}/pin", data={"csrf_token": token}, headers=FR
    )
    page = await as_alice.get(r.headers["location"], headers=FR)
    assert flash_of(page.text, "error") == (
        "Vous pouvez épingler 5 offres au plus : désépinglez-en une d’abord."
    )
    assert await Offer.filter(pinned_at__not_isnull=True).count() == 5
    r = await as_alice.post(f"/offers/{offers[0].local_uuid}/unpin", data={"csrf_token": token})
    page = await as_alice.get(r.headers["location"])
    assert flash_of(page.text) == "The offer is no longer pinned."
    await offer_service.set_status(fed, alice, offers[6], OfferStatus.CANCELLED)
    r = await as_alice.post(f"/offers/{offers[6].local_uuid}/pin", data={"csrf_token": token})
    page = await as_alice.get(r.headers["location"])
    assert flash_of(page.text, "error") == "Only an offer still open can be pinned."
    featured = await featured_of(as_alice, "/u/alice")
    assert set(featured["orderedItems"]) == {o.ap_id for o in offers[1:5]}
    # each pin and unpin told the followers, which then refetch featured
    await deliver_all(fed)
    sent = [p.json() for p in remote.posts]
    updates = [a for a in sent if a["type"] == "Update" and a["object"]["id"] == f"{BASE}/u/alice"]
    assert len(updates) == 6


async def test_pins_need_the_csrf_token_and_ones_own_offer(
    as_alice: httpx.AsyncClient, fed: Federation, coop: LocalActor
) -> None:
    bob = await new_member(coop, "bob")
    his = await offer_service.create_offer(fed, bob, samples.ride())
    token = csrf_of((await as_alice.get("/my/offers")).text)
    r = await as_alice.post(f"/offers/{his.local_uuid}/pin", data={"csrf_token": token})
    assert r.status_code == 404
    mine = await offer_service.create_offer(
        fed, await LocalActor.get(username="alice"), samples.ride()
    )
    r = await as_alice.post(f"/offers/{mine.local_uuid}/pin", data={"csrf_token": "nope"})
    assert r.status_code == 403
    assert await Offer.filter(pinned_at__not_isnull=True).count() == 0


# --- the actor pages -----------------------------------------------------------------------------


async def test_actor_pages_show_profile_offers_and_members(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, coop: LocalActor, media_dir: Path
) -> None:
    settings = MediaSettings(directory=str(media_dir))
    avatar = await store_image(
        image_bytes(), owner=alice, purpose=MediaPurpose.AVATAR, description="", settings=settings
    )
    alice.avatar_uuid = avatar.uuid
    alice.summary = "Je roule <script>alert(1)</script>\nhttps://velos.example"
    alice.profile_fields = [{"name": "Site", "value": SITE}]
    await alice.save()
    await new_member(coop, "bob")
    ride = await offer_service.create_offer(fed, alice, samples.ride(title="Lyon → Vienne"))
    pinned = await offer_service.create_offer(fed, alice, samples.stay(title="Chambre à Die"))
    closed = await offer_service.create_offer(fed, alice, samples.ride(title="Trajet fermé"))
    await offer_service.set_status(fed, alice, closed, OfferStatus.CLOSED)
    await pins.pin_offer(fed, alice, pinned)

    page = await client.get("/u/alice", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert f'src="/media/{avatar.filename}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert '<br><a href="https://velos.example" rel="nofollow noopener noreferrer"' in html
    assert f"<dt>Site</dt><dd>{SITE_LINK}</dd>" in html
    assert html.index("Chambre à Die") < html.index("Lyon → Vienne")  # pinned first
    assert f'href="/offers/{ride.local_uuid}"' in html and "Trajet fermé" not in html
    assert "Open offers" in html and "Pinned" in html and "Members" not in html

    page = await client.get("/c/velos", headers={"Accept": "text/html", **FR})
    html = page.text
    assert "Offres ouvertes" in html and "Membres" in html and "Épinglée" in html
    assert 'href="/u/alice">Alice</a>' in html and 'href="/u/bob">Bob</a>' in html
    assert "Lyon → Vienne" in html  # a member's offer is the coop's
    empty = await fed_coop("roues")
    page = await client.get(f"/c/{empty.username}", headers={"Accept": "text/html"})
    assert "No open offer at the moment." in page.text
    assert "This coop has no member yet." in page.text


# --- the catalogue -------------------------------------------------------------------------------


def test_every_string_of_the_profile_pages_is_in_the_catalogue() -> None:
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="fr") if m.id and m.string}
    used: set[str] = set()
    for name in ("_profile_form", "actor", "my_offers", "settings"):
        source = (ROOT / "templates" / f"{name}.html").read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        used |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", source))
    for module in (
        "instance/media.py",
        "instance/routes/pins.py",
        "instance/routes/settings.py",
        "federation/services/profiles.py",
        "federation/services/pins.py",
    ):
        source = (ROOT / module).read_text()
        used |= set(re.findall(r'public_message = "([^"]+)"', source))
        used |= set(re.findall(r'_\("([^"]+)"\)', source))
        used |= set(re.findall(r'\n\s+"([A-Z][^"]+[.!])",?\n\s+\)', source))  # raise X(detail, "…")
        used |= set(re.findall(r'raise \w+\([^()]*?, "([A-Z][^"]+)"\)', source))
    assert len(used) > 40
    assert sorted(used - known) == []
