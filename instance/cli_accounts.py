"""``coopub account``: silence, suspend and lift, the list and the moderation log; ``coopub
offer remove`` and ``coopub post remove`` (the services of ``/admin/accounts``)."""

from __future__ import annotations

import argparse

from federation.context import Federation
from federation.services import account_moderation as moderation
from federation.services import moderated
from federation.services.bookings import known_offer
from instance.cli_common import with_db
from models.moderation import ModerationAction


def _line(action: ModerationAction) -> str:
    who = action.moderator.username if action.moderator is not None else "-"
    report = f"report #{action.report_id}" if action.report_id else ""
    return "\t".join(
        [
            action.created_at.isoformat(timespec="seconds"),
            action.kind.value,
            action.target_uri,
            action.object_uri,
            who,
            report,
            action.reason,
        ]
    )


@with_db
async def cmd_account_action(fed: Federation, args: argparse.Namespace) -> None:
    account = await moderation.find_account(fed, args.account)
    uri = moderation.actor_uri(fed, account)
    do = {
        "silence": moderation.silence,
        "unsilence": moderation.unsilence,
        "suspend": moderation.suspend,
        "unsuspend": moderation.unsuspend,
    }[args.action]
    action = await do(fed, uri, reason=args.reason)
    print(f"{moderation.handle_of(fed, account)}: {action.kind.value} ({uri})")


@with_db
async def cmd_list(fed: Federation, args: argparse.Namespace) -> None:
    for a in await moderated.moderated_accounts(fed):
        states = [s for s, at in (("suspended", a.suspended_at), ("silenced", a.silenced_at)) if at]
        print("\t".join([a.handle, ",".join(states), "local" if a.local else "remote", a.uri]))


@with_db
async def cmd_log(fed: Federation, args: argparse.Namespace) -> None:
    target = None
    if args.account:
        target = moderation.actor_uri(fed, await moderation.find_account(fed, args.account))
    for action in await moderated.moderation_log(target_uri=target, limit=max(1, args.limit)):
        print(_line(action))


def _id(fed: Federation, route: str, value: str) -> str:
    """A URL as given; a bare uuid is one of ours."""
    text = value.strip()
    return text if "://" in text else fed.urls.url(route, uuid=text)


@with_db
async def cmd_remove_offer(fed: Federation, args: argparse.Namespace) -> None:
    offer = await known_offer(_id(fed, "offer", args.offer))
    action = await moderation.remove_offer(fed, offer, reason=args.reason)
    print(f"{action.object_uri}: removed; {action.target_uri} told why")


@with_db
async def cmd_remove_post(fed: Federation, args: argparse.Namespace) -> None:
    post = await moderated.known_post(_id(fed, "post", args.post))
    action = await moderation.remove_post(fed, post, reason=args.reason)
    print(f"{action.object_uri}: removed; {action.target_uri} told why")
