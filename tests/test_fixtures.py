"""Payloads captured from Mastodon, GoToSocial, Mobilizon, Gancio, Pleroma, PeerTube and WordPress
(``tests/fixtures``, whose README gives each file's origin) must be understood as they are.

A captured activity is rewritten only where a test cannot do otherwise: its actor is cached with a
test key in place of the real one (there is no private key for it), and a Follow's object becomes
our coop. Everything else, down to the bytes (Go-style escapes, odd indentation, LD signatures),
goes through the real inbox, signed for real.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from activitypub.convert import as_to_remote_actor_fields
from federation.actors import fetch_actor, save_actor_document
from federation.context import Federation
from federation.inbox import process_due
from federation.services.directory import NODEINFO_21, check_candidate, passed
from federation.webfinger import _self_link, resolve
from models.activities import InboxItem, InboxState
from models.actors import LocalActor, RemoteActor
from models.delivery import Delivery
from models.errors import Malformed, NotFound
from models.follows import Follow, FollowState
from models.offers import Offer
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig.canned import (
    cache_with_key,
    document_at,
    key_fetches,
    keypair,
    offline,
    post_signed,
    posts,
)

BASE = f"https://{TEST_DOMAIN}"
COOP = f"{BASE}/c/velos"
MEMBER = f"{BASE}/u/alice"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(raw(name))
    return doc


def http_capture(name: str) -> httpx.Response:
    """A raw HTTP response file (status line, headers, blank line, body) as an httpx response."""
    head, body = re.split(rb"\r?\n\r?\n", raw(name), maxsplit=1)
    status_line, *header_lines = head.decode("ascii").splitlines()
    status = int(status_line.split()[1])
    hop_by_hop = {"transfer-encoding", "connection", "content-length"}
    headers = [
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in header_lines)
        if k.strip().lower() not in hop_by_hop
    ]
    return httpx.Response(status, headers=headers, content=body)


def capture_json(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = http_capture(name).json()
    return doc


# --- the captures themselves -------------------------------------------------------------------


def test_every_capture_has_its_provenance() -> None:
    """Each file is in the README under its folder, with an origin path and commit."""
    sections = re.split(r"^## ", (FIXTURES / "README.md").read_text(encoding="utf-8"), flags=re.M)
    for folder in sorted(FIXTURES.glob("*-captures")):
        [section] = [s for s in sections if s.startswith(f"{folder.name}/ — from `")]
        for path in sorted(folder.iterdir()):
            row = re.search(
                rf"^\| `{re.escape(path.name)}` \| `[^`]+` @ [0-9a-f]{{7}} \|", section, re.M
            )
            assert row, path.name
            if path.suffix == ".json":
                json.loads(path.read_bytes())
            else:
                assert http_capture(f"{folder.name}/{path.name}").status_code == 200


# --- actor documents --------------------------------------------------------------------------

ACTOR_DOCUMENTS = {
    "mobilizon-captures/mastodon-actor.json": "Person",
    "mobilizon-captures/gancio-actor.json": "Application",
    "mobilizon-captures/signature-framapiaf_admin.json": "Service",
    "mastodon-captures/activitypub-actor.txt": "Person",
    "mastodon-captures/activitypub-actor-individual.txt": "Person",
}


def actor_fixture(name: str) -> dict[str, Any]:
    return capture_json(name) if name.endswith(".txt") else load(name)


@pytest.mark.parametrize("name", sorted(ACTOR_DOCUMENTS))
async def test_actor_document_converts(fed: Federation, name: str) -> None:
    doc = actor_fixture(name)
    fields = as_to_remote_actor_fields(doc)
    assert fields["ap_id"] == doc["id"]
    assert fields["type"] == ACTOR_DOCUMENTS[name]
    assert fields["username"] == doc["preferredUsername"]
    assert fields["domain"] == doc["id"].split("/")[2]
    assert fields["inbox"] == doc["inbox"]
    assert fields["shared_inbox"] == doc.get("endpoints", {}).get("sharedInbox")
    assert fields["followers_url"] == doc.get("followers")
    assert fields["key_id"] == doc["publicKey"]["id"]
    assert fields["public_key_pem"] == doc["publicKey"]["publicKeyPem"]
    serialization.load_pem_public_key(fields["public_key_pem"].encode())
    assert "<script" not in fields["summary"]
    # and the database keeps the whole document as received (JSON on both engines)
    saved = await save_actor_document(doc)
    reloaded = await RemoteActor.get(id=saved.id)
    assert reloaded.document == doc
    assert reloaded.key_id == doc["publicKey"]["id"]


def test_individual_actor_keeps_its_vcard_type() -> None:
    doc = capture_json("mastodon-captures/activitypub-actor-individual.txt")
    assert doc["type"] == ["Person", "vcard:individual"]
    assert as_to_remote_actor_fields(doc)["type"] == "Person"


def test_shared_inbox_elsewhere_is_dropped() -> None:
    doc = load("mobilizon-captures/mastodon-actor.json")
    assert as_to_remote_actor_fields(doc)["shared_inbox"] == "https://framapiaf.org/inbox"
    doc["endpoints"]["sharedInbox"] = "https://collector.example/inbox"
    assert as_to_remote_actor_fields(doc)["shared_inbox"] is None
    doc["inbox"] = "https://collector.example/users/peertube/inbox"
    with pytest.raises(Malformed):
        as_to_remote_actor_fields(doc)


def test_key_of_another_owner_or_host_is_not_the_actors() -> None:
    doc = load("mobilizon-captures/mastodon-actor.json")
    doc["publicKey"]["owner"] = "https://framapiaf.org/users/admin"
    assert as_to_remote_actor_fields(doc)["key_id"] is None
    doc = load("mobilizon-captures/mastodon-actor.json")
    doc["publicKey"]["id"] = "https://mastodon.social/users/Gargron#main-key"
    fields = as_to_remote_actor_fields(doc)
    assert fields["key_id"] is None
    assert fields["public_key_pem"] is None


def test_actor_without_inbox_is_malformed() -> None:
    doc = capture_json("mastodon-captures/activitypub-actor-noinbox.txt")
    assert doc["inbox"] is None
    with pytest.raises(Malformed):
        as_to_remote_actor_fields(doc)


def test_update_fixture_key_is_refused() -> None:
    person = load("mobilizon-captures/mastodon-update.json")["object"]
    with pytest.raises(Malformed):
        as_to_remote_actor_fields(person)


@pytest.mark.parametrize(
    "name, error",
    [
        ("mastodon-captures/activitypub-actor.txt", None),
        ("mastodon-captures/activitypub-actor-individual.txt", None),
        ("mastodon-captures/activitypub-actor-noinbox.txt", Malformed),
    ],
)
async def test_fetch_actor_replaying_the_capture(
    fed: Federation, name: str, error: type[Exception] | None
) -> None:
    url = "https://ap.example.com/users/foo"
    sent = await offline(fed, {url: http_capture(name)})
    if error is not None:
        with pytest.raises(error):
            await fetch_actor(fed, url)
        assert await RemoteActor.all().count() == 0
    else:
        actor = await fetch_actor(fed, url)
        assert actor.ap_id == url
        assert actor.shared_inbox == "https://ap.example.com/inbox"
        assert actor.key_id == f"{url}#main-key"
    [request] = sent
    assert "application/activity+json" in request.headers["accept"]
    assert 'keyId="https://coop.test/actor#main-key"' in request.headers["signature"]


# --- WebFinger ----------------------------------------------------------------------------

WEBFINGERS = [
    ("mastodon-captures/activitypub-webfinger.txt", "foo@ap.example.com"),
    ("mastodon-captures/activitypub-webfinger-noncanonical.txt", "foo@ap2.example.com"),
]


@pytest.mark.parametrize("name, handle", WEBFINGERS)
def test_webfinger_self_link(name: str, handle: str) -> None:
    assert _self_link(capture_json(name), handle) == "https://ap.example.com/users/foo"


def test_broken_webfinger_has_no_self_link() -> None:
    jrd = capture_json("mastodon-captures/broken-webfinger.txt")
    assert jrd["subject"] == "acct:brokengargron@quitter.no"
    with pytest.raises(NotFound):
        _self_link(jrd, "brokengargron@quitter.no")


@pytest.mark.parametrize(
    "name, handle",
    [*WEBFINGERS, ("mastodon-captures/broken-webfinger.txt", "brokengargron@quitter.no")],
)
async def test_resolve_replaying_the_capture(fed: Federation, name: str, handle: str) -> None:
    user, host = handle.split("@")
    url = str(httpx.URL(f"https://{host}/.well-known/webfinger?resource=acct:{user}@{host}"))
    sent = await offline(fed, {url: http_capture(name)})
    if "broken" in name:
        with pytest.raises(NotFound):
            await resolve(fed, f"@{handle}")
    else:
        assert await resolve(fed, f"@{handle}") == "https://ap.example.com/users/foo"
    assert [str(r.url) for r in sent] == [url]
    assert "signature" not in sent[0].headers  # WebFinger is fetched unsigned


# --- activities end to end --------------------------------------------------------------------

ACTOR_SOURCES = {
    doc["id"]: doc
    for doc in [
        *(actor_fixture(name) for name in ACTOR_DOCUMENTS),
        load("mobilizon-captures/mastodon-update.json")["object"],
    ]
}


async def cache_actor_of(activity: dict[str, Any]) -> RemoteActor:
    """The activity's actor, cached with test key "a": its own captured document when there is
    one (framapiaf admin, gancio, framasoft), else a Mastodon-shaped one at its id."""
    actor_id = activity["actor"]
    doc = ACTOR_SOURCES.get(actor_id) or document_at(actor_id, public_pem=keypair("a").public_pem)
    return await cache_with_key(doc, keypair("a"))


async def post_fixture(
    client: httpx.AsyncClient, actor: RemoteActor, activity: dict[str, Any], body: bytes, path: str
) -> httpx.Response:
    assert actor.key_id
    return await post_signed(
        client, BASE + path, activity, actor.key_id, keypair("a").private_pem, body=body
    )


async def process(fed: Federation) -> None:
    while await process_due(fed):
        pass


def with_local_follow_object(activity: dict[str, Any]) -> dict[str, Any]:
    activity = copy.deepcopy(activity)
    if activity["type"] == "Follow":
        activity["object"] = COOP
    else:  # Undo of an embedded Follow
        activity["object"]["object"] = COOP
    return activity


ACTIVITIES = [
    # (fixture, rewrite the Follow's object to our coop, final inbox state)
    ("mobilizon-captures/mastodon-follow-activity.json", True, InboxState.DONE),
    ("mobilizon-captures/mastodon-unfollow-activity.json", True, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-accept-activity.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-reject-activity.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-post-activity.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-post-activity-private.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-delete.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-delete-user.json", False, InboxState.DONE),
    ("mobilizon-captures/mastodon-update.json", False, InboxState.FAILED),
    ("mobilizon-captures/mastodon-announce.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-undo-announce.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mastodon-like.json", False, InboxState.IGNORED),
    ("mobilizon-captures/gancio-event-activity.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mobilizon-post-activity.json", False, InboxState.IGNORED),
    ("mobilizon-captures/mobilizon-join-activity.json", False, InboxState.IGNORED),
    ("gotosocial-captures/samplenote.json", False, InboxState.IGNORED),
]


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    """No network: requests go to an in-process transport (tests may install their own)."""
    yield await offline(fed)


@pytest.mark.parametrize("name, rewrite, final", ACTIVITIES)
async def test_captured_activity_is_accepted(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    sent: list[httpx.Request],
    name: str,
    rewrite: bool,
    final: InboxState,
) -> None:
    activity = load(name)
    if rewrite:
        activity = with_local_follow_object(activity)
        body = json.dumps(activity).encode()
    else:
        body = raw(name)  # the captured bytes, as the origin server sent them
    actor = await cache_actor_of(activity)
    for path in ("/inbox", "/c/velos/inbox"):  # the second one is a duplicate
        r = await post_fixture(client, actor, activity, body, path)
        assert r.status_code == 202, r.text
    [item] = await InboxItem.all()
    assert item.activity_id == activity["id"]
    assert item.actor_uri == activity["actor"]
    assert item.payload == activity  # verbatim, LD signature and all
    await process(fed)
    await item.refresh_from_db()
    assert item.state == final, item.error
    assert key_fetches(sent, actor) == []  # the key came from the cache
    assert posts(sent) == []  # answers are queued, not sent from inbox processing


async def test_mastodon_follow_then_unfollow(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, sent: list[httpx.Request]
) -> None:
    follow = with_local_follow_object(load("mobilizon-captures/mastodon-follow-activity.json"))
    assert "signature" in follow
    actor = await cache_actor_of(follow)
    r = await post_fixture(client, actor, follow, json.dumps(follow).encode(), "/c/velos/inbox")
    assert r.status_code == 202
    await process(fed)
    record = await Follow.get(follower_uri="https://social.tcit.fr/users/tcit")
    assert record.ap_id == "https://social.tcit.fr/users/tcit#follows/2"  # a fragment id
    assert record.state == FollowState.ACCEPTED
    [delivery] = await Delivery.all().prefetch_related("activity")
    assert delivery.inbox in (actor.inbox, actor.shared_inbox)
    accept = delivery.activity.payload
    assert accept["type"] == "Accept"
    assert accept["object"]["id"] == follow["id"]

    undo = with_local_follow_object(load("mobilizon-captures/mastodon-unfollow-activity.json"))
    assert undo["object"]["id"] == follow["id"]
    r = await post_fixture(client, actor, undo, json.dumps(undo).encode(), "/inbox")
    assert r.status_code == 202
    await process(fed)
    assert (await InboxItem.get(activity_id=undo["id"])).state == InboxState.DONE
    assert await Follow.all().count() == 0
    assert key_fetches(sent, actor) == []
    assert posts(sent) == []


@pytest.mark.parametrize(
    "name, state",
    [
        ("mobilizon-captures/mastodon-accept-activity.json", FollowState.ACCEPTED),
        ("mobilizon-captures/mastodon-reject-activity.json", FollowState.REJECTED),
    ],
)
async def test_captured_answer_to_our_follow(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    name: str,
    state: FollowState,
) -> None:
    """The captured Accept/Reject with its embedded Follow made ours (id and follower)."""
    activity = load(name)
    target = await cache_actor_of(activity)
    assert activity["object"]["object"] == target.ap_id
    ours = await Follow.create(
        ap_id=f"{BASE}/activities/ours",
        follower_uri=MEMBER,
        target_uri=target.ap_id,
        local_follower=member,
        remote_target=target,
    )
    activity["object"]["id"] = ours.ap_id
    activity["object"]["actor"] = MEMBER
    r = await post_fixture(client, target, activity, json.dumps(activity).encode(), "/inbox")
    assert r.status_code == 202
    await process(fed)
    assert (await InboxItem.get(activity_id=activity["id"])).state == InboxState.DONE
    await ours.refresh_from_db()
    assert ours.state == state


async def test_captured_delete_user_removes_the_actor(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor
) -> None:
    name = "mobilizon-captures/mastodon-delete-user.json"
    activity = load(name)
    actor = await cache_actor_of(activity)
    await Follow.create(
        ap_id=f"{actor.ap_id}#follows/1",
        follower_uri=actor.ap_id,
        target_uri=COOP,
        remote_follower=actor,
        local_target=coop,
        state=FollowState.ACCEPTED,
    )
    assert (await post_fixture(client, actor, activity, raw(name), "/inbox")).status_code == 202
    await process(fed)
    assert not await RemoteActor.exists(ap_id=actor.ap_id)
    assert await Follow.all().count() == 0


async def test_captured_update_with_broken_key_keeps_ours(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, sent: list[httpx.Request]
) -> None:
    """Mastodon's ``mastodon-update.json`` carries a PEM with 63-character base64 lines that
    does not load: it must neither crash the worker nor replace the key we hold."""
    name = "mobilizon-captures/mastodon-update.json"
    update = load(name)
    broken = update["object"]["publicKey"]["publicKeyPem"]
    with pytest.raises(ValueError):
        serialization.load_pem_public_key(broken.encode())
    actor = await cache_actor_of(update)  # its own document, with a working test key
    assert (await post_fixture(client, actor, update, raw(name), "/inbox")).status_code == 202
    await process(fed)
    item = await InboxItem.get(activity_id=update["id"])
    assert item.state == InboxState.FAILED and item.error  # unreadable: failed with its reason
    cached = await RemoteActor.get(ap_id=actor.ap_id)
    assert cached.public_key_pem == keypair("a").public_pem
    assert cached.key_id == actor.key_id
    # framasoft can still sign: a Follow from it is verified and accepted
    follow = {
        "id": f"{actor.ap_id}#follows/1",
        "type": "Follow",
        "actor": actor.ap_id,
        "object": COOP,
    }
    assert (
        await post_fixture(client, cached, follow, json.dumps(follow).encode(), "/inbox")
    ).status_code == 202
    await process(fed)
    assert (await Follow.get(follower_uri=actor.ap_id)).state == FollowState.ACCEPTED
    assert key_fetches(sent, actor) == []  # the broken key never made us refetch


async def test_captured_update_with_a_good_key_is_applied(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor
) -> None:
    """The same capture with a loadable key: the profile change is taken."""
    name = "mobilizon-captures/mastodon-update.json"
    update = load(name)
    actor = await cache_actor_of(update)
    await RemoteActor.filter(id=actor.id).update(name="Old name")
    update["object"]["publicKey"]["publicKeyPem"] = keypair("a").public_pem
    body = json.dumps(update).encode()
    assert (await post_fixture(client, actor, update, body, "/inbox")).status_code == 202
    await process(fed)
    cached = await RemoteActor.get(ap_id=actor.ap_id)
    assert cached.name == update["object"]["name"]
    assert cached.icon_url == update["object"]["icon"]["url"]


# --- what no handler is for: Pleroma's bare Note, PeerTube's Video ----------------------------

PLEROMA_NOTE = "mobilizon-captures/pleroma-comment-object.json"
PEERTUBE_VIDEO = "mobilizon-captures/peertube-video.json"


def create_of(obj: dict[str, Any], actor: str, activity_id: str) -> dict[str, Any]:
    """``obj`` in a Create as Pleroma and PeerTube send it: the ``@context`` and the audience on
    the activity, the object embedded without a context of its own."""
    obj = copy.deepcopy(obj)
    context = obj.pop("@context")
    return {
        "@context": context,
        "id": activity_id,
        "type": "Create",
        "actor": actor,
        "to": obj.get("to", []),
        "cc": obj.get("cc", []),
        "object": obj,
    }


def not_an_offer(name: str) -> tuple[dict[str, Any], bytes]:
    """The activity to post and its body: the capture's own bytes when it is sent as is."""
    if name == "pleroma bare Note":  # Pleroma fixtures carry "actor": it passes as an activity
        return load(PLEROMA_NOTE), raw(PLEROMA_NOTE)
    if name == "pleroma Note in a Create":
        note = load(PLEROMA_NOTE)
        activity = create_of(
            note, note["actor"], "https://fedi.absturztau.be/activities/8b0a1e2c-0d3f-4c51"
        )
    else:
        video = load(PEERTUBE_VIDEO)
        author = next(a["id"] for a in video["attributedTo"] if a["type"] == "Person")
        activity = create_of(video, author, f"{video['id']}/activity")
    return activity, json.dumps(activity).encode()


