"""Announcements: plain text made into Mastodon's HTML, the ``Note`` on the wire (pinned), its
delivery to followers and to the accounts it mentions, its deletion (410 after), and the form
that writes one, in English and in French."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from PIL import Image as PILImage

from activitypub.posts import Mentioned, handles_in, render_text, with_leading_mention
from activitypub.urls import PUBLIC
from federation.context import Federation
from federation.services import posting
from federation.services.accounts import create_actor
from instance.app import create_app
from instance.config import parse_config
from instance.post_view import announcements_context
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.follows import Follow, FollowState
from models.media import Media, MediaPurpose
from models.posts import Post, PostKind
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import offline, remote_actor
from tests.test_web import HTML, csrf_of, log_in, set_password

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = Path(__file__).parent / "expected"
BASE = f"https://{TEST_DOMAIN}"
AS2 = {"Accept": "application/activity+json"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
async def client(
    fed: Federation, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The in-process client, its uploads stored under the test's own directory."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "media": {"directory": str(tmp_path / "media")},
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


async def picture(owner: LocalActor, description: str = "Le nouvel atelier") -> Media:
    """A stored picture's row (its file is not needed to publish it)."""
    media_uuid = str(uuid.uuid4())
    return await Media.create(
        uuid=media_uuid,
        owner=owner,
        purpose=MediaPurpose.ATTACHMENT,
        filename=f"{media_uuid}.jpg",
        media_type="image/jpeg",
        width=1200,
        height=800,
        size_bytes=54321,
        description=description,
        created_at=datetime.now(UTC),
    )


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (31, 111, 74)).save(buffer, format="PNG")
    return buffer.getvalue()


def tag(name: str) -> str:
    return f"https://h.example/tags/{name}"


def normalised(doc: Any) -> Any:
    """A document with its random parts (uuids, times) replaced, to compare with a pin."""
    text = UUID.sub("<uuid>", json.dumps(doc, ensure_ascii=False))
    return json.loads(STAMP.sub("<time>", text))


async def follower(target: LocalActor, name: str, host: str = "remote.example") -> RemoteActor:
    """A remote account following ``target`` (accepted)."""
    actor, _ = await remote_actor(name, host)
    await Follow.create(
        ap_id=f"{actor.ap_id}#follows/{target.username}",
        follower_uri=actor.ap_id,
        target_uri=f"{BASE}/{'c' if target.kind == ActorKind.COOP else 'u'}/{target.username}",
        remote_follower=actor,
        local_target=target,
        state=FollowState.ACCEPTED,
    )
    return actor


def webfinger(name: str, host: str, actor_id: str) -> dict[str, httpx.Response]:
    """The canned WebFinger answer a mention resolves with."""
    url = f"https://{host}/.well-known/webfinger?resource=acct:{name}@{host}"
    jrd = {
        "subject": f"acct:{name}@{host}",
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor_id}],
    }
    return {url: httpx.Response(200, json=jrd)}


# --- plain text as Mastodon's HTML -----------------------------------------------------------


def test_plain_text_is_escaped_and_marked_up_as_mastodon_does() -> None:
    zoe = Mentioned(
        "https://remote.example/users/zoe",
        "https://remote.example/@zoe",
        "zoe",
        "zoe@remote.example",
    )
    text = (
        "Bonjour <b>tout</b> le monde & @Zoe@Remote.example !\r\n"
        "Voir https://velos.example/a_(b)). #Lyon #2026 #vélo\n\n\n"
        "@nobody@nowhere.example reste du texte, mail@example.org aussi"
    )
    rendered = render_text(text, {"zoe@remote.example": zoe}, tag)
    assert rendered.html == (
        "<p>Bonjour &lt;b&gt;tout&lt;/b&gt; le monde &amp; "
        '<span class="h-card" translate="no"><a href="https://remote.example/@zoe" '
        'class="u-url mention">@<span>zoe</span></a></span> !<br>'
        'Voir <a href="https://velos.example/a_(b)" target="_blank" '
        'rel="nofollow noopener noreferrer">https://velos.example/a_(b)</a>). '
        '<a href="https://h.example/tags/lyon" class="mention hashtag" rel="tag">'
        "#<span>Lyon</span></a> #2026 "
        '<a href="https://h.example/tags/vélo" class="mention hashtag" rel="tag">'
        "#<span>vélo</span></a></p>"
        "<p>@nobody@nowhere.example reste du texte, mail@example.org aussi</p>"
    )
    assert rendered.tags == [
        {"type": "Mention", "href": zoe.actor_uri, "name": "@zoe@remote.example"},
        {"type": "Hashtag", "href": tag("lyon"), "name": "#Lyon"},
        {"type": "Hashtag", "href": tag("vélo"), "name": "#vélo"},
    ]
    assert handles_in(text) == ["zoe@remote.example", "nobody@nowhere.example"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('<script>alert("x")</script>', "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"),
        ("javascript:alert(1)", "<p>javascript:alert(1)</p>"),
        ('https://x.example/"onmouseover="x', '<p><a href="https://x.example/"'),
        ("  \n\n  ", ""),
    ],
)
def test_nothing_typed_becomes_markup(text: str, shown: str) -> None:
    assert render_text(text, {}, tag).html.startswith(shown)


