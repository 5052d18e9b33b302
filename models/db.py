"""Tortoise configuration and start-up, shared by the server, the CLI, the workers and tests."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints (no py.typed)
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import BaseORMException, DBConnectionError
from tortoise.migrations.api import migrate

from models.errors import CoopubError

MODEL_MODULES = [
    "models.actors",
    "models.follows",
    "models.activities",
    "models.delivery",
    "models.offers",
    "models.bookings",
    "models.directory",
    "models.workers",
    "models.login_failures",
    "models.posts",
    "models.notifications",
    "models.media",
    "models.feed_tokens",
    "models.signups",
    "models.alerts",
    "models.moderation",
]
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATIONS_APP = "models"
"""The Tortoise app whose migrations make coopub's schema (its rows of ``tortoise_migrations``)."""
MIGRATIONS_TABLE = "tortoise_migrations"
SQLITE = "sqlite://"


class DatabaseError(CoopubError):
    """The database cannot be used as it is; the message says what to do (one line)."""

    public_message = "The database cannot be used"

    def __init__(self, message: str) -> None:
        super().__init__(message, message)


class DatabaseMissing(DatabaseError):
    pass


class DatabaseNeedsMigrating(DatabaseError):
    pass


class DatabaseUnreachable(DatabaseError):
    """The database cannot be opened or reached: checked before use (``check_database``), or
    found while running (a SQLite file deleted or replaced under the process, which then keeps
    writing to a ghost copy); a worker backs off and retries."""


OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnreachable,
    OSError,  # refused, reset, unreachable, name resolution, timeouts
    DBConnectionError,
    sqlite3.OperationalError,  # unable to open, disk I/O, locked, not a database
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # the connection was closed under the query
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)
"""The database or its connection failing while in use: an outage, worth one line and a retry,
unlike a bug (a constraint violated, a wrong query), which is worth its traceback."""
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    *OUTAGE_ERRORS,
    TimeoutError,
    BaseORMException,
    sqlite3.Error,
    asyncpg.PostgresError,
)
"""Wider: whatever a driver raises when the database is missing, unreachable or not as expected
(no schema, not a database at all). Before use, any of them means it cannot be used as it is."""


SQLITE_CACHE_KIB = -65536
"""``PRAGMA cache_size``: negative, in KiB (64 MiB a connection)."""


def engine(url: str) -> str:
    """``"sqlite"`` or ``"postgres"`` (the configuration accepts no other URL)."""
    return "sqlite" if url.startswith(SQLITE) else "postgres"


async def keep_session(connection: object) -> None:
    """The pool's reset of a released PostgreSQL connection: nothing beyond the rollback of an
    open transaction that asyncpg does first (see ``connection_config``)."""


def connection_config(url: str) -> str | dict[str, Any]:
    """SQLite gets a busy timeout (the CLI and the server processes may write at the same
    moment), WAL (Tortoise's default) with ``synchronous = NORMAL``, and transactions that
    begin with the write lock (``models/sqlite_immediate``: a deferred one fails when another
    process writes first).

    ``NORMAL`` syncs the WAL at checkpoints, not at every commit: a commit costs 0.03 ms of
    wall time instead of 0.21 here, and every process waits for the one write lock, so that
    is how long all of them wait. The database cannot be corrupted by it; a crash of coopub
    loses nothing; a power cut or an OS crash may lose the last transactions before the
    checkpoint. SQLite recommends it in WAL mode, and GoToSocial runs so by default
    (``db-sqlite-synchronous``); PostgreSQL is the engine for an instance that must not.

    Each connection keeps up to 64 MiB of pages (SQLite's default is 2 MiB): an offer's row
    holds its AS2 document and spans several pages, and a search that looks up 1,500
    candidates by id read them again from the OS at every page (2.7 ms instead of 1.0 at
    15,000 offers). The cache grows only as pages are read.

    PostgreSQL connections run with ``jit = off``: a walk of a dense area is estimated above
    ``jit_above_cost`` (it stops after a few thousand rows; the planner costs the whole index),
    and compiling it took 10 ms of a 15 ms search at a million offers. coopub's statements
    are short, and none gains what compiling costs.

    A PostgreSQL connection going back to the pool is not reset with asyncpg's default
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``, a round trip and four
    statements each time, which Tortoise pays after every statement outside a transaction):
    coopub leaves no session state on pooled connections (settings are ``SET LOCAL``, the
    workers ``LISTEN`` on a connection of their own, no advisory locks, no cursors), and an
    open transaction is still rolled back (asyncpg does that before any reset)."""
    if not url.startswith(SQLITE):
        config = expand_db_url(url)
        credentials = config["credentials"]
        credentials.setdefault("server_settings", {}).setdefault("jit", "off")
        credentials["reset"] = keep_session
        return config
    if url != "sqlite://:memory:":
        return {
            "engine": "models.sqlite_immediate",
            "credentials": {
                "file_path": url[len(SQLITE) :],
                "busy_timeout": 10_000,
                "synchronous": "NORMAL",
                "cache_size": SQLITE_CACHE_KIB,
            },
        }
    return url


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {
            MIGRATIONS_APP: {
                "models": MODEL_MODULES,
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite://`` URL (None for other engines and for ``:memory:``)."""
    if not url.startswith(SQLITE) or url == "sqlite://:memory:":
        return None
    return Path(url[len(SQLITE) :])


def create_sqlite_file(url: str) -> None:
    """Create a missing SQLite database as an empty file readable by its owner only (SQLite's
    ``-wal`` and ``-shm`` files copy its mode), in a folder of the owner's only if new."""
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def migration_names() -> list[str]:
    """The migrations this version of coopub ships, in order."""
    return sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))


