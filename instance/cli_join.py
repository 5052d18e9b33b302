"""``coopub member invite``, ``member reset-link`` and ``member coop-admin``: joining without
the web page (a first invitation on a new instance, a reset link for a locked-out admin)."""

from __future__ import annotations

import argparse

from federation.context import Federation
from federation.services.invitations import operator_invitation
from federation.services.password_resets import issue_reset, member_named
from instance.cli_common import CliError, local_actor, with_db
from instance.config import load_config
from models.actors import ActorKind


@with_db
async def cmd_member_invite(fed: Federation, args: argparse.Namespace) -> None:
    coop = await local_actor(args.coop, kind=ActorKind.COOP) if args.coop else None
    days = args.days if args.days is not None else load_config().signup.invitation_days
    created = await operator_invitation(coop, max_uses=args.uses, days=days)
    where = f" to join {coop.username}" if coop else ""
    expires = created.invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(fed.urls.url("invitation", token=created.code))
    print(f"valid for {args.uses} sign-up(s){where} until {expires}; shown once")


@with_db
async def cmd_member_reset_link(fed: Federation, args: argparse.Namespace) -> None:
    member = await member_named(args.name)
    reset = await issue_reset(member, load_config().signup.reset_hours)
    print(fed.urls.url("reset_password", token=reset.token))
    expires = reset.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"{member.username}: works once, until {expires}; earlier links no longer work")


@with_db
async def cmd_member_coop_admin(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)
    if member.coop_id is None and not args.revoke:
        raise CliError(f"{member.username} belongs to no coop: a coop admin admins their own")
    member.coop_admin = not args.revoke
    await member.save(update_fields=["coop_admin"])
    state = "admin of their coop" if member.coop_admin else "not a coop admin"
    print(f"{member.username}: {state}")