def test_a_reply_starts_with_the_mention_of_its_author() -> None:
    assert with_leading_mention("Merci !", "zoe@remote.example") == "@zoe@remote.example Merci !"
    kept = "Oui @Zoe@remote.example, merci"
    assert with_leading_mention(kept, "zoe@remote.example") == kept


# --- the Note on the wire ------------------------------------------------------------------


async def test_the_announcement_note_is_pinned(fed: Federation, coop: LocalActor) -> None:
    """The exact ``Create``; a change here is a change of the wire format: update
    tests/expected/ deliberately and say so in FEDERATION.md."""
    zoe = await follower(coop, "zoe")
    await follower(coop, "yann")  # same server: one delivery to its shared inbox
    lea, _ = await remote_actor("lea", "other.example")
    await offline(fed, webfinger("lea", "other.example", lea.ap_id))
    image = await picture(coop)
    text = "Nouvel atelier à #Lyon, merci @lea@other.example !\n\nInfos : https://velos.example/atelier"
    post = await posting.announce(fed, coop, posting.Draft(text, "fr", (image,)))

    create = await Activity.get(type="Create", object_uri=post.ap_id)
    expected = json.loads((EXPECTED / "post_announcement.json").read_text())
    assert normalised(create.payload) == expected
    note = create.payload["object"]
    assert "name" not in note and "summary" not in note  # nothing for a content warning
    assert {"@context": create.payload["@context"], **note} == post.document
    assert (post.kind, post.author_id, post.language) == (PostKind.ANNOUNCEMENT, coop.id, "fr")
    assert post.attachments == [
        {
            "url": f"{BASE}/media/{image.filename}",
            "media_type": "image/jpeg",
            "description": "Le nouvel atelier",
            "width": 1200,
            "height": 800,
            "media": image.uuid,
        }
    ]
    inboxes = await Delivery.filter(activity_id=create.id).values_list("inbox", flat=True)
    assert sorted(inboxes) == sorted([zoe.delivery_inbox, lea.inbox])
    assert create.public  # in the outbox


async def test_a_mention_that_cannot_be_resolved_stays_text(
    fed: Federation, coop: LocalActor
) -> None:
    await offline(fed)  # WebFinger answers 404
    post = await posting.announce(fed, coop, posting.Draft("Coucou @x@nowhere.example", "fr"))
    assert post.content == "<p>Coucou @x@nowhere.example</p>"
    assert post.document is not None and post.document["tag"] == []
    assert post.document["cc"] == [f"{BASE}/c/velos/followers"]


