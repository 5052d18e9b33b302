"""Reading the moderation for the admin page and the CLI: the accounts silenced or suspended,
the moderation log, and what an account's page shows (``account_moderation`` acts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from federation.context import Federation
from federation.services.account_moderation import Account, actor_uri, handle_of
from models.actors import LocalActor, RemoteActor
from models.errors import NotFound
from models.moderation import ModerationAction
from models.offers import Offer
from models.posts import Post


@dataclass(frozen=True)
class Moderated:
    """An account silenced or suspended here."""

    uri: str
    handle: str
    name: str
    local: bool
    silenced_at: datetime | None
    suspended_at: datetime | None


def moderated_view(fed: Federation, account: Account) -> Moderated:
    name = account.name or account.username
    return Moderated(
        actor_uri(fed, account),
        handle_of(fed, account),
        name,
        isinstance(account, LocalActor),
        account.silenced_at,
        account.suspended_at,
    )


async def moderated_accounts(fed: Federation) -> list[Moderated]:
    """Every account silenced or suspended, ours first, by handle."""
    flagged = {"silenced_at__isnull": False}, {"suspended_at__isnull": False}
    local: dict[int, Account] = {}
    remote: dict[int, Account] = {}
    for f in flagged:
        local.update((a.id, a) for a in await LocalActor.filter(**f))
        remote.update((a.id, a) for a in await RemoteActor.filter(**f))
    views = [moderated_view(fed, a) for a in [*local.values(), *remote.values()]]
    return sorted(views, key=lambda v: (not v.local, v.handle))


async def moderation_log(
    *, target_uri: str | None = None, limit: int = 100
) -> list[ModerationAction]:
    """The latest actions, newest first (one account's when ``target_uri`` is given)."""
    query = ModerationAction.all()
    if target_uri is not None:
        query = query.filter(target_uri=target_uri)
    return await query.order_by("-created_at", "-id").limit(limit).prefetch_related("moderator")


async def known_post(uri: str) -> Post:
    """A post this instance keeps (ours or a remote one), by its id."""
    post = await Post.get_or_none(ap_id=uri[:500])
    if post is None:
        raise NotFound(f"no post {uri[:200]}", "No such post")
    return post


async def offers_count(fed: Federation, account: Account) -> int:
    """How many offers of the account this instance keeps."""
    return await Offer.filter(author_uri=actor_uri(fed, account)).count()
