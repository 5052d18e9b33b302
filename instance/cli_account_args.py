"""The arguments of ``coopub account`` (silence, suspend, lift, the log) and ``coopub offer
remove`` / ``coopub post remove``, kept out of ``cli.py``: argparse only, so that ``coopub
--help`` stays instant; the commands are in ``cli_accounts``."""

from __future__ import annotations

import argparse
from typing import Any

TARGET = "instance.cli_accounts"
ACTIONS = {
    "silence": "keep its offers and posts out of search and non-followers' pages",
    "unsilence": "lift the silence",
    "suspend": "a remote account: refuse and purge it; a member: no login, profile hidden",
    "unsuspend": "lift the suspension (what was purged does not come back)",
}


def _command(parser: argparse.ArgumentParser, function: str) -> None:
    parser.set_defaults(command_target=(TARGET, function))


def _actions(parser: argparse.ArgumentParser) -> Any:
    return parser.add_subparsers(
        dest="sub", required=True, metavar="COMMAND", help="what to do (see COMMAND --help)"
    )


def account_commands(sub: Any) -> None:
    account = sub.add_parser("account", help="account moderation: silence, suspend, the log")
    actions = _actions(account)
    for name, text in ACTIONS.items():
        command = actions.add_parser(name, help=text)
        command.add_argument("account", help="@name@host, or the actor's URL")
        command.add_argument("--reason", default="", help="kept in the moderation log")
        command.set_defaults(action=name)
        _command(command, "cmd_account_action")
    _command(actions.add_parser("list", help="the silenced and suspended accounts"), "cmd_list")
    log = actions.add_parser("log", help="the moderation log, newest first")
    log.add_argument("account", nargs="?", help="only this account's (@name@host or URL)")
    log.add_argument("--limit", type=int, default=50, help="how many lines (50)")
    _command(log, "cmd_log")
    for what in ("offer", "post"):
        group = _actions(
            sub.add_parser(
                what,
                help=f"moderation of an {what}" if what == "offer" else f"moderation of a {what}",
            )
        )
        remove = group.add_parser(
            "remove", help=f"remove the {what}; its author is told the reason"
        )
        remove.add_argument(what, help=f"the {what}'s URL (its id), or a local {what}'s uuid")
        remove.add_argument("--reason", required=True, help="sent to the author")
        _command(remove, f"cmd_remove_{what}")
