"""JSON-LD with bundled contexts only: pyld never fetches anything from the network.

Incoming offers are compacted against our own context, so whatever prefixes or term names the
sender used (Mitra's FEP-0837 context, another coopub's inline context), the code reads one
shape. A context URL we do not bundle resolves to an empty context, as Mastodon effectively
treats unknown contexts: the terms only it defines are dropped, nothing is fetched.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.jsonld import JsonLdError

from activitypub.jsonld_fast import fast_compact, known_context, processed
from activitypub.wire import reading
from models.errors import Malformed

CONTEXT_DIR = Path(__file__).parent / "contexts"
AS2 = "https://www.w3.org/ns/activitystreams"
COOPUB_NS = "https://w3id.org/coopub/ns"
VALUEFLOWS = "https://w3id.org/valueflows/ont/vf"

BUNDLED: dict[str, str] = {
    AS2: "activitystreams.jsonld",
    "http://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
    VALUEFLOWS: "valueflows.jsonld",
    COOPUB_NS: "coopub.jsonld",
}
"""Context URLs served from files in ``activitypub/contexts`` (also served at ``/contexts/``)."""

PUBLIC_NAMES = {
    "activitystreams": "activitystreams.jsonld",
    "security-v1": "security-v1.jsonld",
    "valueflows": "valueflows.jsonld",
    "coopub": "coopub.jsonld",
}


@cache
def bundled(filename: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CONTEXT_DIR / filename).read_text(encoding="utf-8"))
    return document


KNOWN_URLS = frozenset(BUNDLED)
"""Context URLs whose terms the fast path may read (``activitypub/jsonld_fast.py``)."""


def _loader(url: str, options: dict[str, Any]) -> dict[str, Any]:
    filename = BUNDLED.get(url.split("#")[0].rstrip("/"))
    document = bundled(filename) if filename else {"@context": {}}
    # "static": pyld keeps the resolved context in its shared cache (without a tag it loads and
    # processes the context again for every document)
    return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}


def offer_context() -> list[Any]:
    """The ``@context`` of our offers: AS2 by URL, our terms inline (so no peer has to fetch
    a context it does not know; Fedify, for one, would), and ``Hashtag``, which the AS2
    context lacks (Mastodon defines it the same way)."""
    inline = {
        "Hashtag": "as:Hashtag",
        **bundled("valueflows.jsonld")["@context"],
        **bundled("coopub.jsonld")["@context"],
    }
    return [AS2, inline]


def compact(document: dict[str, Any], context: list[Any] | None = None) -> dict[str, Any]:
    """``document`` compacted against ours: read directly when its context is a known one
    whose terms mean what ours mean (``jsonld_fast``), else expanded and compacted by pyld."""
    context = context or offer_context()
    doc_context = document.get("@context", AS2)  # Gancio and others send none: assume AS2
    try:
        if known_context(doc_context, KNOWN_URLS):
            found = fast_compact(
                document, processed(doc_context, _loader), processed(context, _loader)
            )
            if found is not None:
                return found
    except JsonLdError as exc:
        raise Malformed(f"invalid JSON-LD: {str(exc)[:300]}") from exc
    return pyld_compact(document, context)


def pyld_compact(document: dict[str, Any], context: list[Any] | None = None) -> dict[str, Any]:
    """Expand ``document`` with the bundled contexts, then compact it against ours (pyld)."""
    context = context or offer_context()
    doc = dict(document)
    doc.setdefault("@context", AS2)  # Gancio and others send no @context: assume AS2
    try:
        with reading("JSON-LD"):  # pyld recurses per level, and trusts term values' types
            expanded = jsonld.expand(doc, {"documentLoader": _loader})
            compacted: dict[str, Any] = jsonld.compact(
                expanded, {"@context": context}, {"documentLoader": _loader}
            )
    except JsonLdError as exc:
        raise Malformed(f"invalid JSON-LD: {str(exc)[:300]}") from exc
    compacted.pop("@context", None)
    return compacted
