"""The wire views in activitypub/: what we send is pinned to the byte (key order included), and
what we read is refused when it is malformed, before any of it reaches the database.

tests/expected/envelopes.json was captured from the builders as they were before they moved
into activitypub/ (ids and dates fixed); change it only deliberately, and say so in
FEDERATION.md: it is the JSON our peers receive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub import activities
from activitypub.collections import (
    RemoteCollection,
    RemotePage,
    ordered_collection,
    ordered_collection_page,
)
from activitypub.convert import actor_to_as, actor_tombstone
from activitypub.directory import (
    ListedInstance,
    Listing,
    RemoteListing,
    as_to_entry_fields,
    entry_view,
    entry_views,
    web_url,
)
from activitypub.nodeinfo import NODEINFO_21, NodeInfo, NodeInfoLinks
from activitypub.urls import Urls
from models.actors import ActorKind, LocalActor
from models.directory import DirectoryEntry, EntryState
from models.errors import Malformed

EXPECTED = json.loads((Path(__file__).parent / "expected" / "envelopes.json").read_text())
BASE = "https://velos.example"
ID = f"{BASE}/activities/00000000-0000-4000-8000-000000000000"
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
OFFER = f"{BASE}/offers/1"
ALICE = f"{BASE}/u/alice"
DIRECTORY = f"{BASE}/directory"
OFFER_DOC = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        {"coopub": "https://w3id.org/coopub/ns#"},
    ],
    "id": OFFER,
    "type": "Note",
    "attributedTo": ALICE,
    "content": "x",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
}


def _same(name: str, built: Any) -> None:
    """Equal with keys in the same order: what peers receive, byte for byte."""
    expected = EXPECTED[name]
    assert json.dumps(built, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


def _actor(kind: ActorKind, username: str, name: str, **extra: Any) -> LocalActor:
    return LocalActor(
        kind=kind, username=username, name=name, public_key_pem="PEM", created_at=WHEN, **extra
    )


def _entries() -> list[DirectoryEntry]:
    first = DirectoryEntry(
        domain="i1.example",
        actor_uri="https://i1.example/actor",
        inbox="https://i1.example/inbox",
        state=EntryState.ADMITTED,
        name="Instance i1",
        description="Une coop",
        url="https://i1.example",
        country_code="FR",
        city="Lyon",
        latitude=45.75,
        longitude=4.85,
        kinds=["ride", "stay"],
        open_registrations=True,
        chatons_member=True,
        software_name="coopub",
        software_version="0.1",
        last_seen_at=WHEN,
    )
    mirrored = DirectoryEntry(
        domain="i2.example",
        actor_uri="https://i2.example/actor",
        state=EntryState.ADMITTED,
        source="https://dir2.example/directory",
        url="https://i2.example",
        kinds=[],
        unreachable=True,
    )
    country_only = DirectoryEntry(
        domain="i3.example",
        actor_uri="https://i3.example/actor",
        state=EntryState.ADMITTED,
        name="I3",
        url="https://i3.example",
        country_code="DE",
        kinds=[],
        open_registrations=False,
        software_name="x",
        last_seen_at=WHEN,
    )
    return [first, mirrored, country_only]


# --- out: pinned ----------------------------------------------------------------------------


def test_follow_envelopes_are_unchanged() -> None:
    actor, follower = f"{BASE}/c/velos", "https://r.example/u/zoe"
    _same("follow", activities.follow_to_as(ID, f"{BASE}/actor", "https://dir.example/directory"))
    _same("accept", activities.accept_follow(ID, actor, "https://r.example/f/1", follower))
    _same("reject", activities.reject_follow(ID, actor, "https://r.example/f/1", follower))
    _same("undo", activities.undo_follow(ID, ALICE, f"{BASE}/activities/f1", follower))


async def test_actor_envelopes_are_unchanged(db: None) -> None:
    urls = Urls(BASE)
    coop = _actor(ActorKind.COOP, "velos", "Vélos", summary="hi")
    _same("update_actor", activities.update_actor(ID, actor_to_as(coop, urls)))
    _same("delete_actor", activities.delete_actor(ID, ALICE))
    gone = _actor(ActorKind.MEMBER, "alice", "Alice", deleted_at=WHEN)
    _same("tombstone", actor_tombstone(gone, urls))
    gone.deleted_at = None
    _same("tombstone_undated", actor_tombstone(gone, urls))


def test_offer_envelopes_are_unchanged() -> None:
    cc = [f"{ALICE}/followers"]
    for kind in ("Create", "Update"):
        built = activities.wrap_object(kind, ID, ALICE, OFFER_DOC, cc=cc, published=WHEN)
        _same(f"offer_{kind.lower()}", built)
    assert "@context" in OFFER_DOC  # the document itself is left as it was
    _same("offer_delete", activities.wrap_delete(ID, ALICE, OFFER, cc=cc, published=WHEN))
    coop_cc = [f"{BASE}/c/velos/followers"]
    announce = activities.wrap_announce(ID, f"{BASE}/c/velos", OFFER, cc=coop_cc, published=WHEN)
    _same("offer_announce", announce)
    relayed = activities.wrap_announce(
        ID, DIRECTORY, "https://i1.example/offers/1", cc=[f"{DIRECTORY}/followers"], published=WHEN
    )
    _same("directory_announce", relayed)


def test_collections_are_unchanged() -> None:
    outbox = f"{BASE}/c/velos/outbox"
    _same("collection", ordered_collection(outbox, 42, f"{outbox}?page=1"))
    _same("collection_empty", ordered_collection(outbox, 0, None))
    followers = f"{BASE}/c/velos/followers"
    items = ["https://r.example/u/a", "https://r.example/u/b"]
    page = ordered_collection_page(f"{followers}?page=1", followers, items, f"{followers}?page=2")
    _same("page", page)
    _same(
        "page_last", ordered_collection_page(f"{followers}?page=2", followers, [{"id": "x"}], None)
    )


async def test_directory_listing_is_unchanged(db: None) -> None:
    views = entry_views(_entries(), DIRECTORY)
    _same("entries", [view.to_json() for view in views])
    listing = Listing(
        id=f"{DIRECTORY}/instances",
        name="Réseau",
        summary="Les coops",
        attributedTo=DIRECTORY,
        orderedItems=views,
    )
    _same("listing", listing.to_json())


# --- out: refused when malformed ------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "not a url"},
        {"id": "javascript:alert(1)"},
        {"actor": "/u/alice"},
        {"to": ["alice"]},
        {"object": {"type": "Note"}},  # an embedded object without an id
        {"type": "Like"},
    ],
)
def test_an_envelope_refuses_what_peers_could_not_use(fields: dict[str, Any]) -> None:
    valid = {"id": ID, "type": "Announce", "actor": ALICE, "object": OFFER, "to": [ALICE]}
    assert activities.Envelope.parse(valid).to_json()["object"] == OFFER
    with pytest.raises(Malformed):
        activities.Envelope.parse({**valid, **fields})


def test_an_outbox_create_keeps_its_own_id_and_date() -> None:
    create = activities.wrap_object("Create", ID, ALICE, OFFER_DOC, cc=[], published=WHEN)
    newer = {**OFFER_DOC, "content": "y"}
    refreshed = activities.with_object(create, newer)
    assert list(refreshed) == list(create)
    assert (refreshed["id"], refreshed["published"]) == (ID, "2024-05-06T07:08:09Z")
    assert refreshed["object"]["content"] == "y" and "@context" not in refreshed["object"]
    with pytest.raises(ValueError):
        activities.with_object(create, {**newer, "id": f"{BASE}/offers/2"})


async def test_a_row_a_mirror_would_refuse_is_not_listed(db: None) -> None:
    good, bad = _entries()[0], _entries()[0]
    bad.domain, bad.latitude = "bad.example", 1000.0  # stored before coordinates were checked
    bad.actor_uri = "https://bad.example/actor"
    assert [v.domain for v in entry_views([good, bad], DIRECTORY)] == ["i1.example"]
    with pytest.raises(Malformed):
        entry_view(bad, DIRECTORY)


# --- in: another directory's listing ----------------------------------------------------------

SOURCE = "https://dir2.example/directory"


def _listed(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "Service",
        "id": "https://coop.example/actor",
        "name": "Coop",
        "url": "https://coop.example/",
        "summary": "Des vélos",
        "domain": "coop.example",
        "location": {
            "type": "Place",
            "name": "Lyon",
            "latitude": 45.7,
            "longitude": 4,
            "country": "fr",
        },
        "kinds": ["ride"],
        "openRegistrations": True,
        "chatonsMember": False,
        "software": {"name": "coopub", "version": "1.0"},
        "lastSeen": "2024-05-06T07:08:09+00:00",
        "unreachable": False,
    }
    item.update(changes)
    return item


def test_a_listed_instance_is_read_into_entry_fields() -> None:
    item = ListedInstance.read(_listed(), default_source=SOURCE)
    fields = as_to_entry_fields(item)
    assert item.source == SOURCE  # no source: the mirrored directory's own entry
    assert (fields["country_code"], fields["latitude"], fields["longitude"]) == ("FR", 45.7, 4.0)
    assert (fields["city"], fields["url"], fields["kinds"]) == (
        "Lyon",
        "https://coop.example/",
        ["ride"],
    )
    assert fields["actor_uri"] == "https://coop.example/actor"
    relayed = ListedInstance.read(_listed(source="https://dir3.example/directory"), SOURCE)
    assert relayed.source == "https://dir3.example/directory"
    bare = ListedInstance.read(
        {"id": "https://coop.example/actor", "domain": "COOP.example"}, default_source=SOURCE
    )
    assert (bare.domain, bare.url, bare.location, bare.kinds) == (
        "coop.example",
        "https://coop.example",
        None,
        [],
    )


def test_free_text_is_cut_to_what_is_stored() -> None:
    item = ListedInstance.read(_listed(name="n" * 500, summary="s" * 5000), SOURCE)
    assert (len(item.name), len(item.summary)) == (200, 2000)
    assert len(ListedInstance.read(_listed(kinds=["ride"] * 30), SOURCE).kinds) == 10


@pytest.mark.parametrize(
    "changes",
    [
        {"location": {"country": "FRANCE"}},
        {"location": {"latitude": "north"}},
        {"location": {"latitude": 1000}},
        {"location": {"longitude": -181}},
        {"location": {"latitude": True}},
        {"location": "Lyon"},
        {"domain": None},
        {"domain": "coop.example/path"},
        {"domain": "x" * 254},
        {"id": "https://elsewhere.example/actor"},  # an actor that is not the instance's
        {"id": None},
        {"id": "https://coop.example/" + "a" * 500},
        {"source": "javascript:alert(1)"},
        {"kinds": "ride"},
        {"kinds": [1]},
        {"openRegistrations": "yes"},
        {"chatonsMember": "true"},
        {"name": 12},
        {"software": "coopub"},
        {"type": "Person"},
    ],
)
def test_a_bad_entry_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        ListedInstance.read(_listed(**changes), default_source=SOURCE)


def test_mirrored_links_are_kept_on_their_domain() -> None:
    """A mirrored directory's entries are rendered as links: no other scheme, no other host."""
    assert web_url("https://coop.example/", "coop.example") == "https://coop.example/"
    assert web_url("javascript:alert(1)", "coop.example") == "https://coop.example"
    assert web_url("https://elsewhere.example", "coop.example") == "https://coop.example"
    assert web_url("https://[oops", "coop.example") == "https://coop.example"
    assert web_url(None, "coop.example") == "https://coop.example"
    too_long = "https://coop.example/" + "x" * 500  # never cut: a cut link leads nowhere
    assert web_url(too_long, "coop.example") == "https://coop.example"
    item = ListedInstance.read(_listed(url="https://elsewhere.example/"), SOURCE)
    assert item.url == "https://coop.example"


