"""Hostile input as hypothesis strategies: captured payloads mutated, and random JSON.

A ``Sample`` is a document plus what was done to it (its ``label``, for the reliability table
of ``bench/fuzz.py``). Mutations replace or drop a field, nest a value deeply, put in a huge
string, a lone surrogate or NUL, a number past what a float, a date or a column holds; some
bodies are spliced as bytes (cut short, not UTF-8). Deep nesting is spliced into the bytes,
since Python's own encoder cannot write 100,000 levels.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

DEEP_MARK = re.compile(rb'"@@deep:(\d+):(list|dict)@@"')
DEPTHS = [100_000, 60, 65, 1000, 10, 63, 64, 200]
SPECIAL_STRINGS = [  # the most hostile first, as for numbers
    "\ud800",
    "a\x00b",
    "9999-12-31T23:59:59-23:59",
    "https://remote.example/" + "x" * 600,
    "\udfff",
    "\ud83d",
    "",
    " ",
    "x" * 70_000,
    "https://remote.example/" + "x" * 600,
    "https://coop.test/c/velos" + "x" * 500,
    "http://[",
    "https://[::1",
    "::",
    "#",
    "/relative",
    "@id",
    "@type",
    "@json",
    "as:Public",
    "https://www.w3.org/ns/activitystreams#Public",
    "https://www.w3.org/ns/activitystreams",
    "https://coop.test/c/velos",
    "https://coop.test/u/alice",
    "https://remote.example/users/zoe",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-13-45T99:99:99Z",
    "2099-12-01T07:00:00Z",
    "NaN",
    "1e400",
    "Europe/Paris",
    "Mars/Olympus",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "é" * 3000,
    "\u202e\u200b\ufeff",
]
SPECIAL_NUMBERS: list[int | float] = [  # hypothesis favours the first: the most hostile
    10**400,
    2**63,
    -(10**300),
    10**30,
    float("nan"),
    float("inf"),
    -(2**63) - 1,
    2**63 - 1,
    2**31,
    1e308,
    float("-inf"),
    -1e-308,
    -1,
    0,
    0.5,
    1,
]
KEYS = [
    "id",
    "type",
    "actor",
    "object",
    "target",
    "result",
    "@context",
    "@id",
    "@type",
    "@value",
    "@vocab",
    "@base",
    "@language",
    "@list",
    "name",
    "content",
    "contentMap",
    "summary",
    "to",
    "cc",
    "audience",
    "attributedTo",
    "inReplyTo",
    "url",
    "href",
    "startTime",
    "endTime",
    "published",
    "updated",
    "latitude",
    "longitude",
    "seatsTotal",
    "priceCents",
    "publishes",
    "reciprocal",
    "kind",
    "purpose",
    "status",
    "location",
    "origin",
    "destination",
    "stipulates",
    "satisfies",
    "resourceQuantity",
    "hasNumericalValue",
    "publicKey",
    "publicKeyPem",
    "owner",
    "inbox",
    "endpoints",
]
ACTIVITY_TYPES = [
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Create",
    "Update",
    "Delete",
    "Announce",
    "Offer",
    "Join",
    "Like",
    "Note",
    "Proposal",
    "Agreement",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(SPECIAL_STRINGS)
)
keys = st.sampled_from(KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=10,
)


@dataclass
class Sample:
    """A document to send, and what was done to it."""

    label: str
    doc: Any
    raw: bytes | None = None
    """Bytes to send as they are (a byte-level mutation); else ``doc`` is serialised."""
    ops: list[str] = field(default_factory=list)
    seed: str | None = None
    """The seed it was made from: its id, left as it was, is replaced by a fresh one for each
    example (else every example after the first would be a duplicate)."""

    def __repr__(self) -> str:
        """Short: hypothesis prints the drawn arguments (in CI, of every example it reports),
        and a 70,000-character document is a 150 kB repr, which it refuses with a warning
        that the test suite turns into an error."""
        size = len(self.raw) if self.raw is not None else len(json.dumps(self.doc, default=str))
        return f"Sample({self.label!r}, seed={self.seed!r}, ops={self.ops!r}, {size} bytes)"

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return DEEP_MARK.sub(_deep, json.dumps(self.doc).encode())


def _deep(match: re.Match[bytes]) -> bytes:
    depth = int(match.group(1))
    if match.group(2) == b"list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``doc`` (dict keys and list indexes)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


MUTATIONS = {
    "replace": "a field replaced by random JSON",
    "drop": "a field dropped",
    "deep": "a value nested 10 to 100,000 levels deep",
    "huge": "a huge string (70,000 characters)",
    "text": "a string made a lone surrogate, NUL or an odd value",
    "number": "a number past a float, a date or a column",
    "type": "a value of the wrong type (boolean, list, object)",
    "add": "a field added",
}


def _numeric(value: Any) -> bool:
    """A number, or a string that reads as one (``"hasNumericalValue": "1"``)."""
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _fits(op: str, value: Any) -> bool:
    """Numbers go where numbers were, odd text where text was: where parsers convert."""
    if op == "number":
        return _numeric(value)
    if op == "text":
        return isinstance(value, str)
    return True


@st.composite
def mutated(
    draw: st.DrawFn,
    seeds: dict[str, Any],
    protect: tuple[str, ...] = (),
    focus: tuple[str, ...] = (),
) -> Sample:
    """A seed with one to three mutations; the top-level keys in ``protect`` are left alone
    (the actor, so that the signature still matches the activity). Seeds whose name starts
    with one of ``focus`` are drawn at least half the time (those with most to parse)."""
    names = sorted(seeds)
    focused = [n for n in names if n.startswith(focus)] if focus else []
    name = draw(
        st.sampled_from(focused) | st.sampled_from(names) if focused else st.sampled_from(names)
    )
    doc = copy.deepcopy(seeds[name])
    ops: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(sorted(MUTATIONS)))
        candidates = [p for p in paths(doc) if p[0] not in protect]
        fitting = [p for p in candidates if _fits(op, _parent(doc, p)[p[-1]])]
        candidates = fitting or candidates
        if op == "add" or not candidates:
            if isinstance(doc, dict):
                doc[draw(keys)] = draw(json_values)
            ops.append("add")
            continue
        path = draw(st.sampled_from(candidates))
        parent = _parent(doc, path)
        if op == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_replacement(op))
        ops.append(op)
    return Sample(MUTATIONS[ops[0]], doc, ops=ops, seed=name)


def _replacement(op: str) -> st.SearchStrategy[Any]:
    if op == "deep":
        return st.builds(
            lambda d, kind: f"@@deep:{d}:{kind}@@",
            st.sampled_from(DEPTHS),
            st.sampled_from(["list", "dict"]),
        )
    if op == "huge":
        return st.sampled_from(["x" * 70_000, "https://remote.example/" + "y" * 70_000])
    if op == "text":
        return st.sampled_from(SPECIAL_STRINGS)
    if op == "number":
        return st.sampled_from(SPECIAL_NUMBERS)
    if op == "type":
        return st.sampled_from([True, False, None, [], {}, [True], {"id": True}, 0])
    return json_values


@st.composite
def spliced(draw: st.DrawFn, seeds: dict[str, Any]) -> Sample:
    """A seed's bytes damaged: cut short, not UTF-8, a token JSON does not have."""
    name = draw(st.sampled_from(sorted(seeds)))
    body = json.dumps(seeds[name]).encode()
    how = draw(st.sampled_from(["cut", "bytes", "token", "bom"]))
    if how == "cut":
        raw = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif how == "bytes":
        at = draw(st.integers(0, len(body)))
        raw = (
            body[:at]
            + draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc0\x80", b"\x00"]))
            + body[at:]
        )
    elif how == "token":
        token = draw(st.sampled_from([b"NaN", b"-Infinity", b"1e400", b'"\\ud800"', b'"\\u0000"']))
        raw = body.replace(b'"', token + b', "', 1) if body.startswith(b"{") else token
    else:
        raw = b"\xef\xbb\xbf" + body
    return Sample("bytes damaged (cut, not UTF-8, NaN, BOM)", None, raw=raw, ops=[how])


