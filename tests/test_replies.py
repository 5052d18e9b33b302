"""Replies, favourites and boosts from the Fediverse, in process (signed POST → worker, no
network), with Mastodon's and GoToSocial's own payloads (``tests/fixtures/``) readdressed in
memory to our offer: what is kept, what is shown under the offer and in its ``replies``
collection, who is told (once), and what ``Update``, ``Delete`` and ``Undo`` change. The
Fedify peer does the same over real HTTP (``tests/test_fedify_interactions.py``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from activitypub.notes import excerpt, read_note, sanitise, visibility_of
from activitypub.urls import PATHS, replies_collection_of
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.offers import create_offer
from federation.services.replies import replies_of
from models.actors import ActorKind, LocalActor, RemoteActor
from models.follows import Follow, FollowState
from models.notifications import Notification, NotificationKind
from models.offers import Offer
from models.posts import Post, PostKind, Reaction, ReactionKind, Visibility
from tests import offer_samples as samples
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig import peers
from tests.rig.canned import keypair, remote_actor
from tests.rig.peers import Signer
from tests.test_bookings_inbox import deliver

BASE = f"https://{TEST_DOMAIN}"
ALICE = f"{BASE}/u/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS2 = {"Accept": "application/activity+json"}
HOSTILE = (
    '<p><span class="h-card"><a href="{alice}" class="u-url mention">@<span>alice</span></a>'
    "</span> Super, je viens ! <script>alert(1)</script>"
    '<a href="javascript:alert(2)" onclick="steal()">clic</a> '
    '<a href="/settings">ici</a> <a href="https://peer.example/@bob/1" target="_blank">lien</a>'
    '<img src="https://peer.example/x.png" onerror="steal()"></p>'
)

sent, bob, yann = peers.sent, peers.bob, peers.yann


def load(name: str) -> dict[str, Any]:
    activity: dict[str, Any] = json.loads((FIXTURES / name).read_bytes())
    activity.pop("signature", None)  # an LD signature by its origin: not ours to forge
    return activity


def reply(by: RemoteActor, n: int, in_reply_to: str, html: str, **changes: Any) -> Any:
    """Mastodon's captured public post (``mastodon-post-activity.json``), by ``by``, in reply
    to ``in_reply_to``, mentioning Alice as Mastodon does."""
    activity = load("mobilizon-captures/mastodon-post-activity.json")
    note = activity["object"]
    status = f"{by.ap_id}/statuses/{n}"
    note.update(
        id=status,
        atomUri=status,
        url=f"https://{by.domain}/@{by.username}/{n}",
        attributedTo=by.ap_id,
        inReplyTo=in_reply_to,
        to=[PUBLIC],
        cc=[f"{by.ap_id}/followers", ALICE],
        content=html,
        summary=None,
        sensitive=False,
        tag=[{"href": ALICE, "name": f"@alice@{TEST_DOMAIN}", "type": "Mention"}],
    )
    note.update(changes)
    activity.update(
        id=f"{status}/activity", actor=by.ap_id, to=note["to"], cc=note["cc"], nickname=None
    )
    return activity


@pytest.fixture
async def offer(fed: Federation, member: LocalActor) -> Offer:
    return await create_offer(fed, member, samples.ride())


async def notifications(kind: NotificationKind | None = None) -> list[Notification]:
    query = Notification.all() if kind is None else Notification.filter(kind=kind)
    return await query.order_by("id")


# --- reading a note -------------------------------------------------------------------------------


def test_sanitising_keeps_what_mastodon_keeps() -> None:
    clean = sanitise(HOSTILE.format(alice=ALICE))
    assert "<script" not in clean and "alert(1)" not in clean
    assert "onclick" not in clean and "onerror" not in clean and "<img" not in clean
    assert "javascript:" not in clean and 'href="/settings"' not in clean
    assert 'target="_blank"' not in clean and 'class="' not in clean
    assert '<a href="https://peer.example/@bob/1" rel="nofollow noopener noreferrer">lien</a>' in (
        clean
    )
    kept = "<p>a<br>b</p><ul><li><strong>x</strong> <em>y</em></li></ul><blockquote>q</blockquote>"
    kept += "<pre><code>c</code></pre><ol><li>1</li></ol>"
    assert sanitise(kept) == kept
    assert sanitise("<h1>Title</h1><table><tr><td>t</td></tr></table>") == "Titlet"
    assert excerpt(HOSTILE.format(alice=ALICE)) == "Super, je viens ! clic ici lien"


@pytest.mark.parametrize(
    "to, cc, visibility",
    [
        ([PUBLIC], ["https://p.example/u/b/followers"], Visibility.PUBLIC),
        (["as:Public"], [], Visibility.PUBLIC),
        (["https://p.example/u/b/followers"], [PUBLIC], Visibility.UNLISTED),
        (["https://p.example/u/b/followers", ALICE], [], Visibility.FOLLOWERS),
        ([ALICE], [], Visibility.DIRECT),
    ],
)
def test_visibility_is_read_as_mastodon_reads_it(
    to: list[str], cc: list[str], visibility: Visibility
) -> None:
    assert visibility_of(to, cc, "https://p.example/u/b/followers") == visibility


def test_a_gotosocial_capture_is_read() -> None:
    """Mastodon's note as GoToSocial keeps it for its tests: the language from ``contentMap``,
    the content warning, the picture as a link (never fetched)."""
    activity = load("gotosocial-captures/samplenote.json")
    followers = "https://ondergrond.org/users/dumpsterqueer/followers"
    note = read_note(activity["object"], activity=activity, followers=followers)
    assert note.language == "en" and note.summary == "selfie"
    assert note.content == "<p>good morning i'm up and at 'em</p>"
    assert note.visibility == Visibility.UNLISTED  # followers in to, Public in cc
    [picture] = note.attachments
    assert picture["url"].endswith("84bade009d44f0e7.jpg")
    assert picture["media_type"] == "image/jpeg"
    assert picture["description"].startswith("me sitting in front of my computer")
    assert note.url == "https://ondergrond.org/@dumpsterqueer/106124968746291389"


def test_articles_pages_and_polls_as_mastodon_shows_them() -> None:
    base = {"attributedTo": "https://p.example/u/b", "to": [PUBLIC]}
    article = read_note(
        {
            **base,
            "id": "https://p.example/a/1",
            "type": "Article",
            "name": "Nouvelle ligne <Lyon>",
            "summary": "Chaque mardi",
            "content": "<p>Le long texte…</p>",
            "url": [{"type": "Link", "mediaType": "text/html", "href": "https://p.example/@b/a"}],
        },
        followers=None,
    )
    assert article.content == (
        "<p><strong>Nouvelle ligne &lt;Lyon&gt;</strong></p><p>Chaque mardi</p><p>"
        '<a href="https://p.example/@b/a" rel="nofollow noopener noreferrer">'
        "https://p.example/@b/a</a></p>"
    )
    assert article.summary == ""  # the summary is in the text, not a content warning
    poll = read_note(
        {
            **base,
            "id": "https://p.example/q/1",
            "type": "Question",
            "content": "<p>Quel jour ?</p>",
            "oneOf": [{"type": "Note", "name": "Mardi"}, {"type": "Note", "name": "<b>Jeudi</b>"}],
        },
        followers=None,
    )
    choices = "<ul><li>Mardi</li><li>&lt;b&gt;Jeudi&lt;/b&gt;</li></ul>"
    assert poll.content == "<p>Quel jour ?</p>" + choices


# --- replies --------------------------------------------------------------------------------------


async def test_a_mastodon_reply_is_shown_under_the_offer_and_notified_once(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, offer: Offer, bob: Signer
) -> None:
    answer = reply(bob[0], 1, offer.ap_id, HOSTILE.format(alice=ALICE))
    assert await deliver(client, fed, answer, bob) == "done"
    post = await Post.get(ap_id=answer["object"]["id"])
    assert (post.kind, post.visibility, post.in_reply_to) == (
        PostKind.REPLY,
        Visibility.PUBLIC,
        offer.ap_id,
    )
    assert (post.author_name, post.author_handle) == ("Bob", "@bob@peer.example")
    assert "<script" not in post.content and "javascript:" not in post.content
    [told] = await notifications()
    assert (told.recipient_id, told.kind, told.actor_uri) == (
        member.id,
        NotificationKind.REPLY,
        bob[0].ap_id,
    )
    assert told.link == f"/offers/{offer.local_uuid}#reply-{post.id}"
    assert told.text == "Super, je viens ! clic ici lien"
    # the same note again, in another activity (its second inbox): one post, one notification
    again = {**copy.deepcopy(answer), "id": answer["id"] + "/again"}
    assert await deliver(client, fed, again, bob) == "done"
    assert await Post.all().count() == 1 and len(await notifications()) == 1

    page = await client.get(f"/offers/{offer.local_uuid}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert f'id="reply-{post.id}"' in page.text
    assert "Super, je viens !" in page.text and "@bob@peer.example" in page.text
    assert "peer.example" in page.text and "<script>alert" not in page.text
    assert 'id="replies-count">1<' in page.text and 'id="likes-count">0<' in page.text
    assert "steal()" not in page.text
    assert "Favourites" in page.text and "Boosts" in page.text
    french = await client.get(
        f"/offers/{offer.local_uuid}?lang=fr", headers={"Accept": "text/html"}
    )
    assert "Favoris" in french.text and "Partages" in french.text and "Réponses" in french.text

    replies_url = f"/offers/{offer.local_uuid}/replies"
    assert replies_collection_of(offer.ap_id) == BASE + replies_url  # the offer's ``replies``
    assert PATHS["post_replies"] == PATHS["post"] + "/replies"  # a post's, the same way
    head = (await client.get(replies_url, headers=AS2)).json()
    assert (head["type"], head["id"], head["totalItems"]) == (
        "OrderedCollection",
        BASE + replies_url,
        1,
    )
    assert head["first"]["orderedItems"] == [post.ap_id]  # embedded, as Mastodon embeds it
    first = (await client.get(head["first"]["id"].removeprefix(BASE), headers=AS2)).json()
    assert first["orderedItems"] == [post.ap_id] and first["partOf"] == BASE + replies_url
    assert "next" not in first
    assert (await client.get(replies_url + "?page=0", headers=AS2)).status_code == 400
    missing = "/offers/00000000-0000-4000-8000-000000000000/replies"
    assert (await client.get(missing, headers=AS2)).status_code == 404


async def test_only_public_and_unlisted_replies_are_listed(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, offer: Offer, bob: Signer
) -> None:
    followers = f"{bob[0].ap_id}/followers"
    unlisted = reply(bob[0], 1, offer.ap_id, "<p>un</p>", to=[followers], cc=[PUBLIC, ALICE])
    private = reply(bob[0], 2, offer.ap_id, "<p>deux</p>", to=[followers, ALICE], cc=[])
    for activity in (unlisted, private):
        assert await deliver(client, fed, activity, bob) == "done"
    listed = await replies_of(offer.ap_id)
    assert [p.ap_id for p in listed] == [unlisted["object"]["id"]]
    kept = await Post.get(ap_id=private["object"]["id"])
    assert kept.visibility == Visibility.FOLLOWERS
    told = await notifications(NotificationKind.REPLY)
    assert len(told) == 2  # both addressed to Alice
    assert told[1].link == private["object"]["url"]  # not on the offer's page: its own


async def test_what_concerns_no_one_here_is_ignored(
    client: httpx.AsyncClient, fed: Federation, offer: Offer, bob: Signer
) -> None:
    elsewhere = reply(bob[0], 1, "https://peer.example/statuses/9", "<p>hors sujet</p>", tag=[])
    elsewhere["object"]["cc"] = elsewhere["cc"] = [f"{bob[0].ap_id}/followers"]
    assert await deliver(client, fed, elsewhere, bob) == "ignored"
    # unreadable, but about nothing here: ignored as well, never read
    odd = reply(bob[0], 2, "https://peer.example/statuses/9", "<p>x</p>", tag=[], content={})
    odd["object"]["cc"] = odd["cc"] = []
    assert await deliver(client, fed, odd, bob) == "ignored"
    assert await Post.all().count() == 0 and await Notification.all().count() == 0


async def test_a_reply_that_cannot_be_read_or_is_someone_elses_fails(
    client: httpx.AsyncClient, fed: Federation, offer: Offer, bob: Signer
) -> None:
    unreadable = reply(bob[0], 1, offer.ap_id, "<p>x</p>", content={"html": "<p>x</p>"})
    assert await deliver(client, fed, unreadable, bob) == "failed"
    other = reply(bob[0], 2, offer.ap_id, "<p>x</p>", attributedTo="https://peer.example/u/eve")
    assert await deliver(client, fed, other, bob) == "failed"
    assert await Post.all().count() == 0 and await Notification.all().count() == 0


async def test_a_mention_and_a_direct_message_notify_the_member(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    mention = reply(bob[0], 1, None, "<p>@alice on roule samedi ?</p>")
    assert await deliver(client, fed, mention, bob) == "done"
    direct = reply(bob[0], 2, None, "<p>@alice psst</p>", to=[ALICE], cc=[])
    direct["to"], direct["cc"] = [ALICE], []
    assert await deliver(client, fed, direct, bob) == "done"
    kinds = [(p.kind, p.visibility) for p in await Post.all().order_by("id")]
    assert kinds == [(PostKind.NOTE, Visibility.PUBLIC), (PostKind.NOTE, Visibility.DIRECT)]
    told = await notifications()
    assert [(n.kind, n.text, n.recipient_id) for n in told] == [
        (NotificationKind.MENTION, "on roule samedi ?", member.id),
        (NotificationKind.MENTION, "psst", member.id),
    ]


async def test_a_followed_account_s_posts_are_kept_for_the_home_feed(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    """GoToSocial's captured note, from an account Alice follows: kept, no one notified."""
    activity = load("gotosocial-captures/samplenote.json")
    author = activity["actor"]
    doc_key = keypair("a")
    actor, pem = await remote_actor("dumpsterqueer", "ondergrond.org", key=doc_key)
    assert actor.ap_id == author
    assert await deliver(client, fed, activity, (actor, pem)) == "ignored"  # not followed yet
    await Follow.create(
        ap_id=f"{BASE}/activities/f1",
        follower_uri=ALICE,
        target_uri=author,
        local_follower=member,
        remote_target=actor,
        state=FollowState.ACCEPTED,
    )
    again = {**activity, "id": activity["id"] + "/2"}
    assert await deliver(client, fed, again, (actor, pem)) == "done"
    post = await Post.get(ap_id=activity["object"]["id"])
    assert (post.kind, post.visibility, post.language, post.summary) == (
        PostKind.NOTE,
        Visibility.UNLISTED,
        "en",
        "selfie",
    )
    assert post.attachments[0]["media_type"] == "image/jpeg"
    assert await Notification.all().count() == 0


