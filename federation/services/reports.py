"""Reports: made by a member here, forwarded as a ``Flag`` to the reported account's server when
the member asks, received as a ``Flag`` from other servers, and resolved by the admins.

A forwarded report is sent by the instance actor, never by the member (Mastodon and GoToSocial
do the same): the other server's moderators learn what was reported and why, not by whom. A
received ``Flag`` makes a report here only about our own accounts and what they published; it
is dropped when the sending domain is blocked with ``reject_reports``, and made once however
often it is delivered (``Report.activity_id``). Every new report is told to the admins (a
``MODERATION`` notification linking to its page), so it does not sit unseen.

The admins' side (listing, resolving) is in ``reports_admin``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.apobject import APObject
from activitypub.flags import flag_to_as, read_flag
from activitypub.notes import excerpt
from activitypub.urls import host_of, path_for
from federation.blocks import candidates
from federation.context import Federation
from federation.delivery import publish
from federation.services.notifications import notify
from federation.services.post_access import OPEN, may_read
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import Conflict, CoopubError, Malformed, NotFound
from models.moderation import DomainBlock, Report
from models.notifications import NotificationKind
from models.offers import Offer
from models.posts import Post

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
"""A member's comment (Mastodon's limit for local reports)."""
REPORTABLE = (ActorKind.MEMBER, ActorKind.COOP)


class NothingToReport(Malformed):
    public_message = "Say which offer, post or account you report"


class OwnAccount(Conflict):
    public_message = "You cannot report your own account or what you published"


@dataclass(frozen=True)
class Account:
    """A reported account, local or remote, as the pages name it."""

    uri: str
    name: str
    handle: str
    local: LocalActor | None = None
    remote: RemoteActor | None = None

    @property
    def host(self) -> str:
        try:
            return host_of(self.uri)
        except Malformed:
            return ""


@dataclass(frozen=True)
class Target:
    """What a member is about to report: an account and, possibly, one of its offers or posts."""

    account: Account
    offers: list[Offer] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)

    @property
    def object_uris(self) -> list[str]:
        return [o.ap_id for o in self.offers] + [p.ap_id for p in self.posts]


# --- who and what ---------------------------------------------------------------------------


async def account_at(fed: Federation, uri: str) -> Account:
    """The account ``uri`` names (ours or a cached remote one); ``NotFound`` otherwise."""
    parsed = fed.urls.parse_actor(uri)
    if parsed is not None:
        kind, username = parsed
        local = await LocalActor.get_or_none(username=username, kind=kind, deleted_at=None)
        if local is None or kind not in REPORTABLE:
            raise NotFound(f"no local account {uri}", "No such account")
        return Account(uri, local.name or local.username, f"{username}@{fed.urls.domain}", local)
    if fed.urls.is_local(uri):
        raise NotFound(f"no local account {uri}", "No such account")
    remote = await RemoteActor.get_or_none(ap_id=uri)
    if remote is None:
        raise NotFound(f"unknown account {uri}", "No such account")
    return Account(uri, remote.name or remote.username, remote.handle, remote=remote)


async def account_or_stub(fed: Federation, uri: str) -> Account:
    """As ``account_at``, or, for one we no longer know, its id alone (reports outlive it)."""
    try:
        return await account_at(fed, uri)
    except CoopubError:
        return Account(uri, uri, "")


async def find_target(
    fed: Federation, member: LocalActor, *, account: str = "", offer: str = "", post: str = ""
) -> Target:
    """What the report form names: an offer, a post (by their ids) or an account; the offer or
    the post must be one we know and the member may see, the account must be known here (an
    offer's or a post's author we no longer hold is named by its id alone: not forwardable)."""
    if offer:
        found = await Offer.get_or_none(ap_id=offer)
        if found is None:
            raise NotFound(f"report of unknown offer {offer[:200]}", "No such offer")
        target = Target(await account_or_stub(fed, found.author_uri), offers=[found])
    elif post:
        note = await Post.get_or_none(ap_id=post)
        if note is None or not await may_read(fed, member, note):
            raise NotFound(f"report of unknown post {post[:200]}", "No such post")
        target = Target(await account_or_stub(fed, note.author_uri), posts=[note])
    elif account:
        target = Target(await account_at(fed, account))
    else:
        raise NothingToReport("report form without a target")
    if target.account.uri == fed.urls.actor(member):
        raise OwnAccount(f"{member.username} reporting themselves")
    return target


# --- a member's report ----------------------------------------------------------------------


async def make_report(
    fed: Federation, member: LocalActor, target: Target, comment: str, *, forward: bool = False
) -> Report:
    """Store ``member``'s report, tell the admins, and, when asked and the account is remote,
    forward an anonymous ``Flag`` to its server."""
    forward = forward and target.account.remote is not None
    report = await Report.create(
        reporter=member,
        target_uri=target.account.uri,
        object_uris=target.object_uris,
        comment=comment.strip()[:MAX_COMMENT],
        forward=forward,
    )
    log.info(
        "report made",
        extra={"report": report.id, "target": report.target_uri, "forward": forward},
    )
    await tell_admins(fed, report, fed.urls.actor(member), member.name or member.username)
    if forward and target.account.remote is not None:
        await forward_report(fed, report, target.account.remote)
    return report


async def forward_report(fed: Federation, report: Report, account: RemoteActor) -> None:
    """Queue the ``Flag`` for ``account``'s server (its cached shared inbox, or inbox), from
    the instance actor: the worker sends it, nothing leaves from the web request."""
    instance = await fed.instance_actor()
    flag_id = fed.urls.new_activity_id()
    flag = flag_to_as(
        flag_id, fed.urls.actor(instance), account.ap_id, report.object_uris, report.comment
    )
    async with in_transaction():
        await publish(fed, instance, flag, [account.delivery_inbox])
        await Report.filter(id=report.id).update(
            activity_id=flag_id, forwarded_at=datetime.now(UTC)
        )
    log.info("report forwarded", extra={"report": report.id, "inbox": account.delivery_inbox})


async def tell_admins(fed: Federation, report: Report, actor_uri: str, actor_name: str) -> int:
    """A ``MODERATION`` notification for each admin, linking to the report's page."""
    admins = await LocalActor.filter(
        is_admin=True, kind=ActorKind.MEMBER, deleted_at=None, disabled=False
    )
    told = 0
    for admin in admins:
        told += await notify(
            admin.id,
            NotificationKind.MODERATION,
            actor_uri=actor_uri,
            actor_name=actor_name,
            source=fed.urls.url("admin_report", id=report.id),
            object_uri=report.target_uri,
            link=path_for("admin_report", id=report.id),
            text=excerpt(report.comment, 200) if report.comment else "",
            event="report",
        )
    return told


