"""Regular rides apart from the span of offers (``search_index.longest_span``).

A search by dates walks the time order from ``from`` minus the longest span of the kind: how
long an offer stays findable after it starts. A regular ride stays findable until its expiry
(its departures are checked in Python), so with the expiry in ``offer_span`` (migration 0015)
every ride search walked from a day or more before ``from``: thousands of rides that ended
before it, read and refused. Now ``offer_span`` is an offer's own span (its end, else its
start), and regular rides, few, are asked apart: the earliest start among those with a
schedule that expire after ``from``, from a partial index holding them only
(``offer_scheduled``). The expressions are the ones ``search_index.py`` spells.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

SPAN_POSTGRES = "COALESCE(ends_at, starts_at) - starts_at"
SPAN_SQLITE = "julianday(COALESCE(ends_at, starts_at)) - julianday(starts_at)"
SCHEDULED_POSTGRES = "(details -> 'schedule') IS NOT NULL"
SCHEDULED_SQLITE = (
    "(CASE WHEN json_valid(details) THEN json_extract(details, '$.schedule') ELSE 1 END)"
    " IS NOT NULL"
)
OLD_SPAN_POSTGRES = (
    "(CASE WHEN kind = 'ride' THEN GREATEST(COALESCE(ends_at, starts_at), expires_at)"
    " ELSE COALESCE(ends_at, starts_at) END) - starts_at"
)
OLD_SPAN_SQLITE = (
    "(CASE WHEN kind = 'ride' THEN max(julianday(COALESCE(ends_at, starts_at)),"
    " julianday(expires_at)) ELSE julianday(COALESCE(ends_at, starts_at)) END)"
    " - julianday(starts_at)"
)

FORWARD = {
    "postgres": [
        "DROP INDEX IF EXISTS offer_span",
        f"CREATE INDEX offer_span ON offer (kind, ({SPAN_POSTGRES}))",
        "CREATE INDEX offer_scheduled ON offer (expires_at, starts_at)"
        f" WHERE {SCHEDULED_POSTGRES}",
    ],
    "sqlite": [
        "DROP INDEX IF EXISTS offer_span",
        f"CREATE INDEX offer_span ON offer (kind, ({SPAN_SQLITE}))",
        f"CREATE INDEX offer_scheduled ON offer (expires_at, starts_at) WHERE {SCHEDULED_SQLITE}",
    ],
}
BACKWARD = {
    "postgres": [
        "DROP INDEX IF EXISTS offer_scheduled",
        "DROP INDEX IF EXISTS offer_span",
        f"CREATE INDEX offer_span ON offer (kind, ({OLD_SPAN_POSTGRES}))",
    ],
    "sqlite": [
        "DROP INDEX IF EXISTS offer_scheduled",
        "DROP INDEX IF EXISTS offer_span",
        f"CREATE INDEX offer_span ON offer (kind, ({OLD_SPAN_SQLITE}))",
    ],
}


async def _run(editor: Any, statements: dict[str, list[str]]) -> None:
    client = editor.client
    for sql in statements[client.capabilities.dialect]:
        await client.execute_script(sql)


async def _forward(apps: Any, editor: Any) -> None:
    await _run(editor, FORWARD)


async def _backward(apps: Any, editor: Any) -> None:
    await _run(editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [('models', '0016_covering_gist')]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