async def test_mentioning_a_local_account_needs_no_request(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    sent = await offline(fed)
    post = await posting.announce(fed, coop, posting.Draft(f"Bienvenue @alice@{TEST_DOMAIN}", "fr"))
    assert post.document is not None
    assert post.document["tag"] == [
        {"type": "Mention", "href": f"{BASE}/u/alice", "name": f"@alice@{TEST_DOMAIN}"}
    ]
    assert f'href="{BASE}/u/alice" class="u-url mention"' in post.content
    assert sent == [] and await Delivery.all().count() == 0


# --- the post's URL, and deleting it ------------------------------------------------------


async def test_the_post_url_serves_the_note_then_410_once_deleted(
    fed: Federation, client: httpx.AsyncClient, coop: LocalActor
) -> None:
    zoe = await follower(coop, "zoe")
    post = await posting.announce(fed, coop, posting.Draft("Assemblée générale jeudi", "fr"))
    path = f"/posts/{post.local_uuid}"
    r = await client.get(path, headers=AS2)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/activity")
    assert r.json() == post.document
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200 and "<p>Assemblée générale jeudi</p>" in page.text
    assert f'href="{post.ap_id}"' in page.text  # the alternate link for servers

    await posting.delete_post(fed, post)
    delete = await Activity.get(type="Delete", object_uri=post.ap_id)
    assert delete.payload["object"] == {"id": post.ap_id, "type": "Tombstone"}
    assert delete.payload["to"] == [PUBLIC]
    inboxes = await Delivery.filter(activity_id=delete.id).values_list("inbox", flat=True)
    assert list(inboxes) == [zoe.delivery_inbox]
    assert not await Activity.exists(type="Create", object_uri=post.ap_id)  # out of the outbox
    assert not await Post.exists(id=post.id)
    r = await client.get(path, headers=AS2)
    assert r.status_code == 410
    assert r.json()["type"] == "Tombstone" and r.json()["formerType"] == "Note"
    assert (await client.get(path, headers=HTML)).status_code == 410
    # two deletions racing each publish a Delete: still 410, not 500
    await Activity.create(
        ap_id=f"{delete.ap_id}-again",
        actor_id=coop.id,
        type="Delete",
        object_uri=post.ap_id,
        payload=delete.payload,
    )
    assert (await client.get(path, headers=AS2)).status_code == 410
    assert (await client.get(path, headers=HTML)).status_code == 410
    never = "/posts/00000000-0000-4000-8000-000000000000"
    assert (await client.get(never, headers=AS2)).status_code == 404
    assert (await client.get("/posts/not-a-uuid", headers=AS2)).status_code == 404


# --- the form ------------------------------------------------------------------------------


@pytest.fixture
async def web(client: httpx.AsyncClient, member: LocalActor) -> httpx.AsyncClient:
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    return client


async def _post(web: httpx.AsyncClient, data: dict[str, str], lang: str = "") -> httpx.Response:
    page = await web.get("/posts/new" + (f"?lang={lang}" if lang else ""))
    assert page.status_code == 200
    return await web.post("/posts/new", data={"csrf_token": csrf_of(page.text), **data})


async def test_a_member_posts_from_the_form_in_english(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor
) -> None:
    page = await web.get("/posts/new")
    assert "Write a post" in page.text and 'name="text"' in page.text
    assert 'name="as"' in page.text and "<script" not in page.text
    r = await _post(web, {"as": "alice", "text": "Who has a pump? #velo", "language": "en"})
    assert r.status_code == 303
    post = await Post.get(author_id=member.id)
    assert r.headers["location"] == f"/posts/{post.local_uuid}"
    assert post.language == "en" and post.kind == PostKind.ANNOUNCEMENT
    shown = await web.get(r.headers["location"])
    assert "Your post is published." in shown.text and "Who has a pump?" in shown.text
    assert f'href="/posts/{post.local_uuid}/delete"' in shown.text
    assert 'name="in_reply_to"' in shown.text  # the reply form


async def test_a_post_with_a_picture_and_its_description(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor, tmp_path: Path
) -> None:
    page = await web.get("/posts/new")
    assert 'enctype="multipart/form-data"' in page.text and 'name="image"' in page.text
    data = {
        "csrf_token": csrf_of(page.text),
        "as": "alice",
        "text": "Notre local",
        "language": "fr",
        "description": "Un atelier plein de vélos",
    }
    r = await web.post("/posts/new", data=data, files={"image": ("p.png", png(), "image/png")})
    assert r.status_code == 303, r.text
    post = await Post.get(author_id=member.id)
    media = await Media.get(owner_id=member.id)
    assert (media.width, media.height, media.description) == (40, 30, "Un atelier plein de vélos")
    assert (tmp_path / "media" / media.filename).is_file()
    assert post.document is not None
    assert post.document["attachment"] == [
        {
            "type": "Document",
            "mediaType": "image/png",
            "url": f"{BASE}/media/{media.filename}",
            "name": "Un atelier plein de vélos",
            "width": 40,
            "height": 30,
        }
    ]
    shown = await web.get(r.headers["location"])
    link = f'<a href="{BASE}/media/{media.filename}" rel="nofollow noopener noreferrer">'
    assert link in shown.text and "Image: Un atelier plein de vélos</a>" in shown.text
    assert "<img" not in shown.text  # a link, never loaded by the page
    # not an image: refused with the reason, nothing stored
    page = await web.get("/posts/new")
    files = {"image": ("x.png", b"not an image", "image/png")}
    data["csrf_token"] = csrf_of(page.text)
    r = await web.post("/posts/new", data=data, files=files)
    assert r.status_code == 400 and "This file is not a PNG, JPEG, WebP or GIF image." in r.text
    assert await Post.all().count() == 1 and await Media.all().count() == 1


async def test_the_form_in_french_and_its_refusals(web: httpx.AsyncClient) -> None:
    page = await web.get("/posts/new?lang=fr")
    assert "Écrire un message" in page.text and "Publier" in page.text
    r = await _post(web, {"as": "alice", "text": "   ", "language": "fr"}, lang="fr")
    assert r.status_code == 422 and "Écrivez d’abord quelque chose." in r.text
    r = await _post(web, {"as": "alice", "text": "x" * 5001, "language": "fr"})
    assert r.status_code == 422 and "trop long" in r.text
    r = await _post(web, {"as": "velos", "text": "Je suis la coop", "language": "fr"})
    assert r.status_code == 403 and "Vous ne pouvez pas publier" in r.text
    r = await _post(web, {"as": "alice", "text": "Bonjour à toutes", "language": "fr"})
    assert r.status_code == 303
    shown = await web.get(r.headers["location"])
    assert "Votre message est publié." in shown.text and 'lang="fr"' in shown.text
    assert await Post.all().count() == 1


async def test_posting_needs_the_csrf_token_and_a_session(
    client: httpx.AsyncClient, web: httpx.AsyncClient
) -> None:
    r = await web.post("/posts/new", data={"as": "alice", "text": "x", "csrf_token": "wrong"})
    assert r.status_code == 403
    assert await Post.all().count() == 0


async def test_an_admin_posts_as_the_coop_and_its_page_lists_it(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor, coop: LocalActor
) -> None:
    member.is_admin = True
    await member.save()
    page = await web.get("/posts/new")
    assert 'value="velos"' in page.text and 'value="alice"' in page.text
    first = await _post(web, {"as": "velos", "text": "Première annonce", "language": "fr"})
    second = await _post(web, {"as": "velos", "text": "Deuxième annonce", "language": "fr"})
    assert first.status_code == second.status_code == 303
    posts = await Post.filter(author_id=coop.id).order_by("id")
    assert [p.author_uri for p in posts] == [f"{BASE}/c/velos"] * 2
    context = await announcements_context(coop, member)
    assert [str(p["content"]) for p in context["announcements"]] == [
        "<p>Deuxième annonce</p>",
        "<p>Première annonce</p>",
    ]
    assert context["may_announce"] is True
    other = await create_actor(ActorKind.MEMBER, "bob", coop=coop)
    assert (await announcements_context(coop, other))["may_announce"] is False
    # a member (not an admin) deletes only their own posts
    other_post = await posting.announce(fed, other, posting.Draft("Salut", "fr"))
    member.is_admin = False
    await member.save()
    r = await web.get(f"/posts/{posts[0].local_uuid}/delete")
    assert r.status_code == 404
    r = await web.get(f"/posts/{other_post.local_uuid}/delete")
    assert r.status_code == 404


async def test_deleting_from_the_page(web: httpx.AsyncClient, member: LocalActor) -> None:
    r = await _post(web, {"as": "alice", "text": "Oups", "language": "fr"})
    path = r.headers["location"]
    page = await web.get(f"{path}/delete")
    assert page.status_code == 200 and "Delete this post?" in page.text
    r = await web.post(f"{path}/delete", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/home"
    assert (await web.get(path)).status_code == 410


# --- the catalogue -------------------------------------------------------------------------


def test_every_string_of_the_post_pages_is_in_the_catalogue() -> None:
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="fr") if m.id and m.string}
    used: set[str] = set()
    for name in (
        "_post",
        "_reply_form",
        "_announcements",
        "post",
        "post_form",
        "post_delete",
        "reply",
        "feed",
        "tag",
        "base",
    ):
        source = (ROOT / "templates" / f"{name}.html").read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        used |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", source))
    source = (ROOT / "instance" / "routes" / "posts.py").read_text()
    used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
    used |= {"No such post", "This post is too long.", "before must be a post number"}
    assert len(used) > 30 and sorted(used - known) == []
