"""The ``coopub`` command line: set up, run, and administer an instance.

Building the parser imports nothing heavy (no ORM, web server, HTTP client or crypto), so that
``--help`` and ``--version`` answer at once; each command's module is imported when it runs
(``instance/cli_*.py``). Every failure is one line on stderr, ``coopub: error: …``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from instance import __version__
from instance.cli_account_args import account_commands
from instance.cli_domain_args import domain_commands
from instance.cli_move_args import move_commands
from instance.cli_process_args import process_options
from instance.logs import setup_logging

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = (
    "exit status: 0 done; 1 failed or refused; 2 wrong usage; "
    "3 still pending (follow, directory join); 130 interrupted"
)
FOLLOW_EXIT = (
    "exit status: 0 accepted; 1 failed or refused; 2 wrong usage; 3 still pending after --wait "
    "(the request stands: check later with `coopub follows list ACTOR`); 130 interrupted"
)
JOIN_EXIT = (
    "exit status: 0 admitted; 1 failed or refused; 2 wrong usage; 3 still pending after --wait "
    "(the request stands: check later with `coopub directory status`); 130 interrupted"
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LONG_RUNNING = frozenset({"serve", "worker"})
"""Commands that log at INFO by default; the others log only errors: they report the outcome
themselves (a failed delivery is part of a command's one error line, not a log line before it)."""


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    print(f"coopub: error: {message}", file=sys.stderr)
    sys.exit(code)


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors, like every other coopub error."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message}: see `{self.prog} --help`", EXIT_USAGE)


def _command(parser: argparse.ArgumentParser, module: str, function: str, **defaults: Any) -> None:
    """Run ``instance.<module>.<function>`` for this subcommand, imported only when chosen."""
    parser.set_defaults(command_target=(f"instance.{module}", function), **defaults)


def _subcommands(parser: argparse.ArgumentParser, dest: str, what: str) -> Any:
    return parser.add_subparsers(
        dest=dest, required=True, metavar="COMMAND", help=f"{what} (see COMMAND --help)"
    )


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )


def _yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1-65535 (the OS would silently wrap 99999 to 34463)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _setup_commands(sub: Any) -> None:
    init = sub.add_parser("init", help="write instance.toml, create the database and keys")
    init.add_argument(
        "--domain",
        required=True,
        help="public host[:port], e.g. velos.example; a :PORT also sets [server] port",
    )
    init.add_argument(
        "--scheme", choices=("https", "http"), default="https", help="public scheme (https)"
    )
    init.add_argument("--title", help="the instance's name, shown on its pages")
    init.add_argument(
        "--database-url", help="postgres://USER@HOST:PORT/NAME (default: SQLite in data/)"
    )
    init.add_argument(
        "--port", type=port_number, help="port `coopub serve` listens on (default 8000)"
    )
    init.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let federation reach private and loopback addresses (tests, LAN only)",
    )
    init.add_argument("--config", help="where to write (default: $COOPUB_CONFIG or instance.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing instance.toml")
    _command(init, "cli_setup", "cmd_init")

    migrate = sub.add_parser("migrate", help="create the database or apply pending migrations")
    _command(migrate, "cli_setup", "cmd_migrate")

    serve = sub.add_parser("serve", help="run the web server and the delivery worker")
    serve.add_argument("--host", help="address to listen on (default: [server] host)")
    serve.add_argument(
        "--port", type=port_number, help="port to listen on (default: [server] port)"
    )
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run the worker (run `coopub worker`)"
    )
    process_options(serve, web=True)
    _command(serve, "cli_setup", "cmd_serve")
    worker = sub.add_parser("worker", help="run the delivery worker alone")
    process_options(worker, web=False)
    _command(worker, "cli_setup", "cmd_worker")

    backup = sub.add_parser("backup", help="write a backup of the database and keys to FILE")
    backup.add_argument("file", help="the backup file to write")
    _command(backup, "cli_setup", "cmd_backup")
    restore = sub.add_parser("restore", help="restore a backup written by `coopub backup`")
    restore.add_argument("file", help="the backup file to read")
    restore.add_argument(
        "--force", action="store_true", help="replace a database that already has data"
    )
    _command(restore, "cli_setup", "cmd_restore")


