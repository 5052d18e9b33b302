"""Spatial and text indexes for offer search (federation/services/search_index.py reads them).

PostgreSQL: GiST indexes on ``point(longitude, latitude)`` and on the destination's point (the
built-in ``point`` type, no PostGIS), and a pg_trgm GIN index on the searched text (title,
description, place and destination names), which serves the ``ILIKE '%…%'`` substring search
as it is. SQLite: an R*Tree (two entries per offer: rowid ``id*2`` its first place, ``id*2+1``
its last) and an FTS5 table with the ``trigram`` tokenizer over the same four columns, kept in
step with ``offer`` by triggers; both are filled from the offers already stored.

Btree indexes on ``(starts_at, id)``, ``(status, starts_at, id)`` and ``(kind, status,
starts_at, id)`` (declared in ``Offer.Meta``) give the search its order without sorting
(``search_walk.py``); they replace those without ``id``, and the spatial indexes replace the
btree ones on (latitude, longitude). An index on each offer's span (``offer_span``: from its
start to the last moment a date search finds it) gives the longest span of a kind at once.
"""

from typing import Any

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

TEXT = "title || ' ' || description || ' ' || place_name || ' ' || dest_name"
"""The searched text, one expression: the query (``search_index.py``) must spell it so."""

SPAN_POSTGRES = (
    "(CASE WHEN kind = 'ride' THEN GREATEST(COALESCE(ends_at, starts_at), expires_at)"
    " ELSE COALESCE(ends_at, starts_at) END) - starts_at"
)
SPAN_SQLITE = (
    "(CASE WHEN kind = 'ride' THEN max(julianday(COALESCE(ends_at, starts_at)),"
    " julianday(expires_at)) ELSE julianday(COALESCE(ends_at, starts_at)) END)"
    " - julianday(starts_at)"
)
"""How long an offer stays findable by dates after it starts (its last end, for a ride its
expiry): the longest one bounds how far before a date a search must look. The query
(``search_index.py``) must spell it so."""

POSTGRES = [
    f"CREATE INDEX IF NOT EXISTS offer_span ON offer (kind, ({SPAN_POSTGRES}))",
    "CREATE INDEX IF NOT EXISTS offer_place_gist ON offer USING gist (point(longitude, latitude))",
    "CREATE INDEX IF NOT EXISTS offer_dest_gist"
    " ON offer USING gist (point(dest_longitude, dest_latitude))",
    f"CREATE INDEX IF NOT EXISTS offer_text_trgm ON offer USING gin (({TEXT}) gin_trgm_ops)",
]
POSTGRES_BACK = [
    "DROP INDEX IF EXISTS offer_span",
    "DROP INDEX IF EXISTS offer_text_trgm",
    "DROP INDEX IF EXISTS offer_dest_gist",
    "DROP INDEX IF EXISTS offer_place_gist",
]

