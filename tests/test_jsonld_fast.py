"""The known-context fast path reads every captured document exactly as pyld's expand/compact
does, and declines (pyld reads it) whatever context it does not know or that redefines a term."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from activitypub.jsonld import (
    AS2,
    KNOWN_URLS,
    VALUEFLOWS,
    _loader,
    compact,
    offer_context,
    pyld_compact,
)
from activitypub.jsonld_fast import fast_compact, known_context, processed
from activitypub.offer_from_as import as_to_offer_fields
from models.errors import Malformed

TESTS = Path(__file__).resolve().parent

MITRA_PROPOSAL: dict[str, Any] = {
    "@context": [AS2, VALUEFLOWS, {"cp": "https://w3id.org/coopub/ns#"}],
    "type": "Proposal",
    "id": "https://mitra.example/objects/1",
    "attributedTo": "https://mitra.example/users/zoe",
    "name": "Lit d'appoint à Die",
    "content": "<p>Pour deux <b>nuits</b></p>",
    "contentMap": {"FR": "<p>Pour deux <b>nuits</b></p>", "en": "<p>Two nights</p>"},
    "purpose": "offer",
    "cp:kind": "Stay",
    "cp:maxGuests": 1,
    "startTime": "2026-12-01T14:00:00Z",
    "endTime": "2026-12-03T11:00:00Z",
    "location": {"type": "Place", "name": "Die", "latitude": 44.75, "longitude": 5.37},
    "publishes": {
        "type": "Intent",
        "id": "https://mitra.example/objects/1#primary",
        "action": "use",
        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
    },
    "to": "https://www.w3.org/ns/activitystreams#Public",
    "cc": [],
    "summary": None,
}


def _documents() -> dict[str, dict[str, Any]]:
    """Every captured or pinned JSON document, and each embedded object under its parent's
    context."""
    found: dict[str, dict[str, Any]] = {"mitra-proposal": MITRA_PROPOSAL}
    paths = sorted((TESTS / "fixtures").rglob("*.json")) + sorted((TESTS / "expected").glob("*"))
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, doc in enumerate(data if isinstance(data, list) else [data]):
            if isinstance(doc, dict):
                found[f"{path.relative_to(TESTS)}[{i}]"] = doc
    for name, doc in list(found.items()):
        inner = doc.get("object")
        if isinstance(inner, dict) and "@context" not in inner and "@context" in doc:
            found[f"{name}.object"] = {"@context": doc["@context"], **inner}
    return found


DOCUMENTS = _documents()
OURS = processed(offer_context(), _loader)


def _fast(doc: dict[str, Any]) -> dict[str, Any] | None:
    context = doc.get("@context", AS2)
    if not known_context(context, KNOWN_URLS):
        return None
    return fast_compact(doc, processed(context, _loader), OURS)


def _language_orders(doc: Any) -> list[list[str]]:
    """The key order of every language map (the first language is read as the default)."""
    if isinstance(doc, list):
        return [o for item in doc for o in _language_orders(item)]
    if not isinstance(doc, dict):
        return []
    own = [list(v) for k, v in doc.items() if k.endswith("Map") and isinstance(v, dict)]
    return own + [o for v in doc.values() for o in _language_orders(v)]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_fast_path_gives_what_pyld_gives(name: str) -> None:
    doc = copy.deepcopy(DOCUMENTS[name])
    slow = pyld_compact(copy.deepcopy(doc))
    fast = _fast(doc)
    if fast is not None:
        assert fast == slow
        assert _language_orders(fast) == _language_orders(slow)
    assert compact(doc) == slow
    assert doc == DOCUMENTS[name]  # neither path changes what it reads


@pytest.mark.parametrize(
    "name",
    [
        "mitra-proposal",
        "expected/offer_ride.json[0]",
        "expected/offer_stay.json[0]",
        "expected/offer_delivery_job.json[0]",
        "expected/post_reply.json[0]",
        "fixtures/mastodon-flag.json[0]",
        "fixtures/mobilizon-captures/mastodon-actor.json[0]",
        "fixtures/mobilizon-captures/mastodon-like.json[0]",
        "fixtures/mobilizon-captures/peertube-video.json[0]",
        "fixtures/mobilizon-captures/gancio-event-activity.json[0]",
        "fixtures/mobilizon-captures/mastodon-post-activity.json[0].object",
    ],
)
def test_known_contexts_take_the_fast_path(name: str) -> None:
    """Our offers (inline context), FEP-0837 by URL, Mastodon's, PeerTube's and Gancio's
    extensions: read without a JSON-LD round trip."""
    assert _fast(copy.deepcopy(DOCUMENTS[name])) is not None


def test_fast_path_reads_the_offer_as_pyld_does() -> None:
    author = "https://mitra.example/users/zoe"
    fields = as_to_offer_fields(copy.deepcopy(MITRA_PROPOSAL), author)
    assert (fields["kind"], fields["purpose"], fields["language"]) == ("stay", "offer", "fr")


@pytest.mark.parametrize(
    "context",
    [
        [AS2, {"title": "https://elsewhere.example/ns#title"}],  # a term of ours, redefined
        [AS2, {"to": "as:to"}],  # the same IRI without its @id coercion
        [AS2, {"@vocab": "https://elsewhere.example/ns#"}],  # a keyword in an inline context
        [AS2, {"@language": "fr"}],
    ],
)
def test_redefining_context_goes_through_pyld(context: list[Any]) -> None:
    doc = {
        "@context": context,
        "type": "Note",
        "id": "https://elsewhere.example/1",
        "title": "Covoiturage",
        "name": "Lyon",
        "to": "https://www.w3.org/ns/activitystreams#Public",
    }
    if known_context(context, KNOWN_URLS):
        assert fast_compact(doc, processed(context, _loader), OURS) is None
    assert compact(copy.deepcopy(doc)) == pyld_compact(copy.deepcopy(doc))


def test_unknown_context_url_goes_through_pyld() -> None:
    context = [AS2, "https://elsewhere.example/ns/v1"]
    assert not known_context(context, KNOWN_URLS)
    doc = {"@context": context, "type": "Note", "id": "https://elsewhere.example/1", "x": "y"}
    assert compact(doc) == pyld_compact(doc)


def test_a_number_pyld_cannot_read_is_refused_as_pyld_refuses_it() -> None:
    doc = {**copy.deepcopy(DOCUMENTS["expected/offer_ride.json[0]"]), "priceCents": 10**400}
    assert _fast(doc) is None
    with pytest.raises(Malformed):
        compact(doc)
