"""PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``, run as subprocesses with the
password in their environment (never in the process list)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints (no py.typed)

from instance.backup.common import (
    RELEASE,
    BackupError,
    Contents,
    publish,
    refuse_actors,
    refuse_newer,
    temporary_next_to,
)
from models.db import MIGRATIONS_APP, describe_url, postgres_name

PG_BIN_DIRS = Path("/usr/lib/postgresql")


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
            name=postgres_name(url),
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
        return describe_url(self.url)


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


async def _connect(target: PgTarget) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(target.dsn)
    except asyncpg.InvalidCatalogNameError:
        raise BackupError(
            f"database {target.name} does not exist on {target.host}: "
            f"create it first: createdb {target.name}"
        ) from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {target}: {exc}") from None


async def _contents(conn: asyncpg.Connection) -> Contents | None:
    tables = await conn.fetchval(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
        " AND tablename IN ('tortoise_migrations', 'local_actor')"
    )
    if tables != 2:
        return None
    rows = await conn.fetch("SELECT app, name FROM tortoise_migrations")
    actors = await conn.fetchval("SELECT COUNT(*) FROM local_actor")
    return Contents(frozenset(r["name"] for r in rows if r["app"] == MIGRATIONS_APP), int(actors))


async def backup(database: PgTarget, target: Path) -> Contents | None:
    conn = await _connect(database)
    try:
        contents = await _contents(conn)
    finally:
        await conn.close()
    with temporary_next_to(target, "partial") as tmp:
        await _run(
            "pg_dump",
            "--format=custom",
            "--no-password",
            f"--file={tmp}",
            f"--dbname={database.url}",
            env=database.env(),
        )
        await asyncio.to_thread(publish, tmp, target)
    return contents


def _copy_rows(sql: str, table: str) -> list[dict[str, str]]:
    """The rows of ``table`` in a plain SQL dump (``COPY … FROM stdin`` text format)."""
    lines = iter(sql.splitlines())
    head = re.compile(rf"^COPY (?:\S+\.)?\"?{table}\"? \((.*)\) FROM stdin;$")
    for line in lines:
        match = head.match(line)
        if match:
            columns = [c.strip().strip('"') for c in match.group(1).split(",")]
            rows: list[dict[str, str]] = []
            for row in lines:
                if row == "\\.":
                    return rows
                rows.append(dict(zip(columns, row.split("\t"), strict=False)))
    return []


async def _archive_contents(source: Path) -> Contents:
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
    return Contents(frozenset(r["name"] for r in rows if r.get("app") == MIGRATIONS_APP))


async def restore(source: Path, target: PgTarget, force: bool) -> Contents:
    archive = await _archive_contents(source)
    refuse_newer(archive, source)
    conn = await _connect(target)
    try:
        existing = await _contents(conn)
        if existing is not None and not force:
            refuse_actors(existing, str(target))
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
    conn = await _connect(target)
    try:
        restored = await _contents(conn)
        for table, sql in RELEASE:
            if await conn.fetchval("SELECT to_regclass($1)", table):
                await conn.execute(sql)
    finally:
        await conn.close()
    if restored is None:
        raise BackupError(f"{source} restored into {target} but the coopub tables are missing")
    return restored
