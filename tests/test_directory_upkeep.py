"""Directory upkeep against a real loopback instance: daily recheck, unreachable, removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from federation.context import Federation
from federation.services.directory import _web_url, ensure_directory_actor, refresh_entries
from federation.settings import DirectorySettings
from models.actors import RemoteActor
from models.directory import DirectoryEntry, EntryState
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


def test_mirrored_links_are_kept_on_their_domain() -> None:
    """A mirrored directory's entries are rendered as links: no other scheme, no other host."""
    assert _web_url("https://coop.example/", "coop.example") == "https://coop.example/"
    assert _web_url("javascript:alert(1)", "coop.example") == "https://coop.example"
    assert _web_url("https://elsewhere.example", "coop.example") == "https://coop.example"
    assert _web_url(None, "coop.example") == "https://coop.example"
