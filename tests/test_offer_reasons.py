"""Why a pushed offer may be kept (``federation/services/offer_reasons.py``), one reason at a
time; over real HTTP, with the takeovers and forgeries, see ``tests/test_forgery.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub.apobject import APObject
from activitypub.urls import PUBLIC
from federation.context import Federation
from federation.services.offer_reasons import followed_here, reason_to_keep, why_pushed
from federation.settings import DirectorySettings
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking
from models.directory import DirectoryEntry, EntryState
from models.errors import Blocked, NotFound
from models.follows import Follow, FollowState
from models.offers import Offer
from tests.rig.canned import remote_actor

HOST = "remote.example"
OFFER = f"https://{HOST}/offers/1"


def _create(author: RemoteActor, *, cc: list[str] | None = None) -> tuple[APObject, dict[str, Any]]:
    offer: dict[str, Any] = {"id": OFFER, "attributedTo": author.ap_id, "to": [PUBLIC]}
    if cc:
        offer["cc"] = cc
    return APObject({"type": "Create", "actor": author.ap_id, "object": offer}), offer


async def _follow(fed: Federation, follower: LocalActor, target: str, state: FollowState) -> None:
    await Follow.create(
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(follower),
        target_uri=target,
        local_follower=follower,
        state=state,
    )


async def test_a_stranger_has_no_reason(fed: Federation, member: LocalActor) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    act, offer = _create(zoe, cc=[f"{zoe.ap_id}/followers", "https://other.example/c/x"])
    assert await reason_to_keep(fed, act, offer, zoe) is None
    with pytest.raises(NotFound, match="nobody here asked for"):
        await why_pushed(fed, act, offer, zoe)


@pytest.mark.parametrize("state", [FollowState.PENDING, FollowState.REJECTED])
async def test_only_an_accepted_follow_of_the_author_is_a_reason(
    fed: Federation, member: LocalActor, state: FollowState
) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    await _follow(fed, member, zoe.ap_id, state)
    act, offer = _create(zoe)
    assert await reason_to_keep(fed, act, offer, zoe) is None
    await Follow.filter(target_uri=zoe.ap_id).update(state=FollowState.ACCEPTED)
    assert await reason_to_keep(fed, act, offer, zoe) == "author followed"


async def test_its_coop_followed_on_its_own_host_is_a_reason(
    fed: Federation, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    coop, elsewhere = f"https://{HOST}/c/velos", "https://other.example/c/velos"
    for target in (coop, elsewhere):
        await _follow(fed, member, target, FollowState.ACCEPTED)
    act, offer = _create(zoe, cc=[elsewhere])  # a followed coop, but not on zoe's host
    assert await reason_to_keep(fed, act, offer, zoe) is None
    act, offer = _create(zoe, cc=[coop])
    assert await reason_to_keep(fed, act, offer, zoe) == "coop followed"


async def test_addressed_to_a_local_actor_is_a_reason(fed: Federation, member: LocalActor) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    act, offer = _create(zoe, cc=[fed.urls.actor_for(member.kind, "nobody")])
    assert await reason_to_keep(fed, act, offer, zoe) is None
    act, offer = _create(zoe, cc=[fed.urls.actor(member)])
    assert await reason_to_keep(fed, act, offer, zoe) == "addressed here"
    act, offer = _create(zoe)
    act.raw["cc"] = [fed.urls.actor(member)]  # on the activity rather than the offer
    assert await reason_to_keep(fed, act, offer, zoe) == "addressed here"


async def test_a_booking_here_is_a_reason(fed: Federation, member: LocalActor) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    now = datetime.now(UTC)
    await Booking.create(
        local_uuid="9b1f0c2e-7d1a-4a55-9a0e-3f1f2f6b7c8d",
        ap_id=fed.urls.new_activity_id(),
        offer_uri=OFFER,
        kind="ride",
        purpose="offer",
        title="Lyon → Grenoble",
        booker=member,
        booker_uri=fed.urls.actor(member),
        author_uri=zoe.ap_id,
        quantity=1,
        happens_at=now,
        created_at=now,
        updated_at=now,
    )
    act, offer = _create(zoe)
    assert await reason_to_keep(fed, act, offer, zoe) == "booked here"


async def test_an_instance_admitted_to_our_directory_is_a_reason(
    fed: Federation, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    await DirectoryEntry.create(
        domain=HOST, url=f"https://{HOST}", name=HOST, actor_uri=f"https://{HOST}/actor"
    )
    act, offer = _create(zoe)
    fed.directory = DirectorySettings(enabled=True)
    assert await reason_to_keep(fed, act, offer, zoe) is None  # a candidate only
    await DirectoryEntry.filter(domain=HOST).update(state=EntryState.ADMITTED)
    assert await reason_to_keep(fed, act, offer, zoe) == "admitted to this directory"
    fed.directory = DirectorySettings(enabled=False)
    assert await reason_to_keep(fed, act, offer, zoe) is None


async def test_an_offer_held_here_is_changed_by_its_author_alone(
    fed: Federation, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", HOST)
    yann, _ = await remote_actor("yann", HOST)
    now = datetime.now(UTC)
    await Offer.create(
        ap_id=OFFER,
        author_uri=zoe.ap_id,
        instance_domain=HOST,
        kind="ride",
        purpose="offer",
        title="Lyon → Grenoble",
        starts_at=now,
        expires_at=now,
        published_at=now,
        updated_at=now,
        status="open",
    )
    act, offer = _create(zoe)
    assert await why_pushed(fed, act, offer, zoe) == "held here"
    act, offer = _create(yann)
    with pytest.raises(Blocked, match="offer of " + zoe.ap_id):
        await why_pushed(fed, act, offer, yann)


async def test_an_announcer_asked_to_be_followed_counts_for_announces(
    fed: Federation, member: LocalActor
) -> None:
    """A directory announces its backfill right after admitting us, maybe before its Accept."""
    directory = f"https://{HOST}/directory"
    await _follow(fed, member, directory, FollowState.PENDING)
    assert not await followed_here([directory])
    assert await followed_here([directory], or_asked=True)
    await Follow.filter(target_uri=directory).update(state=FollowState.REJECTED)
    assert not await followed_here([directory], or_asked=True)
