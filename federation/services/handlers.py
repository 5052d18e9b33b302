"""What the services do with each incoming activity type: the inbox's handler registry.

`federation/inbox.py` verifies, stores and dispatches without knowing any service; the
application registers these handlers when it builds its `Federation` (`instance/app.py`), in the
way Fedify's `setInboxListeners().on(Follow, …)` does. Each handler raises `NotFound` when the
activity concerns nothing we keep (recorded as ignored, see `federation/outcome.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from activitypub.apobject import APObject
from activitypub.offers import is_offer_document
from activitypub.urls import DIRECTORY_USERNAME
from federation.actors import forget_key_owners, save_actor_update
from federation.context import Federation, Handler
from federation.services.bookings_account_end import end_bookings_with
from federation.services.bookings_dm import on_direct_message
from federation.services.bookings_inbox import (
    on_booking_accept,
    on_booking_note,
    on_booking_reject,
    on_booking_undo,
    on_booking_update,
    on_offer,
)
from federation.services.directory import directory_actor, on_join, send_earlier_offers
from federation.services.follows import on_accept, on_follow, on_reject, on_undo_follow
from federation.services.moves import on_move
from federation.services.offer_reasons import pushed_id
from federation.services.offers import backfill
from federation.services.offers_inbox import (
    on_create,
    on_create_offers,
    on_delete_offer,
    on_update_offer,
)
from federation.services.posts_inbox import (
    forget_author,
    on_announce_any,
    on_create_note,
    on_delete_note,
    on_like,
    on_undo_reaction,
    on_update_note,
)
from federation.services.reports import on_flag
from federation.services.user_blocks import is_undo_block, on_block
from models.actors import ActorKind, RemoteActor
from models.errors import NotFound
from models.follows import Follow
from models.offers import Offer

log = logging.getLogger(__name__)


async def on_undo(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    if await on_booking_undo(fed, act, signer):
        return
    if is_undo_block(act):  # nothing of a block is kept: nothing to undo
        log.info("block undone", extra={"actor": signer.ap_id})
        return
    inner = act.object
    if (inner is not None and inner.is_a("Follow")) or await Follow.exists(ap_id=act.object_id):
        await on_undo_follow(fed, act, signer)
        return
    if await on_undo_reaction(fed, act, signer):  # a favourite or a boost taken back
        return
    raise NotFound(f"Undo of {act.object_id}: nothing to undo")


async def on_update(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    inner = act.object
    if await on_booking_update(fed, act, signer):
        return
    if await on_update_offer(fed, act, signer):
        return
    if await on_update_note(fed, act, signer):
        return
    if inner is not None and inner.id == signer.ap_id:
        await save_actor_update(inner.raw)  # a profile change, signed by the actor itself
        return
    raise NotFound(f"Update of {act.object_id}: not something we keep")


async def on_delete(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    if await on_delete_offer(fed, act, signer):
        return
    if await on_delete_note(fed, act, signer):
        return
    if act.object_id == signer.ap_id:
        # Its offers go too, whichever of the Deletes (offers, actor) is processed first;
        # so do its bookings in progress, whether or not its Undo/Reject came before.
        await end_bookings_with(fed, signer.ap_id)
        offers = await Offer.filter(author_uri=signer.ap_id, local_uuid__isnull=True).delete()
        await forget_author(signer.ap_id)  # its notes and reactions too
        await RemoteActor.filter(id=signer.id).delete()  # follows go with it (cascade)
        forget_key_owners(signer.ap_id)
        log.info("remote actor deleted", extra={"actor": signer.ap_id, "offers": offers})
        return
    raise NotFound(f"Delete of {act.object_id}: not something we keep")


async def on_follow_any(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A Follow of the directory actor is a request to be listed; others are plain follows."""
    if fed.directory.enabled and act.object_id == fed.urls.actor_for(
        ActorKind.DIRECTORY, DIRECTORY_USERNAME
    ):
        await on_join(fed, act, signer, await directory_actor())
        return
    await on_follow(fed, act, signer)


async def on_accept_and_backfill(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """Our request for an offer was accepted; or our follow was, and the open offers already
    in the actor's outbox are fetched."""
    if await on_booking_accept(fed, act, signer):
        return
    await on_accept(fed, act, signer)
    await backfill(fed, signer)
    await send_earlier_offers(fed, signer.ap_id)  # a directory admitted us: our open offers


async def on_reject_any(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A request for an offer declined (or a booking cancelled by its author), or a follow
    refused."""
    if await on_booking_reject(fed, act, signer):
        return
    await on_reject(fed, act, signer)


async def on_create_any(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A message in a booking's conversation, a request by direct message, or an offer."""
    if await on_booking_note(fed, act, signer):
        return
    if await on_direct_message(fed, act, signer):
        return
    if await on_create_note(fed, act, signer):  # a reply, a mention, a followed account's post
        return
    await on_create(fed, act, signer)


class CreateHandler:
    """``Create`` (``on_create_any``); in a worker batch, each run of public offers is stored
    together (``on_create_offers``), the others one by one, in order."""

    async def __call__(self, fed: Federation, act: APObject, signer: RemoteActor) -> None:
        await on_create_any(fed, act, signer)

    async def many(
        self, fed: Federation, items: Sequence[tuple[APObject, RemoteActor]]
    ) -> list[Exception | None]:
        answers: list[Exception | None] = []
        run: dict[str, tuple[APObject, dict[str, Any], RemoteActor]] = {}
        for act, signer in items:
            raw = _public_offer(act)
            if raw is None or pushed_id(act, raw) in run:  # not an offer, or the same again
                answers += await _offers_together(fed, list(run.values()))
                run = {}
            if raw is not None:
                run[pushed_id(act, raw)] = (act, raw, signer)
                continue
            try:
                await on_create_any(fed, act, signer)
            except Exception as exc:  # that item's outcome, for the inbox's outcome policy
                answers.append(exc)
            else:
                answers.append(None)
        return answers + await _offers_together(fed, list(run.values()))


async def _offers_together(
    fed: Federation, run: list[tuple[APObject, dict[str, Any], RemoteActor]]
) -> list[Exception | None]:
    """``on_create_offers``; when it fails as a whole (the database), the same error for each
    offer of the run, and for them only."""
    try:
        return await on_create_offers(fed, run)
    except Exception as exc:  # each offer's outcome, for the inbox's outcome policy
        return [exc] * len(run)


def _public_offer(act: APObject) -> dict[str, Any] | None:
    """The offer a ``Create`` carries when ``on_create_any`` can only store it: an offer
    document, public (a private note may be a booking's message or a request)."""
    raw, inner = act.object_document(), act.object
    if raw is None or inner is None or not is_offer_document(raw):
        return None
    return raw if act.is_public or inner.is_public else None


def inbox_handlers() -> dict[str, Handler]:
    """A fresh registry (callers may add to theirs without touching anyone else's)."""
    return {
        "Follow": on_follow_any,
        "Accept": on_accept_and_backfill,
        "Create": CreateHandler(),
        "Announce": on_announce_any,
        "Like": on_like,
        "Offer": on_offer,
        "Reject": on_reject_any,
        "Undo": on_undo,
        "Update": on_update,
        "Delete": on_delete,
        "Flag": on_flag,
        "Move": on_move,
        "Block": on_block,
    }
