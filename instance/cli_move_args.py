"""The arguments of ``coopub member alias`` and ``coopub member move``, kept out of ``cli.py``:
argparse only, so that ``coopub --help`` stays instant; the commands are in ``cli_moves``."""

from __future__ import annotations

import argparse
from typing import Any

TARGET = "instance.cli_moves"


def _command(parser: argparse.ArgumentParser, function: str) -> None:
    parser.set_defaults(command_target=(TARGET, function))


def move_commands(member: Any) -> None:
    """``alias`` and ``move`` under ``coopub member``."""
    alias = member.add_parser(
        "alias", help="list (or remove) an old account this member moves from (alsoKnownAs)"
    )
    alias.add_argument("name", help="the member's username (the new account)")
    alias.add_argument("action", choices=("add", "remove"), help="add or remove the alias")
    alias.add_argument("account", help="the old account: @name@host or an actor URL")
    _command(alias, "cmd_member_alias")
    move = member.add_parser(
        "move", help="move a member to another account, which must list it as an alias"
    )
    move.add_argument("name", help="the member's username (the old account)")
    move.add_argument("target", nargs="?", help="the new account: @name@host or an actor URL")
    move.add_argument("--back", action="store_true", help="cancel the move (tells followers)")
    _command(move, "cmd_member_move")