async def test_update_and_delete_come_from_the_author_only(
    client: httpx.AsyncClient,
    fed: Federation,
    offer: Offer,
    bob: Signer,
) -> None:
    answer = reply(bob[0], 1, offer.ap_id, "<p>avant</p>", published="2025-01-01T10:00:00Z")
    assert await deliver(client, fed, answer, bob) == "done"
    note_id = answer["object"]["id"]
    edited = {**answer["object"], "content": "<p>après</p>", "updated": "2025-01-01T11:00:00Z"}
    update = {"id": f"{note_id}#updates/1", "type": "Update", "actor": bob[0].ap_id}
    assert await deliver(client, fed, {**update, "object": edited}, bob) == "done"
    assert (await Post.get(ap_id=note_id)).content == "<p>après</p>"
    stale = {**edited, "content": "<p>vieux</p>", "updated": "2025-01-01T10:30:00Z"}
    assert await deliver(client, fed, {**update, "id": update["id"] + "b", "object": stale}, bob)
    assert (await Post.get(ap_id=note_id)).content == "<p>après</p>"
    # another account of the same server cannot change it
    eve, eve_pem = await remote_actor("eve", "peer.example", key=keypair("b"))
    forged = {**update, "id": f"{eve.ap_id}#u", "actor": eve.ap_id, "object": edited}
    assert await deliver(client, fed, forged, (eve, eve_pem)) == "failed"
    gone = {**load("mobilizon-captures/mastodon-delete.json"), "actor": eve.ap_id}
    gone.update(id=f"{eve.ap_id}#delete", object={"id": note_id, "type": "Tombstone"})
    assert await deliver(client, fed, gone, (eve, eve_pem)) == "ignored"
    assert await Post.exists(ap_id=note_id)
    # Mastodon's own Delete (a Tombstone): the reply and its notification go
    delete = load("mobilizon-captures/mastodon-delete.json")
    delete.update(id=f"{note_id}#delete", actor=bob[0].ap_id)
    delete["object"].update(id=note_id, atomUri=note_id)
    assert await deliver(client, fed, delete, bob) == "done"
    assert not await Post.exists(ap_id=note_id)
    assert await Notification.all().count() == 0


