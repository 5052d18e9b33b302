"""JSON from anyone (an inbox POST, an API call, a fetched document), read with limits first.

``json.loads`` recurses once per nesting level, so a body of 100,000 ``[`` would exhaust the
stack before any schema sees it: the depth is counted on the bytes before parsing (brackets
outside strings, a cheap pass that stops at the first level too many). What the parser lets
through but no database or later step can hold is refused here too, once, as ``Malformed``
(400 at the edge): text that is not UTF-8, a lone surrogate (``"\\ud800"``, which no UTF-8
column can store), NUL (``"\\u0000"``, refused by PostgreSQL in text and ``jsonb``), and
numbers that are not finite (``NaN``, ``Infinity``, ``1e400``). An integer is kept exact within
64 bits (``INTEGERS``, what the JSON columns' writer holds) and read as the nearest double past
them, refused when no double holds it; the schema reading the document answers with its own
bounds (``too_large``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from models.errors import Malformed
from models.i18n import N_

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (an AS2 activity with an embedded offer is
about 6 levels deep; a JSON-LD context a few more)."""

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(i for i in range(256) if i not in b"[]{}")
_OPENING = frozenset(b"[{")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
NUL_MESSAGE = N_("Text may not contain NUL characters")
"""The refusal of NUL wherever text comes in (JSON, forms, URLs): one message, one msgid."""


class _NotFinite(ValueError):
    pass


def nesting_depth_within(body: bytes, limit: int) -> bool:
    """Whether no array or object in ``body`` (UTF-8 JSON) is nested more than ``limit`` deep.

    A body with no more than ``limit`` opening brackets in all (most activities) cannot be
    deeper: two counts, no pass of our own. Otherwise escapes are dropped, then strings, so
    only structural brackets remain; counting stops at the first level past ``limit``. Not a
    validation: the parser still refuses bad JSON."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return True
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", body)).translate(None, _NOT_BRACKET)
    depth = 0
    for byte in brackets:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def value_depth_within(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether no list or dict in ``value`` (as parsed) is nested more than ``limit`` deep: the
    reader's limit again, for a row stored before it existed. Iterative, stopping at the first
    container past ``limit``."""
    if not isinstance(value, dict | list):
        return True
    if limit < 1:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth == limit:
                    return False
                stack.append((child, depth + 1))
    return True


def past_the_depth(value: Any, exc: Exception) -> Exception:
    """``exc``, or ``Malformed`` when ``value`` (a row stored before the reader's depth limit
    existed) is nested past it and ``exc`` is the ``TypeError`` that writing it raised: orjson,
    which writes the JSON columns through Tortoise, refuses more than 255 levels, and would
    again. Checked once something failed, never on the way of every row."""
    if isinstance(exc, TypeError) and not value_depth_within(value):
        return Malformed(f"nested more than {MAX_DEPTH} levels: {exc}", "JSON nested too deep")
    return exc


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotFinite(text[:40])
    return number


INTEGERS = range(-(2**63), 2**64)
"""Integers kept exact: those the JSON columns' writer (orjson, through Tortoise) takes, and
wider than any a peer means exactly (JavaScript reads every number as a double)."""


def _integer(text: str) -> int | float:
    """An integer as written, within ``INTEGERS``; beyond, the nearest double (as orjson and
    JavaScript read it back), refused when even that is infinite."""
    number = int(text)  # ValueError past Python's 4,300 digits
    return number if number in INTEGERS else _finite(text)


def _constant(name: str) -> Any:
    raise _NotFinite(name)


def load_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed document, or ``Malformed`` saying what is wrong (the public message is safe
    to show and names the rule, e.g. "JSON nested more than 64 levels deep")."""
    try:
        text = body.decode("utf-8-sig")  # strict: no surrogates smuggled in as raw bytes
    except UnicodeDecodeError as exc:
        raise Malformed(f"body is not UTF-8: {exc}", "The body is not UTF-8 text") from exc
    if not nesting_depth_within(body, max_depth):
        raise Malformed(
            f"JSON nested more than {max_depth} levels",
            f"JSON nested more than {max_depth} levels deep",
        )
    try:
        value = json.loads(text, parse_float=_finite, parse_int=_integer, parse_constant=_constant)
    except _NotFinite as exc:
        raise Malformed(f"not a finite number: {exc}", "Numbers must be finite") from exc
    except ValueError as exc:  # includes ints past Python's 4,300 digits
        raise Malformed(f"invalid JSON: {exc}", "The body is not valid JSON") from exc
    if "\\u" not in text:  # neither check below can find anything: one search, not two
        return value
    if has_nul_escape(text):
        raise Malformed("NUL in a JSON string", NUL_MESSAGE)
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise Malformed("lone surrogate in a JSON string", "Text is not valid Unicode")
    return value


def has_nul_escape(text: str) -> bool:
    """Whether ``text`` holds ``\\u0000`` as an escape, not as the text ``\\\\u0000`` (an
    escaped backslash before it): an even number of backslashes before its own. The literal is
    found, then the backslashes before it counted (each at most once): the regular expression
    this replaces, tried at every position, took ten times as long."""
    at = text.find("\\u0000")
    while at != -1:
        before = at
        while before and text[before - 1] == "\\":
            before -= 1
        if (at - before) % 2 == 0:
            return True
        at = text.find("\\u0000", at + 1)
    return False


def _encodable(value: Any) -> bool:
    """True when every string (keys included) is valid Unicode: a lone surrogate, which only an
    escape can produce, makes the UTF-8 encoding of the re-serialised document fail."""
    try:
        json.dumps(value, ensure_ascii=False, check_circular=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
