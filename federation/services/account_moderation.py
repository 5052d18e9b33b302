"""Account moderation, as Mastodon's admins know it: silence (Mastodon's "limit"), suspend and
their reversal, for a member or coop of this instance or a remote account; and an offer or a
post removed with a reason sent to its author. Every action is one row of the moderation log
(``ModerationAction``).

- Silence: the account's offers and posts stay out of search, hashtag pages and the feeds of
  those who do not follow it (``limited.py``, the same filters as a limited domain).
- Suspend a remote account: its activities are refused with 403 at the inbox and nothing is
  delivered to it (``federation/blocks.py``); what we keep of it is purged as for a suspended
  domain (``domain_blocks.purge``), but its row stays, flagged, so a refetch does not forget.
  Unsuspending clears the flag; purged content and follows do not come back.
- Suspend a member or coop here: no login, no API token, its actor is served with
  ``"suspended": true`` and no profile, its offers and posts are hidden everywhere, and an
  ``Update`` tells its followers (again on unsuspension). Nothing is deleted.
- Remove an offer or a post: one of ours is deleted as its author would (``Delete`` federated)
  and the author told by a notification; a remote one is removed here and its author sent a
  direct message from the instance actor with the reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from activitypub.bookings_build import NoteTo, message
from federation.actors import fetch_actor, forget_key_owners
from federation.context import Federation
from federation.delivery import publish
from federation.services.domain_blocks import Purged, actor_scope, purge
from federation.services.notifications import notify
from federation.services.offers import delete_offer
from federation.services.posting import delete_post
from federation.services.profiles import send_actor_update
from federation.webfinger import resolve
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import Blocked, Conflict, CoopubError, Malformed, NotFound
from models.i18n import N_
from models.moderation import ActionKind, ModerationAction, Report
from models.notifications import NotificationKind
from models.offers import Offer
from models.posts import Post, Reaction

log = logging.getLogger(__name__)

MAX_REASON = 1000
Account = LocalActor | RemoteActor


class UnknownAccount(NotFound):
    public_message = "No such account, here or on its server"


class NotModerated(Malformed):
    public_message = "This account cannot be moderated"


class NoReason(Malformed):
    public_message = "Give a reason: it is sent to the author"


class AccountSuspended(Blocked):
    """What a suspended member's collections answer (403, as Mastodon's)."""

    public_message = "This account has been suspended."


class AlreadyDone(Conflict):
    public_message = "Nothing to do: the account is already in that state"


ALREADY = {
    ActionKind.SILENCE: N_("This account is already silenced."),
    ActionKind.UNSILENCE: N_("This account is not silenced."),
    ActionKind.SUSPEND: N_("This account is already suspended."),
    ActionKind.UNSUSPEND: N_("This account is not suspended."),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _clip(reason: str) -> str:
    return reason.replace("\x00", "").strip()[:MAX_REASON]


async def find_account(fed: Federation, handle_or_url: str) -> Account:
    """``@name@host``, ``name@host``, a local ``name`` or an actor URL → the account, fetched
    when not cached; ``UnknownAccount`` when it cannot be found."""
    text = handle_or_url.strip()
    if not text:
        raise UnknownAccount("empty handle")
    if "://" not in text:
        text = text.removeprefix("@")
        text = text if "@" in text else f"{text}@{fed.urls.domain}"
    try:
        uri = await resolve(fed, text)
    except CoopubError as exc:
        raise UnknownAccount(f"{text[:200]}: {exc}") from exc
    return await account_at(fed, uri)


async def account_at(fed: Federation, target_uri: str) -> Account:
    """The account whose actor id is ``target_uri``: one of ours, or a remote one (fetched
    with the usual actor fetch when not cached)."""
    if fed.urls.is_local(target_uri):
        parsed = fed.urls.parse_actor(target_uri)
        actor = None
        if parsed is not None:
            actor = await LocalActor.get_or_none(kind=parsed[0], username=parsed[1])
        if actor is None or actor.deleted_at is not None:
            raise UnknownAccount(f"no local actor {target_uri[:200]}")
        return actor
    cached = await RemoteActor.get_or_none(ap_id=target_uri)
    if cached is not None:
        return cached
    try:
        return await fetch_actor(fed, target_uri)
    except CoopubError as exc:
        raise UnknownAccount(f"{target_uri[:200]}: {exc}") from exc


def actor_uri(fed: Federation, account: Account) -> str:
    return fed.urls.actor(account) if isinstance(account, LocalActor) else account.ap_id


def handle_of(fed: Federation, account: Account) -> str:
    if isinstance(account, LocalActor):
        return f"{account.username}@{fed.urls.domain}"
    return account.handle


def _check_target(account: Account, moderator: LocalActor | None) -> None:
    if not isinstance(account, LocalActor):
        return
    if account.kind in (ActorKind.INSTANCE, ActorKind.DIRECTORY):
        raise NotModerated(
            f"{account} is one of the instance's own actors",
            N_("The instance's own actors cannot be silenced or suspended"),
        )
    if moderator is not None and account.id == moderator.id:
        raise NotModerated(
            f"{account} moderating itself", N_("You cannot moderate your own account")
        )
    if account.is_admin:
        raise NotModerated(
            f"{account} is an admin",
            N_("An admin cannot be silenced or suspended: take back their admin rights first"),
        )


async def _log(
    kind: ActionKind,
    target_uri: str,
    *,
    reason: str,
    moderator: LocalActor | None,
    report: Report | None,
    object_uri: str = "",
) -> ModerationAction:
    action = await ModerationAction.create(
        kind=kind,
        target_uri=target_uri[:500],
        object_uri=object_uri[:500],
        reason=reason,
        moderator=moderator,
        report=report,
    )
    log.info(
        "moderation action",
        extra={"kind": kind.value, "target": target_uri, "object": object_uri or None},
    )
    return action


async def _tell_member(
    fed: Federation,
    member: LocalActor,
    event: ActionKind,
    source: str,
    text: str,
    object_uri: str = "",
) -> None:
    """A notification from the instance (``MODERATION``), to a member (a coop has no login)."""
    if member.kind != ActorKind.MEMBER:
        return
    instance = await fed.instance_actor()
    await notify(
        member.id,
        NotificationKind.MODERATION,
        actor_uri=fed.urls.actor(instance),
        actor_name=fed.site.title,
        source=source,
        object_uri=object_uri,
        text=text,
        event=event.value,
    )


async def _set_flag(
    fed: Federation,
    target_uri: str,
    kind: ActionKind,
    *,
    reason: str,
    moderator: LocalActor | None,
    report: Report | None,
) -> tuple[Account, ModerationAction]:
    """Set or clear ``silenced_at`` / ``suspended_at`` (refused when already so), and log."""
    account = await account_at(fed, target_uri)
    _check_target(account, moderator)
    column = "silenced_at" if kind in (ActionKind.SILENCE, ActionKind.UNSILENCE) else "suspended_at"
    setting = kind in (ActionKind.SILENCE, ActionKind.SUSPEND)
    value = _now() if setting else None
    # Conditional, so that two moderators acting at once make one action, not two.
    changed = (
        await type(account)
        .filter(id=account.id, **{f"{column}__isnull": setting})
        .update(**{column: value})
    )
    if not changed:
        raise AlreadyDone(f"{kind.value}: {target_uri} already so", ALREADY[kind])
    setattr(account, column, value)
    uri = actor_uri(fed, account)
    forget_key_owners(uri)  # its signatures: refused (or taken) at once in this process
    action = await _log(kind, uri, reason=_clip(reason), moderator=moderator, report=report)
    return account, action


async def _moderate(
    fed: Federation,
    target_uri: str,
    kind: ActionKind,
    *,
    reason: str,
    moderator: LocalActor | None,
    report: Report | None,
) -> ModerationAction:
    """Set or lift the flag, then what follows from it: a suspension changes how one of ours
    is served (``Update`` of the actor) or purges a remote account; a member is told of what
    they can read (a suspended member cannot log in, so is told when it is lifted)."""
    account, action = await _set_flag(
        fed, target_uri, kind, reason=reason, moderator=moderator, report=report
    )
    if isinstance(account, RemoteActor):
        if kind == ActionKind.SUSPEND:
            purged: Purged = await purge(fed, actor_scope(account))
            log.info(
                "suspended account purged", extra={"actor": account.ap_id, "purged": vars(purged)}
            )
        return action
    if kind in (ActionKind.SUSPEND, ActionKind.UNSUSPEND):
        await send_actor_update(fed, account)
    if kind != ActionKind.SUSPEND:
        await _tell_member(fed, account, kind, f"action:{action.id}", action.reason)
    return action


async def silence(
    fed: Federation,
    target_uri: str,
    *,
    reason: str = "",
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    """Keep the account's offers and posts out of search, tags and non-followers' feeds."""
    kind = ActionKind.SILENCE
    return await _moderate(fed, target_uri, kind, reason=reason, moderator=moderator, report=report)


async def unsilence(
    fed: Federation,
    target_uri: str,
    *,
    reason: str = "",
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    kind = ActionKind.UNSILENCE
    return await _moderate(fed, target_uri, kind, reason=reason, moderator=moderator, report=report)


async def suspend(
    fed: Federation,
    target_uri: str,
    *,
    reason: str = "",
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    """A remote account: refused, purged, its row kept flagged. One of ours: no login, its
    profile and offers hidden, its followers told by an ``Update`` of the actor."""
    kind = ActionKind.SUSPEND
    return await _moderate(fed, target_uri, kind, reason=reason, moderator=moderator, report=report)


async def unsuspend(
    fed: Federation,
    target_uri: str,
    *,
    reason: str = "",
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    """Lift the suspension. One of ours gets its profile back (an ``Update`` says so); a remote
    account is federated with again, but what was purged and its follows do not come back."""
    kind = ActionKind.UNSUSPEND
    return await _moderate(fed, target_uri, kind, reason=reason, moderator=moderator, report=report)


# --- offers and posts ------------------------------------------------------------------------


REMOVED_TEXT = {
    "en": "The moderators of {domain} removed your {what} “{title}” ({uri}). Reason: {reason}",
    "fr": "Les modérateurs de {domain} ont retiré votre {what} « {title} » ({uri}). "
    "Motif : {reason}",
}
WHAT = {"en": {"offer": "offer", "post": "post"}, "fr": {"offer": "offre", "post": "message"}}


def removal_text(domain: str, what: str, title: str, uri: str, reason: str, language: str) -> str:
    """The direct message a remote author receives, in the content's language when we have
    it (French or English)."""
    lang = "fr" if language.lower().startswith("fr") else "en"
    return REMOVED_TEXT[lang].format(
        domain=domain, what=WHAT[lang][what], title=title, uri=uri, reason=reason
    )


async def _tell_remote_author(fed: Federation, author_uri: str, text: str) -> None:
    """A direct ``Note`` from the instance actor, addressed to the author alone (Mastodon
    shows it as a private mention)."""
    try:
        author = await fetch_actor(fed, author_uri)
    except CoopubError as exc:
        log.warning("author not told of a removal", extra={"actor": author_uri, "reason": str(exc)})
        return
    instance = await fed.instance_actor()
    to = NoteTo(author.ap_id, mention=f"@{author.handle}")
    note = message(
        fed.urls.new_activity_id(),
        fed.urls.new_activity_id(),
        fed.urls.actor(instance),
        to,
        text,
        _now(),
    )
    await publish(fed, instance, note, [author.inbox])


def _reason(reason: str) -> str:
    text = _clip(reason)
    if not text:
        raise NoReason("removal without a reason")
    return text


async def remove_offer(
    fed: Federation,
    offer: Offer,
    *,
    reason: str,
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    """One of ours is deleted as its author would (``Delete`` to where it went, bookings ended)
    and the author notified; a remote copy is dropped here and its author sent the reason."""
    why = _reason(reason)
    uri, author_uri, title = offer.ap_id, offer.author_uri, offer.title
    if offer.local_uuid is not None and offer.author_id is not None:
        author = await LocalActor.get(id=offer.author_id)
        await delete_offer(fed, author, offer)
        event = ActionKind.REMOVE_OFFER
        await _tell_member(fed, author, event, uri, f"{title}: {why}", uri)
    else:
        await Offer.filter(id=offer.id).delete()
        await Reaction.filter(object_uri=uri).delete()
        text = removal_text(fed.urls.domain, "offer", title, uri, why, offer.language)
        await _tell_remote_author(fed, author_uri, text)
    return await _log(
        ActionKind.REMOVE_OFFER,
        author_uri,
        reason=why,
        moderator=moderator,
        report=report,
        object_uri=uri,
    )


async def remove_post(
    fed: Federation,
    post: Post,
    *,
    reason: str,
    moderator: LocalActor | None = None,
    report: Report | None = None,
) -> ModerationAction:
    """The same for a note, an announcement or a reply."""
    why = _reason(reason)
    title = (post.summary or post.url or post.ap_id)[:200]
    if post.local_uuid is not None and post.author_id is not None:
        author = await LocalActor.get(id=post.author_id)
        await delete_post(fed, post)
        await _tell_member(fed, author, ActionKind.REMOVE_POST, post.ap_id, why, post.ap_id)
    else:
        await Post.filter(id=post.id).delete()
        await Reaction.filter(object_uri=post.ap_id).delete()
        text = removal_text(fed.urls.domain, "post", title, post.ap_id, why, post.language)
        await _tell_remote_author(fed, post.author_uri, text)
    return await _log(
        ActionKind.REMOVE_POST,
        post.author_uri,
        reason=why,
        moderator=moderator,
        report=report,
        object_uri=post.ap_id,
    )
