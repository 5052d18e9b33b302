"""The directory relay of earlier offers, in process: what each side sends (open, unexpired,
bounded, once), what a directory announces (admitted instances only), and an offer that
arrives twice stored once. No network: deliveries stay queued, fetches are canned."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activitypub.activities import wrap_announce, wrap_object
from activitypub.apobject import APObject
from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from federation.context import Federation
from federation.services.directory import (
    backfill_entry,
    ensure_directory_actor,
    membership,
    relay_held,
    send_earlier_offers,
)
from federation.services.offers import create_offer, on_announce, set_status
from federation.services.offers_inbox import on_create
from federation.settings import DirectorySettings
from models.activities import Activity
from models.actors import LocalActor, RemoteActor
from models.delivery import Delivery
from models.directory import DirectoryEntry, EntryState
from models.errors import NotFound
from models.follows import Follow, FollowState
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples
from tests.rig.canned import AS2, offline, remote_actor

RELAY = importlib.import_module("federation.services.directory.relay")
"""The module (the package exports its function ``relay`` under the same name)."""


@pytest.fixture
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    yield await offline(fed)


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _joined(fed: Federation, state: FollowState = FollowState.ACCEPTED) -> RemoteActor:
    """Our instance actor's follow of a directory, answered ``state``."""
    actor, _ = await remote_actor("directory", "dir.example", actor_type="Service")
    instance = await fed.instance_actor()
    await Follow.create(
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(instance),
        target_uri=actor.ap_id,
        local_follower=instance,
        remote_target=actor,
        state=state,
    )
    return actor


async def _sent_to(inbox: str) -> list[str]:
    """The objects of the activities queued for ``inbox``, in queue order."""
    rows = await Delivery.filter(inbox=inbox).order_by("id").prefetch_related("activity")
    return [str(r.activity.object_uri) for r in rows]


