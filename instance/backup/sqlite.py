"""SQLite: copied with its online backup API (the file is in WAL mode, so copying it is not
safe), restored by replacing the file once nobody has it open."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from instance.backup.common import (
    RELEASE,
    BackupError,
    Contents,
    fsync,
    publish,
    refuse_actors,
    refuse_newer,
    temporary_next_to,
)
from models.db import MIGRATIONS_APP, sqlite_path


def database_file(url: str) -> Path:
    """The configured database file; an in-memory database has none to save or replace."""
    path = sqlite_path(url)
    if path is None or path == Path():
        raise BackupError(f"[database] url = {url!r} is not a file: nothing to back up")
    return path


def _contents(conn: sqlite3.Connection) -> Contents | None:
    """The migrations applied and local actors, or None when this is not a coopub database."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"tortoise_migrations", "local_actor"} <= tables:
        return None
    rows = conn.execute("SELECT app, name FROM tortoise_migrations").fetchall()
    actors = conn.execute("SELECT COUNT(*) FROM local_actor").fetchone()[0]
    return Contents(frozenset(name for app, name in rows if app == MIGRATIONS_APP), int(actors))


def _copy(source: sqlite3.Connection, tmp: Path) -> Contents | None:
    """Copy ``source`` into ``tmp`` in one step (one read snapshot), check the copy, and leave
    it as a single self-contained file (rollback journal, not WAL)."""
    dest = sqlite3.connect(tmp)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")
        problems = [r[0] for r in dest.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(problems[0])
        return _contents(dest)
    finally:
        dest.close()


def backup(db: Path, target: Path) -> Contents | None:
    if not db.is_file():
        raise BackupError(f"database file {db} not found: check [database] url in instance.toml")
    with temporary_next_to(target, "partial") as tmp:
        try:
            source = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=10)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {db}: {exc}") from None
        try:
            contents = _copy(source, tmp)
        except sqlite3.Error as exc:
            raise BackupError(f"backup of {db} failed: {exc}") from None
        finally:
            source.close()
        publish(tmp, target)
    return contents


def _existing(db: Path) -> Contents | None:
    """What the database about to be replaced holds (None: not a coopub database)."""
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=10)
    try:
        return _contents(conn)
    finally:
        conn.close()


def _in_use(db: Path) -> bool:
    """Whether another process has the database open. Leaving WAL mode needs the only
    connection, so it fails while `coopub serve` runs; the file is replaced right after."""
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=0)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        return False
    except sqlite3.Error as exc:  # else not a database at all: nobody uses it as one
        return "locked" in str(exc) or "busy" in str(exc)
    finally:
        conn.close()


def _restore_copy(source: Path, tmp: Path) -> Contents:
    try:
        conn = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
        try:
            contents = _copy(conn, tmp)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{source} is damaged ({exc}): restore another backup") from None
    if contents is None:
        raise BackupError(f"{source} is an SQLite database but not a coopub backup")
    conn = sqlite3.connect(tmp)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, sql in RELEASE:
            if table in tables:
                conn.execute(sql)
        conn.commit()
    finally:
        conn.close()
    return contents


def restore(source: Path, db: Path, force: bool) -> Contents:
    if not db.parent.exists():
        db.parent.mkdir(mode=0o700, parents=True)
        db.parent.chmod(0o700)
    if db.exists():
        try:
            existing = _existing(db)
        except sqlite3.Error:
            existing = None
        if not force:
            if existing is None:
                raise BackupError(
                    f"{db} exists and is not a coopub database: use --force to replace it"
                )
            refuse_actors(existing, str(db))
        if _in_use(db):
            raise BackupError(f"{db} is in use: stop coopub (serve and worker) first")
    with temporary_next_to(db, "restore") as tmp:
        contents = _restore_copy(source, tmp)
        refuse_newer(contents, source)
        fsync(tmp)
        for suffix in ("-wal", "-shm", "-journal"):  # a stale log would be replayed into it
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, db)
    db.chmod(0o600)
    fsync(db.parent)
    return contents
