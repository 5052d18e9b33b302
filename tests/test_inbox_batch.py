"""A worker batch of received offers is stored together (``CreateHandler.many``: the reasons read
for the whole batch, the new offers inserted in one statement) with the same outcome as one
activity at a time: the same inbox states, the same offers, the same alerts, the same posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activitypub.activities import wrap_object
from activitypub.apobject import APObject
from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from activitypub.urls import PUBLIC
from federation import inbox, queue
from federation.context import Federation
from federation.inbox import Incoming, process_due, process_one, store_incoming
from federation.services.offers_inbox import on_create_offers
from models.activities import InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.alerts import AlertMatch, SavedSearch
from models.follows import Follow, FollowState
from models.offers import Offer
from models.posts import Post
from tests import offer_samples as samples
from tests.rig.canned import offline, remote_actor
from tests.test_inbox_writes import statements

HOST = "peer.example"


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    yield await offline(fed)


def _offer(author: RemoteActor, n: int, **changes: Any) -> dict[str, Any]:
    """Offer ``n`` of ``author`` as its instance publishes it (a ride), with ``changes``."""
    now = datetime.now(UTC)
    copy = Offer(
        ap_id=f"https://{HOST}/offers/{n}",
        author_uri=author.ap_id,
        author_name=author.name or author.username,
        instance_domain=HOST,
        status="open",
        published_at=now,
        updated_at=now,
        **offer_fields(parse_offer(samples.ride(title=f"Ride {n}")), local=False),
    )
    return {**offer_to_as(copy, followers=f"{author.ap_id}/followers", url=copy.ap_id), **changes}


def _create(author: RemoteActor, n: int, obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
    activity = wrap_object(
        "Create",
        f"{author.ap_id}/activities/{n}",
        author.ap_id,
        obj,
        cc=[f"{author.ap_id}/followers"],
        published=datetime.now(UTC),
    )
    return {**activity, **extra}


async def _world(fed: Federation, alice: LocalActor) -> tuple[RemoteActor, RemoteActor]:
    """Zoe, whom Alice follows; Max, a stranger; Alice's saved search for rides; an offer of
    Zoe's held already."""
    zoe, _ = await remote_actor("zoe", HOST)
    max_, _ = await remote_actor("max", HOST)
    await Follow.create(
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(alice),
        target_uri=zoe.ap_id,
        local_follower=alice,
        state=FollowState.ACCEPTED,
    )
    await SavedSearch.create(member_id=alice.id, kind="ride", created_at=datetime.now(UTC))
    held = _offer(zoe, 90)
    await Offer.create(
        **{
            **offer_fields(parse_offer(samples.ride(title="Held")), local=False),
            "ap_id": held["id"],
            "author_uri": zoe.ap_id,
            "author_name": "Zoe",
            "instance_domain": HOST,
            "status": "open",
            "published_at": datetime.now(UTC) - timedelta(days=1),
            "updated_at": datetime.now(UTC) - timedelta(days=1),
        }
    )
    return zoe, max_


def _activities(fed: Federation, zoe: RemoteActor, max_: RemoteActor) -> list[dict[str, Any]]:
    """Every case of a ``Create`` storing path, with other types between them."""
    coop = fed.urls.actor_for(ActorKind.COOP, "velos")
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    private = {**_offer(zoe, 8), "to": [f"{zoe.ap_id}/followers"], "cc": []}
    note = {
        "id": f"https://{HOST}/notes/1",
        "type": "Note",
        "attributedTo": zoe.ap_id,
        "content": "<p>Hello</p>",
        "to": [PUBLIC],
        "published": datetime.now(UTC).isoformat(),
    }
    return [
        _create(zoe, 1, _offer(zoe, 1)),  # followed author: stored
        _create(max_, 2, _offer(max_, 2)),  # a stranger: ignored
        _create(max_, 3, _offer(max_, 3, cc=[coop])),  # addressed here: stored
        _create(zoe, 4, _offer(zoe, 1, title="Ride 1, changed", updated=later)),  # the same again
        _create(zoe, 5, _offer(zoe, 90, title="Held, changed", updated=later)),  # held: updated
        _create(max_, 6, _offer(zoe, 90) | {"attributedTo": max_.ap_id}, cc=[coop]),  # not his
        {"id": f"{zoe.ap_id}/follows/1", "type": "Follow", "actor": zoe.ap_id, "object": coop},
        _create(zoe, 7, _offer(zoe, 7, expires=past)),  # gone by: not stored
        _create(zoe, 8, private, to=private["to"], cc=[]),  # private: one at a time
        _create(zoe, 9, _offer(zoe, 9, kind="Spaceship")),  # malformed
        _create(zoe, 10, note),  # a followed account's post
        _create(zoe, 11, _offer(zoe, 11)),  # stored, matches Alice's search
        _create(zoe, 12, _offer(zoe, 12) | {"cc": [coop]}),
    ]


async def _queue(fed: Federation, activities: list[dict[str, Any]]) -> None:
    for activity in activities:
        signer = await RemoteActor.get(ap_id=activity["actor"])
        await store_incoming(fed, Incoming(APObject(activity), signer), None, b"{}")


