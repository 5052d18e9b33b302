"""The arguments of ``coopub domain`` (domain blocks), kept out of ``cli.py``: argparse only,
so that ``coopub --help`` stays instant; the commands are in ``cli_moderation``."""

from __future__ import annotations

import argparse
from typing import Any

TARGET = "instance.cli_moderation"


def _command(parser: argparse.ArgumentParser, function: str) -> None:
    parser.set_defaults(command_target=(TARGET, function))


def domain_commands(sub: Any) -> None:
    domain = sub.add_parser("domain", help="domain blocks: suspend or limit a server")
    actions = domain.add_subparsers(
        dest="sub", required=True, metavar="COMMAND", help="what to do (see COMMAND --help)"
    )
    block = actions.add_parser(
        "block", help="suspend (cut off and purge) or limit a domain and its subdomains"
    )
    block.add_argument("domain", help="e.g. bad.example (a block covers *.bad.example too)")
    block.add_argument(
        "--severity",
        choices=("suspend", "limit"),
        default="suspend",
        help="suspend: nothing in or out, all of it purged (default); limit: out of search",
    )
    block.add_argument("--public-comment", default="", help="the reason, shown in /about/blocks")
    block.add_argument("--private-comment", default="", help="a note for the admins only")
    for flag in ("reject-media", "reject-reports", "obfuscate"):
        block.add_argument(f"--{flag}", action="store_true", help="as in Mastodon's CSV")
    _command(block, "cmd_domain_block")
    unblock = actions.add_parser("unblock", help="lift a domain's block (federation resumes)")
    unblock.add_argument("domain", help="the domain as blocked")
    _command(unblock, "cmd_domain_unblock")
    _command(actions.add_parser("list", help="the blocks, one a line"), "cmd_domain_list")
    imports = actions.add_parser("import", help="add the blocks of a Mastodon CSV file")
    imports.add_argument("file", help="#domain,#severity,#reject_media,… (Mastodon's export)")
    _command(imports, "cmd_domain_import")
    export = actions.add_parser("export", help="print the blocks as Mastodon's CSV")
    _command(export, "cmd_domain_export")
