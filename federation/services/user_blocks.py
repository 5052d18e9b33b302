"""A remote user blocks one of ours: Mastodon sends ``Block`` (``object``: our actor), and
drops every follow between the two on its side. We do the same here, both ways, without
sending anything (the blocker has already removed them). Nothing else is kept of a block: an
``Undo`` of it is acknowledged and ignored (follows are not restored, as on Mastodon)."""

from __future__ import annotations

import logging

from tortoise.expressions import Q

from activitypub.apobject import APObject
from federation.context import Federation
from models.actors import RemoteActor
from models.errors import NotFound
from models.follows import Follow

log = logging.getLogger(__name__)


async def on_block(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    target = act.object_id
    if not target or fed.urls.parse_actor(target) is None:
        raise NotFound(f"Block of {target}: not one of our actors")
    removed = await Follow.filter(
        Q(follower_uri=signer.ap_id, target_uri=target)
        | Q(follower_uri=target, target_uri=signer.ap_id)
    ).delete()
    log.info(
        "blocked by a remote actor",
        extra={"actor": signer.ap_id, "target": target, "follows": removed},
    )


def is_undo_block(act: APObject) -> bool:
    """An ``Undo`` whose object is a ``Block`` (embedded, as Mastodon sends it)."""
    inner = act.object
    return inner is not None and inner.is_a("Block")
