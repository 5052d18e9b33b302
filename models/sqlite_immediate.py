"""Tortoise's SQLite backend with transactions that take the write lock when they begin.

SQLite's default (deferred) ``BEGIN`` reads first and upgrades to a write at the first
``UPDATE``; in WAL mode that upgrade fails at once with "database is locked" (no busy wait) when
another process committed in between. With several ``coopub serve`` or ``coopub worker``
processes on one file, a transaction that reads then writes would fail under load.
``BEGIN IMMEDIATE`` waits (``busy_timeout``) for the write lock first, so transactions of all
processes run one after the other, as they already do inside one process (one connection).
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