@pytest.mark.parametrize(
    "name", ["pleroma bare Note", "pleroma Note in a Create", "peertube Video in a Create"]
)
async def test_capture_that_is_no_offer_is_accepted_then_ignored(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    sent: list[httpx.Request],
    name: str,
) -> None:
    """The brief: accept what Pleroma and PeerTube send. A post or a video is not an offer: it
    is received (202), stored verbatim, and set aside without an error or a retry."""
    activity, body = not_an_offer(name)
    actor = await cache_actor_of(activity)
    r = await post_fixture(client, actor, activity, body, "/c/velos/inbox")
    assert r.status_code == 202, r.text
    [item] = await InboxItem.all()
    assert item.payload == activity
    await process(fed)
    await item.refresh_from_db()
    assert (item.state, item.error, item.attempts) == (InboxState.IGNORED, None, 1)
    assert await Offer.all().count() == 0
    assert key_fetches(sent, actor) == []
    assert posts(sent) == []


def test_peertube_video_is_what_the_readme_says() -> None:
    """Guards the PeerTube case above against a silently trimmed capture."""
    video = load(PEERTUBE_VIDEO)
    assert video["type"] == "Video"
    assert [a["type"] for a in video["attributedTo"]] == ["Person", "Group"]
    assert video["mediaType"] == "text/markdown"
    assert len(raw(PEERTUBE_VIDEO)) > 20_000