def _coop_commands(sub: Any) -> None:
    coop = _subcommands(sub.add_parser("coop", help="cooperatives"), "sub", "what to do")
    create = coop.add_parser("create", help="create a coop (a Group actor)")
    create.add_argument("name", help="username: lowercase letters, digits and _")
    create.add_argument("--title", default="", help="display name (default: the username)")
    create.add_argument("--summary", default="", help="a short description")
    create.add_argument("--locked", action="store_true", help="approve followers by hand")
    _command(create, "cli_admin", "cmd_coop_create")
    _command(coop.add_parser("list", help="list the coops"), "cli_admin", "cmd_list", what="coop")
    update = coop.add_parser("update", help="change a coop's profile and tell its followers")
    update.add_argument("name", help="the coop's username")
    update.add_argument("--title", help="new display name")
    update.add_argument("--summary", help="new description")
    _lock_options(update)
    _command(update, "cli_admin", "cmd_coop_update")
    delete = coop.add_parser(
        "delete", help="delete a coop without members (tells other servers; name stays reserved)"
    )
    delete.add_argument("name", help="the coop's username")
    _yes(delete)
    _command(delete, "cli_admin", "cmd_delete", kind="coop")


def _lock_options(parser: argparse.ArgumentParser) -> None:
    lock = parser.add_mutually_exclusive_group()
    lock.add_argument(
        "--locked", action="store_true", default=None, help="approve followers by hand"
    )
    lock.add_argument(
        "--unlocked", dest="locked", action="store_false", help="accept followers at once"
    )


def _member_commands(sub: Any) -> None:
    member = _subcommands(sub.add_parser("member", help="members"), "sub", "what to do")
    create = member.add_parser("create", help="create a member of a coop (a Person actor)")
    create.add_argument("name", help="username: lowercase letters, digits and _")
    create.add_argument("--coop", required=True, help="the coop's username")
    create.add_argument("--email", required=True, help="the member's email address")
    create.add_argument("--display-name", default="", help="display name (default: username)")
    create.add_argument("--locked", action="store_true", help="approve followers by hand")
    _password_stdin(create)
    create.add_argument("--admin", action="store_true", help="may open the admin page")
    create.add_argument(
        "--coop-admin", action="store_true", help="admins the coop: invites, approves who joins"
    )
    _command(create, "cli_admin", "cmd_member_create")
    coop_admin = member.add_parser(
        "coop-admin", help="let a member admin their coop: invite, approve who joins (or --revoke)"
    )
    coop_admin.add_argument("name", help="the member's username")
    coop_admin.add_argument("--revoke", action="store_true", help="take the right away")
    _command(coop_admin, "cli_join", "cmd_member_coop_admin")
    invite = member.add_parser("invite", help="print an invitation link to sign up (shown once)")
    invite.add_argument("--coop", help="new members join this coop at once")
    invite.add_argument(
        "--uses", type=int, default=1, help="how many people may sign up with it (1)"
    )
    invite.add_argument(
        "--days", type=float, help="valid for this many days (default: [signup] invitation_days)"
    )
    _command(invite, "cli_join", "cmd_member_invite")
    reset = member.add_parser(
        "reset-link", help="print a one-time link for a member to choose a new password"
    )
    reset.add_argument("name", help="the member's username")
    _command(reset, "cli_join", "cmd_member_reset_link")
    admin = member.add_parser("admin", help="let a member open the admin page (or --revoke)")
    admin.add_argument("name", help="the member's username")
    admin.add_argument("--revoke", action="store_true", help="take the admin right away")
    _command(admin, "cli_admin", "cmd_member_admin")
    _command(
        member.add_parser("list", help="list the members (disabled and deleted ones marked)"),
        "cli_admin",
        "cmd_list",
        what="member",
    )
    passwd = member.add_parser("passwd", help="set a member's password")
    passwd.add_argument("name", help="the member's username")
    _password_stdin(passwd)
    _command(passwd, "cli_admin", "cmd_member_passwd")
    for action, text in (
        ("disable", "stop a member from logging in and using API tokens (still federated)"),
        ("enable", "let a disabled member log in again"),
    ):
        toggle = member.add_parser(action, help=text)
        toggle.add_argument("name", help="the member's username")
        _command(toggle, "cli_admin", "cmd_member_disable", disable=action == "disable")
    delete = member.add_parser(
        "delete",
        help="delete a member: offers deleted, profile wiped, other servers told (irreversible)",
    )
    delete.add_argument("name", help="the member's username")
    _yes(delete)
    _command(delete, "cli_admin", "cmd_delete", kind="member")
    export = member.add_parser(
        "export", help="write a ZIP of everything the instance holds about a member"
    )
    export.add_argument("name", help="the member's username")
    export.add_argument(
        "--output", help="the file to write (default: coopub-NAME-DATE.zip here); never replaced"
    )
    export.add_argument(
        "--lang", choices=("fr", "en"), default="en", help="the summary's language (en)"
    )
    _command(export, "cli_export", "cmd_member_export")
    move_commands(member)