# --- a Flag from another server -------------------------------------------------------------


async def rejects_reports(host: str) -> bool:
    """Whether the most specific block covering ``host`` says ``reject_reports``."""
    names = candidates(host)
    blocks = {b.domain: b for b in await DomainBlock.filter(domain__in=names)}
    for name in names:
        if name in blocks:
            return blocks[name].reject_reports
    return False


async def _ours(
    fed: Federation, uris: list[str]
) -> tuple[list[LocalActor], list[Offer], list[Post]]:
    """Our accounts, offers and (public) posts among ``uris``; the rest is someone else's."""
    local = [u for u in uris if fed.urls.is_local(u)]
    accounts: list[LocalActor] = []
    for uri in local:
        parsed = fed.urls.parse_actor(uri)
        if parsed is not None and parsed[0] in REPORTABLE:
            found = await LocalActor.get_or_none(
                kind=parsed[0], username=parsed[1], deleted_at=None
            )
            if found is not None:
                accounts.append(found)
    offers = await Offer.filter(ap_id__in=local, local_uuid__isnull=False)
    posts = await Post.filter(ap_id__in=local, local_uuid__isnull=False, visibility__in=OPEN)
    return accounts, list(offers), list(posts)


async def on_flag(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A report from another server (Mastodon, GoToSocial, coopub): one report per reported
    account of ours, with its reported offers and posts; ``NotFound`` (ignored) when it is
    about nothing of ours or its domain's reports are rejected."""
    flag = read_flag(act)
    if await rejects_reports(signer.domain):
        raise NotFound(f"reports from {signer.domain} are rejected")
    accounts, offers, posts = await _ours(fed, flag.object_ids)
    by_author: dict[str, list[str]] = {}
    for author_uri, ap_id in [(o.author_uri, o.ap_id) for o in offers] + [
        (p.author_uri, p.ap_id) for p in posts
    ]:
        by_author.setdefault(author_uri, []).append(ap_id)
    targets = [fed.urls.actor(a) for a in accounts]
    targets += [uri for uri in by_author if uri not in targets]  # an offer named alone
    if not targets:
        raise NotFound(f"Flag {flag.id} is about nothing of ours")
    for n, target in enumerate(targets):
        activity_id = flag.id if n == 0 or flag.id is None else f"{flag.id}#{n}"[:500]
        objects = [u for u in flag.object_ids if u in by_author.get(target, [])]
        try:
            async with in_transaction():
                report = await Report.create(
                    origin_uri=signer.ap_id,
                    activity_id=activity_id,
                    target_uri=target,
                    object_uris=objects,
                    comment=flag.comment,
                )
                await tell_admins(fed, report, signer.ap_id, signer.name or signer.domain)
        except IntegrityError:
            log.info("report already received", extra={"activity": activity_id})
            continue
        log.info(
            "report received",
            extra={"report": report.id, "from": signer.ap_id, "target": target},
        )