# --- favourites and boosts ------------------------------------------------------------------------


async def test_a_favourite_is_counted_and_notified_once_then_undone(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, offer: Offer, bob: Signer
) -> None:
    like = load("mobilizon-captures/mastodon-like.json")
    like.update(id=f"{bob[0].ap_id}#likes/2", actor=bob[0].ap_id, object=offer.ap_id)
    assert await deliver(client, fed, like, bob) == "done"
    [reaction] = await Reaction.all()
    assert (reaction.kind, reaction.actor_uri, reaction.object_uri) == (
        ReactionKind.LIKE,
        bob[0].ap_id,
        offer.ap_id,
    )
    [told] = await notifications()
    assert (told.kind, told.recipient_id, told.text) == (
        NotificationKind.LIKE,
        member.id,
        offer.title,
    )
    # liked again under another id: still one favourite, one notification
    assert await deliver(client, fed, {**like, "id": like["id"] + "0"}, bob) == "done"
    assert await Reaction.all().count() == 1 and await Notification.all().count() == 1
    page = await client.get(f"/offers/{offer.local_uuid}", headers={"Accept": "text/html"})
    assert 'id="likes-count">1<' in page.text
    undo = {
        "@context": like["@context"],
        "id": f"{bob[0].ap_id}#likes/2/undo",
        "type": "Undo",
        "actor": bob[0].ap_id,
        "object": {"id": like["id"], "type": "Like", "actor": bob[0].ap_id, "object": offer.ap_id},
    }
    assert await deliver(client, fed, undo, bob) == "done"
    assert await Reaction.all().count() == 0 and await Notification.all().count() == 0
    elsewhere = {**like, "id": like["id"] + "x", "object": "https://peer.example/statuses/1"}
    assert await deliver(client, fed, elsewhere, bob) == "ignored"