_PLACES = """
    INSERT INTO offer_place (id, min_lat, max_lat, min_lon, max_lon)
    SELECT new.id * 2, new.latitude, new.latitude, new.longitude, new.longitude
    WHERE new.latitude IS NOT NULL AND new.longitude IS NOT NULL;
    INSERT INTO offer_place (id, min_lat, max_lat, min_lon, max_lon)
    SELECT new.id * 2 + 1, new.dest_latitude, new.dest_latitude, new.dest_longitude,
           new.dest_longitude
    WHERE new.dest_latitude IS NOT NULL AND new.dest_longitude IS NOT NULL;
"""
_UNPLACE = "DELETE FROM offer_place WHERE id IN (old.id * 2, old.id * 2 + 1);"
_WORDS = """
    INSERT INTO offer_text (rowid, title, description, place_name, dest_name)
    VALUES (new.id, new.title, new.description, new.place_name, new.dest_name);
"""
_UNWORD = """
    INSERT INTO offer_text (offer_text, rowid, title, description, place_name, dest_name)
    VALUES ('delete', old.id, old.title, old.description, old.place_name, old.dest_name);
"""
SQLITE = [
    f"CREATE INDEX offer_span ON offer (kind, ({SPAN_SQLITE}))",
    "CREATE VIRTUAL TABLE offer_place USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    "CREATE VIRTUAL TABLE offer_text USING fts5(title, description, place_name, dest_name,"
    " content='offer', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER offer_search_insert AFTER INSERT ON offer BEGIN {_PLACES} {_WORDS} END",
    f"CREATE TRIGGER offer_search_delete AFTER DELETE ON offer BEGIN {_UNPLACE} {_UNWORD} END",
    "CREATE TRIGGER offer_search_move AFTER UPDATE OF latitude, longitude, dest_latitude,"
    f" dest_longitude ON offer BEGIN {_UNPLACE} {_PLACES} END",
    "CREATE TRIGGER offer_search_edit AFTER UPDATE OF title, description, place_name, dest_name"
    f" ON offer BEGIN {_UNWORD} {_WORDS} END",
    # the offers stored before this migration
    "INSERT INTO offer_place (id, min_lat, max_lat, min_lon, max_lon)"
    " SELECT id * 2, latitude, latitude, longitude, longitude FROM offer"
    " WHERE latitude IS NOT NULL AND longitude IS NOT NULL",
    "INSERT INTO offer_place (id, min_lat, max_lat, min_lon, max_lon)"
    " SELECT id * 2 + 1, dest_latitude, dest_latitude, dest_longitude, dest_longitude FROM offer"
    " WHERE dest_latitude IS NOT NULL AND dest_longitude IS NOT NULL",
    "INSERT INTO offer_text (offer_text) VALUES ('rebuild')",
]
SQLITE_BACK = [
    "DROP INDEX IF EXISTS offer_span",
    "DROP TRIGGER IF EXISTS offer_search_edit",
    "DROP TRIGGER IF EXISTS offer_search_move",
    "DROP TRIGGER IF EXISTS offer_search_delete",
    "DROP TRIGGER IF EXISTS offer_search_insert",
    "DROP TABLE IF EXISTS offer_text",
    "DROP TABLE IF EXISTS offer_place",
]


class MissingExtension(RuntimeError):
    """pg_trgm cannot be created in this database."""


async def _forward(apps: Any, editor: Any) -> None:
    client = editor.client
    if client.capabilities.dialect == "sqlite":
        for sql in SQLITE:
            await client.execute_script(sql)
        return
    try:
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - asyncpg's errors, retold with what to do
        raise MissingExtension(
            "migration 0015 needs the pg_trgm extension (PostgreSQL contrib; a trusted"
            " extension since PostgreSQL 13, which the database owner may create): install"
            " postgresql-contrib, or have a superuser run CREATE EXTENSION pg_trgm in this"
            f" database, then migrate again ({exc})"
        ) from exc
    for sql in POSTGRES:
        await client.execute_script(sql)


async def _backward(apps: Any, editor: Any) -> None:
    client = editor.client
    for sql in SQLITE_BACK if client.capabilities.dialect == "sqlite" else POSTGRES_BACK:
        await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0014_activity_object_index')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Offer', index=Index(fields=['starts_at', 'id'])),
        ops.AddIndex(model_name='Offer', index=Index(fields=['status', 'starts_at', 'id'])),
        ops.AddIndex(
            model_name='Offer', index=Index(fields=['kind', 'status', 'starts_at', 'id'])
        ),
        ops.RemoveIndex(model_name='Offer', fields=['status', 'starts_at']),
        ops.RemoveIndex(model_name='Offer', fields=['kind', 'status', 'starts_at']),
        # replaced by the spatial indexes; left, they tempt the planner into reading a dense
        # area's whole box and sorting it
        ops.RemoveIndex(model_name='Offer', fields=['latitude', 'longitude']),
        ops.RemoveIndex(model_name='Offer', fields=['dest_latitude', 'dest_longitude']),
        ops.RunPython(_forward, _backward),
    ]