def _token_commands(sub: Any) -> None:
    token = _subcommands(sub.add_parser("token", help="API tokens"), "sub", "what to do")
    create = token.add_parser("create", help="print a new API token for a member (shown once)")
    create.add_argument("member", help="the member's username")
    create.add_argument("--label", default="", help="a note to recognise the token by")
    _command(create, "cli_admin", "cmd_token_create")
    listing = token.add_parser("list", help="list tokens: id, member, label, created, last used")
    listing.add_argument("member", nargs="?", help="only this member's tokens")
    _command(listing, "cli_admin", "cmd_token_list")
    revoke = token.add_parser("revoke", help="revoke a token at once (ID from `token list`)")
    revoke.add_argument("id", type=int, help="the token's id")
    _command(revoke, "cli_admin", "cmd_token_revoke")


def _federation_commands(sub: Any) -> None:
    actor = _subcommands(sub.add_parser("actor", help="local actors"), "sub", "what to do")
    update = actor.add_parser("update", help="change a profile and tell the followers")
    update.add_argument("actor", help="a local coop's or member's username")
    update.add_argument("--name", help="new display name")
    update.add_argument("--summary", help="new description")
    _lock_options(update)
    _command(update, "cli_admin", "cmd_actor_update")

    follow = sub.add_parser(
        "follow", help="make a local actor follow @name@host", epilog=FOLLOW_EXIT
    )
    follow.add_argument("actor", help="the local coop's or member's username")
    follow.add_argument("target", help="@name@host or an actor URL")
    follow.add_argument(
        "--wait", type=float, default=10.0, help="seconds to wait for the answer (default 10)"
    )
    _command(follow, "cli_federation", "cmd_follow")
    unfollow = sub.add_parser("unfollow", help="undo a follow")
    unfollow.add_argument("actor", help="the local coop's or member's username")
    unfollow.add_argument("target", help="@name@host or an actor URL")
    _command(unfollow, "cli_federation", "cmd_unfollow")

    follows = _subcommands(
        sub.add_parser("follows", help="follow relationships"), "sub", "what to do"
    )
    listing = follows.add_parser("list", help="follows and their state (pending, accepted…)")
    listing.add_argument("actor", nargs="?", help="only those of this local actor")
    _command(listing, "cli_federation", "cmd_follows_list")
    for decision in ("approve", "reject"):
        d = follows.add_parser(decision, help=f"{decision} a pending follow of a locked actor")
        d.add_argument("actor", help="the locked local actor's username")
        d.add_argument("follower", help="the follower's @name@host or actor URL")
        _command(d, "cli_federation", "cmd_follows_decide", decision=decision)

    directory = _subcommands(
        sub.add_parser("directory", help="instance directories"), "action", "what to do"
    )
    for action, text in (
        ("join", "ask a directory (https://…) to list this instance"),
        ("leave", "leave a directory"),
        ("admit", "directory mode: admit a candidate DOMAIN"),
        ("reject", "directory mode: reject a candidate DOMAIN"),
        ("mirror", "directory mode: mirror another directory's listing (https://…)"),
    ):
        d = directory.add_parser(action, help=text, epilog=JOIN_EXIT if action == "join" else None)
        d.add_argument("target", help="DOMAIN" if action in ("admit", "reject") else "its URL")
        if action == "join":
            d.add_argument(
                "--wait", type=float, default=10.0, help="seconds to wait for the answer"
            )
        _command(d, "cli_federation", "cmd_directory")
    for action, text in (
        ("status", "directories joined and their answer"),
        ("list", "directory mode: candidates and entries"),
        ("refresh", "directory mode: recheck entries, merge mirrors now"),
    ):
        _command(directory.add_parser(action, help=text), "cli_federation", "cmd_directory")

    queue = sub.add_parser("queue", help="delivery queue counts")
    _command(queue, "cli_federation", "cmd_queue")


