"""The ``url`` of received offers' documents, read by the database: a list of offers links each
remote one to its page on its own instance without decoding every document (a few kilobytes of
JSON each, most of a search page's time when it was decoded for every row)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tortoise import connections


async def document_urls(ids: Sequence[int]) -> dict[int, Any]:
    """``document.url`` of these offers (a string, a ``Link``, a list: as received), for those
    whose document has one."""
    if not ids:
        return {}
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = "SELECT id, document->'url' AS url FROM offer WHERE id = ANY($1::int[])"
        values: list[Any] = [list(ids)]
    else:  # json_quote: the value as JSON text, whether a string or an object
        url = "json_quote(json_extract(document, '$.url'))"
        sql = f"SELECT id, {url} AS url FROM offer WHERE id IN ({','.join('?' * len(ids))})"
        values = list(ids)
    _, rows = await conn.execute_query(sql, values)
    found = {}
    for row in rows:
        raw = row["url"]
        value = json.loads(raw) if isinstance(raw, str) else raw
        if value is not None:
            found[int(row["id"])] = value
    return found