async def test_a_boost_is_counted_and_undone(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, offer: Offer, yann: Signer
) -> None:
    announce = load("mobilizon-captures/mastodon-announce.json")
    activity_id = f"{yann[0].ap_id}/statuses/5/activity"
    announce.update(
        id=activity_id,
        actor=yann[0].ap_id,
        object=offer.ap_id,
        cc=[yann[0].ap_id, f"{yann[0].ap_id}/followers"],
    )
    assert await deliver(client, fed, announce, yann) == "done"
    assert [(r.kind, r.ap_id) for r in await Reaction.all()] == [(ReactionKind.BOOST, activity_id)]
    [told] = await notifications()
    assert (told.kind, told.recipient_id) == (NotificationKind.BOOST, member.id)
    page = await client.get(f"/offers/{offer.local_uuid}", headers={"Accept": "text/html"})
    assert 'id="boosts-count">1<' in page.text
    # Mastodon's own Undo of its Announce (embedded)
    undo = load("mobilizon-captures/mastodon-undo-announce.json")
    undo.update(id=f"{yann[0].ap_id}#announces/5/undo", actor=yann[0].ap_id)
    undo["object"].update(id=activity_id, actor=yann[0].ap_id, object=offer.ap_id)
    assert await deliver(client, fed, undo, yann) == "done"
    assert await Reaction.all().count() == 0 and await Notification.all().count() == 0