# --- NodeInfo discovery (what the directory reads from a candidate) ---------------------------


def nodeinfo_21(software: str) -> dict[str, Any]:
    """A NodeInfo 2.1 document (the captures hold only the links documents)."""
    return {
        "version": "2.1",
        "software": {"name": software, "version": "5.1.0"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": True,
        "usage": {"users": {"total": 1}},
        "metadata": {"nodeName": "Mobilizon.fr", "nodeDescription": "Gather, organize, mobilize"},
    }


async def candidate(domain: str) -> RemoteActor:
    doc = document_at(f"https://{domain}/relay", public_pem="", actor_type="Application")
    return await cache_with_key(doc, keypair("a"))


async def test_nodeinfo_links_with_both_versions_lead_to_21(fed: Federation) -> None:
    """mobilizon.fr lists 2.0 and 2.1: the 2.1 document is the one read."""
    links = load("mobilizon-captures/nodeinfo-both_versions.json")
    wanted = next(link["href"] for link in links["links"] if link["rel"] == NODEINFO_21)
    sent = await offline(
        fed,
        {
            "https://mobilizon.fr/.well-known/nodeinfo": httpx.Response(
                200,
                content=raw("mobilizon-captures/nodeinfo-both_versions.json"),
                headers={"Content-Type": "application/json"},
            ),
            wanted: httpx.Response(200, json=nodeinfo_21("Mobilizon")),
        },
    )
    checks, fields = await check_candidate(fed, await candidate("mobilizon.fr"))
    assert passed({**checks, "instance_actor": True}), checks
    assert checks["nodeinfo"] and checks["activitypub"] and checks["domain_match"]
    assert fields["software_name"] == "Mobilizon"
    assert fields["name"] == "Mobilizon.fr"
    fetched = [str(r.url) for r in sent]
    assert fetched[:2] == ["https://mobilizon.fr/.well-known/nodeinfo", wanted]
    assert "https://mobilizon.fr/.well-known/nodeinfo/2.0" not in fetched


async def test_nodeinfo_links_with_only_20_are_read_and_refused(fed: Federation) -> None:
    """WordPress (event-federation.eu) escapes its slashes and offers only schema 2.0: the links
    parse, and the candidate is reported as having no NodeInfo 2.1 (the directory needs 2.1)."""
    name = "mobilizon-captures/nodeinfo-regular.json"
    assert b"\\/" in raw(name)
    [link] = load(name)["links"]
    assert link["href"] == "https://event-federation.eu/wp-json/activitypub/1.0/nodeinfo"
    sent = await offline(
        fed,
        {
            "https://event-federation.eu/.well-known/nodeinfo": httpx.Response(
                200, content=raw(name), headers={"Content-Type": "application/json"}
            ),
            link["href"]: httpx.Response(200, json={**nodeinfo_21("WordPress"), "version": "2.0"}),
        },
    )
    checks, _ = await check_candidate(fed, await candidate("event-federation.eu"))
    assert checks["nodeinfo"] is False
    assert "no NodeInfo 2.1" in checks["error"]
    assert link["href"] not in [str(r.url) for r in sent]
