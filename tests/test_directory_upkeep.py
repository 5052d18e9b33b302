"""Directory upkeep against a real loopback instance: daily recheck, unreachable, removal;
mirrored listings merged entry by entry, mirror by mirror."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation.context import Federation
from federation.services.directory import (
    ensure_directory_actor,
    merge_mirrors,
    refresh_entries,
)
from federation.settings import DirectorySettings
from models.actors import LocalActor, RemoteActor
from models.directory import DirectoryEntry, EntryState
from models.follows import Follow, FollowState
from tests.rig.remote import RemoteServer


def _now() -> datetime:
    return datetime.now(UTC)


async def _listed(fed: Federation, remote: RemoteServer) -> DirectoryEntry:
    fed.directory = DirectorySettings(enabled=True, admission="open")
    await ensure_directory_actor("Dir", "")
    actor = await RemoteActor.create(
        ap_id=remote.url("/actor"),
        type="Application",
        username="inst",
        domain=remote.host,
        inbox=remote.url("/actor/inbox"),
        shared_inbox=remote.url("/inbox"),
        fetched_at=_now(),
    )
    return await DirectoryEntry.create(
        domain=remote.host,
        actor_uri=actor.ap_id,
        inbox=actor.shared_inbox,
        state=EntryState.ADMITTED,
        name="Old name",
        checked_at=_now() - timedelta(days=2),
    )


def _serve_nodeinfo(remote: RemoteServer, name: str) -> None:
    remote.serve_json(
        "/.well-known/nodeinfo",
        {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                    "href": remote.url("/nodeinfo/2.1"),
                }
            ]
        },
        content_type="application/json",
    )
    remote.serve_json(
        "/nodeinfo/2.1",
        {
            "version": "2.1",
            "software": {"name": "coopub", "version": "9.9"},
            "protocols": ["activitypub"],
            "openRegistrations": True,
            "metadata": {"nodeName": name, "offerKinds": ["stay"]},
        },
        content_type="application/json",
    )


async def test_entries_are_rechecked_then_marked_then_removed(
    fed: Federation, remote: RemoteServer
) -> None:
    entry = await _listed(fed, remote)
    _serve_nodeinfo(remote, "Nouveau nom")
    assert await refresh_entries(fed) == 1
    await entry.refresh_from_db()
    assert (entry.name, entry.software_version, entry.kinds) == ("Nouveau nom", "9.9", ["stay"])
    assert entry.failing_since is None and not entry.unreachable
    assert await refresh_entries(fed) == 0  # fresh: not rechecked before refresh_hours

    # the instance stops answering: the failure is noted, not yet marked
    remote.forget("/.well-known/nodeinfo")
    await DirectoryEntry.filter(id=entry.id).update(checked_at=_now() - timedelta(days=2))
    await refresh_entries(fed)
    await entry.refresh_from_db()
    assert entry.failing_since is not None and not entry.unreachable

    # failing for a week: marked unreachable, still listed
    await DirectoryEntry.filter(id=entry.id).update(
        checked_at=_now() - timedelta(days=2), failing_since=_now() - timedelta(days=8)
    )
    await refresh_entries(fed)
    await entry.refresh_from_db()
    assert entry.unreachable

    # back again: the mark is cleared
    _serve_nodeinfo(remote, "Revenue")
    await DirectoryEntry.filter(id=entry.id).update(checked_at=_now() - timedelta(days=2))
    await refresh_entries(fed)
    await entry.refresh_from_db()
    assert not entry.unreachable and entry.failing_since is None and entry.name == "Revenue"

    # failing for a month: removed
    remote.forget("/.well-known/nodeinfo")
    await DirectoryEntry.filter(id=entry.id).update(
        checked_at=_now() - timedelta(days=2), failing_since=_now() - timedelta(days=31)
    )
    await refresh_entries(fed)
    assert not await DirectoryEntry.exists(id=entry.id)


# --- mirrors --------------------------------------------------------------------------------


def _entry(domain: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "Service",
        "id": f"https://{domain}/actor",
        "name": domain.split(".")[0].title(),
        "url": f"https://{domain}",
        "domain": domain,
        "location": {"type": "Place", "name": "Lyon", "latitude": 45.7, "longitude": 4.8},
        "kinds": ["ride"],
        "openRegistrations": True,
        "software": {"name": "coopub", "version": "1.0"},
    }
    item.update(changes)
    return item


async def _mirrors(fed: Federation, remote: RemoteServer, *names: str) -> LocalActor:
    """Our directory mirrors one directory per name, all served by the loopback server."""
    fed.directory = DirectorySettings(enabled=True, admission="open")
    directory = await ensure_directory_actor("Dir", "")
    for name in names:
        await Follow.create(
            ap_id=f"{fed.urls.base}/activities/mirror-{name}",
            follower_uri=fed.urls.actor(directory),
            target_uri=remote.url(f"/{name}/directory"),
            local_follower=directory,
            state=FollowState.ACCEPTED,
        )
    return directory


def _listing(remote: RemoteServer, name: str, items: Any) -> None:
    remote.serve_json(
        f"/{name}/directory/instances", {"type": "OrderedCollection", "orderedItems": items}
    )


async def test_bad_entries_and_bad_mirrors_are_skipped_and_the_rest_merged(
    fed: Federation, remote: RemoteServer, caplog: pytest.LogCaptureFixture
) -> None:
    await _mirrors(fed, remote, "a", "broken", "down", "b")
    _listing(
        remote,
        "a",
        [
            _entry("france.example", location={"country": "FRANCE"}),
            _entry("north.example", location={"latitude": "north"}),
            _entry("far.example", location={"latitude": 1000}),
            _entry("elsewhere.example", id="https://other.example/actor"),
            "not an entry",
            _entry("good.example", location={"country": "fr", "latitude": 45.7}),
        ],
    )
    remote.serve_json("/broken/directory/instances", ["not", "a", "listing"])
    remote.serve_json("/down/directory/instances", {"error": "down"}, status=500)
    _listing(remote, "b", [_entry("other.example")])

    with caplog.at_level(logging.INFO, logger="federation.services.directory"):
        assert await merge_mirrors(fed) == 2

    rows = {e.domain: e for e in await DirectoryEntry.all()}
    assert set(rows) == {"good.example", "other.example"}
    assert (rows["good.example"].country_code, rows["good.example"].latitude) == ("FR", 45.7)
    assert rows["good.example"].source == remote.url("/a/directory")
    assert rows["other.example"].source == remote.url("/b/directory")
    assert all(e.state == EntryState.ADMITTED for e in rows.values())
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("mirrored entry skipped") == 5  # one line per bad entry
    assert messages.count("mirror skipped") == 2  # one per unusable mirror


async def test_mirrored_entries_do_not_shadow_first_hand_ones(
    fed: Federation, remote: RemoteServer
) -> None:
    directory = await _mirrors(fed, remote, "a")
    await DirectoryEntry.create(
        domain="mine.example", actor_uri="https://mine.example/actor", state=EntryState.ADMITTED
    )
    ours = fed.urls.actor(directory)
    _listing(remote, "a", [_entry("mine.example"), _entry("back.example", source=ours)])
    assert await merge_mirrors(fed) == 0
    assert await DirectoryEntry.filter(source__not_isnull=True).count() == 0
