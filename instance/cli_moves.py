"""``coopub member alias`` and ``coopub member move``: moving an account, from the shell.

The same services as ``/settings/move`` (``federation.services.moves``); what they publish (the
actor's ``Update``, the ``Move``, the followers' new ``Follow``s) is delivered before the
command returns, so it can say what reached whom.
"""

from __future__ import annotations

import argparse

from federation.context import Federation
from federation.services.moves import add_alias, cancel_move, move_account, remove_alias
from instance.cli_common import CliError, local_actor, send_now, with_db
from models.actors import ActorKind, LocalActor


async def _send_all(fed: Federation, actors: list[LocalActor]) -> None:
    for actor in actors:
        await send_now(fed, actor)


@with_db
async def cmd_member_alias(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)
    if args.action == "add":
        alias = await add_alias(fed, member, args.account)
        await send_now(fed, member)
        print(f"{fed.urls.actor(member)} also known as {alias}")
        return
    alias = await remove_alias(fed, member, args.account)
    await send_now(fed, member)
    print(f"{fed.urls.actor(member)} no longer known as {alias}")


@with_db
async def cmd_member_move(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)
    if args.back:
        if args.target:
            raise CliError("give either a new account or --back, not both")
        await cancel_move(fed, member)
        await send_now(fed, member)
        print(f"{fed.urls.actor(member)} moved back")
        return
    if not args.target:
        raise CliError("give the new account (@name@host or URL), or --back")
    moved = await move_account(fed, member, args.target)
    await _send_all(fed, [member, *await _local_followers_of(moved.target)])
    print(
        f"{fed.urls.actor(member)} moved to {moved.target}: Move sent to {moved.inboxes}"
        f" inbox(es), {moved.local_followers} follower(s) here now follow it"
    )


async def _local_followers_of(target: str) -> list[LocalActor]:
    """The local actors now following ``target``: their ``Follow``s are sent at once too."""
    return await LocalActor.filter(following_rel__target_uri=target).distinct()
