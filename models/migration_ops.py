"""Migration operations of our own."""

from __future__ import annotations

from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State


class StateOnlyAlterField(ops.AlterField):
    """Record a field change that needs no SQL (a new member of a ``CharEnumField``: the column
    stays VARCHAR, only the generated description changes).

    A real ``AlterField`` on SQLite rebuilds the table with ``DROP TABLE``; with foreign keys on,
    that cascades into every table referencing it (follows, activities, offers), losing data.
    """

    async def database_forward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        return None

    async def database_backward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        return None