def postgres_name(url: str) -> str:
    """The database a PostgreSQL URL connects to: its path, else (as libpq and asyncpg do) the
    user's name, else ``postgres``."""
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "postgres"


def describe_url(url: str) -> str:
    """The database named for messages, without its password."""
    path = sqlite_path(url)
    if path is not None:
        return f"database {path}"
    parts = urlsplit(url)
    where = parts.hostname or "localhost"
    if parts.port:
        where += f":{parts.port}"
    return f"PostgreSQL database {postgres_name(url)} on {where}"


async def _applied(url: str) -> set[str] | None:
    """Names of the applied migrations of app ``models``; None when nothing was ever applied."""
    conn = connections.get("default")
    sqlite = engine(url) == "sqlite"
    if sqlite:
        exists = "SELECT name AS found FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:  # the table the search path finds, as Tortoise's queries will (not another schema's)
        exists = "SELECT to_regclass($1)::text AS found"
    _, rows = await conn.execute_query(exists, [MIGRATIONS_TABLE])
    if not rows or rows[0]["found"] is None:
        return None
    placeholder = "?" if sqlite else "$1"
    _, rows = await conn.execute_query(
        f'SELECT name FROM "{MIGRATIONS_TABLE}" WHERE app = {placeholder}', [MIGRATIONS_APP]
    )
    return {row["name"] for row in rows}


async def check_database(url: str, *, require_migrated: bool = True) -> None:
    """Refuse to go on with a database that does not exist, cannot be reached or (unless
    ``require_migrated`` is False) is not at this version's migrations. Never creates a SQLite
    file: opening a missing one would leave an empty database behind."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise DatabaseMissing(
            f"database {path} does not exist: run `coopub init` or `coopub migrate`"
        )
    await Tortoise.init(config=tortoise_config(url))
    try:
        applied = await _applied(url)
    except DRIVER_ERRORS as exc:
        raise _unreachable(url, exc) from None
    finally:
        await Tortoise.close_connections()
    if not require_migrated:
        return
    shipped = migration_names()
    if applied is None or set(shipped) - applied:
        missing = [name for name in shipped if name not in (applied or set())]
        raise DatabaseNeedsMigrating(
            f"{describe_url(url)} needs migrating ({len(missing)} pending, up to {missing[-1]}): "
            "run `coopub migrate`"
        )
    unknown = sorted(applied - set(shipped))
    if unknown:
        raise DatabaseNeedsMigrating(
            f"{describe_url(url)} has migrations this coopub does not know ({unknown[-1]}): "
            "it was used by a newer coopub; upgrade coopub"
        )


def _unreachable(url: str, exc: BaseException) -> DatabaseUnreachable:
    cause = exc.__cause__ or exc  # Tortoise wraps the driver's error
    reason = " ".join(str(cause).split()) or type(cause).__name__
    if sqlite_path(url) is not None:
        return DatabaseUnreachable(f"{describe_url(url)} cannot be opened: {reason}")
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        return DatabaseUnreachable(
            f"{describe_url(url)} does not exist: create it (`createdb {postgres_name(url)}`), "
            "then run `coopub migrate`"
        )
    return DatabaseUnreachable(
        f"cannot connect to {describe_url(url)}: {reason}: "
        "is PostgreSQL running, and is [database] url in instance.toml right?"
    )


async def apply_migrations(url: str) -> None:
    """Bring the schema up to date; the same migration files serve SQLite and PostgreSQL."""
    create_sqlite_file(url)
    await migrate(config=tortoise_config(url))


async def migrate_database(url: str) -> None:
    """``coopub init`` and ``migrate``: create a missing SQLite file (owner-only), check that
    the database can be reached, apply the pending migrations; failures as DatabaseError."""
    create_sqlite_file(url)
    await check_database(url, require_migrated=False)
    try:
        await apply_migrations(url)
    except DRIVER_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseError(f"migrating {describe_url(url)} failed: {reason}") from exc
    finally:
        await Tortoise.close_connections()


async def open_db(url: str, *, run_migrations: bool = False) -> None:
    if run_migrations:
        await apply_migrations(url)
        await Tortoise.close_connections()
    # The global fallback lets request handlers and workers (other tasks) use the connection.
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


# For the `tortoise` command line (makemigrations, sqlmigrate): no database is needed.
TORTOISE_ORM = tortoise_config(os.environ.get("COOPUB_DATABASE_URL", "sqlite://:memory:"))


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is the database or its connection failing, as opposed
    to a bug: those are worth one line, a bug is worth its traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OUTAGE_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
