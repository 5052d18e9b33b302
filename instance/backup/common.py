"""What the SQLite and PostgreSQL backups share: the error, the summary of a database's
contents, writing a file whole or not at all, and the checks made before a restore."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from models.db import migration_names
from models.errors import CoopubError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
ENGINE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
RELEASE = (
    ("delivery", "UPDATE delivery SET locked_until = NULL WHERE locked_until IS NOT NULL"),
    ("inbox_item", "UPDATE inbox_item SET locked_until = NULL WHERE locked_until IS NOT NULL"),
    ("worker_heartbeat", "DELETE FROM worker_heartbeat"),
)
"""After a restore no worker holds anything: the leases and heartbeats of the backed-up
instance's processes are void, so its queued work resumes at once rather than after a lease."""


class BackupError(CoopubError):
    """A backup or restore that cannot be done; the message is one line with what to do."""

    public_message = "Backup error"

    def __init__(self, message: str) -> None:
        super().__init__("", message)


@dataclass(frozen=True)
class Contents:
    """What a database or backup holds, as far as the summary line needs."""

    migrations: frozenset[str]
    actors: int | None = None

    def schema(self) -> str:
        return max(self.migrations) if self.migrations else "empty"


def size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    scaled = n / 1024
    for unit in ("KiB", "MiB"):
        if scaled < 1024:
            return f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GiB"


# ---------------------------------------------------------------- files


@contextlib.contextmanager
def temporary_next_to(target: Path, label: str) -> Iterator[Path]:
    """A new empty file, mode 0600, in ``target``'s folder; removed unless renamed away."""
    tmp = target.with_name(f".{target.name}.{label}-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    try:
        yield tmp
    finally:
        for path in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm"))):
            path.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, target: Path) -> None:
    """Give the complete file its name, never replacing a file that appeared meanwhile."""
    fsync(tmp)
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise _exists(target) from None
        os.rename(tmp, target)
    fsync(target.parent)


def _exists(target: Path) -> BackupError:
    return BackupError(f"{target} already exists: refusing to overwrite it; choose a new file name")


def new_file(target: Path) -> Path:
    """``target`` made absolute, if it can be created: a backup never replaces a file."""
    target = target.expanduser().absolute()
    if target.exists() or target.is_symlink():
        raise _exists(target)
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist: create it first")
    return target


# ---------------------------------------------------------------- checks before a restore


def detect(source: Path) -> tuple[Path, str]:
    """The backup's absolute path and engine, from its first bytes."""
    source = source.expanduser().absolute()
    try:
        with source.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"{source} not found") from None
    except IsADirectoryError:
        raise BackupError(f"{source} is a folder, not a backup file") from None
    except PermissionError:
        raise BackupError(f"{source}: permission denied") from None
    if head == SQLITE_MAGIC:
        return source, "sqlite"
    if head.startswith(PG_MAGIC):
        return source, "postgres"
    raise BackupError(
        f"{source} is not a coopub backup (neither an SQLite database nor a pg_dump archive)"
    )


def refuse_actors(existing: Contents, where: str) -> None:
    if existing.actors:
        raise BackupError(
            f"{where} already holds {existing.actors} local actors: restoring would replace "
            "them; use --force to overwrite"
        )


def refuse_newer(contents: Contents, source: Path) -> None:
    unknown = contents.migrations - set(migration_names())
    if unknown:
        raise BackupError(
            f"{source} comes from a newer coopub (schema {max(unknown)}): upgrade coopub first"
        )
