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
import contextlib
import logging
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

from instance.config import Config
from models.errors import CoopubError

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
APP = "models"
"""The Tortoise app whose migrations make coopub's schema (rows of ``tortoise_migrations``)."""
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PG_BIN_DIRS = Path("/usr/lib/postgresql")
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


def code_migrations() -> frozenset[str]:
    return frozenset(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


# ---------------------------------------------------------------- files


@contextlib.contextmanager
def _temporary_next_to(target: Path, label: str) -> Iterator[Path]:
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path) -> None:
    """Give the complete file its name, never replacing a file that appeared meanwhile."""
    _fsync(tmp)
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise _exists(target) from None
        os.rename(tmp, target)
    _fsync(target.parent)


def _exists(target: Path) -> BackupError:
    return BackupError(f"{target} already exists: refusing to overwrite it; choose a new file name")


def _new_file(target: Path) -> Path:
    """``target`` made absolute, if it can be created: a backup never replaces a file."""
    target = target.expanduser().absolute()
    if target.exists() or target.is_symlink():
        raise _exists(target)
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist: create it first")
    return target


# ---------------------------------------------------------------- SQLite


def _sqlite_path(url: str) -> Path:
    path = url[len("sqlite://") :]
    if not path or path == ":memory:":
        raise BackupError(f"[database] url = {url!r} is not a file: nothing to back up")
    return Path(path)


def _sqlite_contents(conn: sqlite3.Connection) -> Contents | None:
    """The migrations applied and local actors, or None when this is not a coopub database."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"tortoise_migrations", "local_actor"} <= tables:
        return None
    rows = conn.execute("SELECT app, name FROM tortoise_migrations").fetchall()
    actors = conn.execute("SELECT COUNT(*) FROM local_actor").fetchone()[0]
    return Contents(frozenset(name for app, name in rows if app == APP), int(actors))


def _sqlite_copy(source: sqlite3.Connection, tmp: Path) -> Contents | None:
    """Copy ``source`` into ``tmp`` in one step (one read snapshot), check the copy, and leave
    it as a single self-contained file (rollback journal, not WAL)."""
    dest = sqlite3.connect(tmp)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")
        problems = [r[0] for r in dest.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(problems[0])
        return _sqlite_contents(dest)
    finally:
        dest.close()


def _sqlite_backup(db: Path, target: Path) -> Contents | None:
    if not db.is_file():
        raise BackupError(f"database file {db} not found: check [database] url in instance.toml")
    with _temporary_next_to(target, "partial") as tmp:
        try:
            source = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=10)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {db}: {exc}") from None
        try:
            contents = _sqlite_copy(source, tmp)
        except sqlite3.Error as exc:
            raise BackupError(f"backup of {db} failed: {exc}") from None
        finally:
            source.close()
        _publish(tmp, target)
    return contents


def _sqlite_existing(db: Path) -> Contents | None:
    """What the database about to be replaced holds (None: not a coopub database)."""
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=10)
    try:
        return _sqlite_contents(conn)
    finally:
        conn.close()


def _sqlite_in_use(db: Path) -> bool:
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


def _sqlite_restore_copy(source: Path, tmp: Path) -> Contents:
    try:
        conn = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
        try:
            contents = _sqlite_copy(conn, tmp)
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


def _sqlite_restore(source: Path, db: Path, force: bool) -> Contents:
    if not db.parent.exists():
        db.parent.mkdir(mode=0o700, parents=True)
        db.parent.chmod(0o700)
    if db.exists():
        try:
            existing = _sqlite_existing(db)
        except sqlite3.Error:
            existing = None
        if not force:
            if existing is None:
                raise BackupError(
                    f"{db} exists and is not a coopub database: use --force to replace it"
                )
            _refuse_actors(existing, str(db))
        if _sqlite_in_use(db):
            raise BackupError(f"{db} is in use: stop coopub (serve and worker) first")
    with _temporary_next_to(db, "restore") as tmp:
        contents = _sqlite_restore_copy(source, tmp)
        _refuse_newer(contents, source)
        _fsync(tmp)
        for suffix in ("-wal", "-shm", "-journal"):  # a stale log would be replayed into it
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, db)
    db.chmod(0o600)
    _fsync(db.parent)
    return contents


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PgTarget:
    """A PostgreSQL URL split for the client tools: the password goes in the environment, so it
    never shows in the process list."""

    url: str
    """``postgresql://`` URL without the password, for libpq."""
    password: str | None
    name: str
    host: str

    @classmethod
    def parse(cls, url: str) -> PgTarget:
        parts = urlsplit(url)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        netloc = f"{user}@{hostport}" if at and user else hostport
        return cls(
            url=urlunsplit(parts._replace(scheme="postgresql", netloc=netloc)),
            password=unquote(password) if password else None,
            name=unquote(parts.path.lstrip("/")) or unquote(user) or "postgres",
            host=parts.hostname or "localhost",
        )

    @property
    def dsn(self) -> str:
        """The full URL, for asyncpg."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user, at, hostport = parts.netloc.rpartition("@")
        secret = quote(self.password, safe="")
        return urlunsplit(parts._replace(netloc=f"{user}:{secret}@{hostport}" if at else hostport))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def __str__(self) -> str:
        return f"PostgreSQL database {self.name} on {self.host}"


def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: the one on PATH, else the newest server's."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: Path) -> int:
        return int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0

    candidates = sorted(PG_BIN_DIRS.glob(f"*/bin/{name}"), key=version)
    if candidates:
        return str(candidates[-1])
    raise BackupError(f"{name} not found: install postgresql-client")


async def _run(tool: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL client tool; its stdout, or its first error as one line."""
    proc = await asyncio.create_subprocess_exec(
        pg_tool(tool),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise _ToolFailed(tool, err.decode(errors="replace"))
    return out.decode(errors="replace")


class _ToolFailed(BackupError):
    def __init__(self, tool: str, stderr: str) -> None:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ": error: " in ln] or lines or ["no message"]
        reason = re.sub(r"^\S+: error: ", "", errors[0])
        if "version mismatch" in stderr:
            reason += " (install the postgresql-client of the server's version)"
        super().__init__(f"{tool} failed: {reason}")
        self.reason = reason