async def _outcome() -> dict[str, Any]:
    """What the inbox made of it: states, offers, alerts, posts (no ids, no timestamps)."""
    items = await InboxItem.all().order_by("id")
    offers = await Offer.all().order_by("ap_id")
    matches = await AlertMatch.all().prefetch_related("offer")
    return {
        "states": [(i.activity_id, i.state, i.error is not None) for i in items],
        "offers": [
            (o.ap_id, o.author_uri, o.author_name, o.title, str(o.status), o.latitude)
            for o in offers
        ],
        "alerts": sorted(m.offer.ap_id for m in matches),
        "posts": sorted(await Post.all().values_list("ap_id", flat=True)),
    }


async def test_a_batch_has_the_outcome_of_one_activity_at_a_time(
    fed: Federation, member: LocalActor
) -> None:
    zoe, max_ = await _world(fed, member)
    activities = _activities(fed, zoe, max_)
    await _queue(fed, activities)
    for item in await InboxItem.all().order_by("id"):
        await process_one(fed, item)  # the handler's own call, one by one
    one_by_one = await _outcome()
    await InboxItem.all().delete()
    await AlertMatch.all().delete()
    await Post.all().delete()
    await Offer.filter(title__not="Held").delete()
    await Offer.filter(title="Held, changed").update(title="Held")
    fed.settings = fed.settings.model_copy(update={"worker_batch_size": len(activities)})
    await _queue(fed, activities)
    assert await process_due(fed) == len(activities)  # all of them in one batch
    together = await _outcome()
    assert together == one_by_one
    states = [state for _, state, _ in together["states"]]
    assert states.count(InboxState.DONE) >= 8
    assert {InboxState.IGNORED, InboxState.FAILED} <= set(states)
    titles = {offer[3] for offer in together["offers"]}
    assert {"Ride 1, changed", "Held, changed", "Ride 3"} <= titles  # updated, addressed here
    assert "Ride 7" not in titles and "Ride 2" not in titles  # gone by, a stranger's
    assert together["alerts"] and together["posts"]


async def test_a_batch_of_new_offers_costs_a_few_statements_not_a_few_per_offer(
    fed: Federation, member: LocalActor
) -> None:
    zoe, _ = await _world(fed, member)
    await SavedSearch.all().delete()  # a match costs statements of its own per offer
    fed.settings = fed.settings.model_copy(update={"worker_batch_size": 40})
    await _queue(fed, [_create(zoe, n, _offer(zoe, n)) for n in range(1, 31)])
    with statements() as seen:  # outside transactions: the insert itself is not noted
        assert await process_due(fed) == 30
    assert len(seen) <= 10, seen  # claim, signers, copies held, follows, searches, outcome
    assert await Offer.filter(author_uri=zoe.ap_id).count() == 31
    assert {i.state for i in await InboxItem.all()} == {InboxState.DONE}


async def test_a_long_queue_is_claimed_in_growing_batches(
    fed: Federation, member: LocalActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that comes back full is followed by one twice as large, up to ``LARGEST_CLAIM``
    (as deliveries are claimed): one call stores a long queue, the first claim still
    ``worker_batch_size`` so that a few items still go to several workers."""
    zoe, _ = await _world(fed, member)
    fed.settings = fed.settings.model_copy(update={"worker_batch_size": 2})
    monkeypatch.setattr(inbox, "LARGEST_CLAIM", 4)
    limits: list[int] = []
    claim = queue.claim_due

    async def noting(model: Any, pending: Any, limit: int, **kwargs: Any) -> Any:
        limits.append(limit)
        return await claim(model, pending, limit, **kwargs)

    monkeypatch.setattr(queue, "claim_due", noting)
    await _queue(fed, [_create(zoe, n, _offer(zoe, n)) for n in range(1, 12)])
    assert await process_due(fed) == 11
    assert limits == [2, 4, 4, 4]  # 2, 4 and 4 full; then the last 1 of 4
    assert await Offer.filter(author_uri=zoe.ap_id).count() == 12
    assert {i.state for i in await InboxItem.all()} == {InboxState.DONE}


async def test_an_offer_stored_meanwhile_leaves_the_others_of_the_batch_stored(
    fed: Federation, member: LocalActor
) -> None:
    """The batch's insert fails as a whole when one of its offers was stored meanwhile (by
    another worker, or a fetch for a booking): each is then stored on its own, and the one
    stored meanwhile is read again and updated as any copy held, not inserted again (which
    failed it, to be retried a minute later: a two-instance test waited for it in vain)."""
    zoe, _ = await _world(fed, member)
    first, again, other = _offer(zoe, 1), _offer(zoe, 1), _offer(zoe, 2)
    items = [
        (APObject(_create(zoe, n, doc)), doc, zoe)
        for n, doc in enumerate((first, again, other), start=1)
    ]
    answers = await on_create_offers(fed, items)  # offer 1 twice: the second finds it stored
    assert answers == [None, None, None]
    assert await Offer.filter(ap_id__in=[first["id"], other["id"]]).count() == 2
