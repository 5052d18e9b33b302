"""Consistent backups and restores of the database, while `coopub serve` runs.

The database holds what cannot be made again: actor keys that peers have cached, password hashes,
follows and offers. SQLite is copied with its online backup API (the file itself is in WAL mode,
so copying it is not safe); PostgreSQL with ``pg_dump --format=custom``. A backup is written to a
temporary file created mode 0600 next to its target and linked to its name only when complete,
so a failed backup never leaves a truncated file that looks like a good one.

A restore reads the kind of backup from its first bytes, checks it whole before touching the
database, and refuses to replace a database that holds local actors unless forced.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from instance.backup import postgres, sqlite
from instance.backup.common import ENGINE_NAMES, BackupError, detect, new_file, size
from instance.config import Config
from models.db import engine, migration_names

__all__ = ["BackupError", "run_backup", "run_restore"]

log = logging.getLogger(__name__)


async def run_backup(config: Config, target: Path) -> str:
    """Write a consistent copy of the configured database to ``target`` (a new file)."""
    target = await asyncio.to_thread(new_file, target)
    url = config.database_url
    kind = engine(url)
    if kind == "sqlite":
        contents = await asyncio.to_thread(sqlite.backup, sqlite.database_file(url), target)
    else:
        contents = await postgres.backup(postgres.PgTarget.parse(url), target)
    written = (await asyncio.to_thread(target.stat)).st_size
    schema = contents.schema() if contents else "not a coopub database"
    log.info(
        "backup written",
        extra={"file": str(target), "engine": kind, "bytes": written, "schema": schema},
    )
    return (
        f"backup written to {target} ({ENGINE_NAMES[kind]}, {size(written)}, schema {schema}); "
        "keep instance.toml with it"
    )


async def run_restore(config: Config, source: Path, *, force: bool) -> str:
    """Replace the configured database with the backup in ``source``."""
    source, kind = await asyncio.to_thread(detect, source)
    url = config.database_url
    configured = engine(url)
    if kind != configured:
        raise BackupError(
            f"{source} is a backup of {ENGINE_NAMES[kind]}, but [database] url names "
            f"{ENGINE_NAMES[configured]}: restore it into a {ENGINE_NAMES[kind]} database"
        )
    if configured == "sqlite":
        db = sqlite.database_file(url)
        contents = await asyncio.to_thread(sqlite.restore, source, db, force)
        where = str(db)
    else:
        target = postgres.PgTarget.parse(url)
        contents = await postgres.restore(source, target, force)
        where = str(target)
    missing = set(migration_names()) - contents.migrations
    log.info(
        "backup restored",
        extra={
            "file": str(source),
            "engine": configured,
            "schema": contents.schema(),
            "actors": contents.actors,
        },
    )
    summary = f"restored {source} into {where} ({contents.actors} local actors"
    if missing:
        return (
            f"{summary}, schema {contents.schema()}, older than this coopub's "
            f"{max(missing)}): run `coopub migrate` before `coopub serve`"
        )
    return f"{summary}, schema {contents.schema()}): ready for `coopub serve`"
