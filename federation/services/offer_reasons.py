"""Why a received offer may be kept here: Mastodon's rule for posts, applied to offers.

Any actor with a key can post to a shared inbox; storing whatever arrives would let anyone fill
the database and the search. As Mastodon keeps a post only when it is related to local activity
(``related_to_local_activity?`` in its ``create.rb`` and ``announce.rb``), an offer pushed to us
(``Create``, or ``Update`` of one we do not hold) is kept only when:

- its author, or its coop (an actor on the author's host the offer is addressed to), is followed
  by a local actor (an accepted follow);
- it is addressed (``to``, ``cc``, ``audience``, on the activity or the offer) to a local actor;
- a booking here is for it;
- this instance runs a directory that admitted the author's instance (it relays the offer).

An ``Announce`` is acted on only when its actor is followed here: a coop boosting its members'
offers, or a directory this instance joined (the instance actor follows the directory's actor).
A follow still waiting for its answer counts here: a directory admits an instance, then at once
announces the offers it knows (its backfill), and those may arrive before its ``Accept``.
Two ways in do not pass through here, being reasons of their own: a member fetching an offer to
book it (``bookings.find_offer``), and the backfill of an actor we just followed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from activitypub.apobject import APObject, all_ids
from activitypub.urls import PUBLIC_ALIASES, host_of
from federation.context import Federation
from models.actors import ActorKind, LocalActor, RemoteActor
from models.bookings import Booking
from models.directory import DirectoryEntry, EntryState
from models.errors import Blocked, Malformed, NotFound
from models.follows import Follow, FollowState
from models.offers import Offer

ADDRESSING = ("to", "cc", "audience")


def addressees(*documents: dict[str, Any]) -> set[str]:
    """Every id an activity and its object are addressed to, the public collection aside."""
    found = {uri for doc in documents for key in ADDRESSING for uri in all_ids(doc.get(key))}
    return found - PUBLIC_ALIASES


async def followed_here(uris: Iterable[str], *, or_asked: bool = False) -> bool:
    """True when a local actor follows one of ``uris`` (accepted; ``or_asked``: or still
    waiting for the answer)."""
    wanted = sorted(set(uris))
    states = [FollowState.ACCEPTED, *([FollowState.PENDING] if or_asked else [])]
    return bool(wanted) and await Follow.exists(
        target_uri__in=wanted, state__in=states, local_follower_id__not_isnull=True
    )


async def _addressed_here(fed: Federation, uris: Iterable[str]) -> bool:
    """One query for every local actor among ``uris`` (none when no id is one of ours)."""
    local = {parsed for uri in sorted(uris) if (parsed := fed.urls.parse_actor(uri))}
    if not local:
        return False
    wanted = Q(*(Q(kind=kind, username=name) for kind, name in sorted(local)), join_type="OR")
    return await LocalActor.filter(wanted, deleted_at=None).exists()


async def _admitted_here(fed: Federation, signer: RemoteActor) -> bool:
    return fed.directory.enabled and await DirectoryEntry.exists(
        domain=signer.domain, state=EntryState.ADMITTED, source=None
    )


async def reason_to_keep(
    fed: Federation, act: APObject, offer: dict[str, Any], signer: RemoteActor
) -> str | None:
    """Why the offer ``signer`` pushed may be stored here (for the log), or None: drop it."""
    named = addressees(act.raw, offer)
    same_host = {u for u in named if _on_host(u, signer.domain)}
    followed = await _followed_among({signer.ap_id, *same_host})
    if signer.ap_id in followed:
        return "author followed"
    if followed & same_host:
        return "coop followed"
    if await _addressed_here(fed, named):
        return "addressed here"
    return await _other_reason(fed, offer, signer)


async def _other_reason(fed: Federation, offer: dict[str, Any], signer: RemoteActor) -> str | None:
    """The reasons to keep an offer asked last: booked here, admitted to this directory."""
    offer_id = offer.get("id")
    if isinstance(offer_id, str) and await Booking.exists(offer_uri=offer_id):
        return "booked here"
    if await _admitted_here(fed, signer):
        return "admitted to this directory"
    return None


async def why_pushed(
    fed: Federation, act: APObject, offer: dict[str, Any], signer: RemoteActor
) -> str:
    """Why an offer ``signer`` pushed (``Create``, ``Update``) may be stored: its copy is held
    here already, or a reason above. Someone else's offer is refused (``Blocked``: the inbox
    records it failed), a stranger's dropped (``NotFound``: ignored, one log line)."""
    return (await pushed_offer(fed, act, offer, signer)).reason


