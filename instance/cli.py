"""The ``coopub`` command line: set up, run, and administer an instance."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn
from tortoise.expressions import Q

from federation import directory
from federation.accounts import create_actor, ensure_instance_actor, update_profile
from federation.context import Federation
from federation.delivery import deliver_due, queue_stats
from federation.directory import ensure_directory_actor
from federation.follows import decide, follow, unfollow
from federation.local import list_actors
from instance import __version__
from instance.app import build_federation, create_app
from instance.auth import create_token
from instance.config import Config, ConfigError, config_path, load_config, set_setting
from instance.logs import setup_logging
from instance.passwords import hash_password
from instance.worker import run_forever
from models.actors import ActorKind, LocalActor
from models.db import apply_migrations, close_db, open_db
from models.directory import DirectoryEntry
from models.errors import CoopubError, NotFound
from models.follows import Follow, FollowState

EXAMPLE = Path(__file__).resolve().parent.parent / "instance.example.toml"


async def _setup_database(config: Config) -> None:
    if config.database_url.startswith("sqlite://"):
        Path(config.database_url[len("sqlite://") :]).parent.mkdir(parents=True, exist_ok=True)
    await apply_migrations(config.database_url)
    await close_db()
    await open_db(config.database_url)
    try:
        actor = await ensure_instance_actor(
            build_federation(config).urls.hostname, config.instance.title
        )
        print(f"instance actor: {config.instance.base_url}/actor ({actor.username})")
        if config.directory.enabled:
            await ensure_directory_actor(config.directory.name, config.directory.description)
            print(f"directory actor: {config.instance.base_url}/directory")
    finally:
        await close_db()


def cmd_init(args: argparse.Namespace) -> None:
    path = Path(args.config) if args.config else config_path()
    if path.exists() and not args.force:
        print(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        text = EXAMPLE.read_text()
        text = set_setting(text, "instance", "domain", args.domain)
        text = set_setting(text, "instance", "scheme", args.scheme)
        text = set_setting(text, "instance", "secret_key", secrets.token_urlsafe(32))
        if args.title:
            text = set_setting(text, "instance", "title", args.title)
        if args.database_url:
            text = set_setting(text, "database", "url", args.database_url)
        if args.port:
            text = set_setting(text, "server", "port", args.port)
        if args.allow_private_addresses:
            text = set_setting(text, "federation", "allow_private_addresses", True)
        path.write_text(text)
        print(f"wrote {path}")
    config = load_config(path)
    asyncio.run(_setup_database(config))
    print(f"ready: run `coopub serve` and open {config.instance.base_url}/")


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(_setup_database(load_config()))
    print("database up to date")


def cmd_serve(args: argparse.Namespace) -> None:
    config = load_config()
    app = create_app(config, run_worker=False if args.no_worker else None)
    uvicorn.run(
        app,
        host=args.host or config.server.host,
        port=args.port or config.server.port,
        proxy_headers=True,
        log_config=None,
        access_log=False,
    )


async def _worker(config: Config) -> None:
    await open_db(config.database_url)
    fed = build_federation(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_forever(fed, stop)
    finally:
        await fed.aclose()
        await close_db()


def cmd_worker(args: argparse.Namespace) -> None:
    asyncio.run(_worker(load_config()))


def with_db(
    fn: Callable[[Federation, argparse.Namespace], Awaitable[None]],
) -> Callable[[argparse.Namespace], None]:
    """Run an async command with the database open and a federation context."""

    def run(args: argparse.Namespace) -> None:
        async def main() -> None:
            config = load_config()
            await open_db(config.database_url)
            fed = build_federation(config)
            try:
                await fn(fed, args)
            finally:
                await fed.aclose()
                await close_db()

        asyncio.run(main())

    return run


async def _local(name: str) -> LocalActor:
    actor = await LocalActor.get_or_none(username=name.lstrip("@").split("@")[0])
    if actor is None:
        raise NotFound(f"no local actor {name}", f"No local coop or member named {name}")
    return actor


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


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise ConfigError("passwords differ", "The two passwords differ")
    return first


@with_db
async def cmd_member_create(fed: Federation, args: argparse.Namespace) -> None:
    coop = await LocalActor.get_or_none(kind=ActorKind.COOP, username=args.coop)
    if coop is None:
        raise NotFound(f"no coop {args.coop}", f"No coop named {args.coop}")
    password_hash = hash_password(_read_password(args))
    member = await create_actor(
        ActorKind.MEMBER,
        args.name,
        name=args.display_name or args.name,
        coop=coop,
        email=args.email,
        password_hash=password_hash,
        locked=args.locked,
    )
    if args.admin:
        member.is_admin = True
        await member.save(update_fields=["is_admin"])
    admin = " (admin)" if args.admin else ""
    print(f"created member @{member.username}@{fed.urls.domain} {fed.urls.actor(member)}{admin}")


@with_db
async def cmd_member_admin(fed: Federation, args: argparse.Namespace) -> None:
    member = await LocalActor.get_or_none(kind=ActorKind.MEMBER, username=args.name)
    if member is None:
        raise NotFound(f"no member {args.name}", f"No member named {args.name}")
    member.is_admin = not args.revoke
    await member.save(update_fields=["is_admin"])
    print(f"{member.username}: {'admin' if member.is_admin else 'not an admin'}")


@with_db
async def cmd_list(fed: Federation, args: argparse.Namespace) -> None:
    kind = ActorKind.COOP if args.what == "coop" else ActorKind.MEMBER
    for actor in await list_actors(kind):
        coop = (
            f" coop={actor.coop.username}"
            if kind == ActorKind.MEMBER and (await actor.fetch_related("coop") or actor.coop)
            else ""
        )
        lock = " locked" if actor.locked else ""
        print(
            f"@{actor.username}@{fed.urls.domain}\t{actor.name}{coop}{lock}\t{fed.urls.actor(actor)}"
        )


async def _send_now(fed: Federation, actor: LocalActor) -> None:
    """Deliver what ``actor`` just published from this process, so the command can report the
    outcome; a running worker would send it too (rows are claimed, never sent twice)."""
    await deliver_due(fed, actor=actor)


@with_db
async def cmd_actor_update(fed: Federation, args: argparse.Namespace) -> None:
    actor = await _local(args.actor)
    await update_profile(fed, actor, name=args.name, summary=args.summary, locked=args.locked)
    await _send_now(fed, actor)
    print(f"updated {fed.urls.actor(actor)}")


@with_db
async def cmd_follow(fed: Federation, args: argparse.Namespace) -> None:
    actor = await _local(args.actor)
    record = await follow(fed, actor, args.target)
    await _send_now(fed, actor)
    for _ in range(int(args.wait * 10)):
        await record.refresh_from_db()
        if record.state != FollowState.PENDING:
            break
        await asyncio.sleep(0.1)
    print(f"{actor.username} → {record.target_uri}: {record.state.value}")


@with_db
async def cmd_unfollow(fed: Federation, args: argparse.Namespace) -> None:
    actor = await _local(args.actor)
    await unfollow(fed, actor, args.target)
    await _send_now(fed, actor)
    print(f"{actor.username} no longer follows {args.target}")


@with_db
async def cmd_follows_list(fed: Federation, args: argparse.Namespace) -> None:
    query = Follow.all().order_by("id")
    if args.actor:
        uri = fed.urls.actor(await _local(args.actor))
        query = Follow.filter(Q(follower_uri=uri) | Q(target_uri=uri)).order_by("id")
    for record in await query:
        print(f"{record.follower_uri} → {record.target_uri}\t{record.state.value}")


@with_db
async def cmd_follows_decide(fed: Federation, args: argparse.Namespace) -> None:
    target = await _local(args.actor)
    record = await decide(fed, target, args.follower, accept=args.decision == "approve")
    await _send_now(fed, target)
    print(f"{record.follower_uri} → {record.target_uri}: {record.state.value}")


@with_db
async def cmd_token_create(fed: Federation, args: argparse.Namespace) -> None:
    member = await LocalActor.get_or_none(kind=ActorKind.MEMBER, username=args.member)
    if member is None:
        raise NotFound(f"no member {args.member}", f"No member named {args.member}")
    print(await create_token(member, args.label))


@with_db
async def cmd_directory(fed: Federation, args: argparse.Namespace) -> None:
    action = args.action
    if action == "join":
        record = await directory.join(fed, args.target)
        await _send_now(fed, await fed.instance_actor())
        for _ in range(int(args.wait * 10)):
            await record.refresh_from_db()
            if record.state != FollowState.PENDING:
                break
            await asyncio.sleep(0.1)
        print(f"{record.target_uri}\t{_membership(record.state)}")
    elif action == "leave":
        await directory.leave(fed, args.target)
        await _send_now(fed, await fed.instance_actor())
        print(f"left {args.target}")
    elif action == "status":
        rows = await directory.memberships(fed)
        for record in rows:
            print(f"{record.target_uri}\t{_membership(record.state)}")
        if not rows:
            print("this instance has not asked to join any directory")
    elif action in ("admit", "reject"):
        if action == "admit":

            def progress(done: int, total: int) -> None:
                print(f"backfill {done}/{total}", flush=True)

            count = await directory.admit(fed, args.target, progress)
            print(f"admitted {args.target}; {count} offer(s) sent to it")
        else:
            await directory.reject(fed, args.target)
            print(f"rejected {args.target}")
        await _send_now(fed, await directory.directory_actor())
        while await deliver_due(fed, actor=await directory.directory_actor()):
            pass
    elif action == "list":
        for entry in await DirectoryEntry.all().order_by("state", "domain"):
            checks = ",".join(k for k, v in (entry.checks or {}).items() if v is True)
            print(f"{entry.domain}\t{entry.state.value}\t{entry.source or 'joined'}\t{checks}")
    elif action == "mirror":
        record = await directory.mirror(fed, args.target)
        await _send_now(fed, await directory.directory_actor())
        print(f"mirroring {record.target_uri}: {record.state.value}")
    elif action == "refresh":
        checked = await directory.refresh_entries(fed)
        merged = await directory.merge_mirrors(fed)
        print(f"rechecked {checked}, merged {merged}")


def _membership(state: FollowState) -> str:
    return {"pending": "pending", "accepted": "admitted", "rejected": "rejected"}[state.value]


@with_db
async def cmd_queue(fed: Federation, args: argparse.Namespace) -> None:
    for state, count in (await queue_stats()).items():
        print(f"{state}\t{count}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coopub", description="A Fediverse server for cooperatives")
    p.add_argument("--version", action="version", version=f"coopub {__version__}")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write instance.toml, create the database and keys")
    init.add_argument("--domain", required=True, help="public host[:port], e.g. velos.example")
    init.add_argument("--scheme", choices=("https", "http"), default="https")
    init.add_argument("--title")
    init.add_argument("--database-url")
    init.add_argument("--port", type=int)
    init.add_argument("--allow-private-addresses", action="store_true")
    init.add_argument("--config", help="where to write (default: $COOPUB_CONFIG or instance.toml)")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=cmd_init)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)
    serve = sub.add_parser("serve", help="run the web server and the delivery worker")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="run the delivery worker alone").set_defaults(func=cmd_worker)

    coop = sub.add_parser("coop", help="cooperatives").add_subparsers(dest="sub", required=True)
    create = coop.add_parser("create")
    create.add_argument("name")
    create.add_argument("--title", default="")
    create.add_argument("--summary", default="")
    create.add_argument("--locked", action="store_true", help="approve followers by hand")
    create.set_defaults(func=cmd_coop_create)
    coop.add_parser("list").set_defaults(func=cmd_list, what="coop")

    member = sub.add_parser("member", help="members").add_subparsers(dest="sub", required=True)
    mcreate = member.add_parser("create")
    mcreate.add_argument("name")
    mcreate.add_argument("--coop", required=True)
    mcreate.add_argument("--email", required=True)
    mcreate.add_argument("--display-name", default="")
    mcreate.add_argument("--locked", action="store_true")
    mcreate.add_argument("--password-stdin", action="store_true")
    mcreate.add_argument("--admin", action="store_true", help="may open the admin page")
    mcreate.set_defaults(func=cmd_member_create)
    madmin = member.add_parser("admin", help="let a member open the admin page (or --revoke)")
    madmin.add_argument("name")
    madmin.add_argument("--revoke", action="store_true")
    madmin.set_defaults(func=cmd_member_admin)
    member.add_parser("list").set_defaults(func=cmd_list, what="member")

    upd = sub.add_parser("actor", help="local actors").add_subparsers(dest="sub", required=True)
    aupdate = upd.add_parser("update", help="change a profile and tell the followers")
    aupdate.add_argument("actor")
    aupdate.add_argument("--name")
    aupdate.add_argument("--summary")
    lock = aupdate.add_mutually_exclusive_group()
    lock.add_argument("--locked", action="store_true", default=None)
    lock.add_argument("--unlocked", dest="locked", action="store_false")
    aupdate.set_defaults(func=cmd_actor_update)

    fol = sub.add_parser("follow", help="make a local actor follow @name@host")
    fol.add_argument("actor")
    fol.add_argument("target")
    fol.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the Accept")
    fol.set_defaults(func=cmd_follow)
    unf = sub.add_parser("unfollow", help="undo a follow")
    unf.add_argument("actor")
    unf.add_argument("target")
    unf.set_defaults(func=cmd_unfollow)

    follows = sub.add_parser("follows", help="follow relationships").add_subparsers(
        dest="sub", required=True
    )
    flist = follows.add_parser("list")
    flist.add_argument("actor", nargs="?")
    flist.set_defaults(func=cmd_follows_list)
    for decision in ("approve", "reject"):
        d = follows.add_parser(decision, help=f"{decision} a pending follow of a locked actor")
        d.add_argument("actor")
        d.add_argument("follower", help="the follower's @name@host or actor URL")
        d.set_defaults(func=cmd_follows_decide, decision=decision)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="sub", required=True)
    tcreate = token.add_parser("create", help="print a new API token for a member (shown once)")
    tcreate.add_argument("member")
    tcreate.add_argument("--label", default="")
    tcreate.set_defaults(func=cmd_token_create)

    dirp = sub.add_parser("directory", help="instance directories").add_subparsers(
        dest="action", required=True
    )
    for action, helptext in (
        ("join", "ask a directory (https://…) to list this instance"),
        ("leave", "leave a directory"),
        ("admit", "directory mode: admit a candidate DOMAIN"),
        ("reject", "directory mode: reject a candidate DOMAIN"),
        ("mirror", "directory mode: mirror another directory's listing (https://…)"),
    ):
        d = dirp.add_parser(action, help=helptext)
        d.add_argument("target")
        if action == "join":
            d.add_argument("--wait", type=float, default=10.0)
        d.set_defaults(func=cmd_directory)
    dirp.add_parser("status", help="directories joined and their answer").set_defaults(
        func=cmd_directory
    )
    dirp.add_parser("list", help="directory mode: candidates and entries").set_defaults(
        func=cmd_directory
    )
    dirp.add_parser(
        "refresh", help="directory mode: recheck entries, merge mirrors now"
    ).set_defaults(func=cmd_directory)

    sub.add_parser("queue", help="delivery queue counts").set_defaults(func=cmd_queue)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        args.func(args)
    except CoopubError as exc:
        print(
            f"error: {exc.public_message}" + (f" ({exc.detail})" if exc.detail else ""),
            file=sys.stderr,
        )
        sys.exit(1)
