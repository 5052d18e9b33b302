"""A member's home feed (the posts of the accounts they follow, newest first, paged) and their
replies to posts and offers from anywhere, as Mastodon threads them (shape pinned)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from activitypub.urls import PUBLIC, path_for
from federation.context import Federation
from federation.services import feed, posting
from federation.services.accounts import create_actor
from federation.services.offers import create_offer
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.follows import Follow, FollowState
from models.notifications import Notification, NotificationKind
from models.offers import Offer
from models.posts import Post, PostKind, Visibility
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import offline, remote_actor
from tests.test_announcements import follower, normalised
from tests.test_web import HTML, csrf_of, log_in, set_password

EXPECTED = Path(__file__).parent / "expected"
BASE = f"https://{TEST_DOMAIN}"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def follows(
    member: LocalActor, target: str, state: FollowState = FollowState.ACCEPTED
) -> None:
    await Follow.create(
        ap_id=f"{BASE}/activities/follow-{member.username}-{abs(hash(target))}",
        follower_uri=f"{BASE}/u/{member.username}",
        target_uri=target,
        local_follower=member,
        state=state,
    )


async def note(
    author: RemoteActor,
    n: int,
    *,
    at: datetime | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    content: str | None = None,
    **extra: Any,
) -> Post:
    """A remote note as the inbox keeps it (content already sanitised there)."""
    ap_id = f"{author.ap_id}/statuses/{n}"
    return await Post.create(
        ap_id=ap_id,
        author_uri=author.ap_id,
        author_name=author.name,
        author_handle=f"@{author.handle}",
        kind=PostKind.NOTE,
        visibility=visibility,
        content=content if content is not None else f"<p>Note {n} de {author.username}</p>",
        language="fr",
        url=f"https://{author.domain}/@{author.username}/{n}",
        published_at=at or T0 + timedelta(minutes=n),
        updated_at=at or T0 + timedelta(minutes=n),
        **extra,
    )


# --- the feed ------------------------------------------------------------------------------


async def test_the_feed_holds_the_followed_accounts_newest_first(
    fed: Federation, member: LocalActor, coop: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "remote.example")
    yann, _ = await remote_actor("yann", "other.example")
    stranger, _ = await remote_actor("mallory", "spam.example")
    await follows(member, zoe.ap_id)
    await follows(member, yann.ap_id, FollowState.PENDING)  # not yet accepted: not in it
    await follows(member, f"{BASE}/c/velos")  # a local coop
    z1 = await note(zoe, 1)
    z3 = await note(zoe, 3, visibility=Visibility.FOLLOWERS)  # she is followed: shown
    await note(zoe, 4, visibility=Visibility.DIRECT)  # a direct message: a notification
    await note(yann, 2)
    await note(stranger, 5)
    announcement = await posting.announce(fed, coop, posting.Draft("AG jeudi", "fr"))
    own = await posting.announce(fed, member, posting.Draft("Mon vélo est réparé", "fr"))

    page = await feed.home_feed(fed, member)
    assert [p.id for p in page.posts] == [own.id, announcement.id, z3.id, z1.id]
    assert page.next_before is None


async def test_the_feed_pages_by_keyset(fed: Federation, member: LocalActor) -> None:
    zoe, _ = await remote_actor("zoe", "remote.example")
    await follows(member, zoe.ap_id)
    same_time = T0 + timedelta(hours=1)
    posts = [await note(zoe, n) for n in range(1, 6)]
    posts += [await note(zoe, n, at=same_time) for n in range(10, 13)]  # ties: by id
    expected = sorted(posts, key=lambda p: (p.published_at, p.id), reverse=True)
    seen: list[int] = []
    before = None
    for _ in range(5):
        page = await feed.home_feed(fed, member, before, limit=3)
        seen += [p.id for p in page.posts]
        before = page.next_before
        if before is None:
            break
    assert seen == [p.id for p in expected]
    # a post deleted under the cursor: the next page still follows on
    page = await feed.home_feed(fed, member, limit=3)
    assert page.next_before is not None
    await Post.filter(id=page.next_before).delete()
    rest = await feed.home_feed(fed, member, page.next_before, limit=10)
    assert [p.id for p in rest.posts] == [p.id for p in expected[3:]]


@pytest.fixture
async def web(client: httpx.AsyncClient, member: LocalActor) -> httpx.AsyncClient:
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    return client


async def test_the_home_page_shows_the_feed(
    fed: Federation, client: httpx.AsyncClient, member: LocalActor
) -> None:
    r = await client.get("/home", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/home"
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    empty = await client.get("/home")
    assert 'id="feed-empty"' in empty.text and 'id="nav-feed"' in empty.text
    assert 'name="uri"' in empty.text  # the form to follow an account
    zoe, _ = await remote_actor("zoe", "remote.example")
    await follows(member, zoe.ap_id)
    hostile = '<p>Salut <script>alert(1)</script><a href="javascript:x()">lien</a></p>'
    await note(
        zoe,
        1,
        content=hostile,
        attachments=[
            {
                "url": "https://remote.example/m/1.jpg",
                "media_type": "image/jpeg",
                "description": "Un vélo",
            },
            {"url": "javascript:alert(1)", "media_type": "image/png", "description": "x"},
        ],
    )
    for n in range(2, 25):
        await note(zoe, n)
    r = await client.get("/home")
    assert r.status_code == 200
    assert r.text.count('class="post"') == feed.PAGE_SIZE
    assert r.text.index("Note 24 de zoe") < r.text.index("Note 23 de zoe")
    assert "Note 1 de" not in r.text and 'rel="next"' in r.text
    older = r.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    r = await client.get(older.replace("&amp;", "&"))
    assert "Note 4 de zoe" in r.text and "<script>" not in r.text and "alert(1)" not in r.text
    assert "javascript:" not in r.text
    assert '<a href="https://remote.example/m/1.jpg" rel="nofollow noopener noreferrer">' in r.text
    assert "<img" not in r.text
    reply_link = f'href="{path_for("reply", query={"to": f"{zoe.ap_id}/statuses/1"})}"'
    assert reply_link in r.text and 'rel="next"' not in r.text
    french = await client.get("/home?lang=fr")
    assert "Fil d’actualité" in french.text and "Répondre" in french.text


async def test_a_bad_cursor_is_refused(web: httpx.AsyncClient) -> None:
    assert (await web.get("/home?before=abc")).status_code == 400
    assert (await web.get("/home?before=" + "9" * 40)).status_code == 400


# --- replies -------------------------------------------------------------------------------


async def test_a_reply_to_a_remote_post_is_pinned(fed: Federation, member: LocalActor) -> None:
    """Mastodon threads a reply by ``inReplyTo``, and notifies its author by the ``Mention``
    (tag and ``cc``); the exact shape is pinned (tests/expected/post_reply.json)."""
    await offline(fed)
    zoe, _ = await remote_actor("zoe", "remote.example")
    fan = await follower(member, "fan", "fans.example")
    original = await note(zoe, 7)
    post = await posting.reply(fed, member, original.ap_id, posting.Draft("Avec plaisir !", "fr"))

    create = await Activity.get(type="Create", object_uri=post.ap_id)
    expected = json.loads((EXPECTED / "post_reply.json").read_text())
    assert normalised(create.payload) == expected
    obj = create.payload["object"]
    assert obj["inReplyTo"] == original.ap_id and obj["to"] == [PUBLIC]
    assert obj["cc"] == [f"{BASE}/u/alice/followers", zoe.ap_id]
    assert obj["content"].startswith('<p><span class="h-card"')
    assert (post.kind, post.in_reply_to) == (PostKind.REPLY, original.ap_id)
    inboxes = await Delivery.filter(activity_id=create.id).values_list("inbox", flat=True)
    assert sorted(inboxes) == sorted([zoe.inbox, fan.delivery_inbox])


async def test_a_reply_is_as_wide_as_the_post_it_answers(
    fed: Federation, member: LocalActor
) -> None:
    await offline(fed)
    zoe, _ = await remote_actor("zoe", "remote.example")
    await follower(member, "fan", "fans.example")
    await follows(member, zoe.ap_id)
    private = await note(zoe, 1, visibility=Visibility.FOLLOWERS)
    direct = await note(
        zoe, 2, visibility=Visibility.DIRECT, document={"to": [f"{BASE}/u/alice"], "cc": []}
    )
    to_private = await posting.reply(fed, member, private.ap_id, posting.Draft("Oui", "fr"))
    to_direct = await posting.reply(fed, member, direct.ap_id, posting.Draft("Non", "fr"))
    assert to_private.document is not None and to_direct.document is not None
    followers = f"{BASE}/u/alice/followers"
    assert (to_private.document["to"], to_private.document["cc"]) == ([followers], [zoe.ap_id])
    assert (to_direct.document["to"], to_direct.document["cc"]) == ([zoe.ap_id], [])
    assert (to_private.visibility, to_direct.visibility) == (
        Visibility.FOLLOWERS,
        Visibility.DIRECT,
    )
    direct_create = await Activity.get(type="Create", object_uri=to_direct.ap_id)
    inboxes = await Delivery.filter(activity_id=direct_create.id).values_list("inbox", flat=True)
    assert list(inboxes) == [zoe.inbox]  # never to the member's followers
    assert not direct_create.public  # out of the outbox

    # deleting them tells the same audience, and keeps them out of the outbox still
    for post in (to_private, to_direct):
        await posting.delete_post(fed, post)
        delete = await Activity.get(type="Delete", object_uri=post.ap_id)
        assert (delete.payload["to"], delete.payload["cc"]) == (
            post.document["to"],
            post.document["cc"],
        )
        assert not delete.public


async def test_a_reply_to_an_offer_local_or_remote(
    fed: Federation, member: LocalActor, coop: LocalActor
) -> None:
    await offline(fed)
    bob = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop)
    local = await create_offer(fed, bob, samples.ride())
    post = await posting.reply(fed, member, local.ap_id, posting.Draft("Une place ?", "fr"))
    assert post.document is not None and post.document["inReplyTo"] == local.ap_id
    assert post.content.startswith(
        f'<p><span class="h-card" translate="no"><a href="{BASE}/u/bob" class="u-url mention">'
    )
    told = await Notification.get(recipient_id=bob.id)
    assert (told.kind, told.object_uri, told.actor_uri) == (
        NotificationKind.REPLY,
        local.ap_id,
        f"{BASE}/u/alice",
    )
    zoe, _ = await remote_actor("zoe", "remote.example")
    remote = await create_offer(fed, bob, samples.stay())
    remote_id = "https://remote.example/offers/1"
    await Offer.filter(id=remote.id).update(
        ap_id=remote_id, local_uuid=None, author_id=None, author_uri=zoe.ap_id
    )
    answer = await posting.reply(fed, member, remote_id, posting.Draft("Libre en mai ?", "fr"))
    create = await Activity.get(type="Create", object_uri=answer.ap_id)
    assert create.payload["object"]["inReplyTo"] == remote_id
    assert create.payload["object"]["tag"][0] == {
        "type": "Mention",
        "href": zoe.ap_id,
        "name": "@zoe@remote.example",
    }
    inboxes = await Delivery.filter(activity_id=create.id).values_list("inbox", flat=True)
    assert list(inboxes) == [zoe.inbox]


async def test_replying_from_the_pages(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor, coop: LocalActor
) -> None:
    announcement = await posting.announce(fed, coop, posting.Draft("Qui vient jeudi ?", "fr"))
    path = f"/posts/{announcement.local_uuid}"
    page = await web.get(path)
    assert 'name="in_reply_to"' in page.text and "No reply yet." in page.text
    form = await web.get(f"/reply?to={announcement.ap_id}")
    assert form.status_code == 200 and "Qui vient jeudi ?" in form.text
    data = {"csrf_token": csrf_of(form.text), "in_reply_to": announcement.ap_id}
    r = await web.post("/reply", data={**data, "text": "  "})
    assert r.status_code == 422 and 'id="reply-error"' in r.text
    r = await web.post("/reply", data={**data, "text": "Moi !", "language": "fr"})
    assert r.status_code == 303 and r.headers["location"] == path
    page = await web.get(path)
    assert "Your reply is sent." in page.text and "Moi !" in page.text
    assert "No reply yet." not in page.text
    reply = await Post.get(kind=PostKind.REPLY)
    assert reply.content.startswith(
        f'<p><span class="h-card" translate="no"><a href="{BASE}/c/velos"'
    )
    told = await Notification.get(recipient_id=coop.id)  # the coop's admins read it
    assert told.kind == NotificationKind.REPLY and told.link == f"/posts/{reply.local_uuid}"
    unknown = await web.get("/reply?to=https://nowhere.example/notes/1")
    assert unknown.status_code == 404
    r = await web.post("/reply", data={**data, "in_reply_to": "https://nowhere.example/x"})
    assert r.status_code == 404
    r = await web.post("/reply", data={"in_reply_to": announcement.ap_id, "text": "x"})
    assert r.status_code == 403  # no CSRF token


async def test_only_what_a_member_may_read_can_be_answered(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor, coop: LocalActor
) -> None:
    """A followers-only post is for its author's followers, a direct message for those it is
    addressed to: the reply page of anyone else is a 404, and shows nothing of it."""
    zoe, _ = await remote_actor("zoe", "remote.example")
    bob = f"{BASE}/u/bob"
    private = await note(zoe, 1, visibility=Visibility.FOLLOWERS, content="<p>Entre nous</p>")
    secret = await note(
        zoe,
        2,
        visibility=Visibility.DIRECT,
        content="<p>Pour Bob seul</p>",
        document={"to": [bob], "cc": []},
    )
    for post in (private, secret):
        r = await web.get("/reply", params={"to": post.ap_id})
        assert r.status_code == 404 and "Entre nous" not in r.text and "Bob seul" not in r.text
    await follows(member, zoe.ap_id)
    r = await web.get("/reply", params={"to": private.ap_id})
    assert r.status_code == 200 and "Entre nous" in r.text
    assert (await web.get("/reply", params={"to": secret.ap_id})).status_code == 404
    await Post.filter(id=secret.id).update(document={"to": [f"{BASE}/u/alice"], "cc": []})
    r = await web.get("/reply", params={"to": secret.ap_id})
    assert r.status_code == 200 and "Pour Bob seul" in r.text


async def test_continuing_ones_own_thread_mentions_nobody(
    fed: Federation, member: LocalActor
) -> None:
    first = await posting.announce(fed, member, posting.Draft("Sortie vélo dimanche", "fr"))
    more = await posting.reply(fed, member, first.ap_id, posting.Draft("Départ 9 h", "fr"))
    assert more.content == "<p>Départ 9 h</p>"
    assert more.document is not None and more.document["tag"] == []
    assert more.document["inReplyTo"] == first.ap_id
    assert await Notification.all().count() == 0


async def test_a_followers_only_reply_is_not_served_to_everyone(
    fed: Federation, web: httpx.AsyncClient, member: LocalActor
) -> None:
    await offline(fed)
    zoe, _ = await remote_actor("zoe", "remote.example")
    await follows(member, zoe.ap_id)
    private = await note(zoe, 1, visibility=Visibility.FOLLOWERS)
    answer = await posting.reply(fed, member, private.ap_id, posting.Draft("Entre nous", "fr"))
    path = f"/posts/{answer.local_uuid}"
    as2 = {"Accept": "application/activity+json"}
    assert (await web.get(path, headers=as2)).status_code == 404
    assert "Entre nous" in (await web.get(path)).text  # its author reads it
    web.cookies.clear()
    assert (await web.get(path)).status_code == 404
