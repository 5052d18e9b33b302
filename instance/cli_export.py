"""``coopub member export NAME``: the member's archive, the same ZIP as the settings page's
download, written to a file only the admin can read (``coopub`` runs with umask 077)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from federation.context import Federation
from instance.cli_common import CliError, local_actor, with_db
from instance.config import load_config
from instance.export_archive import export_member
from models.actors import ActorKind


def _write_new(path: Path, data: bytes) -> None:
    """Write ``path``, refusing to replace a file that is there (``O_EXCL``)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} exists: choose another --output") from None
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@with_db
async def cmd_member_export(fed: Federation, args: argparse.Namespace) -> None:
    member = await local_actor(args.name, kind=ActorKind.MEMBER)  # a deleted one is Gone
    export = await export_member(fed, member, args.lang, load_config().media)
    path = Path(args.output) if args.output else Path(export.filename)
    await asyncio.to_thread(_write_new, path, export.data)
    print(f"wrote {path} ({len(export.data)} bytes) for @{member.username}@{fed.urls.domain}")