def _report_commands(sub: Any) -> None:
    report = sub.add_parser("report", help="reports from members and other servers")
    actions = _subcommands(report, "sub", "what to do")
    listing = actions.add_parser("list", help="the reports, newest first, one a line")
    listing.add_argument(
        "--state", choices=("open", "resolved", "dismissed"), default="open", help="(open)"
    )
    _command(listing, "cli_reports", "cmd_report_list")
    show = actions.add_parser("show", help="one report: who, about whom and what, the comment")
    show.add_argument("id", type=int, help="the report's number")
    _command(show, "cli_reports", "cmd_report_show")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="coopub", description="A Fediverse server for cooperatives", epilog=EXIT_CODES)
    p.add_argument("--version", action="version", version=f"coopub {__version__}")
    p.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="DEBUG also prints tracebacks (default: INFO for serve and worker, else ERROR)",
    )
    sub = _subcommands(p, "command", "what to do")
    # subparsers are made with the parser's own class: one-line usage errors there too
    _setup_commands(sub)
    _coop_commands(sub)
    _member_commands(sub)
    _token_commands(sub)
    _federation_commands(sub)
    domain_commands(sub)
    _report_commands(sub)
    account_commands(sub)
    return p


def _target(args: argparse.Namespace) -> Callable[[argparse.Namespace], int | None]:
    module, function = args.command_target
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _report(exc: Exception, level: str) -> int:
    """Print what went wrong as one line (plus the traceback at DEBUG); the exit code."""
    from models.errors import CoopubError  # loaded by then: every command uses the models

    if level == "DEBUG":
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, CoopubError):
        message = exc.public_message
        if exc.detail and message == type(exc).public_message:  # a generic message: add why
            message = f"{message}: {exc.detail}"
        print(f"coopub: error: {_one_line(message)}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_ERROR))
    hint = "" if level == "DEBUG" else ": run with --log-level DEBUG for the traceback"
    reason = _one_line(f"{type(exc).__name__}: {exc}")
    print(f"coopub: error: unexpected {reason}{hint}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)  # every file coopub creates (config, database, backups) is private
    args = parser().parse_args(argv)
    level = args.log_level or ("INFO" if args.command in LONG_RUNNING else "ERROR")
    setup_logging(level)
    try:
        code = _target(args)(args)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the one place that turns any failure into one line
        sys.exit(_report(exc, level))
    sys.exit(code or EXIT_OK)


if __name__ == "__main__":
    main()