async def _pg_connect(target: PgTarget) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(target.dsn)
    except asyncpg.InvalidCatalogNameError:
        raise BackupError(
            f"database {target.name} does not exist on {target.host}: "
            f"create it first: createdb {target.name}"
        ) from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {target}: {exc}") from None


async def _pg_contents(conn: asyncpg.Connection) -> Contents | None:
    tables = await conn.fetchval(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
        " AND tablename IN ('tortoise_migrations', 'local_actor')"
    )
    if tables != 2:
        return None
    rows = await conn.fetch("SELECT app, name FROM tortoise_migrations")
    actors = await conn.fetchval("SELECT COUNT(*) FROM local_actor")
    return Contents(frozenset(r["name"] for r in rows if r["app"] == APP), int(actors))


async def _pg_backup(database: PgTarget, target: Path) -> Contents | None:
    conn = await _pg_connect(database)
    try:
        contents = await _pg_contents(conn)
    finally:
        await conn.close()
    with _temporary_next_to(target, "partial") as tmp:
        await _run(
            "pg_dump",
            "--format=custom",
            "--no-password",
            f"--file={tmp}",
            f"--dbname={database.url}",
            env=database.env(),
        )
        await asyncio.to_thread(_publish, tmp, target)
    return contents


def _copy_rows(sql: str, table: str) -> list[dict[str, str]]:
    """The rows of ``table`` in a plain SQL dump (``COPY … FROM stdin`` text format)."""
    lines = iter(sql.splitlines())
    head = re.compile(rf"^COPY (?:\S+\.)?\"?{table}\"? \((.*)\) FROM stdin;$")
    for line in lines:
        match = head.match(line)
        if match:
            columns = [c.strip().strip('"') for c in match.group(1).split(",")]
            rows = []
            for row in lines:
                if row == "\\.":
                    return rows
                rows.append(dict(zip(columns, row.split("\t"), strict=False)))
    return []