async def test_a_joined_directory_announcing_our_offer_is_no_boost(
    client: httpx.AsyncClient, fed: Federation, offer: Offer
) -> None:
    directory, pem = await remote_actor("directory", "dir.example", key=keypair("b"))
    instance = await fed.instance_actor()
    await Follow.create(
        ap_id=f"{BASE}/activities/join",
        follower_uri=fed.urls.actor(instance),
        target_uri=directory.ap_id,
        local_follower=instance,
        remote_target=directory,
        state=FollowState.ACCEPTED,
    )
    relayed = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://dir.example/activities/1",
        "type": "Announce",
        "actor": directory.ap_id,
        "object": offer.ap_id,
        "to": [PUBLIC],
    }
    assert await deliver(client, fed, relayed, (directory, pem)) == "done"
    assert await Reaction.all().count() == 0 and await Notification.all().count() == 0


async def test_a_deleted_account_takes_its_replies_and_reactions(
    client: httpx.AsyncClient, fed: Federation, offer: Offer, bob: Signer
) -> None:
    assert await deliver(client, fed, reply(bob[0], 1, offer.ap_id, "<p>oui</p>"), bob) == "done"
    like = {"id": f"{bob[0].ap_id}#likes/1", "type": "Like", "actor": bob[0].ap_id}
    assert await deliver(client, fed, {**like, "object": offer.ap_id}, bob) == "done"
    delete = load("mobilizon-captures/mastodon-delete-user.json")
    delete.update(id=f"{bob[0].ap_id}#delete", actor=bob[0].ap_id)
    delete["object"] = {"id": bob[0].ap_id, "type": "Person"}
    assert await deliver(client, fed, delete, bob) == "done"
    assert await Post.all().count() == 0 and await Reaction.all().count() == 0


