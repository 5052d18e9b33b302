"""Pinned offers and posts: the actor's ``featured`` collection, which Mastodon shows at the top
of a profile and GoToSocial fetches with every actor.

A member pins up to ``MAX_PINNED`` of their offers from the "my offers" page; posts are pinned
by their own pages (``Post.pinned_at``). Each pin or unpin sends an ``Update`` of the actor:
Mastodon and GoToSocial refetch ``featured`` when they process it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.profile import featured_collection
from federation.context import Federation
from federation.services.offers import CLOSED_STATES
from federation.services.profiles import send_actor_update
from models.actors import LocalActor
from models.errors import Conflict, NotFound
from models.offers import Offer
from models.posts import Post, Visibility

MAX_PINNED = 5
"""Pinned offers per actor (Mastodon pins five statuses at most)."""
FEATURED_VISIBILITY = (Visibility.PUBLIC, Visibility.UNLISTED)


async def pin_offer(fed: Federation, author: LocalActor, offer: Offer) -> None:
    """Pin one of ``author``'s offers (at most ``MAX_PINNED``), then tell followers: the
    ``Update`` makes Mastodon and GoToSocial refetch ``featured``."""
    if offer.author_id != author.id:
        raise NotFound(f"offer {offer.ap_id} is not {author.username}'s", "No such offer")
    if offer.pinned_at is not None:
        return
    if offer.status in CLOSED_STATES:
        raise Conflict(f"pin of a {offer.status} offer", "Only an offer still open can be pinned.")
    async with in_transaction():
        # the author's row, locked: two pins at once cannot both pass the count (PostgreSQL)
        await LocalActor.select_for_update().get(id=author.id)
        pinned = await Offer.filter(author_id=author.id, pinned_at__not_isnull=True).count()
        if pinned >= MAX_PINNED:
            raise Conflict(
                f"{author.username} has {pinned} pinned offers",
                "You can pin at most 5 offers: unpin one first.",
            )
        offer.pinned_at = datetime.now(UTC)
        await offer.save(update_fields=["pinned_at"])
    await send_actor_update(fed, author)


async def unpin_offer(fed: Federation, author: LocalActor, offer: Offer) -> None:
    if offer.author_id != author.id:
        raise NotFound(f"offer {offer.ap_id} is not {author.username}'s", "No such offer")
    if offer.pinned_at is None:
        return
    offer.pinned_at = None
    await offer.save(update_fields=["pinned_at"])
    await send_actor_update(fed, author)


async def featured_ids(actor: LocalActor) -> list[str]:
    """The ids of the actor's pinned offers and public posts, most recently pinned first."""
    offers = await Offer.filter(author_id=actor.id, pinned_at__not_isnull=True).values_list(
        "ap_id", "pinned_at"
    )
    posts = await Post.filter(
        author_id=actor.id, pinned_at__not_isnull=True, visibility__in=FEATURED_VISIBILITY
    ).values_list("ap_id", "pinned_at")
    pinned = sorted([*offers, *posts], key=lambda row: row[1], reverse=True)
    return [str(ap_id) for ap_id, _ in pinned]


async def featured(fed: Federation, actor: LocalActor, page: int | None) -> dict[str, Any]:
    """The ``featured`` collection (one page: a handful of items, never paged)."""
    return featured_collection(fed.urls.featured(actor), await featured_ids(actor))