async def _pg_archive_contents(source: Path) -> Contents:
    """Read the whole archive once (a truncated one fails here, before the database is touched)
    and the migrations it records."""
    try:
        await _run("pg_restore", "--file=/dev/null", str(source))
        toc = await _run("pg_restore", "--list", str(source))
        data = await _run(
            "pg_restore", "--data-only", "--table=tortoise_migrations", "--file=-", str(source)
        )
    except _ToolFailed as exc:
        raise BackupError(f"{source} is damaged ({exc.reason}): restore another backup") from None
    if not re.search(r" TABLE \S+ local_actor ", toc) or " tortoise_migrations " not in toc:
        raise BackupError(f"{source} is a pg_dump archive but not a coopub backup")
    rows = _copy_rows(data, "tortoise_migrations")
    return Contents(frozenset(r["name"] for r in rows if r.get("app") == APP))


async def _pg_restore(source: Path, target: PgTarget, force: bool) -> Contents:
    archive = await _pg_archive_contents(source)
    _refuse_newer(archive, source)
    conn = await _pg_connect(target)
    try:
        existing = await _pg_contents(conn)
        if existing is not None and not force:
            _refuse_actors(existing, str(target))
        if existing is not None and existing.migrations - archive.migrations:
            raise BackupError(
                f"{target} has a newer schema ({existing.schema()}) than {source} "
                f"({archive.schema()}): restore into a new database (createdb NAME), "
                "then set [database] url to it"
            )
        others = await conn.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        if others:
            raise BackupError(
                f"{target} is in use ({others} other connections): "
                "stop coopub (serve and workers) first"
            )
    finally:
        await conn.close()
    await _run(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={target.url}",
        str(source),
        env=target.env(),
    )
    conn = await _pg_connect(target)
    try:
        restored = await _pg_contents(conn)
        for table, sql in RELEASE:
            if await conn.fetchval("SELECT to_regclass($1)", table):
                await conn.execute(sql)
    finally:
        await conn.close()
    if restored is None:
        raise BackupError(f"{source} restored into {target} but the coopub tables are missing")
    return restored


# ---------------------------------------------------------------- checks shared by both


def _refuse_actors(existing: Contents, where: str) -> None:
    if existing.actors:
        raise BackupError(
            f"{where} already holds {existing.actors} local actors: restoring would replace "
            "them; use --force to overwrite"
        )


def _refuse_newer(contents: Contents, source: Path) -> None:
    unknown = contents.migrations - code_migrations()
    if unknown:
        raise BackupError(
            f"{source} comes from a newer coopub (schema {max(unknown)}): upgrade coopub first"
        )


def _engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def _detect(source: Path) -> tuple[Path, str]:
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


ENGINE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


# ---------------------------------------------------------------- commands


async def run_backup(config: Config, target: Path) -> str:
    """Write a consistent copy of the configured database to ``target`` (a new file)."""
    target = await asyncio.to_thread(_new_file, target)
    url = config.database_url
    engine = _engine(url)
    if engine == "sqlite":
        contents = await asyncio.to_thread(_sqlite_backup, _sqlite_path(url), target)
    else:
        contents = await _pg_backup(PgTarget.parse(url), target)
    size = (await asyncio.to_thread(target.stat)).st_size
    schema = contents.schema() if contents else "not a coopub database"
    log.info(
        "backup written",
        extra={"file": str(target), "engine": engine, "bytes": size, "schema": schema},
    )
    return (
        f"backup written to {target} ({ENGINE_NAMES[engine]}, {_size(size)}, schema {schema}); "
        "keep instance.toml with it"
    )


async def run_restore(config: Config, source: Path, *, force: bool) -> str:
    """Replace the configured database with the backup in ``source``."""
    source, kind = await asyncio.to_thread(_detect, source)
    url = config.database_url
    engine = _engine(url)
    if kind != engine:
        raise BackupError(
            f"{source} is a backup of {ENGINE_NAMES[kind]}, but [database] url names "
            f"{ENGINE_NAMES[engine]}: restore it into a {ENGINE_NAMES[kind]} database"
        )
    if engine == "sqlite":
        db = _sqlite_path(url)
        contents = await asyncio.to_thread(_sqlite_restore, source, db, force)
        where = str(db)
    else:
        target = PgTarget.parse(url)
        contents = await _pg_restore(source, target, force)
        where = str(target)
    missing = code_migrations() - contents.migrations
    log.info(
        "backup restored",
        extra={
            "file": str(source),
            "engine": engine,
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
