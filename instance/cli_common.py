"""What the ``coopub`` commands share: the database opened and checked, actors by name,
passwords and confirmations asked for (or refused without a terminal)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable

from federation.context import Federation
from federation.delivery import deliver_due
from instance.app import build_federation
from instance.cli import EXIT_PENDING
from instance.config import load_config
from models.actors import ActorKind, LocalActor
from models.db import check_database, close_db, open_db
from models.errors import CoopubError, Gone, NotFound


class CliError(CoopubError):
    """A refusal of the command line itself; the message is the whole line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message, message)


class Refused(CliError):
    """The other side said no (a follow, a directory join)."""


class StillPending(CliError):
    """No answer yet; the request stands and may be answered later."""

    exit_code = EXIT_PENDING


DbCommand = Callable[[Federation, argparse.Namespace], Awaitable[None]]


def run_with_db(fn: DbCommand, args: argparse.Namespace) -> None:
    """Run ``fn`` with the database checked and open and a federation context."""

    async def main() -> None:
        config = load_config()
        await check_database(config.database_url)
        await open_db(config.database_url)
        fed = build_federation(config)
        try:
            await fn(fed, args)
        finally:
            await fed.aclose()
            await close_db()

    asyncio.run(main())


def with_db(fn: DbCommand) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        run_with_db(fn, args)

    run.__doc__ = fn.__doc__
    return run


def _name(name: str) -> str:
    return name.lstrip("@").split("@")[0]


async def local_actor(name: str, *, kind: ActorKind | None = None) -> LocalActor:
    """A live local coop or member by username (``name``, ``@name`` or ``@name@host``)."""
    found = await LocalActor.get_or_none(username=_name(name))
    if found is None or (kind is not None and found.kind != kind):
        what = kind.value if kind else "local coop or member"
        raise NotFound(f"no {what} {name}", f"No {what} named {_name(name)}")
    if found.deleted_at is not None:
        raise Gone(f"{found.username} is deleted", f"The account {found.username} is deleted")
    return found


async def send_now(fed: Federation, actor: LocalActor) -> None:
    """Deliver what ``actor`` just published from this process, so the command can report the
    outcome; a running worker would send it too (rows are claimed: one sender at a time)."""
    while await deliver_due(fed, actor=actor):
        pass


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise CliError("no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise CliError("the two passwords differ")
    return first


def confirm(args: argparse.Namespace, action: str) -> None:
    """Go on only with ``--yes`` or a "y" typed at a terminal."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"refusing to {action} without confirmation: add --yes to confirm")
    answer = input(f"{action}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("cancelled: nothing was changed")