@pytest.mark.parametrize("raw", [[], "listing", {"orderedItems": "x"}, {"items": []}])
def test_a_listing_needs_its_entries_in_a_list(raw: Any) -> None:
    with pytest.raises(Malformed):
        RemoteListing.parse(raw)


# --- in: collection pages and NodeInfo --------------------------------------------------------


def test_remote_pages_expose_items_and_the_next_page() -> None:
    page = RemotePage.parse(
        {"type": "OrderedCollectionPage", "orderedItems": [{"id": "a"}, "b"], "next": "https://x/2"}
    )
    assert [a.id for a in page.activities] == ["a"] and page.next == "https://x/2"
    assert RemotePage.parse({"items": ["c"], "next": 5}).items == ["c"]
    assert RemotePage.parse({"items": ["c"], "next": 5}).next is None
    assert RemoteCollection.parse({"first": {"orderedItems": []}}).first == {"orderedItems": []}
    assert RemoteCollection.parse({"totalItems": 0}).first is None
    for raw in ("page", None, {"orderedItems": "abc"}):
        with pytest.raises(Malformed):
            RemotePage.parse(raw)
    with pytest.raises(Malformed):
        RemoteCollection.parse([])


def test_nodeinfo_is_read_leniently_but_never_crashes() -> None:
    links = NodeInfoLinks.parse({"links": ["x", {"rel": NODEINFO_21, "href": "https://a/ni"}]})
    assert links.href(NODEINFO_21) == "https://a/ni" and links.href("other") is None
    odd = NodeInfo.parse(
        {
            "software": "mastodon",
            "protocols": {"inbound": []},
            "metadata": ["x"],
            "openRegistrations": 1,
        }
    )
    assert (odd.software.name, odd.protocols, odd.openRegistrations) == ("", [], True)
    info = NodeInfo.parse(
        {
            "software": {"name": "coopub", "version": 2.1},
            "protocols": ["activitypub", 3],
            "metadata": {"nodeName": "N", "offerKinds": ["ride", 4, "stay"]},
        }
    )
    assert (info.software.version, info.protocols, info.metadata.offerKinds) == (
        "2.1",
        ["activitypub"],
        ["ride", "stay"],
    )
    with pytest.raises(Malformed):
        NodeInfo.parse(["not", "an", "object"])