def random_activities(actor: str) -> st.SearchStrategy[Sample]:
    """Random JSON shaped like an activity: a type and the signer as actor, the rest random."""
    return st.builds(
        lambda kind, rest: Sample("random JSON activity", {**rest, "type": kind, "actor": actor}),
        st.sampled_from(ACTIVITY_TYPES) | scalars,
        st.dictionaries(keys, json_values, max_size=6),
    )


def random_json() -> st.SearchStrategy[Sample]:
    return st.builds(lambda doc: Sample("random JSON document", doc), json_values)


QUERY_KEYS = [  # the ones that reach the database or a parser first
    "q",
    "place",
    "offset",
    "limit",
    "lat",
    "lon",
    "from",
    "to",
    "uri",
    "offer",
    "resource",
    "radius_km",
    "min_seats",
    "min_guests",
    "min_quantity",
    "kind",
    "purpose",
    "include_closed",
    "vehicle",
    "status",
    "page",
    "lang",
]
QUERY_VALUES = [  # the most hostile first
    "a\x00b",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e400",
    "nan",
    "9999-12-31T23:59:59-23:59",
    "x" * 5000,
    "",
    "0",
    "-1",
    "1",
    "100",
    "999999999",
    "1000000000",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "-inf",
    "²",
    "١٢",
    "45.7",
    "91",
    "-181",
    "2026-12-01",
    "2026-13-45",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "ride",
    "stay",
    "delivery_job",
    "offer",
    "request",
    "cargo_bike",
    "Lyon",
    "fr",
    "true",
    "a\x00b",
    "x" * 5000,
    "%",
    "'; DROP TABLE offer; --",
    "https://coop.test/offers/00000000-0000-4000-8000-000000000000",
    "acct:alice@coop.test",
]


def query_params() -> st.SearchStrategy[dict[str, str]]:
    """A query string: known parameters with edge values, and random ones."""
    values = st.sampled_from(QUERY_VALUES) | st.text(max_size=30)
    return st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=6), values, max_size=5)
