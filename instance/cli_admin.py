"""``coopub coop``, ``member``, ``token`` and ``actor``: the accounts of an instance."""

from __future__ import annotations

import argparse
from datetime import datetime

from federation.context import Federation
from federation.services.accounts import create_actor, set_disabled, set_password, update_profile
from federation.services.local import list_actors
from federation.services.removal import delete_account
from instance.auth import create_token, list_tokens, revoke_token
from instance.cli_common import (
    confirm,
    local_actor,
    read_password,
    run_with_db,
    send_now,
    with_db,
)
from instance.config import load_config
from instance.media import delete_media_of
from instance.passwords import hash_password
from models.actors import ActorKind, LocalActor
from models.delivery import DeliveryState
from models.errors import NotFound


@with_db
async def cmd_coop_create(fed: Federation, args: argparse.Namespace) -> None:
    coop = await create_actor(
        ActorKind.COOP,
        args.name,
        name=args.title or args.name,
        summary=args.summary,
        locked=args.locked,
    )
    print(f"created coop @{coop.username}@{fed.urls.domain} {fed.urls.actor(coop)}")


async def _update(
    fed: Federation, actor: LocalActor, args: argparse.Namespace, name: str | None
) -> None:
    await update_profile(fed, actor, name=name, summary=args.summary, locked=args.locked)
    await send_now(fed, actor)
    print(f"updated {fed.urls.actor(actor)}")


@with_db
async def cmd_coop_update(fed: Federation, args: argparse.Namespace) -> None:
    await _update(fed, await local_actor(args.name, kind=ActorKind.COOP), args, args.title)


@with_db
async def cmd_actor_update(fed: Federation, args: argparse.Namespace) -> None:
    await _update(fed, await local_actor(args.actor), args, args.name)


def cmd_member_create(args: argparse.Namespace) -> None:
    password_hash = hash_password(read_password(args))  # asked before touching the database

    async def create(fed: Federation, args: argparse.Namespace) -> None:
        coop = await local_actor(args.coop, kind=ActorKind.COOP)
        member = await create_actor(
            ActorKind.MEMBER,
            args.name,
            name=args.display_name or args.name,
            coop=coop,
            email=args.email,
            password_hash=password_hash,
            locked=args.locked,
        )
        if args.admin or args.coop_admin:
            member.is_admin = args.admin
            member.coop_admin = args.coop_admin
            await member.save(update_fields=["is_admin", "coop_admin"])
        admin = " (admin)" if args.admin else ""
        admin += " (coop admin)" if args.coop_admin else ""
        handle = f"@{member.username}@{fed.urls.domain}"
        print(f"created member {handle} {fed.urls.actor(member)}{admin}")

    run_with_db(create, args)


def cmd_member_passwd(args: argparse.Namespace) -> None:
    password_hash = hash_password(read_password(args))

    async def change(fed: Federation, args: argparse.Namespace) -> None:
        member = await local_actor(args.name, kind=ActorKind.MEMBER)
        await set_password(member, password_hash)
        print(f"{member.username}: password changed")

    run_with_db(change, args)


@with_db
async def cmd_member_admin(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)
    member.is_admin = not args.revoke
    await member.save(update_fields=["is_admin"])
    print(f"{member.username}: {'admin' if member.is_admin else 'not an admin'}")


@with_db
async def cmd_member_disable(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)
    await set_disabled(member, args.disable)
    if args.disable:
        print(f"{member.username}: disabled (cannot log in nor use API tokens; still federated)")
    else:
        print(f"{member.username}: enabled")


def cmd_delete(args: argparse.Namespace) -> None:
    kind = ActorKind(args.kind)
    confirm(args, f"delete {kind.value} {args.name} for good, offers included")

    async def delete(fed: Federation, args: argparse.Namespace) -> None:
        actor = await local_actor(args.name, kind=kind)
        activity = await delete_account(fed, actor)
        await delete_media_of(actor, load_config().media)
        await send_now(fed, actor)
        total = await activity.deliveries.all().count()
        told = await activity.deliveries.filter(state=DeliveryState.DELIVERED).count()
        print(f"deleted {fed.urls.actor(actor)}; Delete delivered to {told} of {total} server(s)")

    run_with_db(delete, args)


def _flags(actor: LocalActor) -> str:
    flags = [
        flag
        for flag, on in (
            ("locked", actor.locked),
            ("admin", actor.is_admin),
            ("coop-admin", actor.coop_admin),
            ("disabled", actor.disabled and actor.deleted_at is None),
            ("deleted", actor.deleted_at is not None),
        )
        if on
    ]
    return "".join(f" {flag}" for flag in flags)


@with_db
async def cmd_list(fed: Federation, args: argparse.Namespace) -> None:
    kind = ActorKind.COOP if args.what == "coop" else ActorKind.MEMBER
    for actor in await list_actors(kind, include_deleted=True):
        coop = f" coop={actor.coop.username}" if kind == ActorKind.MEMBER and actor.coop else ""
        name = actor.name if actor.deleted_at is None else "(deleted)"
        handle = f"@{actor.username}@{fed.urls.domain}"
        print(f"{handle}\t{name}{coop}{_flags(actor)}\t{fed.urls.actor(actor)}")


@with_db
async def cmd_token_create(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.member, kind=ActorKind.MEMBER)
    print(await create_token(member, args.label))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@with_db
async def cmd_token_list(fed: Federation, args: argparse.Namespace) -> None:
    member = None
    if args.member:
        member = await LocalActor.get_or_none(kind=ActorKind.MEMBER, username=args.member)
        if member is None:
            raise NotFound(f"no member {args.member}", f"No member named {args.member}")
    tokens = await list_tokens(member)
    for token in tokens:
        print(
            f"{token.id}\t{token.member.username}\t{token.label or '-'}"
            f"\tcreated {_when(token.created_at)}\tlast used {_when(token.last_used_at)}"
        )
    if not tokens:
        print("no API tokens")


@with_db
async def cmd_token_revoke(fed: Federation, args: argparse.Namespace) -> None:
    token = await revoke_token(args.id)
    print(f"revoked token {token.id} of {token.member.username}")