@dataclass(frozen=True)
class Pushed:
    """``why_pushed``'s answer and the row it read (``ap_id``, and the copy held here or None),
    so that storing the offer does not read it again."""

    reason: str
    ap_id: str
    held: Offer | None


async def pushed_offer(
    fed: Federation, act: APObject, offer: dict[str, Any], signer: RemoteActor
) -> Pushed:
    """``why_pushed``, with the ``Offer`` row it read."""
    offer_id = pushed_id(act, offer)
    existing = await Offer.get_or_none(ap_id=offer_id)
    if existing is not None and existing.author_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} sent {act.type} of an offer of {existing.author_uri}")
    reason = "held here" if existing else await reason_to_keep(fed, act, offer, signer)
    if reason is None:
        raise NotFound(f"{act.type} of {offer_id}: an offer nobody here asked for")
    return Pushed(reason, offer_id, existing)


async def pushed_offers(
    fed: Federation, items: Sequence[tuple[APObject, dict[str, Any], RemoteActor]]
) -> list[Pushed | Exception]:
    """``pushed_offer`` of several activities at once (a worker batch), each answer the row
    read or the exception ``pushed_offer`` would raise: one query for the copies held, one for
    the follows, one for the local actors addressed, for the whole batch. The rarer reasons
    (booked, admitted) are asked per offer, only of those still without one."""
    ids = [pushed_id(act, offer) for act, offer, _ in items]
    wanted = sorted({i for i in ids if i})
    held = {o.ap_id: o for o in await Offer.filter(ap_id__in=wanted)} if wanted else {}
    named = [addressees(act.raw, offer) for act, offer, _ in items]
    same_host = [
        {u for u in names if _on_host(u, signer.domain)}
        for names, (_, _, signer) in zip(named, items, strict=True)
    ]
    asking = [i for i, offer_id in enumerate(ids) if offer_id not in held]
    followed = await _followed_among(
        {u for i in asking for u in (items[i][2].ap_id, *same_host[i])}
    )
    local = await _local_among(fed, {u for i in asking for u in named[i]})
    answers: list[Pushed | Exception] = []
    for i, (act, offer, signer) in enumerate(items):
        existing = held.get(ids[i])
        if existing is not None and existing.author_uri != signer.ap_id:
            answers.append(
                Blocked(f"{signer.ap_id} sent {act.type} of an offer of {existing.author_uri}")
            )
            continue
        if existing is not None:
            reason: str | None = "held here"
        elif signer.ap_id in followed:
            reason = "author followed"
        elif followed & same_host[i]:
            reason = "coop followed"
        elif any(fed.urls.parse_actor(uri) in local for uri in named[i]):
            reason = "addressed here"
        else:
            reason = await _other_reason(fed, offer, signer)
        if reason is None:
            answers.append(NotFound(f"{act.type} of {ids[i]}: an offer nobody here asked for"))
        else:
            answers.append(Pushed(reason, ids[i], existing))
    return answers


def pushed_id(act: APObject, offer: dict[str, Any]) -> str:
    """The id of a pushed offer: its own, else the one the activity names."""
    offer_id = offer.get("id") if isinstance(offer.get("id"), str) else act.object_id
    return offer_id or ""


async def _local_among(fed: Federation, uris: Iterable[str]) -> set[tuple[ActorKind, str]]:
    """The local actors (kind, username) among ``uris`` that exist: one query (none when no
    id is one of ours)."""
    local = {parsed for uri in sorted(uris) if (parsed := fed.urls.parse_actor(uri))}
    if not local:
        return set()
    wanted = Q(*(Q(kind=kind, username=name) for kind, name in sorted(local)), join_type="OR")
    rows = await LocalActor.filter(wanted, deleted_at=None).values_list("kind", "username")
    return {(ActorKind(kind), str(name)) for kind, name in rows}


async def _followed_among(uris: set[str]) -> set[str]:
    """Which of ``uris`` a local actor follows (accepted): one query for the author and its
    coop alike."""
    if not uris:
        return set()
    found = (
        await Follow.filter(
            target_uri__in=sorted(uris),
            state=FollowState.ACCEPTED,
            local_follower_id__not_isnull=True,
        )
        .distinct()
        .values_list("target_uri", flat=True)
    )
    return {str(uri) for uri in found}


def _on_host(uri: str, domain: str) -> bool:
    try:
        return host_of(uri) == domain
    except Malformed:
        return False
