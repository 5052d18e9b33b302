"""Tortoise configuration and start-up, shared by the server, the CLI, the workers and tests."""

from __future__ import annotations

import os
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

MODEL_MODULES = [
    "models.actors",
    "models.follows",
    "models.activities",
    "models.delivery",
    "models.offers",
    "models.directory",
    "models.workers",
]


def connection_config(url: str) -> str | dict[str, Any]:
    """SQLite gets a busy timeout: the CLI and the server may write at the same moment."""
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": url[len("sqlite://"):], "busy_timeout": 10_000},
        }
    return url


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(url: str) -> None:
    """Bring the schema up to date; the same migration files serve SQLite and PostgreSQL."""
    await migrate(config=tortoise_config(url))


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
