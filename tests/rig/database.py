"""Test databases: a temporary SQLite file, or a freshly created PostgreSQL database."""

from __future__ import annotations

import os
import tempfile
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def base_url() -> str:
    return os.environ.get("COOPUB_TEST_DATABASE_URL", "sqlite")


def is_postgres() -> bool:
    return base_url().startswith(("postgres://", "postgresql://"))


CREATED: list[str] = []
"""PostgreSQL databases made by this test session, dropped at its end."""


def _admin_dsn() -> str:
    return urlunsplit(urlsplit(base_url())._replace(scheme="postgresql", path="/postgres"))


async def _recreate_pg(name: str) -> None:
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    CREATED.append(name)


async def drop_created() -> None:
    if not CREATED:
        return
    conn = await asyncpg.connect(_admin_dsn())
    try:
        for name in CREATED:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    CREATED.clear()


async def fresh_database_url(label: str) -> str:
    """A URL to an empty database of the selected engine, unique to this run and label."""
    if not is_postgres():
        directory = tempfile.mkdtemp(prefix=f"coopub-{label}-")
        return f"sqlite://{directory}/coopub.sqlite3"
    parts = urlsplit(base_url())
    name = f"{parts.path.lstrip('/') or 'coopub_test'}_{label}_{uuid.uuid4().hex[:8]}"
    await _recreate_pg(name)
    return urlunsplit(parts._replace(scheme="postgres", path=f"/{name}"))
