"""``coopub domain``: suspend or limit a domain, lift it, list, import and export the blocks
in Mastodon's CSV format (the same services as ``/admin/blocks``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from federation.context import Federation
from federation.services.domain_blocks import block_domain, list_blocks, unblock_domain
from federation.services.domain_blocks_csv import export_blocks, import_csv
from instance.cli_common import CliError, run_with_db, with_db
from models.moderation import BlockSeverity

MAX_FILE = 5 * 1024 * 1024


@with_db
async def cmd_domain_block(fed: Federation, args: argparse.Namespace) -> None:
    block, purged = await block_domain(
        fed,
        args.domain,
        BlockSeverity(args.severity),
        public_comment=args.public_comment,
        private_comment=args.private_comment,
        reject_media=args.reject_media,
        reject_reports=args.reject_reports,
        obfuscate=args.obfuscate,
    )
    print(f"{block.domain}: {block.severity}")
    if purged is not None:
        print(
            f"purged {purged.actors} actor(s), {purged.offers} offer(s), {purged.posts} post(s), "
            f"{purged.follows} follow(s); {purged.bookings} booking(s) cancelled; "
            f"{purged.deliveries} delivery(ies) dropped"
        )


@with_db
async def cmd_domain_unblock(fed: Federation, args: argparse.Namespace) -> None:
    await unblock_domain(args.domain)
    print(f"{args.domain}: no longer blocked")


@with_db
async def cmd_domain_list(fed: Federation, args: argparse.Namespace) -> None:
    for b in await list_blocks():
        flags = [k for k in ("reject_media", "reject_reports", "obfuscate") if getattr(b, k)]
        print(
            "\t".join(
                [b.domain, str(b.severity), ",".join(flags), b.public_comment, b.private_comment]
            )
        )


def cmd_domain_import(args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:  # read before touching the database
        if path.stat().st_size > MAX_FILE:
            raise CliError(f"{path}: larger than {MAX_FILE // (1024 * 1024)} MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc

    async def run(fed: Federation, args: argparse.Namespace) -> None:
        report = await import_csv(fed, text, private_comment=f"imported from {path.name}")
        for line in report.refused:
            print(f"{path}:{line.line}: {line.text or '-'}: {line.reason}", file=sys.stderr)
        print(f"{len(report.blocked)} domain(s) blocked, {len(report.refused)} line(s) refused")

    run_with_db(run, args)


@with_db
async def cmd_domain_export(fed: Federation, args: argparse.Namespace) -> None:
    sys.stdout.write(await export_blocks())