async def test_a_reply_to_a_coop_post_notifies_the_coop(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, bob: Signer
) -> None:
    """A coop's announcement (a post of ours): the reply is kept in its thread, the coop told
    (its admins read it), and its ``replies`` collection lists it."""
    note_id = f"{BASE}/posts/11111111-1111-4111-8111-111111111111"
    await Post.create(
        ap_id=note_id,
        local_uuid="11111111-1111-4111-8111-111111111111",
        author=coop,
        author_uri=fed.urls.actor(coop),
        author_name="Vélos",
        kind=PostKind.ANNOUNCEMENT,
        content="<p>Nouveau : livraisons le dimanche</p>",
        url=note_id,
        published_at="2025-01-01T10:00:00Z",
        updated_at="2025-01-01T10:00:00Z",
    )
    answer = reply(bob[0], 1, note_id, "<p>Génial</p>", tag=[], cc=[f"{bob[0].ap_id}/followers"])
    assert await deliver(client, fed, answer, bob) == "done"
    [told] = await notifications()
    assert (told.recipient_id, told.kind, told.link) == (coop.id, NotificationKind.REPLY, note_id)
    collection = "/posts/11111111-1111-4111-8111-111111111111/replies"
    head = (await client.get(collection, headers=AS2)).json()
    assert head["totalItems"] == 1
    page = (await client.get(collection + "?page=1", headers=AS2)).json()
    assert page["orderedItems"] == [answer["object"]["id"]]
    assert (await client.get("/posts/nope/replies", headers=AS2)).status_code == 404


async def test_a_second_member_is_not_told_of_alice_s_replies(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, offer: Offer, bob: Signer
) -> None:
    carol = await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=coop)
    assert await deliver(client, fed, reply(bob[0], 1, offer.ap_id, "<p>oui</p>"), bob) == "done"
    assert not await Notification.exists(recipient_id=carol.id)
