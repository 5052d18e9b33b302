"""How the JSON columns are read: with orjson, and with the standard library when orjson refuses
what an earlier version stored.

Tortoise writes and reads them with orjson (a dependency for its speed). orjson reads no
integer past a double (309 digits or more), no ``NaN`` or ``Infinity`` and no lone surrogate
escape, all of which ``json.dumps`` wrote before orjson, and the reader's limits
(``activitypub/json_body.py``), existed. One such row read with orjson alone would raise on
every read: a queue's claim would fail on every pass, a page showing it would be a 500.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def read_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson's reading, or ``json.loads``'s when orjson refuses it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