async def test_earlier_offers_go_once_open_unexpired_and_bounded(
    fed: Federation, member: LocalActor, sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    soon, later, last = [
        await create_offer(fed, member, samples.ride(starts_at=_in(d))) for d in (1, 2, 3)
    ]
    cancelled = await create_offer(fed, member, samples.stay())
    await set_status(fed, member, cancelled, OfferStatus.CANCELLED)
    expired = await create_offer(fed, member, samples.delivery_job())
    await Offer.filter(id=expired.id).update(expires_at=datetime.now(UTC) - timedelta(hours=1))
    directory = await _joined(fed)
    assert await Delivery.all().count() == 0  # nobody followed: nothing went anywhere

    monkeypatch.setattr(membership, "BACKFILL_LIMIT", 2)
    assert await send_earlier_offers(fed, directory.ap_id) == 2
    assert await _sent_to(directory.delivery_inbox) == [soon.ap_id, later.ap_id]
    creates = await Delivery.filter(inbox=directory.delivery_inbox).prefetch_related("activity")
    assert {r.activity.type for r in creates} == {"Create"}  # the very Create, no new activity
    assert {r.activity.actor_id for r in creates} == {member.id}  # signed by the author

    monkeypatch.setattr(membership, "BACKFILL_LIMIT", 200)
    assert await send_earlier_offers(fed, directory.ap_id) == 1  # the third; the first two once
    assert await _sent_to(directory.delivery_inbox) == [soon.ap_id, later.ap_id, last.ap_id]
    assert await send_earlier_offers(fed, directory.ap_id) == 0


async def test_earlier_offers_go_only_to_a_directory_that_accepted_us(
    fed: Federation, member: LocalActor, sent: list[httpx.Request]
) -> None:
    await create_offer(fed, member, samples.ride())
    pending = await _joined(fed, FollowState.PENDING)
    assert await send_earlier_offers(fed, pending.ap_id) == 0
    friend, _ = await remote_actor("zoe", "friends.example")
    await Follow.create(  # a member's follow, accepted: not a directory
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(member),
        target_uri=friend.ap_id,
        local_follower=member,
        remote_target=friend,
        state=FollowState.ACCEPTED,
    )
    assert await send_earlier_offers(fed, friend.ap_id) == 0
    assert await Delivery.all().count() == 0


# --- the directory's side ---------------------------------------------------------------------


async def _directory(fed: Federation) -> None:
    fed.directory = DirectorySettings(enabled=True, admission="open")
    await ensure_directory_actor("Dir", "")


async def _entry(
    domain: str, state: EntryState = EntryState.ADMITTED, source: str | None = None
) -> DirectoryEntry:
    return await DirectoryEntry.create(
        domain=domain,
        actor_uri=f"https://{domain}/actor",
        inbox=f"https://{domain}/inbox",
        state=state,
        source=source,
    )


async def _held(
    domain: str, days: float = 1, status: OfferStatus = OfferStatus.OPEN, expired: bool = False
) -> str:
    """An offer held here from ``domain``, starting in ``days``; returns its id."""
    now = datetime.now(UTC)
    fields = offer_fields(parse_offer(samples.ride(starts_at=_in(days))), local=False)
    if expired:
        fields["expires_at"] = now - timedelta(hours=1)
    offer = await Offer.create(
        ap_id=f"https://{domain}/offers/{uuid.uuid4()}",
        author_uri=f"https://{domain}/u/someone",
        instance_domain=domain,
        status=status,
        published_at=now,
        updated_at=now,
        **fields,
    )
    return offer.ap_id


async def _announced(inbox: str) -> set[str]:
    rows = await Delivery.filter(inbox=inbox).prefetch_related("activity")
    assert {r.activity.type for r in rows} <= {"Announce"}
    return {str(r.activity.object_uri) for r in rows}


async def test_a_new_member_gets_the_open_offers_of_admitted_instances_only(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _directory(fed)
    new = await _entry("new.example")
    await _entry("member.example")
    await _entry("waiting.example", EntryState.CANDIDATE)
    await _entry("refused.example", EntryState.REJECTED)
    await _entry("mirrored.example", source="https://other.example/directory")
    first, second, third = [await _held("member.example", d) for d in (1, 2, 3)]
    here = await _held(fed.urls.domain, 4)  # the directory's own host is a member too
    for stranger in ("waiting.example", "refused.example", "mirrored.example", "nobody.example"):
        await _held(stranger)
    await _held("member.example", status=OfferStatus.CANCELLED)
    await _held("member.example", expired=True)
    await _held("new.example")  # its own: it has it

    monkeypatch.setattr(RELAY, "BACKFILL_LIMIT", 2)
    progress: list[tuple[int, int]] = []
    assert await backfill_entry(fed, new, lambda done, total: progress.append((done, total))) == 2
    assert progress == [(1, 2), (2, 2)]
    assert await _announced(new.inbox or "") == {first, second}  # soonest first

    await Delivery.all().delete()
    monkeypatch.setattr(RELAY, "BACKFILL_LIMIT", 200)
    assert await backfill_entry(fed, new) == 4
    assert await _announced(new.inbox or "") == {first, second, third, here}


async def test_a_new_member_s_earlier_offers_held_here_go_to_the_others(fed: Federation) -> None:
    await _directory(fed)
    new = await _entry("new.example")
    assert await relay_held(fed, new) == 0  # nobody else yet
    others = [await _entry("a.example"), await _entry("b.example")]
    await _entry("waiting.example", EntryState.CANDIDATE)
    open_one, full_one = await _held("new.example"), await _held("new.example", 2, OfferStatus.FULL)
    await _held("new.example", status=OfferStatus.CLOSED)
    await _held("new.example", expired=True)
    await _held("a.example")

    assert await relay_held(fed, new) == 2
    for entry in others:
        assert await _announced(entry.inbox or "") == {open_one, full_one}
    assert await Delivery.filter(host__in=["new.example", "waiting.example"]).count() == 0


def _offer_doc(author: RemoteActor, n: int) -> dict[str, Any]:
    fields = offer_fields(parse_offer(samples.ride()), local=False)
    now = datetime.now(UTC)
    copy = Offer(
        ap_id=f"https://{author.domain}/offers/{n}",
        author_uri=author.ap_id,
        instance_domain=author.domain,
        status="open",
        published_at=now,
        updated_at=now,
        **fields,
    )
    return offer_to_as(copy, followers=f"{author.ap_id}/followers", url=copy.ap_id)


def _create(author: RemoteActor, doc: dict[str, Any]) -> APObject:
    activity_id = f"https://{author.domain}/activities/{uuid.uuid4()}"
    now = datetime.now(UTC)
    return APObject(wrap_object("Create", activity_id, author.ap_id, doc, cc=[], published=now))


async def test_an_earlier_offer_pushed_twice_is_stored_once_and_a_stranger_s_not_at_all(
    fed: Federation, sent: list[httpx.Request]
) -> None:
    await _directory(fed)
    bob, _ = await remote_actor("bob", "member.example")
    other = await _entry("other.example")
    await _entry("member.example")
    doc = _offer_doc(bob, 1)
    await on_create(fed, _create(bob, doc), bob)  # on our Accept, say
    await on_create(fed, _create(bob, doc), bob)  # and again, under another activity id
    assert await Offer.filter(ap_id=doc["id"]).count() == 1
    assert await _announced(other.inbox or "") == {doc["id"]}

    zed, _ = await remote_actor("zed", "stranger.example")
    stranger = _offer_doc(zed, 2)
    with pytest.raises(NotFound):
        await on_create(fed, _create(zed, stranger), zed)
    assert not await Offer.exists(ap_id=stranger["id"])
    assert not await Activity.exists(type="Announce", object_uri=stranger["id"])


async def test_an_offer_announced_twice_is_stored_once(fed: Federation) -> None:
    bob, _ = await remote_actor("bob", "member.example")
    doc = _offer_doc(bob, 1)
    served = {doc["id"]: httpx.Response(200, json=doc, headers={"Content-Type": AS2})}
    await offline(fed, served)
    directory = await _joined(fed)
    for _ in range(2):  # the directory's relay on arrival, then its backfill: two Announces
        announce = wrap_announce(
            f"https://dir.example/activities/{uuid.uuid4()}",
            directory.ap_id,
            doc["id"],
            cc=[],
            published=datetime.now(UTC),
        )
        await on_announce(fed, APObject(announce), directory)
    assert await Offer.filter(ap_id=doc["id"]).count() == 1
